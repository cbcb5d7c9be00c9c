"""The Streamlit operations dashboard: customer card preview, link health and operations.

Run it with ``streamlit run dashboard/streamlit_app.py``; the page files in ``app_pages/`` only
describe screens, while queries and shaping live in the plain modules of this package.
"""
