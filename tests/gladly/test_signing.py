"""Gladly request signing: the reference's golden vectors, and every way verification fails."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import Headers

from app.gladly import errors
from app.gladly.signing import (
    SignatureVerifier,
    canonical_query,
    canonical_request,
    compute_signature,
    day_key,
    parse_authorization,
    parse_gladly_time,
    sign_headers,
    string_to_sign,
)

KEY = "test-apikey-1"

# --- 7.2: Gladly's published example ---------------------------------------------------------
GOLDEN_BODY = (
    b'{"lookupLevel":"DETAILED","query":{"emails":["martha.williams@gmail.com"],"externalCustomerId":"abc",'
    b'"favoriteDate":"2018-08-19T07:00:00.000Z","favoriteFood":"Apple Pie","id":"o2sg-TMTSD2rTwMuxzewbA",'
    b'"name":"Martha Williams","phones":["+15013299800"]},"uniqueMatchRequired":true}'
)
GOLDEN_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "Gladly-Correlation-Id": "vXmSEPjVSWCaCMzvjufxZg",
    "Gladly-Time": "20190213T214016Z",
    "X-B3-Traceid": "bd799210f8d549609a08ccef8ee7f166",
}
GOLDEN_SIGNED = ["accept", "content-type", "gladly-correlation-id", "gladly-time", "x-b3-traceid"]
GOLDEN_CANONICAL = "\n".join([
    "POST",
    "/api/v2/customer/lookup",
    "",
    "accept:application/json",
    "content-type:application/json",
    "gladly-correlation-id:vXmSEPjVSWCaCMzvjufxZg",
    "gladly-time:20190213T214016Z",
    "x-b3-traceid:bd799210f8d549609a08ccef8ee7f166",
    "",
    "accept;content-type;gladly-correlation-id;gladly-time;x-b3-traceid",
    "f187462a1d8e09bc86ea4b4ff8c022e5e4ed23ae783b3b1b5baee4b8d69e02ca",
])
GOLDEN_SIGNATURE = "4c633fca4914f51df04c9ec40f4545d66d653e771c6634e33eed52a242bc278c"
GOLDEN_NOW = datetime(2019, 2, 13, 21, 40, 16, tzinfo=timezone.utc).timestamp()

# --- 7.3: derived vector with Basic auth (reference section 1.2) -----------------------------
DERIVED_BODY = (
    b'{"lookupLevel":"BASIC","query":{"emails":["dana.reyes@example.com"],"id":"nG23GpiN2-3lc83hCUGVbw",'
    b'"name":"Dana Reyes","phones":["+14155550123"]},"uniqueMatchRequired":false}'
)
DERIVED_SIGNED = "accept;authorization;content-type;gladly-correlation-id;gladly-time;www-authenticate;x-b3-traceid"
DERIVED_SIGNATURE = "caa654e5913f06db25fb81a02e59a304cd8de77c6e5cbe35332d0943351df1d7"
DERIVED_HEADERS = {
    "Host": "lookup.example.com",
    "User-Agent": "Go-http-client/1.1",
    "Content-Length": "173",
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
    "Authorization": "Basic c3VwcG9ydDpzM2NyZXQ=",
    "Content-Type": "application/json",
    "Gladly-Authorization": f"SigningAlgorithm=hmac-sha256, SignedHeaders={DERIVED_SIGNED}, "
                            f"Signature={DERIVED_SIGNATURE}",
    "Gladly-Correlation-Id": "koQuXMBk64gdggPwEzJofw",
    "Gladly-Time": "20250314T091522Z",
    "Www-Authenticate": 'Basic realm="ogtk"',
    "X-B3-Traceid": "92842e5cc064eb881d8203f01332687f",
}
DERIVED_NOW = datetime(2025, 3, 14, 9, 15, 22, tzinfo=timezone.utc).timestamp()


def golden_request_headers(**changes: str) -> dict[str, str]:
    headers = dict(GOLDEN_HEADERS)
    headers["Gladly-Authorization"] = (
        f"SigningAlgorithm=hmac-sha256, SignedHeaders={';'.join(GOLDEN_SIGNED)}, Signature={GOLDEN_SIGNATURE}"
    )
    headers.update(changes)
    return headers


def golden_verifier(**kwargs) -> SignatureVerifier:
    kwargs.setdefault("clock", lambda: GOLDEN_NOW + 10)
    return SignatureVerifier(KEY, path="/api/v2/customer/lookup", **kwargs)


def derived_verifier(**kwargs) -> SignatureVerifier:
    kwargs.setdefault("clock", lambda: DERIVED_NOW)
    return SignatureVerifier(KEY, path="/gladly/lookup", **kwargs)


# --- golden vectors ----------------------------------------------------------------------------
def test_golden_vector_intermediates():
    assert len(GOLDEN_BODY) == 279
    assert hashlib.sha256(GOLDEN_BODY).hexdigest() == (
        "f187462a1d8e09bc86ea4b4ff8c022e5e4ed23ae783b3b1b5baee4b8d69e02ca"
    )
    canonical = canonical_request("POST", "/api/v2/customer/lookup", "", GOLDEN_SIGNED, GOLDEN_HEADERS, GOLDEN_BODY)
    assert canonical == GOLDEN_CANONICAL
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "f96c13077adb3c06df1fa5fda8a6f32d7067735f63aa58d47e45fd6429d3cad3"
    )
    assert string_to_sign("20190213T214016Z", canonical) == (
        "hmac-sha256\n20190213T214016Z\nf96c13077adb3c06df1fa5fda8a6f32d7067735f63aa58d47e45fd6429d3cad3"
    )
    assert day_key(KEY.encode(), "20190213T214016Z").hex() == (
        "63268c9529c307d562837baf622f84d77e2772ff634fa7192ddb83dd0398747e"
    )


def test_golden_vector_signature():
    signature = compute_signature(
        KEY.encode(), "POST", "/api/v2/customer/lookup", "", GOLDEN_SIGNED, GOLDEN_HEADERS, GOLDEN_BODY,
        "20190213T214016Z",
    )
    assert signature == GOLDEN_SIGNATURE


def test_golden_vector_verifies():
    golden_verifier().verify("POST", b"", golden_request_headers(), GOLDEN_BODY)


def test_derived_vector_intermediates_and_signature():
    assert len(DERIVED_BODY) == 173
    assert hashlib.sha256(DERIVED_BODY).hexdigest() == (
        "98b4fa7675c297aa3b3192197b777a6990395860c7e430c3899e4be15a775e90"
    )
    names = DERIVED_SIGNED.split(";")
    canonical = canonical_request("POST", "/gladly/lookup", "", names, DERIVED_HEADERS, DERIVED_BODY)
    assert 'www-authenticate:Basic realm="ogtk"' in canonical.split("\n")
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "557db70f14b17d1c42f1d102a9dbbdb344cb335d87aa289cc15fddacbcb5c291"
    )
    assert compute_signature(KEY, "POST", "/gladly/lookup", "", names, DERIVED_HEADERS, DERIVED_BODY,
                             "20250314T091522Z") == DERIVED_SIGNATURE


def test_derived_vector_verifies_from_werkzeug_headers():
    derived_verifier().verify("POST", "", Headers(list(DERIVED_HEADERS.items())), DERIVED_BODY)


# --- failures ------------------------------------------------------------------------------------
def test_tampered_body_one_byte():
    body = GOLDEN_BODY.replace(b'"abc"', b'"abd"')
    assert len(body) == len(GOLDEN_BODY)
    with pytest.raises(errors.BadSignature) as info:
        golden_verifier().verify("POST", "", golden_request_headers(), body)
    assert info.value.code == "bad_signature" and info.value.status == 401


def test_wrong_key():
    verifier = SignatureVerifier("test-apikey-2", path="/api/v2/customer/lookup", clock=lambda: GOLDEN_NOW)
    with pytest.raises(errors.BadSignature):
        verifier.verify("POST", "", golden_request_headers(), GOLDEN_BODY)


@pytest.mark.parametrize(
    "change",
    [
        {"path": "/api/v2/customer/lookup/"},  # trailing slash changes the signature
        {"method": "PUT"},
        {"query": "a=1"},
    ],
)
def test_request_line_is_covered(change):
    verifier = SignatureVerifier(KEY, path=change.get("path", "/api/v2/customer/lookup"),
                                 clock=lambda: GOLDEN_NOW)
    with pytest.raises(errors.BadSignature):
        verifier.verify(change.get("method", "POST"), change.get("query", ""), golden_request_headers(), GOLDEN_BODY)


def test_signed_header_value_is_covered():
    headers = golden_request_headers(**{"Gladly-Correlation-Id": "AAAAAAAAAAAAAAAAAAAAAA"})
    with pytest.raises(errors.BadSignature):
        golden_verifier().verify("POST", "", headers, GOLDEN_BODY)


def test_missing_authorization_header():
    headers = golden_request_headers()
    del headers["Gladly-Authorization"]
    with pytest.raises(errors.MissingSignature) as info:
        golden_verifier().verify("POST", "", headers, GOLDEN_BODY)
    assert info.value.code == "missing_signature"


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_authorization_header_is_missing(value):
    with pytest.raises(errors.MissingSignature):
        golden_verifier().verify("POST", "", golden_request_headers(**{"Gladly-Authorization": value}), GOLDEN_BODY)


SIG = GOLDEN_SIGNATURE
NAMES = ";".join(GOLDEN_SIGNED)


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        f"SigningAlgorithm=hmac-sha256 SignedHeaders={NAMES} Signature={SIG}",  # no commas
        f"SigningAlgorithm=hmac-sha256, SignedHeaders={NAMES}",  # no signature
        f"SigningAlgorithm=hmac-sha256, Signature={SIG}",  # no signed headers
        f"SignedHeaders={NAMES}, Signature={SIG}",  # no algorithm
        f"SigningAlgorithm=hmac-sha256, SignedHeaders={NAMES}, Signature={SIG}, Extra=1",
        f"SigningAlgorithm=hmac-sha256, SignedHeaders={NAMES}, Signature={SIG}, Signature={SIG}",
        f"SigningAlgorithm=hmac-sha256, SignedHeaders={NAMES}, Signature={SIG[:-1]}",  # 63 hex
        f"SigningAlgorithm=hmac-sha256, SignedHeaders={NAMES}, Signature={SIG[:-1]}g",  # not hex
        f"SigningAlgorithm=hmac-sha256, SignedHeaders={NAMES}, Signature=",
        f"SigningAlgorithm=hmac-sha256, SignedHeaders=accept;;gladly-time, Signature={SIG}",
        f"SigningAlgorithm=hmac-sha256, SignedHeaders=Accept;gladly-time, Signature={SIG}",
        f"SigningAlgorithm=hmac-sha256, SignedHeaders=accept;gladly-time;accept, Signature={SIG}",
        f"SigningAlgorithm=hmac-sha256, SignedHeaders={NAMES}, Signature={SIG},",
    ],
)
def test_malformed_authorization_header(value):
    with pytest.raises(errors.MalformedSignature) as info:
        golden_verifier().verify("POST", "", golden_request_headers(**{"Gladly-Authorization": value}), GOLDEN_BODY)
    assert info.value.code == "malformed_signature"


@pytest.mark.parametrize(
    "value",
    [
        f"SigningAlgorithm=hmac-sha256, SignedHeaders={NAMES}, Signature={SIG}",
        f"  signingalgorithm = hmac-sha256 ,signedheaders={NAMES} ,  SIGNATURE={SIG}  ",
        f"Signature={SIG}, SignedHeaders={NAMES}, SigningAlgorithm=hmac-sha256",
        f"SigningAlgorithm=HMAC-SHA256, SignedHeaders={NAMES}, Signature={SIG.upper()}",
    ],
)
def test_lenient_on_form_of_authorization_header(value):
    assert parse_authorization(value) == ("hmac-sha256", GOLDEN_SIGNED, SIG)
    golden_verifier().verify("POST", "", golden_request_headers(**{"Gladly-Authorization": value}), GOLDEN_BODY)


def test_unsupported_algorithm():
    value = f"SigningAlgorithm=hmac-sha1, SignedHeaders={NAMES}, Signature={SIG}"
    with pytest.raises(errors.UnsupportedAlgorithm) as info:
        golden_verifier().verify("POST", "", golden_request_headers(**{"Gladly-Authorization": value}), GOLDEN_BODY)
    assert info.value.code == "unsupported_algorithm"


def test_missing_signed_header():
    headers = golden_request_headers()
    del headers["X-B3-Traceid"]
    with pytest.raises(errors.MissingSignedHeader) as info:
        golden_verifier().verify("POST", "", headers, GOLDEN_BODY)
    assert "x-b3-traceid" in info.value.detail


def test_gladly_time_must_be_signed():
    names = [n for n in GOLDEN_SIGNED if n != "gladly-time"]
    signature = compute_signature(KEY, "POST", "/api/v2/customer/lookup", "", names, GOLDEN_HEADERS, GOLDEN_BODY,
                                  "20190213T214016Z")
    value = f"SigningAlgorithm=hmac-sha256, SignedHeaders={';'.join(names)}, Signature={signature}"
    with pytest.raises(errors.MissingSignedHeader) as info:
        golden_verifier().verify("POST", "", golden_request_headers(**{"Gladly-Authorization": value}), GOLDEN_BODY)
    assert "gladly-time" in info.value.detail


@pytest.mark.parametrize("value", ["2019-02-13T21:40:16Z", "20190213T214016", "20190230T214016Z",
                                   "20190213T256016Z", "20190213T214060Z", "00000213T214016Z", "x"])
def test_invalid_gladly_time(value):
    with pytest.raises(errors.InvalidGladlyTime):
        parse_gladly_time(value)
    with pytest.raises(errors.InvalidGladlyTime):
        golden_verifier().verify("POST", "", golden_request_headers(**{"Gladly-Time": value}), GOLDEN_BODY)


@pytest.mark.parametrize("offset", [301, 3600, -301, -86400])
def test_replay_window_past_and_future(offset):
    verifier = golden_verifier(clock=lambda: GOLDEN_NOW + offset, replay_window_s=300)
    with pytest.raises(errors.StaleRequest) as info:
        verifier.verify("POST", "", golden_request_headers(), GOLDEN_BODY)
    assert info.value.code == "stale_request"
    assert ("future" in info.value.detail) == (offset < 0)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_replay_window_edges_accepted(offset):
    golden_verifier(clock=lambda: GOLDEN_NOW + offset, replay_window_s=300).verify(
        "POST", "", golden_request_headers(), GOLDEN_BODY
    )


def test_replay_window_zero_disables():
    # The golden vector is from 2019: only a disabled window lets it through with the real clock.
    with pytest.raises(errors.StaleRequest):
        SignatureVerifier(KEY, path="/api/v2/customer/lookup").verify("POST", "", golden_request_headers(), GOLDEN_BODY)
    SignatureVerifier(KEY, path="/api/v2/customer/lookup", replay_window_s=0).verify(
        "POST", "", golden_request_headers(), GOLDEN_BODY
    )


@pytest.mark.parametrize("transform", [str.lower, str.upper, lambda n: n.swapcase()])
def test_header_name_case_does_not_matter(transform):
    headers = {transform(name): value for name, value in golden_request_headers().items()}
    golden_verifier().verify("POST", "", headers, GOLDEN_BODY)
    golden_verifier().verify("POST", "", Headers(list(headers.items())), GOLDEN_BODY)


def test_header_values_trimmed_at_ends_only():
    padded = golden_request_headers(**{"Accept": "  application/json\t", "Gladly-Time": " 20190213T214016Z "})
    golden_verifier().verify("POST", "", padded, GOLDEN_BODY)
    inner = dict(DERIVED_HEADERS, **{"Www-Authenticate": 'Basic  realm="ogtk"'})  # inner space doubled
    with pytest.raises(errors.BadSignature):
        derived_verifier().verify("POST", "", inner, DERIVED_BODY)


def test_signed_headers_order_is_honoured_as_sent():
    names = list(reversed(GOLDEN_SIGNED))
    signature = compute_signature(KEY, "POST", "/api/v2/customer/lookup", "", names, GOLDEN_HEADERS, GOLDEN_BODY,
                                  "20190213T214016Z")
    assert signature != GOLDEN_SIGNATURE
    value = f"SigningAlgorithm=hmac-sha256, SignedHeaders={';'.join(names)}, Signature={signature}"
    golden_verifier().verify("POST", "", golden_request_headers(**{"Gladly-Authorization": value}), GOLDEN_BODY)


def test_unsigned_headers_may_change():
    headers = golden_request_headers(**{"User-Agent": "curl", "X-Api-Key": "anything"})
    golden_verifier().verify("POST", "", headers, GOLDEN_BODY)


def test_details_never_leak_key_or_authorization():
    key = "super-secret-signing-key"
    verifier = SignatureVerifier(key, clock=lambda: DERIVED_NOW)
    assert key not in repr(verifier)
    cases = [
        DERIVED_HEADERS,
        dict(DERIVED_HEADERS, **{"Gladly-Authorization": "SigningAlgorithm=x, SignedHeaders=a, Signature=b"}),
        dict(DERIVED_HEADERS, **{"Gladly-Time": "nonsense"}),
    ]
    for headers in cases:
        with pytest.raises(errors.AuthError) as info:
            verifier.verify("POST", "", headers, DERIVED_BODY)
        text = f"{info.value} {info.value.detail}"
        assert key not in text
        assert DERIVED_SIGNATURE not in text and "c3VwcG9ydDpzM2NyZXQ=" not in text


def test_query_parameters_sorted():
    assert canonical_query("b=2&a=1&c=3") == "a=1&b=2&c=3"
    assert canonical_query(b"?B=1&a=2") == "B=1&a=2"  # case-sensitive: uppercase first
    assert canonical_query("") == ""
    assert canonical_query("a=2&a=1") == "a=2&a=1"  # stable within a name
    headers = sign_headers(KEY, body=GOLDEN_BODY, query="z=1&y=2", now=GOLDEN_NOW)
    golden = SignatureVerifier(KEY, clock=lambda: GOLDEN_NOW)
    golden.verify("POST", "y=2&z=1", headers, GOLDEN_BODY)


def test_empty_body_hash_line():
    canonical = canonical_request("POST", "/gladly/lookup", "", ["gladly-time"], {"Gladly-Time": "x"}, b"")
    assert canonical.endswith("\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


# --- sign_headers (acting as Gladly) ---------------------------------------------------------------
def test_sign_headers_reproduces_golden_vector():
    headers = sign_headers(KEY, path="/api/v2/customer/lookup", body=GOLDEN_BODY,
                           headers={k: v for k, v in GOLDEN_HEADERS.items()})
    assert headers["Gladly-Authorization"] == golden_request_headers()["Gladly-Authorization"]


def test_sign_headers_reproduces_derived_vector():
    given = {k: v for k, v in DERIVED_HEADERS.items() if k in
             {"Authorization", "Gladly-Correlation-Id", "Gladly-Time", "Www-Authenticate", "X-B3-Traceid"}}
    headers = sign_headers(KEY, body=DERIVED_BODY, headers=given)
    assert headers["Gladly-Authorization"] == DERIVED_HEADERS["Gladly-Authorization"]


def test_sign_headers_fills_in_gladly_headers():
    now = datetime(2025, 3, 14, 9, 15, 22, tzinfo=timezone.utc)
    headers = sign_headers(KEY, body=b"{}", now=now)
    assert headers["Gladly-Time"] == "20250314T091522Z"
    assert headers["Accept"] == headers["Content-Type"] == "application/json"
    correlation = headers["Gladly-Correlation-Id"]
    assert len(correlation) == 22
    assert base64.urlsafe_b64decode(correlation + "==").hex() == headers["X-B3-Traceid"]
    assert f"SignedHeaders={NAMES}," in headers["Gladly-Authorization"]
    SignatureVerifier(KEY, clock=now.timestamp).verify("POST", "", headers, b"{}")
    assert sign_headers(KEY, body=b"{}", now=now)["Gladly-Correlation-Id"] != correlation


def test_sign_headers_signs_basic_auth_headers_and_respects_explicit_list():
    headers = sign_headers(KEY, body=b"{}", headers={"authorization": "Basic eDp5", "X-Api-Key": "k"})
    assert "SignedHeaders=accept;authorization;content-type;" in headers["Gladly-Authorization"]
    assert "x-api-key" not in headers["Gladly-Authorization"]
    SignatureVerifier(KEY, replay_window_s=0).verify("POST", "", headers, b"{}")
    explicit = sign_headers(KEY, body=b"{}", signed=["gladly-time", "x-api-key"], headers={"X-Api-Key": "k"})
    assert "SignedHeaders=gladly-time;x-api-key," in explicit["Gladly-Authorization"]
    with pytest.raises(ValueError):
        sign_headers(KEY, body=b"{}", signed=["gladly-time", "x-missing"])


def test_verifier_rejects_empty_key():
    with pytest.raises(ValueError):
        SignatureVerifier("")


# --- key rotation (CONTRACT section 2: several keys, all accepted) ----------------------------
def test_golden_vector_verifies_under_either_position_of_a_rotated_key():
    for keys in ([KEY, "the-next-key"], ["the-next-key", KEY]):
        verifier = SignatureVerifier(keys, path="/api/v2/customer/lookup", clock=lambda: GOLDEN_NOW + 10)
        verifier.verify("POST", "", golden_request_headers(), GOLDEN_BODY)


def test_a_key_outside_the_rotated_set_is_refused():
    verifier = SignatureVerifier(["the-next-key", "another-key"], path="/api/v2/customer/lookup",
                                 clock=lambda: GOLDEN_NOW + 10)
    with pytest.raises(errors.BadSignature):
        verifier.verify("POST", "", golden_request_headers(), GOLDEN_BODY)


def test_rotated_keys_stay_out_of_the_repr_and_none_may_be_empty():
    verifier = SignatureVerifier(["k-one-secret", "k-two-secret"])
    assert "secret" not in repr(verifier) and "2 hidden" in repr(verifier)
    with pytest.raises(ValueError):
        SignatureVerifier(["good", ""])
    with pytest.raises(ValueError):
        SignatureVerifier([])
