"""Ordergroove–Gladly integration toolkit: the Flask application factory.

``gunicorn 'app:create_app()'`` and ``flask --app app run`` both come through here. Nothing
connects at import time: settings are read and validated, shared resources (Ordergroove client,
disk cache, event store) attached under ``app.extensions["ogtk"]``, then the blueprints registered.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from flask import Flask

from .settings import Settings, SettingsError

__all__ = ["create_app", "Settings", "SettingsError"]

#: Gladly bodies are small; anything above this is refused with 413 before it is read.
MAX_BODY_BYTES = 1024 * 1024

log = logging.getLogger("ogtk")


def _configure_logging() -> None:
    """One line per record on stderr (gunicorn and ``flask run`` leave our loggers unconfigured);
    an application that already set up logging keeps its own."""
    if logging.getLogger().handlers:
        return
    level = os.environ.get("OGTK_LOG_LEVEL", "info").upper()
    logging.basicConfig(
        level=level if level in logging.getLevelNamesMapping() else "INFO",
        format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s",
    )
    # urllib3 logs full request URLs at DEBUG, and email searches carry the address in the URL.
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the API. ``config`` is a :class:`Settings` or env-style overrides (tests)."""
    if isinstance(config, Settings):
        settings = config
    else:
        settings = Settings.from_env({**os.environ, **{k: str(v) for k, v in (config or {}).items()}})
    _configure_logging()
    settings.check_api_can_start()
    if not settings.authentication_configured:
        log.warning("OGTK_ALLOW_UNAUTHENTICATED=1: lookups are NOT authenticated (demo/dev only)")

    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)

    from . import cli, services, web

    services.init_app(app, settings)
    web.init_app(app, settings)
    cli.init_app(app)
    return app
