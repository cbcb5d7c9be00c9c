"""Operator commands: ``flask --app app lookup``, ``sign-request`` and ``action cancel|skip``.

``lookup`` prints exactly the JSON Gladly would receive for a customer (same service, same
serialisation as the endpoint). ``sign-request`` prints a ready-to-run ``curl`` command signed
like Gladly signs, so a deployment can be tested by hand. ``action`` cancels a subscription or
skips its next order through the very code path of a Gladly submit (same checks, same
de-duplication, same event, recorded with source ``cli``).
"""

from __future__ import annotations

import base64
import json
import shlex
import sys
from urllib.parse import urlsplit

import click
from flask import Flask
from flask.cli import with_appcontext

from .deadline import Deadline
from .gladly.schema import LookupRequest, encode_body, lookup_body
from .gladly.signing import sign_headers
from .ordergroove.errors import OrdergrooveError
from .ordergroove.fetcher import FetchStats
from .services import get_services

LEVELS = click.Choice(["BASIC", "DETAILED"], case_sensitive=False)


@click.command("lookup")
@with_appcontext
@click.argument("customer_id", required=False)
@click.option("--level", type=LEVELS, default="DETAILED", show_default=True)
@click.option("--email", "emails", multiple=True, help="search by email instead of (or besides) an id")
def lookup_command(customer_id: str | None, level: str, emails: tuple[str, ...]) -> None:
    """Print the JSON Gladly would receive for CUSTOMER_ID (or --email)."""
    if not customer_id and not emails:
        raise click.UsageError("give a CUSTOMER_ID or at least one --email")
    services = get_services()
    request = LookupRequest(
        level=level.upper(),
        unique_match_required=level.upper() == "DETAILED",
        external_customer_id=customer_id,
        emails=tuple(e.strip() for e in emails if e.strip()),
        phones=(),
        gladly_customer_id=None,
        name=None,
    )
    stats = FetchStats()
    try:
        result = services.lookups.lookup(request, deadline=Deadline(services.settings.lookup_deadline_s), stats=stats)
    except OrdergrooveError as exc:
        click.echo(f"Ordergroove failed and nothing is cached: {exc}", err=True)
        sys.exit(3)
    click.echo(result.body().decode())
    click.echo(
        f"# outcome={result.outcome} upstream_calls={stats.upstream_calls} "
        f"cache_hits={stats.cache_hits} stale={result.stale}",
        err=True,
    )


@click.command("sign-request")
@with_appcontext
@click.argument("customer_id", required=False)
@click.option("--url", default="http://127.0.0.1:8000/gladly/lookup", show_default=True,
              help="the lookup URL exactly as configured in Gladly")
@click.option("--level", type=LEVELS, default="DETAILED", show_default=True)
@click.option("--email", "emails", multiple=True)
@click.option("--gladly-id", default=None, help="Gladly customer id (query.id)")
@click.option("--body", "raw_body", default=None, help="send this JSON body verbatim instead")
def sign_request_command(customer_id, url, level, emails, gladly_id, raw_body) -> None:
    """Print a curl command for a lookup, signed like Gladly signs it."""
    settings = get_services().settings
    if raw_body is not None:
        body = raw_body.encode()
    else:
        body = encode_body(lookup_body(level, external_customer_id=customer_id or None, emails=list(emails) or None,
                                       gladly_id=gladly_id or None))
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if settings.gladly_basic_auth:
        token = base64.b64encode(settings.gladly_basic_auth.reveal().encode()).decode()
        headers["Authorization"] = f"Basic {token}"
        headers["WWW-Authenticate"] = 'Basic realm="ogtk"'
    if settings.gladly_signing_key:
        path = urlsplit(url).path or "/"
        key = settings.gladly_signing_keys[0].reveal()  # the first key signs; all of them verify
        headers = sign_headers(key, method="POST", path=path, body=body, headers=headers)
    elif not settings.gladly_basic_auth:
        click.echo("# note: no GLADLY_SIGNING_KEY or GLADLY_BASIC_AUTH set; the request is unsigned", err=True)
    parts = ["curl", "-sS", "-X", "POST", url]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-binary", body.decode()]
    click.echo(" ".join(shlex.quote(p) for p in parts))


@click.command("prune-events")
@with_appcontext
def prune_events_command() -> None:
    """Delete lookup events older than OGTK_EVENT_RETENTION_DAYS."""
    services = get_services()
    removed = services.events.prune(services.settings.event_retention_days)
    click.echo(f"removed {removed} events older than {services.settings.event_retention_days} days")


@click.group("action")
def action_group() -> None:
    """Cancel a subscription or skip its next order, as a Gladly Action would."""


def _run_action(action: str, subscription_id: str, order_id: str | None, body: dict) -> None:
    services = get_services()
    if not services.actions.is_enabled(action):
        click.echo(f"the {action} action is not enabled; add it to OGTK_ACTIONS", err=True)
        sys.exit(2)
    answer = services.actions.submit(action, subscription_id, order_id, body, source="cli")
    click.echo(json.dumps(answer.body, ensure_ascii=False))
    click.echo(f"# status={answer.status} outcome={answer.outcome} detail={answer.code}", err=True)
    sys.exit({200: 0, 400: 2}.get(answer.status, 1))


@action_group.command("cancel")
@with_appcontext
@click.argument("subscription_id")
@click.option("--reason", default=None, help="a cancel reason code from OGTK_CANCEL_REASONS")
@click.option("--details", default=None, help="free text (at most 200 characters, no |)")
def action_cancel_command(subscription_id: str, reason: str | None, details: str | None) -> None:
    """Cancel SUBSCRIPTION_ID in Ordergroove."""
    _run_action("cancel", subscription_id, None, {"cancelReasonCode": reason, "cancelReasonDetails": details})


@action_group.command("skip")
@with_appcontext
@click.argument("subscription_id")
@click.option("--order", "order_id", default=None,
              help="the upcoming order to skip (default: the one Ordergroove lists now)")
def action_skip_command(subscription_id: str, order_id: str | None) -> None:
    """Skip the next order of SUBSCRIPTION_ID."""
    if order_id is None:
        try:
            order_id = get_services().actions.upcoming_order_id(subscription_id)
        except OrdergrooveError as exc:
            click.echo(f"Ordergroove failed while finding the upcoming order: {exc}", err=True)
            sys.exit(3)
        if order_id is None:
            click.echo(f"subscription {subscription_id} has no upcoming order to skip", err=True)
            sys.exit(1)
    _run_action("skip", subscription_id, order_id, {"confirm": True})


def init_app(app: Flask) -> None:
    for command in (lookup_command, sign_request_command, prune_events_command, action_group):
        app.cli.add_command(command)
