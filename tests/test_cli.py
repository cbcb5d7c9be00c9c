"""Operator commands: the exact JSON Gladly would receive, and a signed curl command."""

from __future__ import annotations

import json
import shlex

from app.sandbox import KNOWN
from support import SIGNING_KEY, detailed


def test_lookup_prints_exactly_what_the_endpoint_answers(app, lookup):
    result = app.test_cli_runner().invoke(args=["lookup", KNOWN["reference"]])
    assert result.exit_code == 0, result.output
    printed = result.stdout.strip().splitlines()[0].encode()
    assert printed == lookup(detailed(KNOWN["reference"])).get_data()


def test_lookup_basic_by_email(app):
    result = app.test_cli_runner().invoke(args=["lookup", "--level", "BASIC", "--email", "dana.reyes@example.com"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout.strip().splitlines()[0])
    assert payload["results"][0]["externalCustomerId"] == KNOWN["reference"]


def test_sign_request_prints_a_curl_command_the_api_accepts(app, client):
    result = app.test_cli_runner().invoke(args=["sign-request", KNOWN["reference"], "--url", "http://localhost/gladly/lookup"])
    assert result.exit_code == 0, result.output
    words = shlex.split(result.stdout.strip())
    assert words[0] == "curl" and SIGNING_KEY not in result.stdout
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    body = words[words.index("--data-binary") + 1]
    response = client.post("/gladly/lookup", data=body.encode(), headers=headers)
    assert response.status_code == 200
    assert response.get_json()["results"][0]["externalCustomerId"] == KNOWN["reference"]
