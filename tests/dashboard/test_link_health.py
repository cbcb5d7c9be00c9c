"""The link-health page on an empty and a seeded event store: KPIs, trend, windows, levels."""

from __future__ import annotations

from dash_support import AMBIGUOUS, EMAIL_ONLY, ERRORS, MATCHED, UNMATCHED_EMAIL_COUNT, UNMATCHED_IDS, assert_clean, open_page

PAGE = "app_pages/link_health.py"


def _page(app_test):
    return open_page(app_test, PAGE)


def test_empty_store_shows_the_first_run_hint(dashboard_env, app_test):
    at = _page(app_test)
    assert at.title[0].value == "Link health"
    assert "No lookups recorded yet — run `make run`" in at.info[0].value
    assert not at.metric and not at.dataframe


def test_kpis_of_the_seeded_window(seeded, app_test):
    at = _page(app_test)
    metrics = {m.label: m.value for m in at.metric}
    unmatched = sum(UNMATCHED_IDS.values()) + UNMATCHED_EMAIL_COUNT + len(EMAIL_ONLY)
    total = MATCHED + unmatched + AMBIGUOUS + ERRORS
    assert metrics["Lookups"] == f"{total:,}"
    assert metrics["Unmatched"] == str(unmatched)
    assert metrics["Ambiguous"] == str(AMBIGUOUS)
    assert metrics["Errors"] == str(ERRORS)
    assert metrics["Match rate · per request"] == f"{MATCHED / (MATCHED + unmatched + AMBIGUOUS):.1%}"
    # the previous 24 h are empty: the lookups delta is the whole count
    assert at.metric[0].delta == f"+{total:,}"
    assert len(at.get("vega_lite_chart")) == 2


def test_level_picker_restricts_to_basic(seeded, app_test):
    at = _page(app_test)
    at.button_group[1].set_value("BASIC").run()
    assert_clean(at)
    unmatched = UNMATCHED_EMAIL_COUNT + len(EMAIL_ONLY)  # the unmatched ids were DETAILED
    assert {m.label: m.value for m in at.metric}["Unmatched"] == str(unmatched)


def test_links_to_the_unmatched_page(seeded, app_test):
    at = _page(app_test)
    link = at.get("page_link")[0]
    assert "did not match" in link.proto.label and link.proto.page == "unmatched"


def test_longer_window_and_custom_range_render(seeded, app_test):
    at = _page(app_test)
    at.button_group[0].set_value("7 d").run()
    assert_clean(at)
    assert at.subheader[0].value == "Trend by day"
    at.button_group[0].set_value("Custom range").run()
    assert_clean(at)
    assert at.date_input(key="lh_days")
    assert at.metric
