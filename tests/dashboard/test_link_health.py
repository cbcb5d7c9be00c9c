"""The link-health page on an empty and a seeded event store: KPIs, the unmatched table, the
filter, and "Check again in Ordergroove"."""

from __future__ import annotations

from app.sandbox import KNOWN

from dash_support import AMBIGUOUS, ERRORS, MATCHED, UNMATCHED_EMAIL_COUNT, UNMATCHED_IDS, assert_clean

PAGE = "app_pages/link_health.py"


def _page(app_test):
    at = app_test.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def test_empty_store_shows_the_first_run_hint(dashboard_env, app_test):
    at = _page(app_test)
    assert at.title[0].value == "Link health"
    assert "No lookups recorded yet — run `make run`" in at.info[0].value
    assert not at.metric and not at.dataframe


def test_kpis_of_the_seeded_window(seeded, app_test):
    at = _page(app_test)
    metrics = {m.label: m.value for m in at.metric}
    unmatched = sum(UNMATCHED_IDS.values()) + UNMATCHED_EMAIL_COUNT
    total = MATCHED + unmatched + AMBIGUOUS + ERRORS
    assert metrics["Lookups"] == f"{total:,}"
    assert metrics["Unmatched"] == str(unmatched)
    assert metrics["Ambiguous"] == str(AMBIGUOUS)
    assert metrics["Errors"] == str(ERRORS)
    assert metrics["Match rate · per request"] == f"{MATCHED / (MATCHED + unmatched + AMBIGUOUS):.1%}"
    # the previous 24 h are empty: the lookups delta is the whole count
    assert at.metric[0].delta == f"+{total:,}"
    assert len(at.get("vega_lite_chart")) == 2


def test_unmatched_table_holds_the_seeded_ids_with_their_counts(seeded, app_test):
    at = _page(app_test)
    table = next(d for d in at.dataframe).value
    counts = dict(zip(table["identifier"], table["count"]))
    assert {k: counts[k] for k in UNMATCHED_IDS} == UNMATCHED_IDS
    assert counts["m***@example.com"] == UNMATCHED_EMAIL_COUNT
    assert "missing.person" not in " ".join(table["identifier"])  # only ever masked
    assert list(table["count"]) == sorted(table["count"], reverse=True)


def test_filter_narrows_the_table(seeded, app_test):
    at = _page(app_test)
    at.text_input(key="lh_filter").input("404-BE").run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["identifier"]) == ["ext-404-beta"]


def test_level_picker_restricts_to_basic(seeded, app_test):
    at = _page(app_test)
    at.button_group[1].set_value("BASIC").run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["identifier"]) == ["m***@example.com"]  # the unmatched ids were DETAILED


def test_longer_window_and_custom_range_render(seeded, app_test):
    at = _page(app_test)
    at.button_group[0].set_value("7 d").run()
    assert_clean(at)
    assert at.subheader[0].value == "Trend by day"
    at.button_group[0].set_value("Custom range").run()
    assert_clean(at)
    assert at.date_input(key="lh_days")
    assert at.metric


def _recheck(at, identifier):
    pick = at.selectbox(key="lh_recheck_pick")
    table = at.dataframe[0].value
    index = int(table.index[table["identifier"] == identifier][0])
    pick.set_value(index).run()
    at.button(key="lh_recheck").click().run()
    assert_clean(at)
    return at


def test_check_again_resolves_an_id_that_exists_now(seeded, app_test):
    at = _recheck(_page(app_test), KNOWN["reference"])
    assert at.success and "Resolves now" in at.success[-1].value and "Dana Reyes" in at.success[-1].value


def test_check_again_still_missing(seeded, app_test):
    at = _recheck(_page(app_test), "ext-404-alpha")
    assert "Still no Ordergroove customer" in at.warning[-1].value


def test_check_again_explains_masked_emails_cannot_be_searched(seeded, app_test):
    at = _recheck(_page(app_test), "m***@example.com")
    assert "can't be searched again" in at.info[-1].value
