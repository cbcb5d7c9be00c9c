"""Basic auth and the combined authenticator (signing and/or Basic, per settings)."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import Headers

from app.gladly import errors
from app.gladly.auth import Authenticator, BasicAuthVerifier
from app.gladly.signing import SignatureVerifier, sign_headers
from app.settings import Settings

GOOD = "Basic c3VwcG9ydDpzM2NyZXQ="  # support:s3cret
KEY = "test-apikey-1"
NOW = datetime(2025, 3, 14, 9, 15, 22, tzinfo=timezone.utc)
BODY = b'{"lookupLevel":"BASIC","query":{}}'


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- BasicAuthVerifier -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": GOOD},
        {"authorization": GOOD},
        {"AUTHORIZATION": "basic c3VwcG9ydDpzM2NyZXQ="},
        {"Authorization": f"  {GOOD}  "},
        {"Authorization": GOOD, "WWW-Authenticate": 'Basic realm="ogtk"'},
        {"Authorization": GOOD, "Www-Authenticate": ""},
        Headers([("Authorization", GOOD), ("Www-Authenticate", "Basic realm=")]),
    ],
)
def test_basic_good(headers):
    BasicAuthVerifier("support:s3cret").verify(headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Basic"},
        {"Authorization": "Basic   "},
        {"Authorization": "Bearer c3VwcG9ydDpzM2NyZXQ="},
        {"WWW-Authenticate": 'Basic realm="ogtk"'},
    ],
)
def test_basic_missing(headers):
    with pytest.raises(errors.MissingCredentials) as info:
        BasicAuthVerifier("support:s3cret").verify(headers)
    assert info.value.code == "missing_credentials" and info.value.status == 401


@pytest.mark.parametrize(
    "token",
    [
        b64(b"support:wrong"),
        b64(b"other:s3cret"),
        b64(b"support:s3cret "),
        b64(b"support:s3cre"),
        b64(b"Support:s3cret"),
        b64(b"support"),
        b64(b":"),
        b64(b"\xff\xfe:\x80"),  # not UTF-8
        "!!!not-base64!!!",
        "c3VwcG9ydDpzM2NyZXQ",  # padding stripped
        "c3VwcG9ydDpzM2NyZXQ=garbage",
        "c3VwcG9y dDpzM2NyZXQ=",
        "ünïcödé",
    ],
)
def test_basic_bad(token):
    with pytest.raises(errors.BadCredentials) as info:
        BasicAuthVerifier("support:s3cret").verify({"Authorization": f"Basic {token}"})
    assert info.value.code == "bad_credentials"
    assert "s3cret" not in info.value.detail and token not in info.value.detail


def test_basic_password_may_contain_colons_and_unicode():
    verifier = BasicAuthVerifier("user:pa:ss:wörd")
    verifier.verify({"Authorization": "Basic " + b64("user:pa:ss:wörd".encode())})
    with pytest.raises(errors.BadCredentials):
        verifier.verify({"Authorization": "Basic " + b64(b"user:pa:ss")})


def test_basic_repr_hides_secret():
    assert "s3cret" not in repr(BasicAuthVerifier("support:s3cret"))


def test_basic_rejects_bad_configuration():
    with pytest.raises(ValueError):
        BasicAuthVerifier("no-colon")


# --- Authenticator -----------------------------------------------------------------------------
def settings(**overrides) -> Settings:
    env = {"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700"}
    env.update(overrides)
    return Settings.from_env(env)


def both() -> Authenticator:
    return Authenticator.from_settings(
        settings(GLADLY_SIGNING_KEY=KEY, GLADLY_BASIC_AUTH="support:s3cret"), clock=NOW.timestamp
    )


def test_both_configured_requires_both():
    auth = both()
    assert auth.mode == "signature+basic"
    good = sign_headers(KEY, body=BODY, headers={"Authorization": GOOD, "WWW-Authenticate": 'Basic realm="ogtk"'},
                        now=NOW)
    auth.verify("POST", "", good, BODY)
    auth.verify("POST", b"", Headers(list(good.items())), BODY)

    unsigned = {k: v for k, v in good.items() if k != "Gladly-Authorization"}
    with pytest.raises(errors.MissingSignature):
        auth.verify("POST", "", unsigned, BODY)

    no_basic = sign_headers(KEY, body=BODY, now=NOW)
    with pytest.raises(errors.MissingCredentials):
        auth.verify("POST", "", no_basic, BODY)

    # signed correctly, but over the wrong password: Basic still fails
    wrong_password = sign_headers(KEY, body=BODY, headers={"Authorization": "Basic " + b64(b"support:x")}, now=NOW)
    with pytest.raises(errors.BadCredentials):
        auth.verify("POST", "", wrong_password, BODY)

    # right password, but the Authorization header was swapped after signing
    swapped = dict(wrong_password, Authorization=GOOD)
    with pytest.raises(errors.BadSignature):
        auth.verify("POST", "", swapped, BODY)


def test_signature_only():
    auth = Authenticator.from_settings(settings(GLADLY_SIGNING_KEY=KEY, GLADLY_REPLAY_WINDOW_S="60"),
                                       clock=lambda: NOW.timestamp() + 61)
    assert auth.mode == "signature"
    with pytest.raises(errors.StaleRequest):  # the replay window comes from the settings
        auth.verify("POST", "", sign_headers(KEY, body=BODY, now=NOW), BODY)
    Authenticator.from_settings(settings(GLADLY_SIGNING_KEY=KEY), clock=NOW.timestamp).verify(
        "POST", "", sign_headers(KEY, body=BODY, now=NOW), BODY
    )


def test_signature_uses_configured_path():
    auth = Authenticator.from_settings(settings(GLADLY_SIGNING_KEY=KEY, OGTK_GLADLY_LOOKUP_PATH="/prefix/lookup"),
                                       clock=NOW.timestamp)
    auth.verify("POST", "", sign_headers(KEY, path="/prefix/lookup", body=BODY, now=NOW), BODY)
    with pytest.raises(errors.BadSignature):
        auth.verify("POST", "", sign_headers(KEY, path="/gladly/lookup", body=BODY, now=NOW), BODY)


def test_basic_only_ignores_signature_headers():
    auth = Authenticator.from_settings(settings(GLADLY_BASIC_AUTH="support:s3cret"))
    assert auth.mode == "basic"
    auth.verify("POST", "", {"Authorization": GOOD, "Gladly-Authorization": "garbage"}, BODY)
    with pytest.raises(errors.MissingCredentials):
        auth.verify("POST", "", {}, BODY)


def test_none_configured_and_allowed_lets_everything_through():
    auth = Authenticator.from_settings(settings(OGTK_ALLOW_UNAUTHENTICATED="1"))
    assert auth.mode == "none"
    auth.verify("POST", "", {}, BODY)


def test_none_configured_and_not_allowed_fails_closed():
    auth = Authenticator.from_settings(settings())
    assert auth.mode == "refuse"
    with pytest.raises(errors.AuthenticationNotConfigured) as info:
        auth.verify("POST", "", {"Authorization": GOOD}, BODY)
    assert info.value.status == 401


def test_authenticator_repr_hides_secrets():
    text = repr(both()) + repr(both().signature) + repr(both().basic)
    assert KEY not in text and "s3cret" not in text


def test_direct_construction():
    auth = Authenticator(SignatureVerifier(KEY, replay_window_s=0), None)
    auth.verify("POST", "", sign_headers(KEY, body=BODY, now=NOW), BODY)
    with pytest.raises(errors.BadSignature):
        auth.verify("POST", "", sign_headers(KEY, body=BODY, now=NOW), BODY + b" ")
