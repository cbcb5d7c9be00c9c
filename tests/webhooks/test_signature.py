"""The webhook signature verifier against the reference's golden vector (section 9)."""

from __future__ import annotations

import hashlib

import pytest

from app.ordergroove.webhook_signature import (
    BadWebhookSignature,
    MalformedWebhookSignature,
    MissingWebhookSignature,
    StaleWebhookSignature,
    WebhookVerifier,
    sign_webhook,
)

from webhook_support import GOLDEN_BODY, NEW_KEY, OLD_KEY, SIG_NEW, SIG_OLD, TS


def header(value: str) -> dict:
    return {"OrderGroove-Signature": value}


def test_golden_body_is_the_one_of_the_reference():
    assert len(GOLDEN_BODY) == 529
    assert hashlib.sha256(GOLDEN_BODY).hexdigest() == "3df829f92301beb8ebe1b769c11be8172429cd1d2f5d3a49caa91a8463f1bd74"


def test_golden_vector_signatures():
    assert sign_webhook(NEW_KEY, TS, GOLDEN_BODY) == SIG_NEW
    assert sign_webhook(OLD_KEY, TS, GOLDEN_BODY) == SIG_OLD
    assert sign_webhook(NEW_KEY, TS, GOLDEN_BODY + b"\n") == (
        "f5baceb5e4fabe4c4604ead144c131b13cc09a652c476e4641055fc4eb5660b5")
    assert sign_webhook(NEW_KEY, TS + 1, GOLDEN_BODY) == (
        "ee82dcded6676c930f8335c2e7236d36da307a0d15216bf11abb11a5f33dd5f5")


def test_normal_header_verifies_and_returns_ts():
    assert WebhookVerifier([NEW_KEY]).verify(header(f"ts={TS},sig={SIG_NEW}"), GOLDEN_BODY) == TS


@pytest.mark.parametrize("name", ["Ordergroove-Signature", "ORDERGROOVE-SIGNATURE", "ordergroove-signature"])
def test_header_name_in_any_case(name):
    WebhookVerifier([NEW_KEY]).verify({name: f"ts={TS},sig={SIG_NEW}"}, GOLDEN_BODY)


def test_uppercase_hex_and_spaces_are_accepted():
    WebhookVerifier([NEW_KEY]).verify(header(f" ts = {TS} , sig = {SIG_NEW.upper()} "), GOLDEN_BODY)


@pytest.mark.parametrize("keys", [[NEW_KEY], [OLD_KEY], [NEW_KEY, OLD_KEY], [OLD_KEY, NEW_KEY]])
def test_rotation_header_is_valid_with_either_key(keys):
    WebhookVerifier(keys).verify(header(f"ts={TS},sig={SIG_NEW},sig={SIG_OLD}"), GOLDEN_BODY)


def test_second_sig_alone_matching_is_enough():
    other = "0" * 64
    WebhookVerifier([OLD_KEY]).verify(header(f"ts={TS},sig={other},sig={SIG_OLD}"), GOLDEN_BODY)


def test_key_rotation_on_our_side_old_sig_with_both_keys():
    """Ordergroove still signs with the old key while ORDERGROOVE_WEBHOOK_KEY holds both."""
    WebhookVerifier([NEW_KEY, OLD_KEY]).verify(header(f"ts={TS},sig={SIG_OLD}"), GOLDEN_BODY)


@pytest.mark.parametrize("body", [GOLDEN_BODY + b"\n", GOLDEN_BODY.replace(b"7781203344", b"7781203345"),
                                  GOLDEN_BODY[:-1], b""])
def test_tampered_body_is_refused(body):
    with pytest.raises(BadWebhookSignature):
        WebhookVerifier([NEW_KEY, OLD_KEY]).verify(header(f"ts={TS},sig={SIG_NEW}"), body)


def test_tampered_ts_is_refused():
    with pytest.raises(BadWebhookSignature):
        WebhookVerifier([NEW_KEY]).verify(header(f"ts={TS + 1},sig={SIG_NEW}"), GOLDEN_BODY)


def test_wrong_key_is_refused():
    with pytest.raises(BadWebhookSignature):
        WebhookVerifier([b"another-key"]).verify(header(f"ts={TS},sig={SIG_NEW}"), GOLDEN_BODY)


def test_reserialised_json_is_not_what_is_signed():
    import json

    reserialised = json.dumps(json.loads(GOLDEN_BODY)).encode()
    with pytest.raises(BadWebhookSignature):
        WebhookVerifier([NEW_KEY]).verify(header(f"ts={TS},sig={SIG_NEW}"), reserialised)


@pytest.mark.parametrize("value, error", [
    ("", MissingWebhookSignature),
    ("   ", MissingWebhookSignature),
    (f"sig={SIG_NEW}", MalformedWebhookSignature),
    (f"ts={TS}", MalformedWebhookSignature),
    (f"ts=,sig={SIG_NEW}", MalformedWebhookSignature),
    (f"ts=abc,sig={SIG_NEW}", MalformedWebhookSignature),
    (f"ts={TS},ts={TS},sig={SIG_NEW}", MalformedWebhookSignature),
    (f"ts={TS},sig={SIG_NEW[:-1]}", MalformedWebhookSignature),
    (f"ts={TS},sig={'z' * 64}", MalformedWebhookSignature),
    (f"ts={TS};sig={SIG_NEW}", MalformedWebhookSignature),
    (f"{TS},{SIG_NEW}", MalformedWebhookSignature),
])
def test_malformed_headers_are_refused_with_a_specific_error(value, error):
    with pytest.raises(error):
        WebhookVerifier([NEW_KEY]).verify(header(value), GOLDEN_BODY)


def test_missing_header_is_refused():
    with pytest.raises(MissingWebhookSignature):
        WebhookVerifier([NEW_KEY]).verify({}, GOLDEN_BODY)


def test_no_ts_window_by_default_but_one_can_be_set_with_an_injected_clock():
    much_later = lambda: TS + 3 * 86400.0  # noqa: E731  Ordergroove retries for hours, even days
    WebhookVerifier([NEW_KEY], clock=much_later).verify(header(f"ts={TS},sig={SIG_NEW}"), GOLDEN_BODY)
    with pytest.raises(StaleWebhookSignature):
        WebhookVerifier([NEW_KEY], max_age_s=3600, clock=much_later).verify(
            header(f"ts={TS},sig={SIG_NEW}"), GOLDEN_BODY)
    WebhookVerifier([NEW_KEY], max_age_s=3600, clock=lambda: TS + 10.0).verify(
        header(f"ts={TS},sig={SIG_NEW}"), GOLDEN_BODY)


def test_every_key_is_compared_with_every_sig(monkeypatch):
    """No early exit: the comparisons made do not depend on which one matches."""
    import app.ordergroove.webhook_signature as module

    calls = []
    real = module.hmac.compare_digest

    def counting(a, b):
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(module.hmac, "compare_digest", counting)
    verifier = WebhookVerifier([NEW_KEY, OLD_KEY, b"third"])
    verifier.verify(header(f"ts={TS},sig={SIG_NEW},sig={SIG_OLD}"), GOLDEN_BODY)
    assert len(calls) == 6


def test_repr_and_errors_hold_no_key_material():
    verifier = WebhookVerifier([NEW_KEY])
    assert NEW_KEY.decode() not in repr(verifier)
    with pytest.raises(BadWebhookSignature) as caught:
        verifier.verify(header(f"ts={TS},sig={'0' * 64}"), GOLDEN_BODY)
    assert NEW_KEY.decode() not in str(caught.value) and SIG_NEW not in str(caught.value)


def test_an_empty_key_list_is_refused():
    with pytest.raises(ValueError):
        WebhookVerifier([])
    with pytest.raises(ValueError):
        WebhookVerifier([b""])
