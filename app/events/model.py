"""What one Gladly lookup leaves behind: the :class:`LookupEvent` record and email masking.

Emails are masked the moment an event is built (``j***@example.com``), so a raw address can never
reach the event database, the dashboard or a log line through this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..outcomes import OUTCOMES

LEVELS = ("BASIC", "DETAILED")
KIND_EXTERNAL = "externalCustomerId"
KIND_EMAIL = "email"
HOUR_MS = 3_600_000


def mask_email(email: str | None) -> str:
    """``" John.Doe@Example.com "`` -> ``"j***@example.com"``; no usable address -> ``"***"``.

    Idempotent: masking a masked address gives it back unchanged.
    """
    text = (email or "").strip().lower()
    local, at, domain = text.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:  # naive times are taken as UTC rather than as server-local time
        return ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc)


def to_ms(ts: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are taken as UTC)."""
    return int(_utc(ts).timestamp() * 1000)


def _masked_tuple(emails: Iterable[str] | str | None) -> tuple[str, ...]:
    if emails is None:
        return ()
    if isinstance(emails, str):
        emails = (emails,)
    seen: dict[str, None] = {}
    for email in emails:
        seen.setdefault(mask_email(email), None)
    return tuple(seen)


@dataclass(frozen=True)
class LookupEvent:
    """One answered lookup, ready to store; ``emails`` always holds masked addresses only.

    >>> event = LookupEvent.create(level="BASIC", outcome="unmatched", raw_emails=["ann@x.com"])
    >>> event.emails
    ('a***@x.com',)
    """

    level: str
    outcome: str
    ts: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    gladly_customer_id: str | None = None
    external_customer_id: str | None = None
    matched_customer_id: str | None = None
    emails: tuple[str, ...] = ()
    duration_ms: float = 0.0
    upstream_calls: int = 0
    cache_hits: int = 0
    correlation_id: str | None = None
    stale: bool = False
    error_code: str | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {self.level!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {self.outcome!r}")
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "ts", _utc(self.ts))
        set_(self, "emails", _masked_tuple(self.emails))  # masks raw input; masked input is unchanged
        if self.outcome != "matched":
            set_(self, "matched_customer_id", None)
        set_(self, "duration_ms", float(self.duration_ms))
        set_(self, "upstream_calls", int(self.upstream_calls))
        set_(self, "cache_hits", int(self.cache_hits))
        set_(self, "stale", bool(self.stale))

    @classmethod
    def create(cls, *, raw_emails: Iterable[str] | str | None = None, **fields) -> "LookupEvent":
        """Build an event from what the lookup saw; ``raw_emails`` are masked before anything keeps them."""
        return cls(emails=_masked_tuple(raw_emails), **fields)

    @property
    def masked_emails(self) -> tuple[str, ...]:
        return self.emails

    @property
    def subject(self) -> tuple[str, str] | None:
        """What Gladly asked us to find, as ``(kind, identifier)``: the external id, else the emails."""
        if self.external_customer_id:
            return KIND_EXTERNAL, self.external_customer_id
        if self.emails:
            return KIND_EMAIL, ", ".join(self.emails)
        return None

    @property
    def customer_key(self) -> str | None:
        """Who the lookup was for, for per-customer rates: Gladly's ``query.id``, else the subject.

        Without a Gladly id, the external id stands in; without that, the masked emails do. Masked
        emails can merge distinct people (``j***@gmail.com``), which only happens for lookups that
        carried neither a Gladly id nor an external id.
        """
        if self.gladly_customer_id:
            return "g:" + self.gladly_customer_id
        subject = self.subject
        if subject is None:
            return None
        return ("x:" if subject[0] == KIND_EXTERNAL else "e:") + subject[1]
