"""planner dashboard: ``streamlit run app.py``.

A thin router: page setup, the session's scenario (from a share link or the default preset), the
scenario editor in the sidebar, the address bar kept equal to the scenario, then the chosen page
(files under ui/pages/). A new session's first run in a browser draws the page first and may stop
after its headline numbers (ui/first_view.py); the next run draws everything.
"""

import streamlit as st

from planner.api import DataError, snapshot_currency
from ui import cached, editor, first_view, share, state, summary
from ui.format import set_currency

st.set_page_config(page_title="planner — LLM cost & capacity",
                   layout="wide", initial_sidebar_state="auto")

try:
    catalog = cached.catalog()
    cached.profiles()  # the engine profiles too: a corrupt file is named here, not mid-page
except DataError as exc:  # refuse to start on broken reference data, naming file, row, field
    st.error(f"The planner cannot start: a reference table failed validation.\n\n**{exc}**\n\n"
             "Fix the named file (see data/README.md) and reload this page.")
    st.stop()
opening = state.init_session(catalog)
set_currency(snapshot_currency(catalog))

if summary.is_summary_view():  # a reader's link: the answer only, no editor, prints cleanly
    state.render_banners()
    summary.render(catalog)
    st.stop()

PAGES = [
    st.Page("ui/pages/compare.py", title="Compare", icon=":material/balance:", default=True),
    st.Page("ui/pages/capacity.py", title="Capacity", icon=":material/memory:"),
    st.Page("ui/pages/advisor.py", title="Advisor", icon=":material/travel_explore:"),
    st.Page("ui/pages/deploy.py", title="Deploy & fine-tune", icon=":material/rocket_launch:"),
    st.Page("ui/pages/catalog.py", title="Catalog", icon=":material/table_view:"),
    st.Page("ui/pages/methodology.py", title="Methodology", icon=":material/menu_book:"),
]
page = st.navigation(PAGES, position="top")

# On a phone the top navigation folds into an unlabelled icon: a labelled menu of the pages
# instead, shown only on narrow screens (one widget: every element costs each run server time).
st.html("<style>.st-key-phone_menu { display: none; } @media (max-width: 640px) { "
        ".st-key-phone_menu { display: flex; } }</style>")
phone_menu = st.container(key="phone_menu")


def render_phone_menu() -> None:
    titles = {item.title: item for item in PAGES}
    with phone_menu:
        # unkeyed, with the page on show as its default: each page has its own menu widget, so
        # a pick is seen once, on the page it was made on
        picked = st.pills("Pages", list(titles), default=page.title, required=True,
                          format_func=lambda t: f"{titles[t].icon} {t}")
    if picked != page.title:
        st.switch_page(titles[picked])


def render_sidebar() -> None:
    with st.sidebar:
        st.caption(f"Costs in {snapshot_currency(catalog)}, the price snapshot's currency.")
        editor.render(catalog)
        share.sync_query_params(state.current_scenario())
        share.share_button(state.current_scenario(), page.url_path, key="share_sidebar")
        with st.expander("Load a scenario file", icon=":material/upload_file:", key="upload_box",
                         on_change="rerun") as upload:
            if upload.open:  # the uploader is drawn only when asked for
                share.render_upload(catalog)


# A new session in a browser gets the page's answer first (ui/first_view.py): the sidebar and
# the menu come after the page, which may end this run after its headline numbers.
if first_view.begin(opening):
    share.sync_query_params(state.current_scenario())
    state.render_banners()
    opened_as = state.current_scenario()
    try:
        page.run()
    except Exception:  # a page that fails still leaves the editor to fix the scenario with
        render_phone_menu()
        render_sidebar()
        raise
    render_phone_menu()
    render_sidebar()
    if state.current_scenario() != opened_as:  # the editor adjusted what the page showed
        st.rerun()
else:
    render_phone_menu()
    render_sidebar()
    state.render_banners()
    page.run()
