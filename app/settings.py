"""Settings: the environment (CONTRACT section 2) turned into one validated, typed object.

Everything configurable is read here once, at start-up, so a bad value fails loudly before the
first request instead of in the middle of one. Secrets are wrapped in :class:`Secret` so they
never show up in a repr, a log line or an error body.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .hosts import is_loopback_url

DEFAULT_BASE_URL = "https://restapi.ordergroove.com"
#: the key the local sandbox expects by default, sent when no ORDERGROOVE_API_KEY is set for it
SANDBOX_DEFAULT_API_KEY = "sandbox-key"


def default_metrics_dir(data_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """Where gunicorn workers keep Prometheus' multiprocess files (``OGTK_METRICS_DIR`` wins).

    Not under the data directory: prometheus-client mmaps these files, so a full data disk
    would kill workers with SIGBUS and a read-only one would stop the server from starting.
    Memory-backed ``/dev/shm`` when available, named after the data directory so the dashboard
    of the same deployment finds the same files.
    """
    env = os.environ if env is None else env
    if env.get("OGTK_METRICS_DIR"):
        return Path(env["OGTK_METRICS_DIR"])
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:12]
    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
    return base / f"ogtk-metrics-{digest}"


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message says which and why."""


#: the lookup's own route; OGTK_GLADLY_LOOKUP_PATH adds the path Gladly uses when a proxy changes it
LOOKUP_PATH = "/gladly/lookup"
_URL_PATH = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+")


def _lookup_path(value: str) -> str:
    """A plain absolute URL path: no query, fragment, empty, ``.`` or ``..`` segment."""
    segments = value.split("/")[1:]
    if not _URL_PATH.fullmatch(value) or any(s in (".", "..") for s in segments):
        raise SettingsError(
            "OGTK_GLADLY_LOOKUP_PATH must be the path of the lookup URL configured in Gladly, "
            f"like /ogtk/gladly/lookup (no query, no trailing or double slash), got {value!r}")
    return value


#: the Gladly Actions this toolkit can offer (CONTRACT section 8), in the order cards list them
ACTION_NAMES = ("cancel", "skip")
#: Ordergroove's standard cancel reasons (help article 360046017813) without the system-only 9
DEFAULT_CANCEL_REASONS: tuple[tuple[str, str], ...] = (
    ("1", "Other"), ("2", "Overstocked"), ("3", "Product not in use"), ("8", "Too expensive"),
    ("15", "Tried and don't like product"), ("22", "Switch to another product"),
    ("31", "Trouble managing Auto-Ship online"), ("70", "No longer use this product"),
)
#: a reason's label becomes the cancel details when the agent types none, so it obeys their rules
MAX_CANCEL_DETAILS = 200


def parse_actions(raw: str | None) -> frozenset[str]:
    """``"cancel, skip"`` → ``{"cancel", "skip"}``; unknown names are refused, empty means none."""
    names = {part.strip().lower() for part in (raw or "").split(",") if part.strip()}
    unknown = sorted(names - set(ACTION_NAMES))
    if unknown:
        raise SettingsError(f"OGTK_ACTIONS knows only {', '.join(ACTION_NAMES)}; got {', '.join(unknown)}")
    return frozenset(names)


def parse_cancel_reasons(raw: str) -> tuple[tuple[str, str], ...]:
    """``"2=Overstocked;8=Too expensive"`` → ``(("2", "Overstocked"), ("8", "Too expensive"))``."""
    reasons: dict[str, str] = {}
    for pair in (part.strip() for part in raw.split(";")):
        if not pair:
            continue
        code, sep, label = (text.strip() for text in pair.partition("="))
        if not sep or not code.isascii() or not code.isdigit() or not label:
            raise SettingsError(f"OGTK_CANCEL_REASONS entries must look like 2=Overstocked, got {pair!r}")
        if "|" in label or len(label) > MAX_CANCEL_DETAILS:
            raise SettingsError(f"OGTK_CANCEL_REASONS label for {code} must have no | and at most "
                                f"{MAX_CANCEL_DETAILS} characters")
        code = str(int(code))
        if code in reasons:
            raise SettingsError(f"OGTK_CANCEL_REASONS lists code {code} twice")
        reasons[code] = label
    if not reasons:
        raise SettingsError("OGTK_CANCEL_REASONS holds no code=label pair")
    return tuple(reasons.items())


class Secret:
    """A string that refuses to print itself.

    >>> key = Secret("s3cret"); repr(key)
    "Secret('***')"
    """

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one process (API worker, dashboard or CLI).

    >>> s = Settings.from_env({"OGTK_ALLOW_UNAUTHENTICATED": "1",
    ...                        "ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700"})
    """

    ordergroove_api_key: Secret | None = None
    ordergroove_base_url: str = DEFAULT_BASE_URL
    ordergroove_timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    gladly_signing_key: Secret | None = None
    gladly_basic_auth: Secret | None = None
    gladly_replay_window_s: int = 300
    #: the path of the lookup URL as configured in Gladly: what signatures are computed over, and
    #: a second route for the lookup when a proxy forwards it unchanged (e.g. /ogtk/gladly/lookup)
    gladly_lookup_path: str = LOOKUP_PATH
    allow_unauthenticated: bool = False
    data_dir: Path = Path("var")
    lookup_deadline_s: float = 4.0
    dashboard_password: Secret | None = None
    # Ordergroove client
    upstream_connect_timeout_s: float = 1.0
    upstream_read_timeout_s: float = 3.0
    upstream_max_retries: int = 2
    # requests one lookup may have in flight: round two of the plan is one request per upcoming
    # order plus the product batch, so 10 keeps a customer with up to 9 upcoming orders at two
    # round trips; the instance-wide request budget (below) is what protects Ordergroove
    upstream_max_in_flight: int = 10
    # Ordergroove requests per second for the whole instance (all workers): 20% under Ordergroove's
    # 6,000/min per IP (app/ordergroove/budget.py says why); 0 disables the budget
    upstream_rate_per_s: float = 80.0
    # a process's fetch threads share one CPU: a cold lookup's requests then hand the GIL to one
    # another without waking the other core (app/ordergroove/affinity.py); OGTK_FETCH_ONE_CPU=0: off
    fetch_one_cpu: bool = True
    upstream_page_cap: int = 50
    upstream_breaker_threshold: int = 8  # consecutive failures that open the circuit breaker
    upstream_breaker_reset_s: float = 5.0  # how long it stays open before one trial call
    # Disk cache: freshness per resource, how long stale data may still be served, 404 memory
    cache_ttl_customer_s: float = 90.0
    cache_ttl_subscriptions_s: float = 90.0
    cache_ttl_orders_s: float = 90.0
    cache_ttl_product_s: float = 6 * 3600.0
    cache_ttl_search_s: float = 90.0
    cache_stale_max_age_s: float = 24 * 3600.0
    cache_negative_ttl_s: float = 30.0
    cache_size_limit_bytes: int = 1 << 30
    # Shared cache of several instances (CONTRACT section 10): Redis URL, per-worker pool, per-call timeout
    cache_url: Secret | None = None
    cache_max_connections: int = 16
    cache_timeout_s: float = 0.5
    # Lookup events
    event_retention_days: int = 90
    #: OGTK_EVENTS_URL: events in this PostgreSQL database, shared by every instance (section 10)
    events_url: Secret | None = None
    # Gladly Actions (section 8) and Ordergroove webhooks (section 9)
    actions: frozenset[str] = frozenset()
    cancel_reasons: tuple[tuple[str, str], ...] = DEFAULT_CANCEL_REASONS
    ordergroove_webhook_key: Secret | None = None  # comma list of keys; never printed

    @property
    def ordergroove_is_sandbox(self) -> bool:
        return is_loopback_url(self.ordergroove_base_url)

    @property
    def effective_api_key(self) -> Secret:
        return self.ordergroove_api_key or Secret(SANDBOX_DEFAULT_API_KEY)

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def metrics_dir(self) -> Path:
        return default_metrics_dir(self.data_dir)

    @property
    def upstream_budget_path(self) -> Path:
        """The instance-wide Ordergroove request budget: memory-backed beside the metrics files,
        so a full or read-only data disk cannot stop it."""
        metrics_dir = self.metrics_dir
        return metrics_dir.with_name(metrics_dir.name + ".upstream-budget")

    @property
    def events_db_path(self) -> Path:
        return self.data_dir / "events.sqlite3"

    @property
    def gladly_signing_keys(self) -> tuple[Secret, ...]:
        """Every key of ``GLADLY_SIGNING_KEY`` (comma-separated, all accepted); the first signs."""
        if not self.gladly_signing_key:
            return ()
        return tuple(Secret(key.strip()) for key in self.gladly_signing_key.reveal().split(","))

    @property
    def webhook_keys(self) -> tuple[bytes, ...]:
        """Every configured Ordergroove webhook verification key (rotation: several at once)."""
        if not self.ordergroove_webhook_key:
            return ()
        return tuple(k.strip().encode("utf-8") for k in self.ordergroove_webhook_key.reveal().split(",") if k.strip())

    @property
    def authentication_configured(self) -> bool:
        return bool(self.gladly_signing_key) or bool(self.gladly_basic_auth)

    def check_api_can_start(self) -> None:
        """Fail closed: the lookup API must not serve customer data to anyone who asks."""
        if not self.authentication_configured and not self.allow_unauthenticated:
            raise SettingsError(
                "refusing to start: set GLADLY_SIGNING_KEY and/or GLADLY_BASIC_AUTH "
                "(or OGTK_ALLOW_UNAUTHENTICATED=1 for a local demo only)"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Read the environment (``os.environ`` by default); keyword overrides win (tests)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}

        def text(name: str) -> str | None:
            raw = env.get(name)
            return raw.strip() if raw is not None and raw.strip() != "" else None

        def number(name: str, kind: type, minimum: float) -> Any:
            raw = text(name)
            if raw is None:
                return None
            try:
                value = kind(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
            if value < minimum:
                raise SettingsError(f"{name} must be at least {minimum}, got {raw!r}")
            return value

        if (key := text("ORDERGROOVE_API_KEY")) is not None:
            values["ordergroove_api_key"] = Secret(key)
        if (url := text("ORDERGROOVE_BASE_URL")) is not None:
            if not url.startswith(("http://", "https://")):
                raise SettingsError(f"ORDERGROOVE_BASE_URL must start with http:// or https://, got {url!r}")
            values["ordergroove_base_url"] = url.rstrip("/")
        if (zone := text("ORDERGROOVE_TIMEZONE")) is not None:
            try:
                values["ordergroove_timezone"] = ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise SettingsError(f"ORDERGROOVE_TIMEZONE is not a known IANA zone: {zone!r}") from None
        if (signing := text("GLADLY_SIGNING_KEY")) is not None:
            if any(not key.strip() for key in signing.split(",")):
                raise SettingsError("GLADLY_SIGNING_KEY holds an empty key: give keys separated by single commas")
            values["gladly_signing_key"] = Secret(signing)
        if (basic := text("GLADLY_BASIC_AUTH")) is not None:
            user, _, password = basic.partition(":")
            if not user or not password:
                raise SettingsError("GLADLY_BASIC_AUTH must look like user:password, both non-empty")
            values["gladly_basic_auth"] = Secret(basic)
        if (password := text("OGTK_DASHBOARD_PASSWORD")) is not None:
            values["dashboard_password"] = Secret(password)
        if (data_dir := text("OGTK_DATA_DIR")) is not None:
            values["data_dir"] = Path(data_dir)
        if (cache_url := text("OGTK_CACHE_URL")) is not None:
            if not cache_url.startswith(("redis://", "rediss://", "unix://")):
                raise SettingsError("OGTK_CACHE_URL must be a redis://, rediss:// or unix:// URL "
                                    "(unset for the disk cache under OGTK_DATA_DIR)")
            values["cache_url"] = Secret(cache_url)
        if (path := text("OGTK_GLADLY_LOOKUP_PATH")) is not None:
            values["gladly_lookup_path"] = _lookup_path(path)
        values["allow_unauthenticated"] = text("OGTK_ALLOW_UNAUTHENTICATED") == "1"
        if (one_cpu := text("OGTK_FETCH_ONE_CPU")) is not None:
            if one_cpu not in ("0", "1"):
                raise SettingsError(f"OGTK_FETCH_ONE_CPU must be 1 (the default) or 0, not {one_cpu!r}")
            values["fetch_one_cpu"] = one_cpu == "1"
        values["actions"] = parse_actions(text("OGTK_ACTIONS"))
        if (reasons := text("OGTK_CANCEL_REASONS")) is not None:
            values["cancel_reasons"] = parse_cancel_reasons(reasons)
        if (events_url := text("OGTK_EVENTS_URL")) is not None:
            if not events_url.startswith(("postgresql://", "postgres://")):
                raise SettingsError("OGTK_EVENTS_URL must be a postgresql:// URL (leave it unset for "
                                    "SQLite under OGTK_DATA_DIR)")
            values["events_url"] = Secret(events_url)
        if (webhook_key := text("ORDERGROOVE_WEBHOOK_KEY")) is not None:
            if not any(k.strip() for k in webhook_key.split(",")):
                raise SettingsError("ORDERGROOVE_WEBHOOK_KEY holds no key (a comma list of keys)")
            values["ordergroove_webhook_key"] = Secret(webhook_key)

        numeric = {
            "GLADLY_REPLAY_WINDOW_S": ("gladly_replay_window_s", int, 0),
            "OGTK_LOOKUP_DEADLINE_S": ("lookup_deadline_s", float, 0.1),
            "OGTK_UPSTREAM_CONNECT_TIMEOUT_S": ("upstream_connect_timeout_s", float, 0.01),
            "OGTK_UPSTREAM_READ_TIMEOUT_S": ("upstream_read_timeout_s", float, 0.01),
            "OGTK_UPSTREAM_MAX_RETRIES": ("upstream_max_retries", int, 0),
            "OGTK_UPSTREAM_MAX_IN_FLIGHT": ("upstream_max_in_flight", int, 1),
            "OGTK_UPSTREAM_RATE_PER_S": ("upstream_rate_per_s", float, 0),
            "OGTK_UPSTREAM_PAGE_CAP": ("upstream_page_cap", int, 1),
            "OGTK_UPSTREAM_BREAKER_THRESHOLD": ("upstream_breaker_threshold", int, 1),
            "OGTK_UPSTREAM_BREAKER_RESET_S": ("upstream_breaker_reset_s", float, 0.1),
            "OGTK_CACHE_TTL_CUSTOMER_S": ("cache_ttl_customer_s", float, 0),
            "OGTK_CACHE_TTL_SUBSCRIPTIONS_S": ("cache_ttl_subscriptions_s", float, 0),
            "OGTK_CACHE_TTL_ORDERS_S": ("cache_ttl_orders_s", float, 0),
            "OGTK_CACHE_TTL_PRODUCT_S": ("cache_ttl_product_s", float, 0),
            "OGTK_CACHE_TTL_SEARCH_S": ("cache_ttl_search_s", float, 0),
            "OGTK_CACHE_STALE_MAX_AGE_S": ("cache_stale_max_age_s", float, 0),
            "OGTK_CACHE_NEGATIVE_TTL_S": ("cache_negative_ttl_s", float, 0),
            "OGTK_CACHE_SIZE_LIMIT_BYTES": ("cache_size_limit_bytes", int, 1 << 20),
            "OGTK_CACHE_MAX_CONNECTIONS": ("cache_max_connections", int, 1),
            "OGTK_CACHE_TIMEOUT_S": ("cache_timeout_s", float, 0.01),
            "OGTK_EVENT_RETENTION_DAYS": ("event_retention_days", int, 1),
        }
        for env_name, (attr, kind, minimum) in numeric.items():
            value = number(env_name, kind, minimum)
            if value is not None:
                values[attr] = value

        values.update(overrides)
        settings = cls(**values)
        if settings.ordergroove_api_key is None and not settings.ordergroove_is_sandbox:
            raise SettingsError(
                "ORDERGROOVE_API_KEY is required unless ORDERGROOVE_BASE_URL points at the local sandbox"
            )
        return settings
