"""The process-wide resources every request, CLI command and dashboard page shares.

One :class:`Services` per process: the Ordergroove fetcher (pooled client + disk cache), the
lookup service, the authenticator and the event store. The API hangs it on
``app.extensions["ogtk"]``; the dashboard builds the same thing once via ``st.cache_resource``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

from flask import Flask, current_app

from .actions import ActionService
from .events import EventStore, RetentionWorker, open_event_store
from .gladly.auth import Authenticator
from .lookup import LookupService
from .ordergroove.fetcher import ProfileFetcher
from .readiness import ReadinessChecker
from .suggestions import BackgroundQueue, search_and_record
from .settings import Settings

log = logging.getLogger("ogtk")

#: How long recording one event may wait for another worker's write: inside the time the lookup
#: keeps back for answering (app.web.lookup.ANSWER_MARGIN_S), so the deadline still holds.
EVENT_BUSY_TIMEOUT_MS = 200


@dataclass
class Services:
    """Shared resources of one process.

    >>> services = Services.build(Settings.from_env())
    >>> services.lookups.lookup(request, deadline=Deadline(4), stats=FetchStats())
    """

    settings: Settings
    fetcher: ProfileFetcher
    lookups: LookupService
    events: EventStore  # or PostgresEventStore (OGTK_EVENTS_URL): the same API
    authenticator: Authenticator
    readiness: ReadinessChecker
    retention: RetentionWorker | None = None
    #: searches made after an answer has gone out (the unknown-id suggestion of CONTRACT §5)
    background: BackgroundQueue = field(default_factory=BackgroundQueue)

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fetcher = ProfileFetcher.from_settings(settings)
        events = open_event_store(settings, busy_timeout_ms=EVENT_BUSY_TIMEOUT_MS)
        services = cls(
            settings=settings,
            fetcher=fetcher,
            lookups=LookupService(fetcher, actions=settings.actions),
            events=events,
            authenticator=Authenticator.from_settings(settings),
            readiness=ReadinessChecker(settings.data_dir, cache=fetcher.cache, events=events, client=fetcher.client),
        )
        services.start_retention()
        return services

    @cached_property
    def actions(self) -> ActionService:
        """The Gladly Actions of section 8 (forms, submits), over the same client, cache and events."""
        return ActionService.from_services(self)

    def start_retention(self) -> RetentionWorker:
        """Drop events past the retention period in a background thread, off the request path: a
        little after start and hourly; one process at a time, not again within ten minutes of another
        process's run (gunicorn recycles workers after ``max_requests``). ``flask prune-events``
        prunes on demand."""
        if self.retention is None or not self.retention.running:
            self.retention = RetentionWorker(self.events, self.settings.event_retention_days).start()
        return self.retention

    def suggest_after_answer(self, uid: str, emails: tuple[str, ...], unknown_id: str | None) -> bool:
        """Queue the suggestion search for event ``uid``; ``False`` when the queue dropped it."""
        return self.background.submit(lambda: search_and_record(
            self.fetcher, self.events, uid, emails, deadline_s=self.settings.lookup_deadline_s,
            unknown_id=unknown_id))

    def close(self) -> None:
        self.background.close()
        if self.retention is not None:
            self.retention.stop()  # first: it ends its own connection before the store closes
        self.fetcher.close()
        self.events.close()


def init_app(app: Flask, settings: Settings) -> Services:
    services = Services.build(settings)
    app.extensions["ogtk"] = services
    return services


def get_services() -> Services:
    return current_app.extensions["ogtk"]
