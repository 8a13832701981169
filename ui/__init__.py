"""The Streamlit dashboard's UI layer: pages, the scenario editor, share links, charts.

Only this package (and ``app.py``) imports streamlit or plotly, and only this package caches
engine calls (``st.cache_data`` / ``st.cache_resource`` in :mod:`ui.cached`).
"""
