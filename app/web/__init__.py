"""The wiring: one blueprint per door into the API, registered by :func:`init_app`.

Each door runs the same one-way path, request → auth → parse → match → fetch → present →
record, by calling the layers below it (``app.gladly`` for the protocol edge, ``app.lookup`` for
matching, ``app.services`` for the shared resources). Nothing outside this package and the app
factory imports it, so no layer below can depend on how requests arrive.
"""

from __future__ import annotations

from flask import Flask

from ..settings import Settings
from . import actions, lookup, ops, responses, webhooks


def init_app(app: Flask, settings: Settings) -> None:
    responses.init_app(app)
    app.register_blueprint(lookup.bp)
    lookup.route_configured_path(app, settings.gladly_lookup_path)
    app.register_blueprint(ops.bp)
    actions.init_app(app, settings.gladly_lookup_path)
    app.register_blueprint(webhooks.bp)
