"""The Webhooks section's one judgement: has Ordergroove gone quiet for too long?

Webhooks keep cards fresh within a second of a change in Ordergroove; when none arrives for a
while although ``ORDERGROOVE_WEBHOOK_KEY`` is set, the webhook may be unconfigured in
Ordergroove's admin, pointed elsewhere, or failing its signature. ``OGTK_WEBHOOK_QUIET_WARN_S``
(default 6 h) says how long "a while" is for this merchant.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta

DEFAULT_QUIET_S = 6 * 3600.0
QUIET_ENV = "OGTK_WEBHOOK_QUIET_WARN_S"


def quiet_after(env: Mapping[str, str] | None = None) -> timedelta:
    """How long without a delivery before the dashboard warns (bad values: the default)."""
    raw = (os.environ if env is None else env).get(QUIET_ENV, "")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = DEFAULT_QUIET_S
    return timedelta(seconds=seconds if seconds > 0 else DEFAULT_QUIET_S)


def configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether this deployment takes webhooks (``ORDERGROOVE_WEBHOOK_KEY`` has a key)."""
    raw = (os.environ if env is None else env).get("ORDERGROOVE_WEBHOOK_KEY", "")
    return any(part.strip() for part in raw.split(","))


def quiet_warning(last_received: datetime | None, now: datetime, *, is_configured: bool,
                  limit: timedelta) -> str | None:
    """The warning to show, or ``None`` when webhooks are off or arrived recently enough."""
    if not is_configured:
        return None
    if last_received is None:
        return ("`ORDERGROOVE_WEBHOOK_KEY` is set but no webhook has ever arrived: check the webhook "
                "URL and key in Ordergroove's admin.")
    if now - last_received < limit:
        return None
    hours = (now - last_received).total_seconds() / 3600
    return (f"No webhook for {hours:,.1f} h (warning after {limit.total_seconds() / 3600:g} h, "
            f"`{QUIET_ENV}`): cards may be up to 90 s stale again. Check the webhook in Ordergroove's "
            "admin and the signature failures below.")
