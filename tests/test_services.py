"""app/services.py: one set of shared resources per process, built from settings, closed cleanly."""

from __future__ import annotations

import threading

from app.services import Services, get_services
from app.settings import Settings


def test_build_creates_the_data_directory_and_wires_one_of_each(tmp_path, sandbox):
    settings = Settings.from_env({"ORDERGROOVE_BASE_URL": sandbox.base_url, "OGTK_ALLOW_UNAUTHENTICATED": "1",
                                  "OGTK_DATA_DIR": str(tmp_path / "new" / "data")})
    services = Services.build(settings)
    try:
        assert settings.data_dir.is_dir()
        assert services.lookups.fetcher is services.fetcher
        assert services.readiness.events is services.events and services.readiness.cache is services.fetcher.cache
        assert services.authenticator.mode == "none"
        assert services.readiness.evaluate().ready
    finally:
        services.close()


def test_close_stops_the_background_queue_after_its_work(app, services):
    ran = threading.Event()
    assert services.background.submit(ran.set)
    services.close()
    assert ran.is_set() and not services.background.submit(lambda: None)


def test_get_services_is_the_apps_own(app, services):
    with app.app_context():
        assert get_services() is services
