"""Unmatched profiles: which Gladly profiles fail to link to Ordergroove, why, and what to do."""

from datetime import datetime, timedelta, timezone

import streamlit as st

from dashboard import charts, customers, data, md, unmatched, windows
from dashboard.resources import get_services

services = get_services()
store, db = services.events, str(services.settings.events_db_path)

st.title("Unmatched profiles")
st.caption("One row per Gladly profile (or, without a Gladly id, per hashed email) whose lookups did "
           "not match: why, what Ordergroove suggests, and a way to check again.")

# -- check again (needs no recorded lookup) --------------------------------------------------------
with st.container(border=True):
    st.markdown("**Check again in Ordergroove**")
    typed_box, go_box = st.columns([3, 1], vertical_alignment="bottom")
    typed = typed_box.text_input("Ordergroove customer id or email", key="um_check_text",
                                 placeholder="e.g. 7781203344 or dana.reyes@example.com")
    if go_box.button("Check again", icon=":material/manage_search:", key="um_check", width="stretch"):
        answer = customers.check_again(services, typed)
        icon = {True: ":material/link:", False: ":material/link_off:", None: ":material/info:"}[answer.resolved]
        show = {True: st.success, False: st.warning, None: st.info}[answer.resolved]
        show(answer.message, icon=icon)

if not data.has_events(store, db):
    st.info("No lookups recorded yet — run `make run` to generate demo traffic.", icon=":material/hourglass_empty:")
    st.stop()

# -- window and level ------------------------------------------------------------------------------
now = datetime.now(timezone.utc)
pick_window, pick_level = st.columns([3, 2], vertical_alignment="bottom")
choice = pick_window.segmented_control("Window", list(windows.PRESETS), default="7 d", required=True,
                                       key="um_window") or "7 d"
level_choice = pick_level.segmented_control("Lookup level", ["All", "BASIC", "DETAILED"], default="All",
                                            required=True, key="um_level") or "All"
window, level = windows.Window.preset(choice, now=now), data.level_arg(level_choice)
bucket = "hour" if window.length <= timedelta(hours=48) else "day"
st.caption(window.label())

profiles = data.unmatched_profiles(store, db, window.start, window.end, level)
reasons = data.top_reasons(store, db, window.start, window.end, level)
count, lookups, suggested = st.columns(3)
count.metric("Profiles not linking", f"{len(profiles):,}", border=True)
lookups.metric("Their lookups", f"{int(profiles['lookups'].sum()):,}", border=True)
suggested.metric("With a suggestion", f"{int(profiles['suggestion'].notna().sum()):,}", border=True,
                 help="Ordergroove has a customer with the profile's email: the Gladly profile likely "
                      "holds the wrong id.")
if profiles.empty:
    st.success("Every profile asked about in this window linked.", icon=":material/check_circle:")
    st.stop()

trend_box, reasons_box = st.columns([1, 1], gap="large")
with trend_box:
    st.subheader(f"Unmatched profiles per {bucket}")
    trend = data.unmatched_trend(store, db, window.start, window.end, bucket, level)
    st.altair_chart(charts.profiles_bars(trend, bucket), width="stretch")
with reasons_box:
    st.subheader("Top reasons")
    st.altair_chart(charts.reasons_bars(reasons), width="stretch")

# -- the list ----------------------------------------------------------------------------------------
st.subheader("Profiles")
template = unmatched.profile_url_template()
table = unmatched.shape(profiles, template)
pick_reason, needle_box, sort_box, download_box = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
chosen = pick_reason.multiselect("Reason", unmatched.reasons_in(table), key="um_reasons",
                                 placeholder="every reason")
needle = needle_box.text_input("Filter", key="um_filter", placeholder="id, email, suggestion",
                               icon=":material/filter_list:")
sort = sort_box.selectbox("Sort by", list(unmatched.SORTS), key="um_sort")
shown = unmatched.narrow(table, chosen, needle, sort)
download_box.download_button("CSV", data=unmatched.to_csv(shown), file_name="unmatched-profiles.csv",
                             mime="text/csv", icon=":material/download:", key="um_csv", width="stretch")
columns = {
    "profile": st.column_config.TextColumn("Gladly profile", width="medium"),
    "asked_for": st.column_config.TextColumn("Gladly asked for", width="medium"),
    "reason": st.column_config.TextColumn("Reason", width="medium"),
    "suggestion": st.column_config.TextColumn("Suggestion", width="large"),
    "lookups": st.column_config.NumberColumn("Lookups", format="%d"),
    "first_seen": st.column_config.DatetimeColumn("First seen (UTC)", format="D MMM YYYY, HH:mm"),
    "last_seen": st.column_config.DatetimeColumn("Last seen (UTC)", format="D MMM YYYY, HH:mm"),
    "gladly_link": st.column_config.LinkColumn("In Gladly", display_text="Open profile"),
}
if template is None:
    shown = shown.drop(columns=["gladly_link"])
    st.caption(f"Set `{unmatched.PROFILE_URL_ENV}` (e.g. `https://acme.gladly.com/customer/{{id}}`) to link "
               "each row to its Gladly profile.")
st.dataframe(shown, hide_index=True, key="um_table", column_config=columns, width="stretch")
st.caption(f"{len(shown):,} of {len(table):,} profiles shown. Emails are masked: the hash behind an "
           f"email-only row is never shown. {md.text('Type the email in “Check again” to search it.')}")
