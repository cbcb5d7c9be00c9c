"""The names of what a Gladly lookup can come to, defined once.

The lookup decides an outcome, the event store keeps it, metrics count it and the dashboard
shows it; all of them import these names, so a new outcome cannot exist in one place only.
"""

from __future__ import annotations

MATCHED, UNMATCHED, AMBIGUOUS, ERROR = "matched", "unmatched", "ambiguous", "error"
#: what an authenticated, valid lookup found; each one is stored as a lookup event
OUTCOMES = (MATCHED, UNMATCHED, AMBIGUOUS, ERROR)

#: why a lookup did not match (CONTRACT section 5): on the LookupResult and the event
ID_UNKNOWN, EMAIL_UNKNOWN, EMAIL_AMBIGUOUS, UPSTREAM_ERROR = "id_unknown", "email_unknown", "email_ambiguous", \
    "upstream_error"
NO_IDENTIFIER = "no_identifier"  # neither an id nor an email: phones alone never match
REASON_CODES = (ID_UNKNOWN, EMAIL_UNKNOWN, EMAIL_AMBIGUOUS, UPSTREAM_ERROR, NO_IDENTIFIER)

UNAUTHORIZED, INVALID = "unauthorized", "invalid"
#: requests refused before matching: counted in metrics, never stored as events (CONTRACT §5)
REFUSED = (UNAUTHORIZED, INVALID)

#: every value of the ``outcome`` label of ``ogtk_lookups_total``
METRIC_OUTCOMES = OUTCOMES + REFUSED

#: what a Gladly Action submit came to (CONTRACT section 8): action events, ``ogtk_actions_total``
ACTION_OUTCOMES = ("done", "invalid", "rejected", "error")
#: what an Ordergroove webhook delivery came to (CONTRACT section 9): webhook events,
#: ``ogtk_webhooks_total`` (``rejected``: bad signature or over 1 MiB; ``ignored``: nothing to do)
WEBHOOK_OUTCOMES = ("applied", "duplicate", "ignored", "rejected")
