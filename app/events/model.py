"""What the integration leaves behind: lookup, action and webhook events, and email masking.

Emails are masked the moment an event is built (``j***@example.com``) and, given an
:class:`~app.events.hashing.EmailHasher`, also kept as keyed hashes (so addresses that mask alike
are counted apart); a raw address can never reach the event database, the dashboard or a log line
through this module.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..outcomes import (ACTION_OUTCOMES, EMAIL_AMBIGUOUS, EMAIL_UNKNOWN, ID_UNKNOWN, NO_IDENTIFIER, OUTCOMES,
                        UPSTREAM_ERROR, WEBHOOK_OUTCOMES)

if TYPE_CHECKING:  # pragma: no cover
    from .hashing import EmailHasher

LEVELS = ("BASIC", "DETAILED")
#: Why a lookup did not match: code -> the label the dashboard shows.
REASONS = {
    ID_UNKNOWN: "id unknown to Ordergroove",
    EMAIL_UNKNOWN: "email not in Ordergroove",
    EMAIL_AMBIGUOUS: "several Ordergroove customers share this email",
    UPSTREAM_ERROR: "Ordergroove failed",
    NO_IDENTIFIER: "no id or email to match (phones never match)",
}
ACTIONS = ("cancel", "skip")
ACTION_SOURCES = ("gladly", "cli")
#: unmatched_profiles' key kinds, by the prefix of LookupEvent.profile_key
PROFILE_KINDS = {"g": "gladly_id", "h": "email_hash", "x": "external_id"}
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


def _now() -> datetime:
    return datetime.now(timezone.utc)


def default_reason(outcome: str, external_customer_id: str | None, has_emails: bool) -> str | None:
    """The reason an outcome implies when the lookup gave none (and for events stored before reasons)."""
    if outcome == "error":
        return "upstream_error"
    if outcome == "ambiguous":
        return "email_ambiguous"
    if outcome == "unmatched":
        if external_customer_id:
            return "id_unknown"
        return "email_unknown" if has_emails else "no_identifier"
    return None


def _check(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, not {value!r}")


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


_HASH = re.compile(r"[0-9a-f]{64}")


def _hash_tuple(hashes: Iterable[str] | str | None) -> tuple[str, ...]:
    if not hashes:
        return ()
    if isinstance(hashes, str):
        hashes = (hashes,)
    out = tuple(dict.fromkeys(hashes))
    for value in out:  # a raw address passed here by mistake must never be stored
        if not isinstance(value, str) or not _HASH.fullmatch(value):
            raise ValueError("email_hashes must hold EmailHasher.hash() values (64 hex digits)")
    return out


@dataclass(frozen=True)
class LookupEvent:
    """One answered lookup, ready to store; ``emails`` always holds masked addresses only.

    >>> event = LookupEvent.create(level="BASIC", outcome="unmatched", raw_emails=["ann@x.com"],
    ...                            hasher=store.hasher)
    >>> event.emails, event.reason, len(event.email_hashes[0])
    (('a***@x.com',), 'email_unknown', 64)

    ``uid`` names the event for :meth:`EventStore.record_suggestion`; ``partial`` says the card was
    answered with a piece missing (cut off by the deadline, or failed with no stale copy);
    ``reason`` (a :data:`REASONS` code) says why it did not match, implied by the outcome when not
    given; ``email_hashes`` are the keyed hashes of the emails, in the same order.
    """

    level: str
    outcome: str
    ts: datetime = field(default_factory=_now)
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
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    partial: bool = False
    reason: str | None = None
    email_hashes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check("level", self.level, LEVELS)
        _check("outcome", self.outcome, OUTCOMES)
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "ts", _utc(self.ts))
        set_(self, "emails", _masked_tuple(self.emails))  # masks raw input; masked input is unchanged
        set_(self, "email_hashes", _hash_tuple(self.email_hashes))
        if self.outcome != "matched":
            set_(self, "matched_customer_id", None)
            if self.reason is None:
                set_(self, "reason", default_reason(self.outcome, self.external_customer_id,
                                                    bool(self.emails)))
        else:
            set_(self, "reason", None)
        if self.reason is not None:
            _check("reason", self.reason, REASONS)
        set_(self, "partial", bool(self.partial))
        set_(self, "duration_ms", float(self.duration_ms))
        set_(self, "upstream_calls", int(self.upstream_calls))
        set_(self, "cache_hits", int(self.cache_hits))
        set_(self, "stale", bool(self.stale))

    @classmethod
    def create(cls, *, raw_emails: Iterable[str] | str | None = None,
               hasher: "EmailHasher | None" = None, **fields) -> "LookupEvent":
        """Build an event from what the lookup saw; ``raw_emails`` are masked (and, with a
        ``hasher``, hashed) before anything keeps them."""
        if isinstance(raw_emails, str):
            raw_emails = (raw_emails,)
        raw = [email for email in (raw_emails or ()) if (email or "").strip()]
        if hasher is not None:
            fields.setdefault("email_hashes", tuple(hasher.hash(email) for email in raw))
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

        Without a Gladly id, the external id stands in; without that, the email hashes do (or, for
        an event built without a hasher, the masked emails, which can merge distinct people).
        """
        if self.gladly_customer_id:
            return "g:" + self.gladly_customer_id
        subject = self.subject
        if subject is None:
            return None
        if subject[0] == KIND_EXTERNAL:
            return "x:" + subject[1]
        return "h:" + ",".join(self.email_hashes) if self.email_hashes else "e:" + subject[1]

    @property
    def profile_key(self) -> str | None:
        """Who an unmatched lookup was for: ``g:<Gladly id>``, else ``h:<email hashes>``, else
        ``x:<external id>`` (never the masked emails, which merge distinct people)."""
        if self.gladly_customer_id:
            return "g:" + self.gladly_customer_id
        if self.email_hashes:
            return "h:" + ",".join(self.email_hashes)
        if self.external_customer_id:
            return "x:" + self.external_customer_id
        return None


def _short(value: str | None, limit: int = 64) -> str | None:
    return None if value is None else str(value)[:limit]


@dataclass(frozen=True)
class ActionEvent:
    """One Gladly Action submit (CONTRACT section 8); never the agent's free-text details.

    >>> store.record_action(ActionEvent(action="skip", outcome="done", subscription_id="s1",
    ...                                 order_id="o9", og_status=200, duration_ms=412.0))
    True
    """

    action: str  # "cancel" | "skip"
    outcome: str  # "done" | "invalid" | "rejected" | "error"
    subscription_id: str
    customer_id: str | None = None
    order_id: str | None = None
    reason_code: str | None = None
    og_status: int | None = None
    duration_ms: float = 0.0
    correlation_id: str | None = None
    source: str = "gladly"  # or "cli"
    detail: str | None = None  # a short machine reason such as "not_active"
    ts: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        _check("action", self.action, ACTIONS)
        _check("outcome", self.outcome, ACTION_OUTCOMES)
        _check("source", self.source, ACTION_SOURCES)
        set_ = object.__setattr__
        set_(self, "ts", _utc(self.ts))
        set_(self, "subscription_id", str(self.subscription_id))
        set_(self, "detail", _short(self.detail))  # a code, not prose: bounded so prose cannot hide here
        set_(self, "og_status", None if self.og_status is None else int(self.og_status))
        set_(self, "duration_ms", float(self.duration_ms))


@dataclass(frozen=True)
class WebhookEvent:
    """One Ordergroove webhook delivery (CONTRACT section 9).

    >>> store.record_webhook(WebhookEvent(outcome="applied", event_id="evt_1",
    ...                                   type="subscription.cancelled", customer_id="c1"))
    True
    """

    outcome: str  # "applied" | "duplicate" | "ignored" | "rejected"
    event_id: str | None = None
    type: str | None = None
    customer_id: str | None = None
    duration_ms: float = 0.0
    ts: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        _check("outcome", self.outcome, WEBHOOK_OUTCOMES)
        set_ = object.__setattr__
        set_(self, "ts", _utc(self.ts))
        set_(self, "event_id", _short(self.event_id, 200))  # from an unverified body when rejected
        set_(self, "type", _short(self.type, 100))
        set_(self, "customer_id", _short(self.customer_id, 100))
        set_(self, "duration_ms", float(self.duration_ms))
