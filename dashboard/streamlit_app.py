"""Entrypoint of the operations dashboard: ``streamlit run dashboard/streamlit_app.py``.

Sets the page config, checks access (:mod:`dashboard.access`), then navigates between the
pages in ``app_pages/``. The card is the default page, served at the root (``/?customer=<id>``);
``/customer_card?customer=<id>`` is a hidden alias that opens the same card (Streamlit serves a
default page only at the root, so without it that link meets "Page not found"). Needs ``ORDERGROOVE_BASE_URL`` (the sandbox, or the real API with
``ORDERGROOVE_API_KEY``) and ``OGTK_DATA_DIR``; never any Gladly auth setting.
"""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

from dashboard.access import configured_password, require_access  # noqa: E402
from dashboard.resources import sidebar_status, synthetic_banner  # noqa: E402

st.set_page_config(
    page_title="Ordergroove × Gladly · operations",
    page_icon="🔗",  # an emoji: a material icon favicon would be fetched from Google,
    layout="wide",
)

if not require_access(configured_password()):
    st.stop()

CARD = st.Page("app_pages/customer_card.py", title="Customer card", icon=":material/badge:",
               url_path="card", default=True)


def open_card() -> None:
    """``/customer_card?customer=…``: the card at the root, with the same query."""
    st.switch_page(CARD, query_params=st.query_params.to_dict())


page = st.navigation([
    CARD,
    st.Page(open_card, title="Customer card", url_path="customer_card", visibility="hidden"),
    st.Page("app_pages/link_health.py", title="Link health", icon=":material/monitoring:",
            url_path="link_health"),
    st.Page("app_pages/unmatched.py", title="Unmatched", icon=":material/person_search:",
            url_path="unmatched"),
    st.Page("app_pages/actions.py", title="Actions", icon=":material/touch_app:", url_path="actions"),
    st.Page("app_pages/operations.py", title="Operations", icon=":material/speed:",
            url_path="operations"),
])
sidebar_status()
synthetic_banner()
page.run()
