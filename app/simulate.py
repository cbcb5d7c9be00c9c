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

    def headers_for(self, body: bytes, *, method: str = "POST", path: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "Go-http-client/1.1"}
        if method == "POST":
            headers["Content-Type"] = "application/json"
        if self.basic_auth:
            headers["Authorization"] = "Basic " + base64.b64encode(self.basic_auth.encode()).decode()
            headers["WWW-Authenticate"] = 'Basic realm="ogtk"'
        if self.signing_key:
            signed = None if method == "POST" else sorted(
                {"accept", "gladly-correlation-id", "gladly-time", "x-b3-traceid"}
                | ({"authorization", "www-authenticate"} if self.basic_auth else set()))
            headers = sign_headers(self.signing_key, method=method, path=path or self.path, body=body,
                                   headers=headers, signed=signed)
            if method != "POST":
                headers.pop("Content-Type", None)
        return headers

    def action(self, form_url: str, submit: dict | None = None) -> Answer:
        """A Gladly Action as Gladly sends it: ``GET`` of the form (``submit`` None) or ``POST``
        of the submit, to ``form_url`` resolved against the lookup URL's host, signed over its path."""
        parts = urlsplit(self.url)
        url = f"{parts.scheme}://{parts.netloc}{form_url}"
        method = "GET" if submit is None else "POST"
        body = b"" if submit is None else encode_body(submit)
        return self._send(method, url, body, self.headers_for(body, method=method, path=urlsplit(url).path))

    def lookup(self, payload: dict) -> Answer:
        body = encode_body(payload)
        return self._send("POST", self.url, body, self.headers_for(body))

    def _send(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()
        response = self.session.request(method, url, data=body or None, headers=headers, timeout=self.timeout)
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


#: what the demo's agents submit, in order, for the actions they find on cards: a cancel with a
#: reason and details, a bare cancel, a wrong reason code (400), a skip sent twice (the second gets
#: the first's answer), a skip without the tick (400)
ACTION_SUBMITS = (
    ("Cancel subscription", [{"cancelReasonCode": "2", "cancelReasonDetails": "Has plenty left"}]),
    ("Cancel subscription", [{}]),
    ("Cancel subscription", [{"cancelReasonCode": "99"}]),
    ("Skip next order", [{"confirm": True}, {"confirm": True}]),
    ("Skip next order", [{"confirm": False}]),
    ("Skip next order", [{"confirm": True}]),
)


def send_actions(gladly: GladlyClient, customer_ids: Iterable[str], *,
                 seed: int = 11) -> tuple[int, list[Answer]]:
    """Agents pressing the action buttons of DETAILED cards: the form, then the submit(s).

    Returns how many cards were looked up to find the buttons, and the forms' and submits' answers.
    """
    rng = random.Random(seed)
    wanted = list(ACTION_SUBMITS)
    answers: list[Answer] = []
    cards = 0
    for customer_id in customer_ids:
        if not wanted:
            break
        cards += 1
        card = gladly.lookup(lookup_body("DETAILED", external_customer_id=customer_id, gladly_id=gladly_id(rng)))
        results = card.body.get("results", []) if isinstance(card.body, dict) else []
        for tx in (tx for result in results for tx in result.get("transactions", [])):
            buttons = {a["name"]: a["formUrl"] for a in tx.get("actions", [])}
            if wanted and wanted[0][0] in buttons:
                name, submits = wanted.pop(0)
                answers.append(gladly.action(buttons[name]))
                answers.extend(gladly.action(buttons[name], submit) for submit in submits)
                break  # one action per card: the next card is fetched afresh
    return cards, answers
