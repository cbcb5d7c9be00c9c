"""The lookup request schema: Gladly's three request kinds, every odd shape, and garbage."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.gladly.errors import RequestError
from app.gladly.schema import MAX_VALUES, LookupRequest, encode_body, lookup_body, parse_lookup_request


def body(obj) -> bytes:
    return json.dumps(obj).encode()


# --- the reference's examples ------------------------------------------------------------------
def test_auto_link_example():
    req = parse_lookup_request(
        b'{"lookupLevel":"BASIC","uniqueMatchRequired":false,"query":{"id":"nG23GpiN2-3lc83hCUGVbw",'
        b'"name":"Dana Reyes","emails":["dana.reyes@example.com","d.reyes@work.example.org"],'
        b'"phones":["+14155550123"]}}'
    )
    assert req == LookupRequest(
        level="BASIC",
        unique_match_required=False,
        external_customer_id=None,
        emails=("dana.reyes@example.com", "d.reyes@work.example.org"),
        phones=("+14155550123",),
        gladly_customer_id="nG23GpiN2-3lc83hCUGVbw",
        name="Dana Reyes",
    )


def test_basic_search_example_with_bare_strings():
    req = parse_lookup_request(b'{"lookupLevel":"BASIC","uniqueMatchRequired":false,'
                               b'"query":{"emails":"dana.reyes@example.com","name":"Dana"}}')
    assert req.emails == ("dana.reyes@example.com",) and req.name == "Dana" and req.phones == ()


def test_detailed_example_with_nested_custom_attributes():
    req = parse_lookup_request(body({
        "lookupLevel": "DETAILED", "uniqueMatchRequired": True,
        "query": {"id": "nG23GpiN2-3lc83hCUGVbw", "externalCustomerId": "7781203344", "name": "Dana Reyes",
                  "emails": ["dana.reyes@example.com"], "phones": ["+14155550123"],
                  "customAttributes": {"ordergrooveCustomerId": "7781203344", "subscriptionCount": "2"}},
    }))
    assert (req.level, req.unique_match_required, req.external_customer_id) == ("DETAILED", True, "7781203344")


def test_golden_vector_body():
    req = parse_lookup_request(
        b'{"lookupLevel":"DETAILED","query":{"emails":["martha.williams@gmail.com"],"externalCustomerId":"abc",'
        b'"favoriteDate":"2018-08-19T07:00:00.000Z","favoriteFood":"Apple Pie","id":"o2sg-TMTSD2rTwMuxzewbA",'
        b'"name":"Martha Williams","phones":["+15013299800"]},"uniqueMatchRequired":true}'
    )
    assert req.external_customer_id == "abc" and req.emails == ("martha.williams@gmail.com",)


# --- good bodies, parametrized ------------------------------------------------------------------
GOOD = [
    # (body object, attribute, expected)
    ({"lookupLevel": "basic", "query": {}}, "level", "BASIC"),
    ({"lookupLevel": " Detailed ", "query": {}}, "level", "DETAILED"),
    ({"lookupLevel": "BASIC", "query": {}}, "unique_match_required", False),
    ({"lookupLevel": "DETAILED", "query": {}}, "unique_match_required", True),
    ({"lookupLevel": "DETAILED", "uniqueMatchRequired": False, "query": {}}, "unique_match_required", False),
    ({"lookupLevel": "BASIC", "uniqueMatchRequired": None, "query": {}}, "unique_match_required", False),
    ({"lookupLevel": "BASIC", "query": {"externalCustomerId": 7781203344}}, "external_customer_id", "7781203344"),
    ({"lookupLevel": "BASIC", "query": {"externalCustomerId": 12.0}}, "external_customer_id", "12"),
    ({"lookupLevel": "BASIC", "query": {"externalCustomerId": "  42 "}}, "external_customer_id", "42"),
    ({"lookupLevel": "BASIC", "query": {"externalCustomerId": ""}}, "external_customer_id", None),
    ({"lookupLevel": "BASIC", "query": {"externalCustomerId": None}}, "external_customer_id", None),
    ({"lookupLevel": "BASIC", "query": {"customAttributes": {"externalCustomerId": "77"}}},
     "external_customer_id", "77"),
    ({"lookupLevel": "BASIC", "query": {"externalCustomerId": "flat", "customAttributes": {"externalCustomerId": "n"}}},
     "external_customer_id", "flat"),
    ({"lookupLevel": "BASIC", "query": {"externalCustomerId": None, "customAttributes": {"externalCustomerId": "n"}}},
     "external_customer_id", "n"),
    ({"lookupLevel": "BASIC", "query": {"customAttributes": {"emails": "n@example.com"}}}, "emails", ("n@example.com",)),
    ({"lookupLevel": "BASIC", "query": {"emails": ["a@x.com"], "customAttributes": {"emails": ["b@x.com"]}}},
     "emails", ("a@x.com",)),
    ({"lookupLevel": "BASIC", "query": {"customAttributes": "not an object", "emails": "a@x.com"}},
     "emails", ("a@x.com",)),
    ({"lookupLevel": "BASIC", "query": {"emails": [" A@X.com ", "a@x.COM", "", "  ", "b@x.com"]}},
     "emails", ("A@X.com", "b@x.com")),
    ({"lookupLevel": "BASIC", "query": {"emails": []}}, "emails", ()),
    ({"lookupLevel": "BASIC", "query": {"emails": None}}, "emails", ()),
    ({"lookupLevel": "BASIC", "query": {"phones": "+14155550123"}}, "phones", ("+14155550123",)),
    ({"lookupLevel": "BASIC", "query": {"phones": [" +1 415 ", "+1 415", ""]}}, "phones", ("+1 415",)),
    ({"lookupLevel": "BASIC", "query": {"id": 123}}, "gladly_customer_id", "123"),
    ({"lookupLevel": "BASIC", "query": {"id": {"weird": 1}}}, "gladly_customer_id", None),
    ({"lookupLevel": "BASIC", "query": {"name": 5}}, "name", None),
    ({"lookupLevel": "BASIC", "query": {"name": "  Dana  "}}, "name", "Dana"),
    ({"lookupLevel": "BASIC", "query": {"favoriteFood": "Apple Pie", "other": [1, {"x": None}]}}, "emails", ()),
    ({"lookupLevel": "BASIC", "query": {}, "unknownTopLevel": True}, "level", "BASIC"),
]


@pytest.mark.parametrize("obj, attribute, expected", GOOD)
def test_good_bodies(obj, attribute, expected):
    assert getattr(parse_lookup_request(body(obj)), attribute) == expected


def test_accepts_already_decoded_object_and_str_and_bom():
    obj = {"lookupLevel": "BASIC", "query": {"emails": "a@x.com"}}
    expected = parse_lookup_request(body(obj))
    assert parse_lookup_request(obj) == expected
    assert parse_lookup_request(json.dumps(obj)) == expected
    assert parse_lookup_request(b"\xef\xbb\xbf" + body(obj)) == expected
    assert parse_lookup_request(bytearray(body(obj))) == expected


def test_request_is_frozen():
    req = parse_lookup_request(body({"lookupLevel": "BASIC", "query": {}}))
    with pytest.raises(AttributeError):
        req.level = "DETAILED"


# --- bad bodies, parametrized ---------------------------------------------------------------------
BAD = [
    (b"\xff\xfe{}", "invalid_encoding"),
    (b"", "invalid_json"),
    (b"   ", "invalid_json"),
    (b"{", "invalid_json"),
    (b"{'lookupLevel': 'BASIC'}", "invalid_json"),
    (b'{"lookupLevel":"BASIC","query":{"n":NaN}}', "invalid_json"),
    (b'{"lookupLevel":"BASIC","query":{"n":Infinity}}', "invalid_json"),
    (b'{"lookupLevel":"BASIC","query":{"n":' + b"9" * 5000 + b"}}", "invalid_json"),
    (b"[]", "invalid_json"),
    (b'"BASIC"', "invalid_json"),
    (b"null", "invalid_json"),
    (b"42", "invalid_json"),
    (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "invalid_json"),
    (body({"query": {}}), "missing_lookup_level"),
    (body({"lookupLevel": None, "query": {}}), "missing_lookup_level"),
    (body({"lookupLevel": "FULL", "query": {}}), "invalid_lookup_level"),
    (body({"lookupLevel": "", "query": {}}), "invalid_lookup_level"),
    (body({"lookupLevel": 1, "query": {}}), "invalid_lookup_level"),
    (body({"lookupLevel": ["BASIC"], "query": {}}), "invalid_lookup_level"),
    (body({"lookupLevel": "bası\u0307c", "query": {}}), "invalid_lookup_level"),
    (body({"lookupLevel": "BASIC", "uniqueMatchRequired": "true", "query": {}}), "invalid_unique_match_required"),
    (body({"lookupLevel": "BASIC", "uniqueMatchRequired": 1, "query": {}}), "invalid_unique_match_required"),
    (body({"lookupLevel": "BASIC"}), "missing_query"),
    (body({"lookupLevel": "BASIC", "query": None}), "missing_query"),
    (body({"lookupLevel": "BASIC", "query": "dana@example.com"}), "invalid_query"),
    (body({"lookupLevel": "BASIC", "query": ["a"]}), "invalid_query"),
    (body({"lookupLevel": "BASIC", "query": {"emails": 5}}), "invalid_emails"),
    (body({"lookupLevel": "BASIC", "query": {"emails": {"a": "b"}}}), "invalid_emails"),
    (body({"lookupLevel": "BASIC", "query": {"emails": ["a@x.com", 5]}}), "invalid_emails"),
    (body({"lookupLevel": "BASIC", "query": {"emails": ["a@x.com", None]}}), "invalid_emails"),
    (body({"lookupLevel": "BASIC", "query": {"emails": [["a@x.com"]]}}), "invalid_emails"),
    (body({"lookupLevel": "BASIC", "query": {"customAttributes": {"emails": 5}}}), "invalid_emails"),
    (body({"lookupLevel": "BASIC", "query": {"phones": 14155550123}}), "invalid_phones"),
    (body({"lookupLevel": "BASIC", "query": {"phones": [True]}}), "invalid_phones"),
    (body({"lookupLevel": "BASIC", "query": {"externalCustomerId": True}}), "invalid_external_customer_id"),
    (body({"lookupLevel": "BASIC", "query": {"externalCustomerId": 1.5}}), "invalid_external_customer_id"),
    (body({"lookupLevel": "BASIC", "query": {"externalCustomerId": ["1"]}}), "invalid_external_customer_id"),
    (body({"lookupLevel": "BASIC", "query": {"externalCustomerId": {"id": "1"}}}), "invalid_external_customer_id"),
    (body({"lookupLevel": "BASIC", "query": {"emails": [f"u{i}@x.com" for i in range(MAX_VALUES + 1)]}}),
     "too_many_emails"),
    (body({"lookupLevel": "BASIC", "query": {"phones": [str(i) for i in range(MAX_VALUES + 1)]}}), "too_many_phones"),
]


@pytest.mark.parametrize("raw, code", BAD, ids=[f"{code}-{i}" for i, (_, code) in enumerate(BAD)])
def test_bad_bodies(raw, code):
    with pytest.raises(RequestError) as info:
        parse_lookup_request(raw)
    assert info.value.code == code
    assert info.value.status == 400
    assert info.value.as_body() == {"errors": [{"code": code, "detail": info.value.detail}]}
    assert len(info.value.detail) < 300


def test_duplicate_emails_do_not_count_towards_the_limit():
    emails = ["a@x.com", "A@X.COM"] * MAX_VALUES
    assert parse_lookup_request(body({"lookupLevel": "BASIC", "query": {"emails": emails}})).emails == ("a@x.com",)


# --- garbage never raises anything but RequestError -----------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
query_like = st.fixed_dictionaries(
    {"lookupLevel": st.sampled_from(["BASIC", "DETAILED", "basic", "x"]) | json_values,
     "query": st.dictionaries(
         st.sampled_from(["emails", "phones", "externalCustomerId", "id", "name", "customAttributes", "x"]),
         json_values, max_size=6)},
    optional={"uniqueMatchRequired": st.booleans() | json_values},
)


def _check(raw) -> None:
    try:
        req = parse_lookup_request(raw)
    except RequestError as exc:
        assert exc.status == 400 and exc.code
    else:
        assert req.level in ("BASIC", "DETAILED")
        assert all(isinstance(e, str) and e for e in req.emails)
        assert isinstance(req.unique_match_required, bool)
        assert req.external_customer_id is None or isinstance(req.external_customer_id, str)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes(raw):
    _check(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json(value):
    _check(json.dumps(value).encode())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query_like)
def test_random_lookup_shaped_json(value):
    _check(json.dumps(value).encode())


@pytest.mark.parametrize(
    "query, code",
    [
        ({"externalCustomerId": "\ud800"}, "invalid_encoding"),
        ({"emails": ["a\udc00@x.com"]}, "invalid_encoding"),
        ({"phones": "\udfff"}, "invalid_encoding"),
        ({"emails": ["a" * 300 + "@x.com"]}, "value_too_long"),
        ({"externalCustomerId": "9" * 300}, "value_too_long"),
    ],
)
def test_values_we_could_not_send_or_store_are_400(query, code):
    with pytest.raises(RequestError) as caught:
        parse_lookup_request({"lookupLevel": "DETAILED", "query": query})
    assert caught.value.code == code and caught.value.status == 400


def test_unstorable_gladly_id_and_name_are_dropped_not_fatal():
    request = parse_lookup_request({"lookupLevel": "BASIC", "query": {"id": "\ud800", "name": "x\udc00",
                                                                      "emails": "a@b.c"}})
    assert request.gladly_customer_id is None and request.name is None and request.emails == ("a@b.c",)


# --- the one builder of lookup bodies ----------------------------------------------------------
def test_built_bodies_parse_back_to_what_was_asked():
    body = lookup_body("detailed", external_customer_id="42", emails=("a@x.com",), gladly_id="g1", phones=["+1"])
    assert body["lookupLevel"] == "DETAILED" and body["uniqueMatchRequired"] is True
    parsed = parse_lookup_request(encode_body(body))
    assert (parsed.external_customer_id, parsed.emails, parsed.phones, parsed.gladly_customer_id) == (
        "42", ("a@x.com",), ("+1",), "g1")


def test_built_bodies_leave_out_what_was_not_given():
    assert lookup_body("BASIC", emails="a@x.com") == {
        "lookupLevel": "BASIC", "uniqueMatchRequired": False, "query": {"emails": "a@x.com"}}
    assert lookup_body("DETAILED", unique_match_required=False)["uniqueMatchRequired"] is False
    assert encode_body({"a": [1, 2]}) == b'{"a":[1,2]}'
