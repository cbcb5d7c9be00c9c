"""Who may see the dashboard (CONTRACT section 2): it shows customers' names, emails and phones.

- ``OGTK_DASHBOARD_PASSWORD`` set: everyone types it once per session (and can lock again).
- unset: only a browser on this machine (a loopback peer, not relayed by a proxy) sees data, since
  ``streamlit run`` binds every interface; ``OGTK_DASHBOARD_OPEN=1`` opens it to anyone who can
  reach it, for an authenticating proxy in front. An unknown peer is refused (fail closed).

The peer is the TCP address of the session's WebSocket as the server saw it. ``st.context.ip_address``
cannot serve here: it reports loopback and "unknown" alike as ``None``. Streamlit's server trusts
``X-Forwarded-For`` only from a proxy on loopback, which then yields the real client's address;
any forwarding header at all marks the session as relayed, hence not local.

Password checks compare SHA-256 digests in constant time (neither content nor length leaks) and
are throttled per session and for the whole process, so guessing is slow even across sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import streamlit as st

from app.settings import Secret
from dashboard import md

SESSION_KEY = "ogtk_dashboard_unlocked"
OPEN_BANNER = (
    "**This dashboard is open to anyone who can reach it** (`OGTK_DASHBOARD_OPEN=1`). Keep an "
    "authenticating proxy in front of it, or set `OGTK_DASHBOARD_PASSWORD`."
)
LOCAL_BANNER = (
    "Shown to this machine only: without `OGTK_DASHBOARD_PASSWORD` the dashboard refuses browsers "
    "on other machines. Set a password to share it."
)
WRONG_PASSWORD = "That password is not right."
#: headers a reverse proxy adds; their presence means the browser is not the loopback peer
PROXY_HEADERS = frozenset({"forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-host", "via",
                           "x-forwarded-proto", "true-client-ip", "cf-connecting-ip"})


# -- the peer ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Peer:
    """Where a session connects from: the TCP peer address and whether a proxy relayed it.

    >>> Peer("127.0.0.1").is_local, Peer("10.0.0.7").is_local, Peer(None).is_local
    (True, False, False)
    """

    address: str | None
    relayed: bool = False

    @property
    def is_local(self) -> bool:
        return not self.relayed and is_loopback(self.address)

    def describe(self) -> str:
        if self.address is None:
            return "an address the dashboard could not determine"
        return f"{self.address} (through a proxy)" if self.relayed else self.address


def is_loopback(address: str | None) -> bool:
    """``127.0.0.0/8``, ``::1`` and IPv4-mapped loopback; anything unparsable is not."""
    if not isinstance(address, str) or not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _relayed(headers: Iterable[tuple[str, str]] | None) -> bool:
    try:
        return any(str(name).lower() in PROXY_HEADERS for name, _ in headers or ())
    except (TypeError, ValueError):
        return True  # headers we cannot read: assume the worst


def session_peer() -> Peer:
    """The peer of the current Streamlit session (``Peer(None)`` when it cannot be known)."""
    try:
        from streamlit import runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None or not runtime.exists():
            return Peer(None)
        client = runtime.get_instance().get_client(ctx.session_id)
    except Exception:  # noqa: BLE001 - any surprise in Streamlit's internals means "unknown"
        return Peer(None)
    context = getattr(client, "client_context", None)
    address = getattr(context, "remote_ip", None)
    headers = getattr(context, "headers", None)
    if address is None:  # Tornado-based Streamlit: the WebSocket handler's request
        request = getattr(client, "request", None)
        address = getattr(request, "remote_ip", None)
        headers = getattr(getattr(request, "headers", None), "get_all", lambda: None)()
    if not isinstance(address, str):
        return Peer(None)
    return Peer(address, _relayed(headers))


# -- the password -------------------------------------------------------------------------------------
def password_matches(given: str | None, expected: Secret | str) -> bool:
    """Constant-time comparison of SHA-256 digests: neither the content nor the length leaks.

    >>> password_matches("s3cret", Secret("s3cret"))
    True
    """
    secret = expected.reveal() if isinstance(expected, Secret) else expected
    if not secret:
        return False
    typed = hashlib.sha256((given or "").encode("utf-8")).digest()
    wanted = hashlib.sha256(secret.encode("utf-8")).digest()
    return hmac.compare_digest(typed, wanted)


def _monotonic() -> float:
    return time.monotonic()


class Throttle:
    """Slows down wrong passwords: after ``free`` failures each attempt waits, doubling up to a cap.

    Failures are forgotten after ``forget_after_s`` without one; a success clears the key. The
    clock is injectable; at most ``max_keys`` keys are remembered (the oldest go first).

    >>> throttle = Throttle(free=3, base_s=2, max_s=60)
    >>> throttle.failed("session-1"); throttle.wait_s("session-1")
    0.0
    """

    def __init__(self, *, free: int, base_s: float, max_s: float, forget_after_s: float = 900.0,
                 max_keys: int = 10_000, clock: Callable[[], float] | None = None) -> None:
        self.free, self.base_s, self.max_s = free, base_s, max_s
        self.forget_after_s, self.max_keys = forget_after_s, max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def _now(self) -> float:
        return (self._clock or _monotonic)()

    def _current(self, key: str, now: float) -> tuple[int, float]:
        count, last = self._failures.get(key, (0, now))
        if count and now - last >= self.forget_after_s:
            self._failures.pop(key, None)
            return 0, now
        return count, last

    def wait_s(self, key: str) -> float:
        """Seconds before ``key`` may try again (0.0: now)."""
        with self._lock:
            now = self._now()
            count, last = self._current(key, now)
            if count == 0 or count < self.free:
                return 0.0
            delay = min(self.max_s, self.base_s * 2 ** (count - self.free))
            return max(0.0, delay - (now - last))

    def failed(self, key: str) -> None:
        with self._lock:
            now = self._now()
            count, _ = self._current(key, now)
            self._failures[key] = (count + 1, now)
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@dataclass
class Throttles:
    """The two throttles of one dashboard process: per browser session, and everyone together."""

    per_session: Throttle
    everyone: Throttle

    def wait_s(self, session: str) -> float:
        return max(self.per_session.wait_s(session), self.everyone.wait_s("*"))

    def failed(self, session: str) -> None:
        self.per_session.failed(session)
        self.everyone.failed("*")

    def succeeded(self, session: str) -> None:
        self.per_session.succeeded(session)


def new_throttles(clock: Callable[[], float] | None = None) -> Throttles:
    """3 free tries per session then 2 s, 4 s, … up to 5 min; 20 free tries for the whole process
    then 1 s, 2 s, … up to 1 min (slow enough against guessing, short enough not to lock a
    colleague out for long)."""
    return Throttles(per_session=Throttle(free=3, base_s=2.0, max_s=300.0, clock=clock),
                     everyone=Throttle(free=20, base_s=1.0, max_s=60.0, clock=clock))


@st.cache_resource(show_spinner=False)
def throttles() -> Throttles:
    """The process-wide throttles (shared by every session of this Streamlit server)."""
    return new_throttles()


# -- configuration --------------------------------------------------------------------------------------
def configured_password(env: Mapping[str, str] | None = None) -> Secret | None:
    """``OGTK_DASHBOARD_PASSWORD`` read the way :class:`~app.settings.Settings` reads it.

    Read straight from the environment so the gate holds even when other settings are invalid.
    """
    raw = (os.environ if env is None else env).get("OGTK_DASHBOARD_PASSWORD")
    return Secret(raw.strip()) if raw and raw.strip() else None


def open_to_all(env: Mapping[str, str] | None = None) -> bool:
    """``OGTK_DASHBOARD_OPEN=1``: show data to any client (an authenticating proxy is in front)."""
    return (os.environ if env is None else env).get("OGTK_DASHBOARD_OPEN", "").strip() == "1"


# -- the gate ----------------------------------------------------------------------------------------------
def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return getattr(ctx, "session_id", None) or "unknown-session"


def _password_gate(password: Secret) -> bool:
    if st.session_state.get(SESSION_KEY):
        if st.sidebar.button("Lock the dashboard", icon=":material/lock:", key="ogtk_lock"):
            st.session_state[SESSION_KEY] = False
            st.rerun()
        return True
    st.title("Ordergroove × Gladly operations")
    with st.form("ogtk_gate", clear_on_submit=True, border=False):
        given = st.text_input("Dashboard password", type="password", key="ogtk_password")
        submitted = st.form_submit_button("Unlock", icon=":material/lock_open:", key="ogtk_unlock")
    if not (submitted and given):
        st.caption("This dashboard is protected by `OGTK_DASHBOARD_PASSWORD`.")
        return False
    session, limits = _session_id(), throttles()
    wait = limits.wait_s(session)
    if wait > 0:  # not even checked: a guess during the pause teaches nothing
        st.error(f"Too many wrong passwords. Try again in {max(1, round(wait))} s.")
        return False
    if password_matches(given, password):
        limits.succeeded(session)
        st.session_state[SESSION_KEY] = True
        st.rerun()  # start over without the gate on screen
    limits.failed(session)
    st.error(WRONG_PASSWORD)
    return False


def require_access(password: Secret | None, *, open_flag: bool | None = None,
                   peer: Peer | None = None) -> bool:
    """Render the gate (or a banner); ``True`` when the pages may render.

    With a password: the form until it is typed, then a "Lock" button in the sidebar. Without one:
    the data for a loopback browser (with a banner saying so) or for anyone when
    ``OGTK_DASHBOARD_OPEN=1``; everyone else gets an explanation and nothing else.
    """
    if password:
        return _password_gate(password)
    if open_to_all() if open_flag is None else open_flag:
        st.warning(OPEN_BANNER, icon=":material/lock_open:")
        return True
    peer = session_peer() if peer is None else peer
    if peer.is_local:
        st.caption(LOCAL_BANNER)
        return True
    st.title("Ordergroove × Gladly operations")
    st.error(
        "This dashboard shows customer data, so without `OGTK_DASHBOARD_PASSWORD` it only answers "
        f"a browser on the machine it runs on. You are connecting from {md.text(peer.describe())}.\n\n"
        "Ask the operator to set `OGTK_DASHBOARD_PASSWORD`, or `OGTK_DASHBOARD_OPEN=1` when an "
        "authenticating proxy stands in front of it.",
        icon=":material/lock:",
    )
    return False
