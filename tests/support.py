"""Helpers for tests that act as Gladly: lookup bodies and correctly signed headers."""

from __future__ import annotations

import base64

from app.gladly.schema import encode_body, lookup_body
from app.gladly.signing import sign_headers

SIGNING_KEY = "test-signing-key-0123456789abcdef"
BASIC_AUTH = "support:s3cret"
LOOKUP_PATH = "/gladly/lookup"


def signed(payload, *, key: str = SIGNING_KEY, basic: str | None = None, raw: bytes | None = None,
           extra: dict | None = None) -> tuple[bytes, dict]:
    """Body bytes and headers exactly as Gladly would send them."""
    body = raw if raw is not None else encode_body(payload)
    headers = {"Accept": "application/json", "Content-Type": "application/json", **(extra or {})}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
        headers["WWW-Authenticate"] = 'Basic realm="ogtk"'
    return body, sign_headers(key, method="POST", path=LOOKUP_PATH, body=body, headers=headers)


def detailed(customer_id=None, emails=None, unique=True, gladly_id="gladly-profile-1"):
    return lookup_body("DETAILED", external_customer_id=customer_id, emails=emails, gladly_id=gladly_id,
                       unique_match_required=unique)


def basic(emails=None, customer_id=None, gladly_id="gladly-profile-1", phones=None):
    return lookup_body("BASIC", external_customer_id=customer_id, emails=emails, phones=phones, gladly_id=gladly_id)
