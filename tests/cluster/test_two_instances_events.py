"""Two gunicorn instances, own data directories, one PostgreSQL: link health counts every
instance's lookups exactly once, and a clean stop loses none of the queued events (CONTRACT 10)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from app.events.postgres import PostgresEventStore
from app.sandbox import KNOWN

from support import basic, detailed

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster_env(cluster_env, postgres_url):
    return {**cluster_env, "OGTK_EVENTS_URL": postgres_url}


def test_link_health_counts_both_instances_lookups_exactly_once(cluster, cluster_env):
    sent = [(n % 2, detailed(KNOWN["reference"]) if n % 3 else basic(customer_id=f"nobody-{n % 4}",
                                                                      gladly_id=f"gladly-{n % 4}"))
            for n in range(40)]
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda job: cluster.lookup(*job), sent))
    assert [a.status_code for a in answers] == [200] * len(sent)
    for api in cluster.instances:
        api.stop()  # a clean stop writes what each worker still holds in its queue
    with PostgresEventStore(cluster_env["OGTK_EVENTS_URL"]) as store:
        summary = store.summary(started, datetime.now(timezone.utc) + timedelta(seconds=1))
        assert summary.lookups == len(sent)
        assert summary.matched == sum(1 for n in range(40) if n % 3)
        assert summary.customers_asked == 1 + 4  # the linked profile and four unlinked ones
