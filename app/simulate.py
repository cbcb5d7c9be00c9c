"""Simulated Gladly: signed lookup traffic for the demo, the soak suite and by-hand checks.

:class:`GladlyClient` signs and sends one lookup exactly as Gladly does (Basic auth and/or the
``Gladly-Authorization`` signature). :func:`demo_plan` builds a realistic mix from the customers
an Ordergroove (the sandbox) actually holds: auto-link BASIC lookups by email, repeated for the
same Gladly profile as Gladly does, DETAILED lookups by id, unknown ids and emails, a shared email.
"""

from __future__ import annotations

import base64
import random
import secrets
import time
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

import requests

from .gladly.schema import encode_body, lookup_body
from .gladly.signing import sign_headers


@dataclass
class Answer:
    status: int
    body: Any
    seconds: float


class GladlyClient:
    """Sends lookups the way Gladly does.

    >>> gladly = GladlyClient("http://127.0.0.1:8000/gladly/lookup", signing_key="k")
    >>> gladly.lookup({"lookupLevel": "BASIC", "query": {"emails": ["a@b.c"]}}).status
    """

    def __init__(self, url: str, *, signing_key: str | None = None, basic_auth: str | None = None,
                 timeout: float = 15.0, session: requests.Session | None = None):
        self.url = url
        self.path = urlsplit(url).path or "/"
        self.signing_key = signing_key
        self.basic_auth = basic_auth
        self.timeout = timeout  # Gladly's own hard cut-off
        self.session = session or requests.Session()

    def headers_for(self, body: bytes) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/json",
                   "User-Agent": "Go-http-client/1.1"}
        if self.basic_auth:
            headers["Authorization"] = "Basic " + base64.b64encode(self.basic_auth.encode()).decode()
            headers["WWW-Authenticate"] = 'Basic realm="ogtk"'
        if self.signing_key:
            return sign_headers(self.signing_key, method="POST", path=self.path, body=body, headers=headers)
        return headers

    def lookup(self, payload: dict) -> Answer:
        body = encode_body(payload)
        started = time.perf_counter()
        response = self.session.post(self.url, data=body, headers=self.headers_for(body), timeout=self.timeout)
        try:
            parsed = response.json()
        except ValueError:
            parsed = response.text
        return Answer(response.status_code, parsed, time.perf_counter() - started)


def gladly_id(rng: random.Random) -> str:
    """A 22-character base64url id, like Gladly's customer ids."""
    return base64.urlsafe_b64encode(rng.randbytes(16)).decode().rstrip("=")


def fetch_sandbox_customers(base_url: str, api_key: str, limit: int = 300) -> list[dict]:
    """Customers the sandbox holds (page by page), to aim realistic lookups at."""
    customers: list[dict] = []
    url: str | None = f"{base_url.rstrip('/')}/customers/?page_size=100"
    while url and len(customers) < limit:
        response = requests.get(url, headers={"x-api-key": api_key}, timeout=10)
        response.raise_for_status()
        page = response.json()
        customers.extend(page.get("results", []))
        url = page.get("next")
    return customers[:limit]


def demo_plan(customers: Iterable[dict], *, shared_email: str | None = None, seed: int = 7,
              size: int = 400) -> list[dict]:
    """A shuffled list of Gladly lookup bodies with a realistic mix of outcomes."""
    rng = random.Random(seed)
    people = [c for c in customers if c.get("email")]
    plan: list[dict] = []
    profiles = [(gladly_id(rng), c) for c in people]
    while len(plan) < size and profiles:
        roll = rng.random()
        gid, customer = rng.choice(profiles)
        email = str(customer["email"])
        if roll < 0.40:  # auto-link on profile load, varied case and spacing as agents type them
            shown = rng.choice([email, email.upper(), f"  {email} "])
            plan.append(_basic(gid, [shown], customer))
        elif roll < 0.70:  # linked profile: DETAILED by Ordergroove id
            plan.append(_detailed(gid, str(customer["merchant_user_id"]), [email]))
        elif roll < 0.82:  # a Gladly profile Ordergroove has never heard of, reopened a few times
            unknown = f"new.customer{rng.randrange(40)}@example.net"
            unknown_gid = f"unknown-profile-{unknown.split('@')[0]}"
            plan.extend(_basic(unknown_gid, [unknown], None) for _ in range(rng.randint(1, 3)))
        elif roll < 0.90:  # a stale link: DETAILED for an id that no longer exists
            plan.append(_detailed(gid, f"999{rng.randrange(10**6):06d}", []))
        elif roll < 0.95 and shared_email:  # two household members share one email
            plan.append(_basic(gladly_id(rng), [shared_email], None))
            plan.append(_detailed(gladly_id(rng), None, [shared_email]))
        else:  # phones alone never match
            plan.append(lookup_body("BASIC", gladly_id=gid, phones=["+1415555" + f"{rng.randrange(10**4):04d}"]))
    rng.shuffle(plan)
    return plan[:size]


def _basic(gid: str, emails: list[str], customer: dict | None) -> dict:
    name = f"{customer.get('first_name', '')} {customer.get('last_name', '')}".strip() if customer else None
    return lookup_body("BASIC", gladly_id=gid, emails=emails, name=name)


def _detailed(gid: str, customer_id: str | None, emails: list[str]) -> dict:
    return lookup_body("DETAILED", gladly_id=gid, emails=emails, external_customer_id=customer_id or None)


def new_signing_key() -> str:
    return secrets.token_urlsafe(24)
