"""Realistic synthetic lookup events, for benchmarks, demos and the dashboard's load-time check.

The mix mirrors what a Gladly org sees: ~75% matched, ~20% unmatched, ~3% ambiguous, ~2% error;
70% BASIC, 30% DETAILED. Unmatched lookups come mostly from BASIC auto-link repeats: a few
unlinked Gladly customers are looked up again and again (every time their profile opens), so
the unmatched identifiers form a long tail and the per-customer match rate sits above the
per-request one. Every non-matched lookup carries its reason; emails carry keyed hashes (of
made-up addresses); a few DETAILED lookups of unknown external ids carry the suggestion the
post-answer email search would have found; ~1% of matched DETAILED cards were answered partial;
a fifth of the unlinked profiles come without a Gladly id (so the unmatched list shows every key kind).
Cancel/skip actions and Ordergroove webhook deliveries fill the same days
(:func:`seed_synthetic_activity`). A seeded database is marked synthetic
(:meth:`EventStore.mark_synthetic`) so the dashboard can say so.
``python -m app.events --n 1000000`` seeds a scratch database and prints how long seeding and
each link-health query took.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone

import numpy as np

from .health import previous_window
from .model import (ACTION_OUTCOMES, HOUR_MS, KIND_EMAIL, KIND_EXTERNAL, OUTCOMES,
                    WEBHOOK_OUTCOMES, ActionEvent, WebhookEvent, to_ms)
from .store import EventStore

OUTCOME_MIX = (0.75, 0.20, 0.03, 0.02)  # in OUTCOMES order
BASIC_SHARE_BY_OUTCOME = (0.6467, 0.90, 0.70, 0.70)  # gives 70% BASIC overall
# median ms and spread of the lognormal durations, by outcome, for BASIC / DETAILED
_DURATION = {0: ((35, 0.6), (140, 0.7)), 1: ((60, 0.5), (90, 0.5)), 2: ((80, 0.5), (110, 0.5))}
_ERROR_CODES = ("ordergroove_timeout", "ordergroove_unavailable", "ordergroove_rate_limited",
                "internal_error")
_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com",
            "proton.me", "comcast.net") + tuple(f"shop{k}.example" for k in range(24))
_HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 10, 11, 10, 9, 8, 7, 6, 5,
                          4, 3], dtype=float)


def _masked(j: int) -> str:
    return f"{chr(97 + j % 26)}***@{_DOMAINS[(j // 26) % len(_DOMAINS)]}"


def _hash(j: int, salt: str) -> str:
    """A stand-in for EmailHasher.hash of a made-up address (64 hex digits, stable per person)."""
    return hashlib.sha256(f"synthetic-{salt}-{j}".encode()).hexdigest()


def _pool(size: int, gladly_prefix: str, subject) -> tuple[np.ndarray, ...]:
    """Gladly ids, external ids (or None), masked emails (or None) and their hashes of ``size``
    customers."""
    gladly = np.array([f"{gladly_prefix}{j:07d}" for j in range(size)], dtype=object)
    pairs = [subject(j) for j in range(size)]
    external = np.array([p[0] for p in pairs], dtype=object)
    emails = np.array([p[1] for p in pairs], dtype=object)
    hashes = np.array([None if p[1] is None else _hash(j, gladly_prefix) for j, p in enumerate(pairs)],
                      dtype=object)
    return gladly, external, emails, hashes


def _columns(n: int, rng: np.random.Generator, end_ms: int, days: int, seed: int) -> list[list]:
    day_ms = 24 * HOUR_MS
    day = rng.integers(0, days, n)
    hour = rng.choice(24, n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    ts = end_ms - days * day_ms + day * day_ms + hour * HOUR_MS + rng.integers(0, HOUR_MS, n)
    ts = np.sort(np.minimum(ts, end_ms - 1))

    outcome = rng.choice(4, n, p=OUTCOME_MIX)
    basic = rng.random(n) < np.take(BASIC_SHARE_BY_OUTCOME, outcome)
    gladly, external, emails, hashes, suggestion = (np.full(n, None, dtype=object) for _ in range(5))
    matched_id = np.full(n, None, dtype=object)

    # linked customers (matched and error lookups): DETAILED asks by external id, BASIC by
    # external id or email
    linked = max(20, n // 12)
    l_gladly, l_external, l_emails, l_hashes = _pool(
        linked, "gl-", lambda j: (f"og-{100000 + j}", _masked(j)))
    mask = (outcome == 0) | (outcome == 3)
    who = rng.integers(0, linked, mask.sum())
    by_email = basic[mask] & (rng.random(mask.sum()) < 0.5)
    gladly[mask] = l_gladly[who]
    external[mask] = np.where(by_email, None, l_external[who])
    emails[mask] = np.where(by_email, l_emails[who], None)
    hashes[mask] = np.where(by_email, l_hashes[who], None)
    matched_id[outcome == 0] = l_external[who[outcome[mask] == 0]]

    # unlinked customers: BASIC auto-link repeats, a long tail (Zipf) of the same few asking again
    unlinked = max(10, n // 60)
    u_gladly, u_external, u_emails, u_hashes = _pool(
        unlinked, "gl-u", lambda j: (None, _masked(j + 7)) if j % 5 < 3 else (f"og-9{j:06d}", None))
    u_gladly[np.isin(np.arange(unlinked) % 10, (7, 9))] = None  # sent without a Gladly customer id
    mask = outcome == 1
    weights = 1.0 / np.arange(1, unlinked + 1) ** 1.1
    who = rng.choice(unlinked, mask.sum(), p=weights / weights.sum())
    gladly[mask], external[mask], emails[mask] = u_gladly[who], u_external[who], u_emails[who]
    hashes[mask] = u_hashes[who]
    # the post-answer email search found an Ordergroove customer for a third of the unknown ids
    suggested = (u_external[who] != None) & (who % 3 == 1) & ~basic[mask]  # noqa: E711
    suggestion[np.flatnonzero(mask)[suggested]] = [f"og-{200000 + j}" for j in who[suggested]]

    # ambiguous: emails several Ordergroove customers share
    shared = max(5, n // 2000)
    s_gladly, _, s_emails, s_hashes = _pool(shared, "gl-s", lambda j: (None, _masked(j * 3 + 1)))
    mask = outcome == 2
    who = rng.integers(0, shared, mask.sum())
    gladly[mask], emails[mask], hashes[mask] = s_gladly[who], s_emails[who], s_hashes[who]

    duration = np.empty(n)
    for code, ((b_med, b_sig), (d_med, d_sig)) in _DURATION.items():
        mask = outcome == code
        median = np.where(basic[mask], b_med, d_med)
        sigma = np.where(basic[mask], b_sig, d_sig)
        duration[mask] = median * np.exp(rng.normal(0, 1, mask.sum()) * sigma)
    errors = outcome == 3
    duration[errors] = np.where(rng.random(errors.sum()) < 0.5, rng.normal(4000, 60, errors.sum()),
                                rng.lognormal(np.log(25), 0.5, errors.sum()))
    duration = np.round(np.clip(duration, 0.5, None), 3)
    error_code = np.full(n, None, dtype=object)
    error_code[errors] = np.array(_ERROR_CODES, dtype=object)[
        rng.integers(0, len(_ERROR_CODES), errors.sum())]

    has_external = external != None  # noqa: E711 - elementwise on an object array
    has_gladly = gladly != None  # noqa: E711
    has_hash = hashes != None  # noqa: E711
    subject = np.where(has_external, external, emails)
    by_hash = "h:" + np.where(has_hash, hashes, "")
    customer_key = np.where(has_gladly, "g:" + np.where(has_gladly, gladly, ""),
                            np.where(has_external, "x:" + subject.astype(str), by_hash))
    profile_key = np.where(has_gladly | ~has_hash, customer_key, by_hash)
    reason = np.array([None, None, "email_ambiguous", "upstream_error"], dtype=object)[outcome]
    unmatched = outcome == 1
    reason[unmatched] = np.where(has_external[unmatched], "id_unknown", "email_unknown")
    partial = (outcome == 0) & ~basic & (rng.random(n) < 0.01)
    return [
        ts.tolist(), (ts // HOUR_MS).tolist(), np.where(basic, "BASIC", "DETAILED").tolist(),
        np.array(OUTCOMES)[outcome].tolist(), gladly.tolist(), external.tolist(),
        matched_id.tolist(), emails.tolist(), customer_key.tolist(),
        np.where(has_external, KIND_EXTERNAL, KIND_EMAIL).tolist(),
        subject.tolist(), duration.tolist(),
        np.where(basic, rng.poisson(0.4, n), rng.poisson(1.5, n)).tolist(),
        np.where(basic, rng.poisson(1.2, n), rng.poisson(4.0, n)).tolist(),
        ((outcome == 0) & (rng.random(n) < 0.015)).astype(int).tolist(),
        [f"syn{seed}-{i:08x}" for i in range(n)], error_code.tolist(),
        [f"{seed & 0xFFFFFFFF:08x}{i:024x}" for i in range(n)], partial.astype(int).tolist(),
        reason.tolist(), hashes.tolist(), suggestion.tolist(), profile_key.tolist(),
    ]


def seed_synthetic_events(store: EventStore, n: int, *, seed: int = 0,
                          now: datetime | None = None, days: int = 30,
                          activity: bool = True) -> int:
    """Bulk-insert ``n`` synthetic lookup events spread over the ``days`` before ``now`` (and,
    with ``activity``, actions and webhooks); marks the store synthetic; returns ``n``."""
    now = now or datetime.now(timezone.utc)
    rng = np.random.default_rng(seed)
    rows = zip(*_columns(n, rng, to_ms(now), days, seed))  # in COLUMNS order
    inserted = store.insert_rows(rows, rebuild_indexes=n >= 100_000)
    if activity:
        seed_synthetic_activity(store, seed=seed, now=now, days=days)
    store.mark_synthetic()
    store.analyze()
    return inserted


ACTION_MIX = (0.86, 0.06, 0.05, 0.03)  # done, invalid, rejected, error (ACTION_OUTCOMES order)
WEBHOOK_MIX = (0.90, 0.06, 0.03, 0.01)  # applied, duplicate, ignored, rejected
_WEBHOOK_TYPES = ("subscription.cancelled", "subscription.updated", "order.skipped",
                  "order.updated", "subscriber.updated", "order.placed")
_ACTION_DETAILS = {"invalid": ("unknown_reason", "confirm_missing"),
                   "rejected": ("not_active", "order_not_upcoming", "ordergroove_refused"),
                   "error": ("ordergroove_timeout", "ordergroove_unavailable")}


def seed_synthetic_activity(store: EventStore, *, seed: int = 0, now: datetime | None = None,
                            days: int = 30, actions_per_day: int = 40,
                            webhooks_per_day: int = 300) -> tuple[int, int]:
    """Synthetic cancel/skip actions and webhook deliveries over ``days``; returns their counts."""
    now = now or datetime.now(timezone.utc)
    rng = np.random.default_rng(seed + 1)
    start = now - timedelta(days=days)
    hour_p = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()

    def times(count: int) -> list[datetime]:
        day = rng.integers(0, days, count)
        seconds = rng.choice(24, count, p=hour_p) * 3600 + rng.integers(0, 3600, count)
        return sorted(min(start + timedelta(days=int(d), seconds=int(s)), now - timedelta(seconds=1))
                      for d, s in zip(day, seconds))

    actions = []
    for k, ts in enumerate(times(actions_per_day * days)):
        action = "cancel" if rng.random() < 0.45 else "skip"
        outcome = ACTION_OUTCOMES[rng.choice(4, p=ACTION_MIX)]
        customer = int(rng.integers(0, 5000))
        details = _ACTION_DETAILS.get(outcome)
        actions.append(ActionEvent(
            action=action, outcome=outcome, subscription_id=f"sub-{customer:05d}{k % 3}",
            customer_id=f"og-{100000 + customer}",
            order_id=f"ord-{customer:05d}{k % 7}" if action == "skip" else None,
            reason_code=str(rng.integers(1, 9)) if action == "cancel" and rng.random() < 0.7 else None,
            og_status={"done": 200, "invalid": None, "rejected": 400, "error": 503}[outcome],
            duration_ms=float(np.round(rng.lognormal(np.log(380 if outcome != "error" else 4200), 0.4), 1)),
            correlation_id=f"syn{seed}-act-{k:06x}", source="cli" if rng.random() < 0.05 else "gladly",
            detail=None if details is None else details[int(rng.integers(0, len(details)))], ts=ts))
    webhooks = []
    for k, ts in enumerate(times(webhooks_per_day * days)):
        outcome = WEBHOOK_OUTCOMES[rng.choice(4, p=WEBHOOK_MIX)]
        rejected = outcome == "rejected"  # a bad signature: nothing in the body is trusted
        webhooks.append(WebhookEvent(
            outcome=outcome, event_id=None if rejected else f"evt_syn{seed}_{k:07d}",
            type=None if rejected else _WEBHOOK_TYPES[int(rng.integers(0, len(_WEBHOOK_TYPES)))],
            customer_id=(None if outcome in ("ignored", "rejected")
                         else f"og-{100000 + int(rng.integers(0, 5000))}"),
            duration_ms=float(np.round(rng.lognormal(np.log(4), 0.5), 2)), ts=ts))
    return store.insert_actions(actions), store.insert_webhooks(webhooks)


def measure_queries(store: EventStore, *, now: datetime | None = None,
                    days: int = 30) -> dict[str, float]:
    """Seconds each link-health query takes once over the last ``days`` (default 30)."""
    from .health import pandas

    pandas()  # imported on first query: load it before the clock starts
    end = now or datetime.now(timezone.utc)
    start = end - timedelta(days=days)
    previous = previous_window(start, end)
    runs = {
        "summary": lambda: store.summary(start, end),
        "summary_basic": lambda: store.summary(start, end, level="BASIC"),
        "summary_previous_window": lambda: store.summary(*previous),
        "summary_last_day": lambda: store.summary(end - timedelta(days=1), end),
        "trend_hour": lambda: store.trend(start, end, "hour"),
        "trend_day": lambda: store.trend(start, end, "day"),
        "unmatched_ids": lambda: store.unmatched_ids(start, end),
        "unmatched_profiles": lambda: store.unmatched_profiles(start, end),
        "unmatched_trend": lambda: store.unmatched_trend(start, end),
        "top_reasons": lambda: store.top_reasons(start, end),
        "ambiguous_ids": lambda: store.unmatched_ids(start, end, outcome="ambiguous"),
        "latency_percentiles": lambda: store.latency_percentiles(start, end),
        "latency_histogram": lambda: store.latency_histogram(start, end),
        "recent_errors": lambda: store.recent_errors(50),
    }
    timings = {}
    for name, run in runs.items():
        began = time.perf_counter()
        run()
        timings[name] = time.perf_counter() - began
    return timings
