"""Generated garbage, signed and unsigned, never gets a 500 from the lookup endpoint."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import LOOKUP_PATH, signed

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
queries = st.fixed_dictionaries(
    {},
    optional={
        "externalCustomerId": json_values,
        "emails": st.one_of(st.text(max_size=30), st.lists(st.text(max_size=30), max_size=3), json_values),
        "phones": json_values,
        "id": json_values,
        "customAttributes": json_values,
    },
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {"lookupLevel": st.sampled_from(["BASIC", "DETAILED", "basic", "", "FULL"]) | json_values},
        optional={"query": queries | json_values, "uniqueMatchRequired": json_values},
    ),
    json_values,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ALLOWED = {200, 400, 401, 413, 415}


@FUZZ
@given(body=bodies)
def test_signed_generated_bodies_get_200_or_400_never_500(client, body):
    raw, headers = signed(None, raw=json.dumps(body).encode())
    response = client.post(LOOKUP_PATH, data=raw, headers=headers)
    assert response.status_code in {200, 400}, response.get_data(as_text=True)
    assert response.is_json


@FUZZ
@given(raw=st.binary(max_size=200))
def test_signed_random_bytes_get_200_or_400_never_500(client, raw):
    """Random bytes are nearly always a 400; a few happen to be a valid lookup (``{}`` is not,
    but ``{"lookupLevel":"BASIC","query":{}}`` could be), which is a 200."""
    body, headers = signed(None, raw=raw)
    response = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert response.status_code in {200, 400}
    assert response.is_json


header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(["Gladly-Authorization", "Gladly-Time", "Content-Type", "Authorization",
                         "Gladly-Correlation-Id", "X-B3-Traceid", "Accept"]),
        header_values,
        max_size=7,
    ),
    raw=st.binary(max_size=100),
)
def test_garbage_headers_are_refused_cleanly(client, headers, raw):
    response = client.post(LOOKUP_PATH, data=raw, headers=headers)
    assert response.status_code in ALLOWED - {200}
    assert response.get_json()["errors"][0]["code"]
