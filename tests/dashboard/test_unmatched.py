"""The Unmatched page on a seeded store: one row per profile, reasons, the suggestion, the Gladly
link, filter, sort, CSV, the trend and top reasons, "check again", and the synthetic banner; and
the shaping module on its own."""

from __future__ import annotations

import io

import pandas as pd

from app.sandbox import KNOWN
from dashboard import unmatched
from dashboard.resources import SYNTHETIC_BANNER

from dash_support import EMAIL_ONLY, ERRORS, UNMATCHED_EMAIL_COUNT, UNMATCHED_IDS, assert_clean, open_page, shown

PAGE = "app_pages/unmatched.py"


def _page(app_test):
    return open_page(app_test, PAGE)


def _table(at):
    return at.dataframe[0].value


def test_one_row_per_profile_with_reason_and_suggestion(seeded, app_test):
    at = _page(app_test)
    table = _table(at).set_index("profile")
    assert {f"g-{i}": n for i, n in UNMATCHED_IDS.items()} == {
        k: table.loc[k, "lookups"] for k in (f"g-{i}" for i in UNMATCHED_IDS)}
    assert table.loc["g-missing-person", "lookups"] == UNMATCHED_EMAIL_COUNT
    assert table.loc["g-missing-person", "asked_for"] == "email m***@example.com"
    assert table.loc["g-missing-person", "reason"] == "email not in Ordergroove"
    assert table.loc["g-ext-404-alpha", "reason"] == "id unknown to Ordergroove"
    assert table.loc["g-ext-404-alpha", "suggestion"] == \
        f"Ordergroove has customer {KNOWN['reference']} with this profile's email"
    # two people whose emails mask alike are two rows, by their hash, never by the masked email
    email_only = _table(at)[_table(at)["profile"] == "(email only)"]
    assert len(email_only) == len(EMAIL_ONLY) and set(email_only["asked_for"]) == {"email n***@example.net"}
    assert "nora" not in _table(at).to_csv() and "nick" not in _table(at).to_csv()
    metrics = {m.label: m.value for m in at.metric}
    # the failed lookups count too (by their external id); the ambiguous ones had neither id nor hash
    assert metrics["Profiles not linking"] == str(len(UNMATCHED_IDS) + 1 + len(EMAIL_ONLY) + ERRORS)
    assert metrics["With a suggestion"] == "1"
    assert len(at.get("vega_lite_chart")) == 2  # trend of profiles and top reasons


def test_filter_by_reason_text_and_sort(seeded, app_test):
    at = _page(app_test)
    at.multiselect(key="um_reasons").select("email not in Ordergroove").run()
    assert_clean(at)
    assert set(_table(at)["reason"]) == {"email not in Ordergroove"}
    at.text_input(key="um_filter").input("MISSING").run()
    assert list(_table(at)["profile"]) == ["g-missing-person"]
    at.multiselect(key="um_reasons").set_value([]).run()
    at.text_input(key="um_filter").input("").run()
    at.selectbox(key="um_sort").set_value("Last seen").run()
    seen = list(_table(at)["last_seen"])
    assert seen == sorted(seen, reverse=True)


def test_profile_links_only_when_configured(seeded, monkeypatch, app_test):
    at = _page(app_test)
    assert "gladly_link" not in _table(at).columns
    assert any("GLADLY_PROFILE_URL" in c.value for c in at.caption)
    monkeypatch.setenv("GLADLY_PROFILE_URL", "https://acme.gladly.com/customer/{id}")
    at = _page(app_test)
    table = _table(at).set_index("profile")
    assert table.loc["g-ext-404-beta", "gladly_link"] == "https://acme.gladly.com/customer/g-ext-404-beta"
    assert table["gladly_link"].isna().sum() == len(EMAIL_ONLY) + ERRORS  # no Gladly id, no link


def test_csv_is_the_filtered_table(seeded, app_test):
    at = _page(app_test)
    at.text_input(key="um_filter").input("404").run()
    csv = pd.read_csv(io.BytesIO(unmatched.to_csv(_table(at))))
    assert set(csv["profile"]) == {"g-ext-404-alpha", "g-ext-404-beta"}
    assert csv["first_seen"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()


def _check(at, typed):
    at.text_input(key="um_check_text").input(typed)
    at.button(key="um_check").click().run()
    assert_clean(at)
    return at


def test_check_again_an_id_and_an_email(seeded, app_test):
    at = _check(_page(app_test), KNOWN["reference"])
    assert "Resolves now" in at.success[-1].value and "Dana Reyes" in shown(at.success[-1].value)
    at = _check(at, KNOWN["unknown"])
    assert "Still no Ordergroove customer" in at.warning[-1].value
    at = _check(at, "  Dana.Reyes@Example.com ")
    assert f"Ordergroove has customer `{KNOWN['reference']}` with the email" in at.success[-1].value
    at = _check(at, KNOWN["shared_email"])
    assert "has 2 customers with the email" in at.info[-1].value
    at = _check(at, "nobody.here@example.org")
    assert "no customer with the email" in at.warning[-1].value


def test_check_again_works_before_any_lookup_was_recorded(dashboard_env, app_test):
    at = _page(app_test)
    assert "No lookups recorded yet" in at.info[0].value
    at = _check(at, KNOWN["reference"])
    assert "Resolves now" in at.success[-1].value


def test_synthetic_history_is_announced_on_every_page(seeded, app_test):
    from app.events import EventStore
    from app.settings import Settings

    at = _page(app_test)
    assert all(w.value != SYNTHETIC_BANNER for w in at.warning)
    store = EventStore(Settings.from_env().events_db_path)
    store.mark_synthetic()
    store.close()
    import streamlit as st

    st.cache_data.clear()
    for page in (PAGE, "app_pages/link_health.py", "app_pages/operations.py", "app_pages/customer_card.py"):
        at.switch_page(page).run()
        assert_clean(at)
        assert at.warning[0].value == SYNTHETIC_BANNER, page


# -- the shaping module ---------------------------------------------------------------------------------
def test_profile_url_template_needs_http_and_an_id_placeholder():
    assert unmatched.profile_url_template({"GLADLY_PROFILE_URL": " https://a.gladly.com/customer/{id} "}) \
        == "https://a.gladly.com/customer/{id}"
    for bad in ("", "https://a.gladly.com/customer/", "javascript:alert({id})", "ftp://x/{id}"):
        assert unmatched.profile_url_template({"GLADLY_PROFILE_URL": bad}) is None
    assert unmatched.profile_url_template({}) is None


def test_profile_link_keeps_the_id_one_path_segment():
    template = "https://a.gladly.com/customer/{id}"
    assert unmatched.profile_link(template, "ab/../c?d") == "https://a.gladly.com/customer/ab%2F..%2Fc%3Fd"
    assert unmatched.profile_link(template, None) is None and unmatched.profile_link(None, "x") is None


def test_suggestion_sentences():
    assert unmatched.suggestion_text("7781203344") == "Ordergroove has customer 7781203344 with this profile's email"
    assert unmatched.suggestion_text("1,2,3") == "Ordergroove has customers 1, 2 and 3 with this profile's email"
    assert unmatched.suggestion_text(None) is None and unmatched.suggestion_text(" , ") is None


def test_shape_of_an_empty_store_has_the_columns():
    empty = unmatched.shape(pd.DataFrame(columns=["key_kind", "gladly_customer_id", "external_customer_id",
                                                  "masked_email", "reason", "suggestion", "lookups",
                                                  "first_seen", "last_seen"]))
    assert list(empty.columns) == unmatched.COLUMNS and empty.empty
    assert unmatched.reasons_in(empty) == []
