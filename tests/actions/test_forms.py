"""Form JSON, card buttons and submit parsing, against the reference's worked example (section 8)."""

from __future__ import annotations

from datetime import date

import pytest

from app.gladly.forms import (
    ActionInputError,
    CancelChoice,
    action_path,
    card_actions,
    cancel_form,
    long_date,
    parse_cancel_submit,
    parse_skip_submit,
    skip_form,
)
from app.settings import DEFAULT_CANCEL_REASONS

SID = "0767811a8025176986607ad9e36fd616"
OID = "b5384130608aff9075a80fee319ab115"


def test_cancel_form_is_the_reference_example():
    assert cancel_form(SID, DEFAULT_CANCEL_REASONS, "Cold Brew Concentrate 32 oz") == {
        "title": "Cancel subscription: Cold Brew Concentrate 32 oz", "submitButton": "Cancel subscription",
        "closeButton": "Keep it",
        "actionUrl": f"/gladly/actions/subscriptions/{SID}/cancel",
        "sections": [
            {"type": "input", "label": "Cancel reason", "attr": "cancelReasonCode", "hint": "Optional",
             "input": {"type": "select", "placeholder": "Choose a reason", "optional": True, "options": [
                 {"text": "Other", "value": "1"}, {"text": "Overstocked", "value": "2"},
                 {"text": "Product not in use", "value": "3"}, {"text": "Too expensive", "value": "8"},
                 {"text": "Tried and don't like product", "value": "15"},
                 {"text": "Switch to another product", "value": "22"},
                 {"text": "Trouble managing Auto-Ship online", "value": "31"},
                 {"text": "No longer use this product", "value": "70"}]}},
            {"type": "input", "label": "Details", "attr": "cancelReasonDetails",
             "hint": "Optional; up to 200 characters, no |", "input": {"type": "text", "optional": True}}]}


def test_skip_form_is_the_reference_example():
    assert skip_form(SID, OID, date(2025, 3, 28), "Cold Brew Concentrate 32 oz") == {
        "title": "Skip next order: Cold Brew Concentrate 32 oz", "submitButton": "Skip order",
        "closeButton": "Keep order",
        "actionUrl": f"/gladly/actions/subscriptions/{SID}/orders/{OID}/skip",
        "sections": [{"type": "input", "label": "Confirm", "attr": "confirm", "defaultValue": False,
                      "hint": "Ordergroove then schedules the following order",
                      "input": {"type": "checkbox", "text": "Skip the order due on Mar 28, 2025",
                                "optional": False}}]}


def test_default_reasons_leave_out_the_system_only_code_9():
    assert "9" not in dict(DEFAULT_CANCEL_REASONS)


def test_forms_are_pure_and_titles_work_without_a_product_name():
    assert cancel_form(SID) == cancel_form(SID)
    assert cancel_form(SID)["title"] == "Cancel subscription"
    assert skip_form(SID, OID, None)["sections"][0]["input"]["text"] == "Skip the upcoming order"


def test_ids_travel_percent_encoded_in_path_segments():
    assert action_path("cancel", "a/b c") == "/gladly/actions/subscriptions/a%2Fb%20c/cancel"
    assert action_path("skip", "s?1", "o#2") == "/gladly/actions/subscriptions/s%3F1/orders/o%232/skip"
    with pytest.raises(ValueError):
        action_path("skip", SID)
    with pytest.raises(ValueError):
        action_path("refund", SID)


@pytest.mark.parametrize("enabled, order, names", [
    ({"cancel", "skip"}, OID, ["Cancel subscription", "Skip next order"]),
    ({"cancel", "skip"}, None, ["Cancel subscription"]),
    ({"skip"}, OID, ["Skip next order"]),
    (set(), OID, []),
])
def test_card_actions(enabled, order, names):
    actions = card_actions(SID, enabled, order)
    assert [a["name"] for a in actions] == names
    if "Skip next order" in names:
        assert actions[-1]["formUrl"] == f"/gladly/actions/subscriptions/{SID}/orders/{OID}/skip"


def test_long_date_needs_no_locale():
    assert long_date(date(2026, 1, 5)) == "Jan 5, 2026"


@pytest.mark.parametrize("body, expected", [
    ({"cancelReasonCode": "2", "cancelReasonDetails": "Has three bottles left"}, "2|Has three bottles left"),
    ({"cancelReasonCode": "2"}, "2|Overstocked"),
    ({"cancelReasonCode": 2, "cancelReasonDetails": None}, "2|Overstocked"),
    ({"cancelReasonCode": "2", "cancelReasonDetails": "   "}, "2|Overstocked"),
    ({"cancelReasonCode": "", "cancelReasonDetails": ""}, None),
    ({}, None),
    ({"cancelReasonCode": None}, None),
    ({"cancelReasonDetails": "Has three bottles left"}, None),  # details without a code are dropped
    ({"cancelReasonCode": "2", "somethingElse": "x"}, "2|Overstocked"),
])
def test_cancel_submit_to_cancel_reason(body, expected):
    assert parse_cancel_submit(body, DEFAULT_CANCEL_REASONS).cancel_reason == expected


def test_details_at_the_limit_are_kept():
    choice = parse_cancel_submit({"cancelReasonCode": "1", "cancelReasonDetails": "x" * 200})
    assert choice == CancelChoice("1", "Other", "x" * 200)


@pytest.mark.parametrize("body, attr, detail", [
    ({"cancelReasonCode": "99"}, "cancelReasonCode", "Unknown reason code 99"),
    ({"cancelReasonCode": "9"}, "cancelReasonCode", "Unknown reason code 9"),
    ({"cancelReasonCode": True}, "cancelReasonCode", "Unknown reason code bool"),
    ({"cancelReasonCode": ["2"]}, "cancelReasonCode", "Unknown reason code list"),
    ({"cancelReasonDetails": "a|b"}, "cancelReasonDetails", "Remove the | character"),
    ({"cancelReasonCode": "2", "cancelReasonDetails": "x" * 201}, "cancelReasonDetails",
     "Keep the details to 200 characters"),
    ({"cancelReasonCode": "2", "cancelReasonDetails": 5}, "cancelReasonDetails", "Details must be text"),
])
def test_bad_cancel_input_is_tied_to_its_attr(body, attr, detail):
    with pytest.raises(ActionInputError) as caught:
        parse_cancel_submit(body, DEFAULT_CANCEL_REASONS)
    assert caught.value.errors == [{"attr": attr, "detail": detail}]


def test_both_fields_wrong_gives_both_errors():
    with pytest.raises(ActionInputError) as caught:
        parse_cancel_submit({"cancelReasonCode": "99", "cancelReasonDetails": "a|b"})
    assert [e["attr"] for e in caught.value.errors] == ["cancelReasonCode", "cancelReasonDetails"]


def test_configured_reasons_are_the_only_ones_accepted():
    reasons = (("4", "Overstocked"),)
    assert parse_cancel_submit({"cancelReasonCode": "4"}, reasons).cancel_reason == "4|Overstocked"
    with pytest.raises(ActionInputError):
        parse_cancel_submit({"cancelReasonCode": "2"}, reasons)


@pytest.mark.parametrize("body", [None, [], "confirm", 1])
def test_a_submit_that_is_not_an_object_is_a_form_level_error(body):
    with pytest.raises(ActionInputError) as caught:
        parse_cancel_submit(body)
    assert "attr" not in caught.value.errors[0] and caught.value.errors[0]["message"]
    with pytest.raises(ActionInputError):
        parse_skip_submit(body)


@pytest.mark.parametrize("confirm", [True, "true", "TRUE", " true "])
def test_skip_confirmed(confirm):
    parse_skip_submit({"confirm": confirm})


@pytest.mark.parametrize("body", [{"confirm": False}, {}, {"confirm": "false"}, {"confirm": 1}, {"confirm": None},
                                  {"confirm": "yes"}])
def test_skip_not_confirmed(body):
    with pytest.raises(ActionInputError) as caught:
        parse_skip_submit(body)
    assert caught.value.errors == [{"attr": "confirm", "detail": "Tick the box to skip this order"}]
