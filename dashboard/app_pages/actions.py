"""Actions: what agents did from the card (cancel, skip), how it went, and how long it took."""

from datetime import datetime, timezone

import streamlit as st

from dashboard import charts, data, windows
from dashboard.resources import get_services

services = get_services()
store, db = services.events, str(services.settings.events_db_path)

st.title("Actions")
enabled = sorted(getattr(services.settings, "actions", ()) or ())
st.caption("Gladly Actions submitted by agents (or the CLI): one row per submit, never the details "
           "text. Enabled here: " + (", ".join(f"`{a}`" for a in enabled) if enabled else
                                     "none (`OGTK_ACTIONS` is empty, so cards declare no buttons)") + ".")

pick_window, pick_action, pick_outcome = st.columns([3, 2, 2], vertical_alignment="bottom")
choice = pick_window.segmented_control("Window", list(windows.PRESETS), default="7 d", required=True,
                                       key="act_window") or "7 d"
action = pick_action.selectbox("Action", ["All", "cancel", "skip"], key="act_action")
outcome = pick_outcome.selectbox("Outcome", ["All", "done", "invalid", "rejected", "error"], key="act_outcome")
window = windows.Window.preset(choice, now=datetime.now(timezone.utc))
st.caption(window.label())

recent = data.recent_actions(store, db, window.start, window.end, None if action == "All" else action,
                             None if outcome == "All" else outcome)
counts = data.action_counts(store, db, window.start, window.end, window.bucket)
if counts["count"].sum() == 0:
    st.info("No actions submitted in this window.", icon=":material/touch_app:")
    st.stop()

totals = counts.groupby("outcome")["count"].sum()
for column, name in zip(st.columns(4), ("done", "invalid", "rejected", "error")):
    column.metric(name.capitalize(), f"{int(totals.get(name, 0)):,}", border=True)
st.subheader(f"Submits per {window.bucket}, by outcome")
st.altair_chart(charts.count_bars(counts, window.bucket, charts.ACTION_COLORS, "submits"), width="stretch")

st.subheader("Recent submits")
head, download = st.columns([4, 1], vertical_alignment="bottom")
head.caption(f"{len(recent):,} shown (newest first, at most 1,000); filtered by the action and outcome above.")
download.download_button("CSV", data=data.table_csv(recent), file_name="actions.csv", mime="text/csv",
                         icon=":material/download:", key="act_csv", width="stretch")
st.dataframe(recent, hide_index=True, key="act_table", width="stretch", column_config={
    "ts": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm:ss"),
    "action": "Action", "outcome": "Outcome", "customer_id": "Customer", "subscription_id": "Subscription",
    "order_id": "Order", "reason_code": "Reason code",
    "og_status": st.column_config.NumberColumn("Ordergroove status", format="%d"),
    "duration_ms": st.column_config.NumberColumn("Duration (ms)", format="%.0f"),
    "source": "Source", "correlation_id": "Gladly correlation id",
})
