"""planner dashboard: ``streamlit run app.py``."""

import streamlit as st

from planner.catalog import load_catalog

st.set_page_config(page_title="planner — LLM cost & capacity", layout="wide")
st.title("planner")
st.write("Cost and capacity planning for language-model deployments.")
catalog = load_catalog()
st.caption(f"{len(catalog.models)} models, {len(catalog.gpus)} GPUs, {len(catalog.skus)} Azure "
           f"SKUs; prices as of {catalog.prices_as_of}.")
