"""Matching rules: a parsed Gladly query → candidate customers → outcome and results.

CONTRACT section 4, in order: an ``externalCustomerId`` is the Ordergroove customer id and wins
outright; otherwise emails are searched; phones never match. BASIC returns up to ten profile-only
candidates; DETAILED returns exactly one full profile or nothing. The dashboard calls the same
:class:`LookupService`, so a previewed card is the JSON Gladly receives, byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from .deadline import Deadline
from .gladly.presenter import present_basic, present_detailed
from .gladly.schema import LookupRequest
from .memo import BoundedMemo
from .ordergroove.fetcher import FetchStats, ProfileFetcher
from .ordergroove.cache import WriteBehind
from .ordergroove.models import CustomerProfile
from .outcomes import (AMBIGUOUS, EMAIL_AMBIGUOUS, EMAIL_UNKNOWN, ERROR, ID_UNKNOWN, MATCHED, NO_IDENTIFIER, UNMATCHED,
                       UPSTREAM_ERROR)

__all__ = ["AMBIGUOUS", "BASIC_RESULT_LIMIT", "ERROR", "MATCHED", "UNMATCHED", "LookupResult", "LookupService",
           "response_body"]

BASIC_RESULT_LIMIT = 10
#: presented DETAILED cards kept per process (about 3 KB each; least recently used out)
PRESENTED_CARDS = 1024


@dataclass
class LookupResult:
    """What a lookup found; ``results`` is the list that goes under ``{"results": ...}``.

    ``reason`` (an ``app.outcomes`` reason code) says why it did not match; ``partial`` that
    some piece of the card (an order, a product) was cut off and left out.
    """

    outcome: str
    results: list[dict[str, Any]] = field(default_factory=list)
    matched_customer_id: str | None = None
    stale: bool = False
    fetched_at: datetime | None = None
    reason: str | None = None
    partial: bool = False
    #: ``results`` already serialised (by :class:`PresentedCards`), byte for byte what
    #: :func:`response_body` makes of them
    encoded: bytes | None = field(default=None, repr=False, compare=False)

    @classmethod
    def failed(cls) -> "LookupResult":
        """Ordergroove failed and nothing was cached to answer with."""
        return cls(ERROR, reason=UPSTREAM_ERROR)

    def body(self) -> bytes:
        return self.encoded if self.encoded is not None else response_body(self.results)


def response_body(results: list[dict[str, Any]]) -> bytes:
    """The one serialisation of a lookup answer (compact, UTF-8, contract key order)."""
    return json.dumps({"results": results}, ensure_ascii=False, separators=(",", ":")).encode()


class PresentedCards:
    """The last DETAILED answer presented for each customer, per process, reused while the
    profile it came from is the same.

    A warm lookup rebuilds its profile from the cache, but out of the very objects parsed last
    time (the fetcher parses an unchanged cache entry once per process), so comparing the parts
    by identity says whether the card can have changed. Presenting and serialising it again
    was a fifth of a warm lookup's CPU; the comparison costs a few microseconds. Only the
    bytes are kept: each caller gets its own ``results``, decoded from them, so nothing a
    caller does to its answer can reach the next one.
    """

    def __init__(self, size: int = PRESENTED_CARDS):
        self._cards: BoundedMemo[str, tuple[tuple, bytes]] = BoundedMemo(size)

    def body(self, profile: CustomerProfile, present) -> tuple[list[dict[str, Any]], bytes]:
        """``(results, body)`` for ``profile``; ``present(profile)`` makes the results when the
        card is new or its profile changed."""
        cid = profile.customer.merchant_user_id
        parts = (profile.customer, profile.subscriptions, tuple(profile.products.items()),
                 tuple(profile.next_orders.items()), tuple(profile.next_order_ids.items()))
        known = self._cards.get(cid)
        if known is not None and _same_parts(known[0], parts):
            return json.loads(known[1])["results"], known[1]
        results = present(profile)
        encoded = response_body(results)
        self._cards.put(cid, (parts, encoded))
        return results, encoded


def _same_parts(known: tuple, parts: tuple) -> bool:
    """The customer, the subscriptions and each product are the same objects (the models are
    frozen, so the same object is the same data), and the next orders are equal."""
    if known[0] is not parts[0] or known[1] is not parts[1] or len(known[2]) != len(parts[2]):
        return False
    if not all(a[0] == b[0] and a[1] is b[1] for a, b in zip(known[2], parts[2])):
        return False
    return known[3:] == parts[3:]


class LookupService:
    """Answers a Gladly lookup from Ordergroove data.

    >>> service = LookupService(fetcher)
    >>> service.lookup(request, deadline=Deadline(4.0), stats=FetchStats()).outcome
    """

    def __init__(self, fetcher: ProfileFetcher, *, actions: Iterable[str] = ()):
        self.fetcher = fetcher
        self.actions = frozenset(actions)  # the Gladly Actions DETAILED cards declare (OGTK_ACTIONS)
        self.cards = PresentedCards()

    def lookup(self, request: LookupRequest, *, deadline: Deadline, stats: FetchStats,
               later: WriteBehind | None = None) -> LookupResult:
        """Raises an ``OrdergrooveError`` only when Ordergroove failed and nothing was cached.
        ``later``: the profile's cache writes wait in it until the caller flushes it."""
        if request.level == "DETAILED":
            return self._detailed(request, deadline, stats, later)
        return self._basic(request, deadline, stats)

    def _candidates(self, request: LookupRequest, deadline: Deadline, stats: FetchStats) -> list:
        """BASIC matching, and DETAILED without an id: the id's customer, else the email search."""
        if request.external_customer_id:
            customer = self.fetcher.customer(request.external_customer_id, deadline=deadline, stats=stats)
            if customer is not None:
                return [customer]
            # BASIC with an unknown id: fall back to the emails Gladly sent along.
        if request.emails:
            return self.fetcher.find_by_emails(request.emails, deadline=deadline, stats=stats)
        return []

    def _basic(self, request: LookupRequest, deadline: Deadline, stats: FetchStats) -> LookupResult:
        candidates = self._candidates(request, deadline, stats)[:BASIC_RESULT_LIMIT]
        if not candidates:
            return LookupResult(UNMATCHED, stale=bool(stats.stale), reason=_unmatched_reason(request))
        single = len(candidates) == 1
        return LookupResult(
            MATCHED if single else AMBIGUOUS,
            [present_basic(c) for c in candidates],
            matched_customer_id=candidates[0].merchant_user_id if single else None,
            stale=bool(stats.stale),
            reason=None if single else EMAIL_AMBIGUOUS,
        )

    def _detailed(self, request: LookupRequest, deadline: Deadline, stats: FetchStats,
                  later: WriteBehind | None) -> LookupResult:
        if request.external_customer_id:
            # The id is the whole match: fetch the profile straight away (customer and
            # subscriptions in one round trip) instead of checking the customer first.
            profile = self.fetcher.profile(request.external_customer_id, deadline=deadline, stats=stats, later=later)
        else:
            candidates = self._candidates(request, deadline, stats)
            if len(candidates) > 1 and request.unique_match_required:
                return LookupResult(AMBIGUOUS, stale=bool(stats.stale), reason=EMAIL_AMBIGUOUS)
            profile = (
                self.fetcher.profile(candidates[0].merchant_user_id, deadline=deadline, stats=stats, later=later)
                if candidates else None
            )
        if profile is None:  # unknown id, no email match, or deleted between search and fetch
            return LookupResult(UNMATCHED, stale=bool(stats.stale), reason=_unmatched_reason(request))
        results, encoded = self.cards.body(profile, lambda p: [present_detailed(p, actions=self.actions)])
        return LookupResult(
            MATCHED,
            results,
            matched_customer_id=profile.customer.merchant_user_id,
            stale=profile.stale or bool(stats.stale),
            fetched_at=profile.fetched_at,
            partial=profile.partial,
            encoded=encoded,
        )


def _unmatched_reason(request: LookupRequest) -> str:
    """The id Gladly sent is the primary key: unknown id first, else the emails; a lookup with
    neither (phones alone, which never match) says so, so the admin sees why it cannot link."""
    if request.external_customer_id:
        return ID_UNKNOWN
    return EMAIL_UNKNOWN if request.emails else NO_IDENTIFIER
