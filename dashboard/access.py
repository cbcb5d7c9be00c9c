"""Who may see the dashboard: the optional ``OGTK_DASHBOARD_PASSWORD`` gate.

The comparison is plain, testable Python (constant-time, on UTF-8 bytes); :func:`require_access`
is the one Streamlit-facing piece, called by the entrypoint before any page renders.
"""

from __future__ import annotations

import hmac
import os

import streamlit as st

from app.settings import Secret

SESSION_KEY = "ogtk_dashboard_unlocked"
OPEN_BANNER = (
    "**This dashboard is open to anyone who can reach it.** Set `OGTK_DASHBOARD_PASSWORD` "
    "to ask for a password first."
)


def password_matches(given: str | None, expected: Secret | str) -> bool:
    """Constant-time comparison of what was typed with the configured password.

    >>> password_matches("s3cret", Secret("s3cret"))
    True
    """
    secret = expected.reveal() if isinstance(expected, Secret) else expected
    return hmac.compare_digest((given or "").encode("utf-8"), secret.encode("utf-8"))


def require_access(password: Secret | None) -> bool:
    """Render the gate (or the open-access banner); ``True`` when the pages may render.

    With no password configured a banner says the dashboard is open. With one, the visitor types
    it once per session; a wrong one shows an error and nothing else.
    """
    if not password:
        st.warning(OPEN_BANNER, icon=":material/lock_open:")
        return True
    if st.session_state.get(SESSION_KEY):
        return True
    st.title("Ordergroove × Gladly operations")
    given = st.text_input("Dashboard password", type="password", key="ogtk_password")
    if not given:
        st.caption("This dashboard is protected by `OGTK_DASHBOARD_PASSWORD`.")
        return False
    if password_matches(given, password):
        st.session_state[SESSION_KEY] = True
        st.session_state.pop("ogtk_password", None)
        st.rerun()  # start over without the gate on screen
    st.error("That password is not right.")
    return False


def configured_password(env: dict | None = None) -> Secret | None:
    """``OGTK_DASHBOARD_PASSWORD`` read the way :class:`~app.settings.Settings` reads it.

    Read straight from the environment so the gate holds even when other settings are invalid.
    """
    raw = (os.environ if env is None else env).get("OGTK_DASHBOARD_PASSWORD")
    return Secret(raw.strip()) if raw and raw.strip() else None
