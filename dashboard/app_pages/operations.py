"""Operations: lookup latency, Ordergroove requests, the cache, webhooks and recent errors."""

from datetime import datetime, timezone

import streamlit as st

from dashboard import card, charts, data, upstream, webhooks, windows
from dashboard.resources import get_services

services = get_services()
store, db = services.events, str(services.events.path)  # SQLite file or PostgreSQL URL
prometheus_dir = services.settings.metrics_dir

st.title("Operations")

# -- lookup latency (event store) -------------------------------------------------------------------
st.subheader("Lookup latency")
pick_window, pick_level = st.columns([1, 1])
choice = pick_window.segmented_control("Window", list(windows.PRESETS), default="24 h", required=True,
                                       key="ops_window") or "24 h"
level_choice = pick_level.segmented_control("Lookup level", ["All", "BASIC", "DETAILED"], default="All",
                                            required=True, key="ops_level") or "All"
window, level = windows.Window.preset(choice, now=datetime.now(timezone.utc)), data.level_arg(level_choice)

if not data.has_events(store, db):
    st.info("No lookups recorded yet — run `make run` to generate demo traffic.", icon=":material/hourglass_empty:")
else:
    latency = data.latency(store, db, window.start, window.end, level)
    count, p50, p95, p99 = st.columns(4)
    count.metric("Lookups", f"{latency.count:,}", border=True)
    p50.metric("p50", data.ms(latency.p50_ms), border=True)
    p95.metric("p95", data.ms(latency.p95_ms), border=True)
    p99.metric("p99", data.ms(latency.p99_ms), border=True)
    if latency.count:
        st.altair_chart(charts.latency_histogram(data.latency_histogram(store, db, window.start, window.end, level)),
                        width="stretch")
    else:
        st.info("No lookups in this window.", icon=":material/event_busy:")

# -- Ordergroove requests and the cache (Prometheus files of the API workers) ----------------------
st.subheader("Ordergroove requests")
samples = data.upstream_samples(str(prometheus_dir)) if upstream.has_metrics(prometheus_dir) else None
if samples is None:
    st.info(f"No API metrics found in `{prometheus_dir}`: metrics appear when the API runs under "
            "gunicorn (`make run`).", icon=":material/query_stats:")
else:
    by_endpoint = upstream.upstream_by_endpoint(samples)
    if by_endpoint.empty:
        st.info("The API has not called Ordergroove yet.", icon=":material/query_stats:")
    else:
        totals, by_status = st.columns([3, 2], gap="large")
        totals.caption("Per endpoint, since the API started")
        totals.dataframe(by_endpoint, hide_index=True, key="ops_endpoints")
        by_status.caption("Per endpoint and HTTP status")
        by_status.dataframe(upstream.upstream_by_status(samples), hide_index=True, key="ops_statuses")

st.subheader("Cache")
rate, size, stale = st.columns(3)
cache = upstream.cache_hit_rate(samples) if samples is not None else None
rate.metric("Hit rate", "—" if cache is None or cache.rate is None else f"{cache.rate:.1%}",
            help="hits / (hits + misses) over every API worker since it started", border=True)
size.metric("Size on disk", data.human_bytes(services.fetcher.cache.volume()), border=True)
stale.metric("Stale answers served", "—" if cache is None else f"{cache.stale:,}",
             help="Expired entries served because Ordergroove failed", border=True)
with st.expander("Clear the cache", icon=":material/delete_sweep:"):
    st.write("Every cached Ordergroove customer, subscription, order and product is dropped; the next "
             "lookups go to Ordergroove (slower, and more requests against its rate limit).")
    understood = st.checkbox("I understand the next lookups will all call Ordergroove", key="ops_clear_ok")
    if st.button("Clear cache", type="primary", disabled=not understood, key="ops_clear"):
        removed = services.fetcher.cache.clear()
        st.success(f"Cache cleared ({removed:,} entries removed).", icon=":material/check_circle:")

# -- webhooks (event store) --------------------------------------------------------------------------
st.subheader("Webhooks")
hooks_window = windows.Window.preset(choice, now=datetime.now(timezone.utc))
summary = data.webhook_summary(store, db, hooks_window.start, hooks_window.end)
warning = webhooks.quiet_warning(summary.last_received, datetime.now(timezone.utc),
                                 is_configured=webhooks.configured(), limit=webhooks.quiet_after())
if warning:
    st.warning(warning, icon=":material/notifications_off:")
last, delivered, failures = st.columns(3)
last.metric("Last received", "never" if summary.last_received is None else
            card.age_text(summary.last_received).replace("fetched ", ""), border=True,
            help="The latest authentic delivery (any outcome but rejected), however old.")
delivered.metric(f"Deliveries · {choice}", f"{summary.deliveries:,}", border=True)
failures.metric(f"Signature failures · {choice}", f"{summary.signature_failures:,}", border=True,
                help="Deliveries refused with a 401 (a wrong or rotated ORDERGROOVE_WEBHOOK_KEY, or a forgery), "
                     "and bodies over 1 MiB, refused before their signature is checked.")
if summary.deliveries:
    counts = data.webhook_counts(store, db, hooks_window.start, hooks_window.end, hooks_window.bucket)
    st.altair_chart(charts.count_bars(counts, hooks_window.bucket, charts.WEBHOOK_COLORS, "deliveries"),
                    width="stretch")
    st.dataframe(summary.by_type_outcome, hide_index=True, key="ops_webhook_types", column_config={
        "type": "Event type", "outcome": "Outcome", "count": st.column_config.NumberColumn("Deliveries")})
elif not webhooks.configured():
    st.info("Webhooks are off: set `ORDERGROOVE_WEBHOOK_KEY` and configure the webhook in Ordergroove's "
            "admin to refresh cards within a second of a change.", icon=":material/webhook:")
else:
    st.info("No webhook deliveries in this window.", icon=":material/webhook:")

# -- recent errors ------------------------------------------------------------------------------------
st.subheader("Recent errors")
errors = data.recent_errors(store, db, 50)
if errors.empty:
    st.success("No failed lookups recorded.", icon=":material/check_circle:")
else:
    st.dataframe(errors, hide_index=True, key="ops_errors", column_config={
        "ts": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm:ss"),
        "level": "Level",
        "error_code": "Error",
        "gladly_customer_id": "Gladly customer id",
        "external_customer_id": "External customer id",
        "emails": "Emails (masked)",
        "duration_ms": st.column_config.NumberColumn("Duration (ms)", format="%.0f"),
        "upstream_calls": st.column_config.NumberColumn("Upstream calls"),
        "correlation_id": "Gladly correlation id",
    })
