"""Entrypoint of the operations dashboard: ``streamlit run dashboard/streamlit_app.py``.

Sets the page config, checks access (``OGTK_DASHBOARD_PASSWORD``), then navigates between the
three pages in ``app_pages/``. Needs ``ORDERGROOVE_BASE_URL`` (the sandbox, or the real API with
``ORDERGROOVE_API_KEY``) and ``OGTK_DATA_DIR``; never any Gladly auth setting.
"""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

from dashboard.access import configured_password, require_access  # noqa: E402
from dashboard.resources import sidebar_status  # noqa: E402

st.set_page_config(
    page_title="Ordergroove × Gladly · operations",
    page_icon="🔗",  # an emoji: a material icon favicon would be fetched from Google,
    layout="wide",
)

if not require_access(configured_password()):
    st.stop()

page = st.navigation([
    st.Page("app_pages/customer_card.py", title="Customer card", icon=":material/badge:",
            url_path="customer_card", default=True),
    st.Page("app_pages/link_health.py", title="Link health", icon=":material/monitoring:",
            url_path="link_health"),
    st.Page("app_pages/operations.py", title="Operations", icon=":material/speed:",
            url_path="operations"),
])
sidebar_status()
page.run()
