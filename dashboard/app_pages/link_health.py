"""Link health: how often Gladly's lookups find their Ordergroove customer (the profiles that do not
are on the Unmatched page)."""

from datetime import datetime, timedelta, timezone

import streamlit as st

from dashboard import charts, data, windows
from dashboard.resources import get_services

services = get_services()
store, db = services.events, str(services.events.path)  # SQLite file or PostgreSQL URL

st.title("Link health")
st.caption("Match rate = matched / (matched + unmatched + ambiguous). Errors are counted apart.")

if not data.has_events(store, db):
    st.info("No lookups recorded yet — run `make run` to generate demo traffic.", icon=":material/hourglass_empty:")
    st.stop()

# -- window and level ------------------------------------------------------------------------------
now = datetime.now(timezone.utc)
pick_window, pick_level, pick_days = st.columns([3, 2, 2], vertical_alignment="bottom")
choice = pick_window.segmented_control("Window", windows.CHOICES, default="24 h", required=True,
                                       key="lh_window") or "24 h"
level_choice = pick_level.segmented_control("Lookup level", ["All", "BASIC", "DETAILED"], default="All",
                                            required=True, key="lh_level") or "All"
level = data.level_arg(level_choice)
if choice == windows.CUSTOM:
    today = now.date()
    picked = pick_days.date_input("Days (UTC)", value=(today - timedelta(days=6), today),
                                  max_value=today, key="lh_days")
    first, last = (tuple(picked) + (None, None))[:2] if isinstance(picked, (tuple, list)) else (picked, None)
    window = windows.Window.days(first or today, last or first or today, now=now)
else:
    window = windows.Window.preset(choice, now=now)
previous = window.previous()
st.caption(f"{window.label()} · deltas against the {window.span_text()} before")

# -- KPIs -------------------------------------------------------------------------------------------
current = data.summary(store, db, window.start, window.end, level)
before = data.summary(store, db, previous.start, previous.end, level)
kpis = data.kpis(current, before)
for row in (kpis[:3], kpis[3:]):
    for column, kpi in zip(st.columns(3), row):
        column.metric(kpi.label, kpi.value, kpi.delta, delta_color=kpi.delta_color, help=kpi.help, border=True,
                      height="stretch")

if current.lookups == 0:
    st.info("No lookups in this window. Pick a longer window.", icon=":material/event_busy:")
    st.stop()

# -- trend ------------------------------------------------------------------------------------------
st.subheader(f"Trend by {window.bucket}")
trend = data.trend(store, db, window.start, window.end, window.bucket, level)
st.altair_chart(charts.match_rate_line(trend, window.bucket), width="stretch")
st.altair_chart(charts.outcome_bars(data.trend_long(trend, window.bucket), window.bucket), width="stretch")

# -- who does not link -------------------------------------------------------------------------------
st.page_link("app_pages/unmatched.py", label=f"{current.unmatched + current.ambiguous:,} lookups did not match: "
             "see which profiles, why, and what to do", icon=":material/person_search:")
