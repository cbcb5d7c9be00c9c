"""Gladly Actions: what an agent may do to a subscription, and doing it safely (CONTRACT §8).

Two actions, each enabled by ``OGTK_ACTIONS``: **cancel** a subscription and **skip** its next
order. :class:`ActionService` serves the form (a fresh read first: a subscription that is no
longer active gets a 406, never a form) and carries out the submit.

Idempotency
-----------
Ordergroove offers no idempotency key for these calls, so the guarantees are ours:

- **The idempotency key is the action's target**: action, subscription id and, for skip, the
  order id bound into the card. Two submits for the same target are the same request, whatever
  their bodies say.
- **Concurrent repeats wait for the first.** A submit takes a lock on its target in the cache
  every worker and instance shares (``add`` with an expiry, so a killed holder never blocks the
  next submit for longer than ``LOCK_S``). A submit that finds the lock held does not write: it
  waits, inside its own 10 s, for the first one's answer and returns exactly that.
- **Repeats after success are answered from memory.** A successful answer is kept for
  ``REPEAT_WINDOW_S`` (60 s); a repeat within that time gets it back, and Ordergroove is not
  called. A refused or failed submit is not remembered: the next one tries again.
- **One PATCH, never retried blindly.** A timeout, connection failure or 5xx leaves the write's
  fate unknown, so the record is read back (cancel: the subscription is no longer live; skip:
  the order holds no line of the subscription any more) and the answer says what is true. The
  write is sent again only when the read-back shows it did not happen, or after a 429/423
  (which Ordergroove documents as not applied), and only while the submit's time allows.
- **The order id is never re-derived**, so a repeated skip can never skip the *following*
  order: Ordergroove refuses a skip of an order the subscription has left, which becomes a 406.
- **Fresh cards.** Every cached piece of the customer is dropped before a 200 goes out, so the
  DETAILED lookup Gladly sends next shows the change.

Every submit, repeats included, records one action event (never the details text), counts
``ogtk_actions_total{action,outcome}`` and writes one structured log line.

>>> service = ActionService.from_services(services)
>>> service.submit("cancel", "0767…fd616", None, {"cancelReasonCode": "2"}).status  # doctest: +SKIP
200
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Callable

from . import metrics
from .deadline import Deadline
from .events import ActionEvent
from .gladly import forms
from .gladly.forms import CANCEL, SKIP, ActionInputError, CancelChoice
from .ordergroove.errors import OrdergrooveError, Unauthorized
from .ordergroove.models import Order, Subscription
from .ordergroove.writes import OrdergrooveWrites, WriteAnswer
from .turns import off_turn

__all__ = ["ActionAnswer", "ActionDisabled", "ActionService", "FormRefused", "SUBMIT_BUDGET_S"]

log = logging.getLogger("ogtk.actions")

#: a submit answers within this (Gladly's own Ordergroove actions give up after 15 s)
SUBMIT_BUDGET_S = 10.0
#: kept back from the budget to record, log and send the answer
ANSWER_MARGIN_S = 0.5
#: kept back from every write for reading the record back should the write go unanswered
READBACK_RESERVE_S = 2.5
#: a write is not started with less than this left before the read-back reserve
MIN_WRITE_S = 0.5
#: at most this many PATCHes per submit (each after a read-back saying "not applied", or a 429/423)
MAX_WRITES = 3
#: pause before sending a write again after a 429/423, times the attempt number
BUSY_PAUSE_S = 0.5
REPEAT_WINDOW_S = 60.0
LOCK_S = SUBMIT_BUDGET_S + 5.0
#: how long a refused or failed answer stays readable for submits that waited on it
WAITER_ANSWER_S = 15.0
POLL_S = 0.05
#: product names on forms and answers come from the customer's (usually warm) profile, in this much time
PROFILE_BUDGET_S = 2.0

DONE, INVALID, REJECTED, ERROR = "done", "invalid", "rejected", "error"
MESSAGES = {CANCEL: ("Subscription canceled", "Subscription not canceled"),
            SKIP: ("Next order skipped", "Order not skipped")}
FORM_REFUSALS = {CANCEL: "Cannot cancel this subscription", SKIP: "Cannot skip this order"}


class ActionDisabled(LookupError):
    """The action is not in ``OGTK_ACTIONS``: its routes answer 404."""


class FormRefused(Exception):
    """The form cannot be offered (406 ``{"errors":[{"message","detail"}]}``)."""

    def __init__(self, message: str, detail: str, code: str):
        super().__init__(detail)
        self.message, self.detail, self.code = message, detail, code

    def as_body(self) -> dict:
        return forms.refused_answer(self.message, self.detail)


@dataclass(frozen=True)
class ActionAnswer:
    """The answer to one submit, and what its event records."""

    status: int
    body: dict
    outcome: str
    code: str | None = None  # the event's short machine reason
    og_status: int | None = None
    customer_id: str | None = None
    reason_code: str | None = None
    token: str | None = None  # the lock this answer was produced under (repeats find it by this)

    def remembered(self) -> dict:
        return asdict(self)

    @classmethod
    def from_memory(cls, value: Any) -> "ActionAnswer | None":
        if not isinstance(value, dict):
            return None
        try:
            return cls(**value)
        except TypeError:
            return None


@dataclass(frozen=True)
class _Target:
    action: str
    subscription_id: str
    order_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.action}:{self.subscription_id}:{self.order_id or ''}"


@dataclass
class _Seen:
    """What the fresh reads found, for the answer and the event."""

    customer_id: str | None = None
    product_name: str | None = None
    order_date: date | None = None
    og_status: int | None = None
    writes: int = 0


class ActionService:
    """Forms and submits of the enabled actions, shared by the API and the CLI.

    ``locks`` is the cache every worker shares (``add``/``get``/``set``/``delete`` with expiry):
    it holds the per-target lock and the remembered answers.
    """

    def __init__(self, *, enabled, cancel_reasons, timezone, writes: OrdergrooveWrites, fetcher, locks, events,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 budget_s: float = SUBMIT_BUDGET_S):
        self.enabled = frozenset(enabled)
        self.cancel_reasons = tuple(cancel_reasons)
        self.timezone = timezone
        self.writes = writes
        self.fetcher = fetcher
        self.locks = locks
        self.events = events
        self._clock = clock
        self._sleep = sleep
        self.budget_s = budget_s

    @classmethod
    def from_services(cls, services, **overrides: Any) -> "ActionService":
        settings = services.settings
        options: dict[str, Any] = dict(
            enabled=settings.actions, cancel_reasons=settings.cancel_reasons,
            timezone=settings.ordergroove_timezone, writes=OrdergrooveWrites(services.fetcher.client),
            fetcher=services.fetcher, locks=services.fetcher.cache, events=services.events,
        )
        options.update(overrides)
        return cls(**options)

    def is_enabled(self, action: str) -> bool:
        return action in self.enabled

    def _require(self, action: str) -> None:
        if action not in self.enabled:
            raise ActionDisabled(action)

    # -- the form ---------------------------------------------------------------------------------
    def form(self, action: str, subscription_id: str, order_id: str | None = None, *,
             deadline: Deadline | None = None) -> dict:
        """The form JSON for an active subscription; :class:`FormRefused` when it is not."""
        self._require(action)
        deadline = deadline or Deadline(self.budget_s - ANSWER_MARGIN_S, self._clock)
        target = _Target(action, subscription_id, order_id)
        seen = _Seen()
        refusal = self._check_still_possible(target, seen, deadline)
        if refusal is not None:
            _outcome, code, detail = refusal
            raise FormRefused(FORM_REFUSALS[action], detail, code)
        if action == CANCEL:
            return forms.cancel_form(subscription_id, self.cancel_reasons, seen.product_name)
        return forms.skip_form(subscription_id, order_id, seen.order_date, seen.product_name)

    def upcoming_order_id(self, subscription_id: str, *, deadline: Deadline | None = None) -> str | None:
        """The order a skip would bind now (what a card built now would carry); ``None`` if none."""
        deadline = deadline or Deadline(self.budget_s - ANSWER_MARGIN_S, self._clock)
        raw = self.writes.read_subscription(subscription_id, deadline=deadline)
        subscription = Subscription.from_api(raw, self.timezone) if raw is not None else None
        if subscription is None or not subscription.customer:
            return None
        profile = self.fetcher.profile(subscription.customer, deadline=deadline)
        return profile.next_order_ids.get(subscription_id) if profile is not None else None

    # -- the submit -------------------------------------------------------------------------------
    def submit(self, action: str, subscription_id: str, order_id: str | None, body: Any, *,
               correlation_id: str | None = None, source: str = "gladly", path: str | None = None,
               queued_s: float = 0.0) -> ActionAnswer:
        """Validate, de-duplicate, write once, confirm; never raises for anything Ordergroove does.

        ``body`` is the decoded JSON submit (``None`` when it was not JSON); ``queued_s``, the time
        it already waited for a server thread, comes off the budget. Raises
        :class:`ActionDisabled` for an action that is not enabled (before anything is recorded).
        """
        self._require(action)
        started = self._clock() - queued_s
        deadline = Deadline(self.budget_s - queued_s - ANSWER_MARGIN_S, self._clock)
        target = _Target(action, subscription_id, order_id)
        repeat = False
        try:
            choice = self._parse(action, body)
        except ActionInputError as exc:
            answer = ActionAnswer(400, forms.input_errors_answer(exc.errors), INVALID, "invalid_input")
        else:
            try:
                answer, repeat = self._once(target, choice, deadline)
            except Exception:  # a bug of ours: Gladly still gets its shape, the event is still recorded
                log.exception("unexpected error during %s %s", action, subscription_id)
                answer = self._answer(target, _Seen(), 406, ERROR, "internal_error",
                                      "Something went wrong on our side and has been logged; reopen the "
                                      "profile to see whether it happened")
        self._record(target, answer, started, correlation_id, source, path, repeat)
        return answer

    def _parse(self, action: str, body: Any) -> CancelChoice | None:
        if action == CANCEL:
            return forms.parse_cancel_submit(body, self.cancel_reasons)
        forms.parse_skip_submit(body)
        return None

    # -- de-duplication (see the module docstring) --------------------------------------------------
    def _lock_key(self, target: _Target) -> str:
        return "action-lock:" + target.key

    def _answer_key(self, target: _Target) -> str:
        return "action-answer:" + target.key

    def _remembered(self, target: _Target, token: str | None) -> ActionAnswer | None:
        """A success still inside its window, or the answer of the submit we waited for."""
        try:
            answer = ActionAnswer.from_memory(self.locks.get(self._answer_key(target)))
        except Exception as exc:  # an unusable cache must not cost the agent the action
            log.warning("action answer memory unreadable (%s); going on without it", type(exc).__name__)
            return None
        if answer is not None and (answer.outcome == DONE or (token is not None and answer.token == token)):
            return answer
        return None

    def _once(self, target: _Target, choice: CancelChoice | None, deadline: Deadline) -> tuple[ActionAnswer, bool]:
        """``(answer, repeat)``: this submit's own answer, or the first one's when it repeats it."""
        lock_key, token = self._lock_key(target), uuid.uuid4().hex
        waited_on: str | None = None
        while True:
            prior = self._remembered(target, waited_on)
            if prior is not None:
                return prior, True
            if self._take(lock_key, token):
                break
            waited_on = self._holder(lock_key) or waited_on
            if deadline.remaining() <= POLL_S:
                return self._answer(target, _Seen(), 406, ERROR, "still_running",
                                    "Another submit for this subscription is still running; "
                                    "reopen the profile to see its result"), False
            with off_turn():  # another submit's lock: the worker's next request runs meanwhile
                self._sleep(POLL_S)
        try:
            # the answer of the submit we waited for (stored before its lock went), or a success
            # that landed between our first read and our lock
            prior = self._remembered(target, waited_on)
            if prior is not None:
                return prior, True
            answer = self._perform(target, choice, deadline)
            answer = ActionAnswer(**{**asdict(answer), "token": token})
            self._remember(target, answer)
            return answer, False
        finally:
            self._release(lock_key, token)

    def _take(self, lock_key: str, token: str) -> bool:
        try:
            return bool(self.locks.add(lock_key, token, expire=LOCK_S))
        except Exception as exc:
            log.warning("action lock unavailable (%s); submitting without cross-worker de-duplication",
                        type(exc).__name__)
            return True

    def _holder(self, lock_key: str) -> str | None:
        try:
            value = self.locks.get(lock_key)
        except Exception:
            return None
        return value if isinstance(value, str) else None

    def _release(self, lock_key: str, token: str) -> None:
        try:
            if self.locks.get(lock_key) == token:  # the lock outlives any submit (LOCK_S > budget)
                self.locks.delete(lock_key)
        except Exception as exc:
            log.warning("action lock not released (%s); it expires in %.0f s", type(exc).__name__, LOCK_S)

    def _remember(self, target: _Target, answer: ActionAnswer) -> None:
        expire = REPEAT_WINDOW_S if answer.outcome == DONE else WAITER_ANSWER_S
        try:
            self.locks.set(self._answer_key(target), answer.remembered(), expire=expire)
        except Exception as exc:
            log.warning("action answer not remembered (%s); a repeat would write again", type(exc).__name__)

    # -- doing it -----------------------------------------------------------------------------------
    def _perform(self, target: _Target, choice: CancelChoice | None, deadline: Deadline) -> ActionAnswer:
        seen = _Seen()
        refusal = self._check_still_possible(target, seen, deadline)
        if refusal is not None:
            outcome, code, detail = refusal
            return self._answer(target, seen, 406, outcome, code, detail, choice.code if choice else None)
        reason_code = choice.code if choice is not None else None
        while True:
            write_deadline = deadline.shrink(READBACK_RESERVE_S)
            seen.writes += 1
            result = self._write(target, choice, write_deadline)
            seen.og_status = result.status
            if result.ok:
                return self._done(target, seen, choice, "done")
            if result.not_applied:
                pause = BUSY_PAUSE_S * seen.writes
                if seen.writes < MAX_WRITES and write_deadline.remaining() - pause >= MIN_WRITE_S:
                    log.info("Ordergroove answered %s to %s %s; nothing applied, sending again in %.1f s",
                             result.status, target.action, target.subscription_id, pause)
                    with off_turn():
                        self._sleep(pause)
                    continue
                return self._answer(target, seen, 406, ERROR, "ordergroove_busy",
                                    "Ordergroove is busy with this subscription; nothing was changed, "
                                    "try again in a minute", reason_code)
            if result.uncertain:
                happened = self._read_back(target, deadline)
                if happened is True:
                    return self._done(target, seen, choice, "done_confirmed_by_read_back")
                if happened is False:
                    if seen.writes < MAX_WRITES and deadline.shrink(READBACK_RESERVE_S).remaining() >= MIN_WRITE_S:
                        log.info("%s %s did not happen (read back after %s); sending it again",
                                 target.action, target.subscription_id, result.status or "no answer")
                        continue
                    return self._answer(target, seen, 406, ERROR, "ordergroove_failed",
                                        "Ordergroove did not complete it and nothing was changed; "
                                        "try again in a minute", reason_code)
                self._invalidate(seen.customer_id)  # whatever happened, the next card reads it afresh
                return self._answer(target, seen, 406, ERROR, "unknown_after_timeout",
                                    "Ordergroove did not answer in time; reopen the profile to see "
                                    "whether it happened before trying again", reason_code)
            if result.status in (401, 403):
                return self._answer(target, seen, 406, ERROR, "ordergroove_unauthorized",
                                    "Ordergroove refused the toolkit's API key; nothing was changed", reason_code)
            return self._answer(target, seen, 406, REJECTED, f"ordergroove_{result.status}", result.text,
                                reason_code)

    def _write(self, target: _Target, choice: CancelChoice | None, deadline: Deadline) -> WriteAnswer:
        if target.action == CANCEL:
            return self.writes.cancel_subscription(target.subscription_id, choice.cancel_reason if choice else None,
                                                   deadline=deadline)
        return self.writes.skip_subscription(target.order_id, target.subscription_id, deadline=deadline)

    def _read_back(self, target: _Target, deadline: Deadline) -> bool | None:
        """Whether the write happened: ``True``/``False``, or ``None`` when it cannot be told."""
        try:
            if target.action == CANCEL:
                record = self.writes.read_subscription(target.subscription_id, deadline=deadline)
                if record is None:
                    return None
                return not Subscription.from_api(record, self.timezone).live
            return not self.writes.order_holds_subscription(target.order_id, target.subscription_id,
                                                            deadline=deadline)
        except (OrdergrooveError, ValueError) as exc:
            log.warning("read-back of %s %s failed: %s", target.action, target.subscription_id, exc)
            return None

    def _check_still_possible(self, target: _Target, seen: _Seen,
                              deadline: Deadline) -> tuple[str, str, str] | None:
        """A fresh read: the subscription must be live (and, for skip, the order still upcoming).

        ``None`` when the action is possible, else ``(outcome, code, detail)`` of the refusal.
        """
        read_deadline = deadline.shrink(READBACK_RESERVE_S + MIN_WRITE_S)
        try:
            raw = self.writes.read_subscription(target.subscription_id, deadline=read_deadline)
            subscription = Subscription.from_api(raw, self.timezone) if raw is not None else None
            order = None
            if subscription is not None and subscription.live and target.action == SKIP:
                raw_order = self.writes.read_order(target.order_id, deadline=read_deadline)
                order = Order.from_api(raw_order, self.timezone) if raw_order is not None else None
        except Unauthorized:
            return ERROR, "ordergroove_unauthorized", "Ordergroove refused the toolkit's API key; nothing was changed"
        except (OrdergrooveError, ValueError) as exc:
            log.warning("fresh read before %s %s failed: %s", target.action, target.subscription_id, exc)
            return ERROR, "ordergroove_unavailable", "Ordergroove did not answer; nothing was changed, try again in a minute"
        if subscription is None:
            return REJECTED, "not_found", "Ordergroove has no such subscription; reopen the profile"
        seen.customer_id = subscription.customer
        seen.product_name = self._product_name(subscription, deadline)
        if not subscription.live:
            return REJECTED, "not_active", "It is no longer active"
        if target.action == SKIP:
            if order is not None and order.place is not None:
                seen.order_date = order.place.astimezone(self.timezone).date()
            if order is None or order.status != Order.UNSENT:
                when = f"The order of {seen.order_date.isoformat()}" if seen.order_date else "The order"
                return REJECTED, "order_not_upcoming", f"{when} is no longer upcoming; reopen the profile"
        return None

    def _product_name(self, subscription: Subscription, deadline: Deadline) -> str | None:
        """The name the card shows, from the customer's profile (warm right after the card)."""
        if not subscription.customer or not subscription.product:
            return None
        budget = min(PROFILE_BUDGET_S, deadline.shrink(READBACK_RESERVE_S + MIN_WRITE_S).remaining())
        try:
            profile = self.fetcher.profile(subscription.customer, deadline=Deadline(budget, self._clock))
        except OrdergrooveError:
            return None
        product = profile.products.get(subscription.product) if profile is not None else None
        return product.name or None if product is not None else None

    def _invalidate(self, customer_id: str | None) -> None:
        if not customer_id:
            log.warning("subscription has no customer id; no cached card to drop")
            return
        try:
            self.fetcher.invalidate(customer_id)
        except Exception as exc:
            log.warning("could not drop the cached pieces of customer %s: %s", customer_id, exc)

    def _done(self, target: _Target, seen: _Seen, choice: CancelChoice | None, code: str) -> ActionAnswer:
        self._invalidate(seen.customer_id)  # before the 200: Gladly's next lookup must see the change
        parts = [seen.product_name or "Subscription", target.subscription_id]
        if target.action == CANCEL and choice is not None and choice.code is not None:
            parts.append(f"reason {choice.code} {choice.label}")
        if target.action == SKIP:
            parts.append(f"order of {seen.order_date.isoformat()}" if seen.order_date else f"order {target.order_id}")
        reason_code = choice.code if choice is not None else None
        return ActionAnswer(200, forms.done_answer(MESSAGES[target.action][0], " · ".join(parts)), DONE, code,
                            seen.og_status, seen.customer_id, reason_code)

    @staticmethod
    def _answer(target: _Target, seen: _Seen, status: int, outcome: str, code: str, detail: str,
                reason_code: str | None = None) -> ActionAnswer:
        body = forms.refused_answer(MESSAGES[target.action][1], detail)
        return ActionAnswer(status, body, outcome, code, seen.og_status, seen.customer_id, reason_code)

    # -- recording ----------------------------------------------------------------------------------
    def _record(self, target: _Target, answer: ActionAnswer, started: float, correlation_id: str | None,
                source: str, path: str | None, repeat: bool) -> None:
        duration_ms = (self._clock() - started) * 1000.0
        code = ("repeat_of_" + (answer.code or answer.outcome))[:64] if repeat else answer.code
        metrics.ACTIONS.labels(action=target.action, outcome=answer.outcome).inc()
        try:
            self.events.record_action(ActionEvent(
                action=target.action, outcome=answer.outcome, subscription_id=target.subscription_id,
                customer_id=answer.customer_id, order_id=target.order_id, reason_code=answer.reason_code,
                og_status=None if repeat else answer.og_status, duration_ms=duration_ms,
                correlation_id=correlation_id, source=source, detail=code,
            ))
        except Exception:  # recording must never cost the agent the answer
            log.exception("could not record the action event for %s", correlation_id)
        log.info(json.dumps({
            "event": "action", "action": target.action, "outcome": answer.outcome, "status": answer.status,
            "detail": code, "subscription_id": target.subscription_id, "order_id": target.order_id,
            "customer_id": answer.customer_id, "reason_code": answer.reason_code,
            "og_status": None if repeat else answer.og_status, "repeat": repeat, "source": source,
            "path": path, "correlation_id": correlation_id, "duration_ms": round(duration_ms, 2),
        }, separators=(",", ":")))
