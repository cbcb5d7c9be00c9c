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
from .ordergroove.fetcher import FetchStats, ProfileFetcher
from .outcomes import (AMBIGUOUS, EMAIL_AMBIGUOUS, EMAIL_UNKNOWN, ERROR, ID_UNKNOWN, MATCHED, NO_IDENTIFIER, UNMATCHED,
                       UPSTREAM_ERROR)

__all__ = ["AMBIGUOUS", "BASIC_RESULT_LIMIT", "ERROR", "MATCHED", "UNMATCHED", "LookupResult", "LookupService",
           "response_body"]

BASIC_RESULT_LIMIT = 10


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

    @classmethod
    def failed(cls) -> "LookupResult":
        """Ordergroove failed and nothing was cached to answer with."""
        return cls(ERROR, reason=UPSTREAM_ERROR)

    def body(self) -> bytes:
        return response_body(self.results)


def response_body(results: list[dict[str, Any]]) -> bytes:
    """The one serialisation of a lookup answer (compact, UTF-8, contract key order)."""
    return json.dumps({"results": results}, ensure_ascii=False, separators=(",", ":")).encode()


class LookupService:
    """Answers a Gladly lookup from Ordergroove data.

    >>> service = LookupService(fetcher)
    >>> service.lookup(request, deadline=Deadline(4.0), stats=FetchStats()).outcome
    """

    def __init__(self, fetcher: ProfileFetcher, *, actions: Iterable[str] = ()):
        self.fetcher = fetcher
        self.actions = frozenset(actions)  # the Gladly Actions DETAILED cards declare (OGTK_ACTIONS)

    def lookup(self, request: LookupRequest, *, deadline: Deadline, stats: FetchStats) -> LookupResult:
        """Raises an ``OrdergrooveError`` only when Ordergroove failed and nothing was cached."""
        if request.level == "DETAILED":
            return self._detailed(request, deadline, stats)
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

    def _detailed(self, request: LookupRequest, deadline: Deadline, stats: FetchStats) -> LookupResult:
        if request.external_customer_id:
            # The id is the whole match: fetch the profile straight away (customer and
            # subscriptions in one round trip) instead of checking the customer first.
            profile = self.fetcher.profile(request.external_customer_id, deadline=deadline, stats=stats)
        else:
            candidates = self._candidates(request, deadline, stats)
            if len(candidates) > 1 and request.unique_match_required:
                return LookupResult(AMBIGUOUS, stale=bool(stats.stale), reason=EMAIL_AMBIGUOUS)
            profile = (
                self.fetcher.profile(candidates[0].merchant_user_id, deadline=deadline, stats=stats)
                if candidates else None
            )
        if profile is None:  # unknown id, no email match, or deleted between search and fetch
            return LookupResult(UNMATCHED, stale=bool(stats.stale), reason=_unmatched_reason(request))
        return LookupResult(
            MATCHED,
            [present_detailed(profile, actions=self.actions)],
            matched_customer_id=profile.customer.merchant_user_id,
            stale=profile.stale or bool(stats.stale),
            fetched_at=profile.fetched_at,
            partial=profile.partial,
        )


def _unmatched_reason(request: LookupRequest) -> str:
    """The id Gladly sent is the primary key: unknown id first, else the emails; a lookup with
    neither (phones alone, which never match) says so, so the admin sees why it cannot link."""
    if request.external_customer_id:
        return ID_UNKNOWN
    return EMAIL_UNKNOWN if request.emails else NO_IDENTIFIER
