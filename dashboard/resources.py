"""The dashboard's shared resources: one :class:`~app.services.Services` per Streamlit process.

Built from the same settings and the same fetcher, lookup service and event store as the API,
so a previewed card is the exact JSON Gladly gets. The dashboard never needs Gladly auth
settings (it never calls ``check_api_can_start``). Invalid settings become a friendly message.
"""

from __future__ import annotations

import os

import streamlit as st

from app.settings import Settings, SettingsError

#: Environment variables that shape Services; part of the cache key so a changed env rebuilds.
_ENV_PREFIXES = ("ORDERGROOVE_", "OGTK_")


def config_key() -> tuple[tuple[str, str], ...]:
    """The part of the environment Services depends on (changes → a fresh Services)."""
    return tuple(sorted(
        (k, v) for k, v in os.environ.items()
        if k.startswith(_ENV_PREFIXES) and k != "OGTK_DASHBOARD_PASSWORD"  # not needed, kept out of keys
    ))


def load_settings() -> Settings:
    """Settings from the environment; raises :class:`SettingsError` with an operator-facing reason."""
    return Settings.from_env()


@st.cache_resource(show_spinner=False)
def services(key: tuple[tuple[str, str], ...] = ()):  # noqa: ANN201 - Services, imported lazily
    """The process-wide Services (fetcher, lookups, events), built once per configuration.

    ``key`` (see :func:`config_key`) is hashed by Streamlit, so a changed environment builds anew.

    >>> svc = services(config_key())
    >>> svc.events, svc.fetcher, svc.lookups
    """
    from app.services import Services  # imported here so a broken sibling module is reported, not fatal

    return Services.build(load_settings())


def settings_problem() -> str | None:
    """Why the dashboard cannot start, in words an operator can act on; ``None`` when fine."""
    try:
        load_settings()
    except SettingsError as exc:
        return (
            f"The dashboard's settings are not valid: {exc}.\n\n"
            "Point `ORDERGROOVE_BASE_URL` at the local sandbox (e.g. `http://127.0.0.1:8700`, "
            "started with `make sandbox`) or set `ORDERGROOVE_API_KEY` for the real Ordergroove API."
        )
    return None


def get_services():  # noqa: ANN201
    """Services for a page, or an ``st.error`` and ``st.stop()`` when they cannot be built."""
    problem = settings_problem()
    if problem:
        st.error(problem, icon=":material/settings:")
        st.stop()
    try:
        return services(config_key())
    except Exception as exc:  # noqa: BLE001 - any start-up failure becomes a readable message
        st.error(
            f"The dashboard could not open its data (cache or event store under `OGTK_DATA_DIR`): "
            f"{type(exc).__name__}: {exc}",
            icon=":material/error:",
        )
        st.stop()


def sidebar_status() -> None:
    """Where the dashboard's data comes from, at the foot of the sidebar."""
    try:
        settings = load_settings()
    except SettingsError:
        return
    where = "local sandbox" if settings.ordergroove_is_sandbox else "Ordergroove"
    events = ""
    if settings.events_url is not None:  # OGTK_EVENTS_URL: every instance's events (password hidden)
        from app.events.postgres import redact

        events = f"  \n**Events:** PostgreSQL · `{redact(settings.events_url.reveal())}`"
    st.sidebar.caption(
        f"**Ordergroove:** {where} · `{settings.ordergroove_base_url}`  \n"
        f"**Data:** `{settings.data_dir}`{events}"
    )
