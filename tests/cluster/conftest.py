"""Several API instances under gunicorn sharing real servers, as behind a load balancer.

Extension points for what other features share across instances:

* ``cluster_env``: the environment every instance gets. A test module that needs more shared
  state (PostgreSQL events, actions, webhooks) overrides it and adds to it, e.g.
  ``def cluster_env(cluster_env, postgres_url): return {**cluster_env, "OGTK_EVENTS_URL": postgres_url}``.
* ``cluster``: a :class:`Cluster` of two instances (own data directories, one sandbox); its
  ``lookup``/``post`` send signed requests to the instance chosen by index.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from app.gladly.signing import sign_headers
from app.processes import ApiProcess, SandboxProcess

from support import SIGNING_KEY, signed

#: enough injected latency that concurrent cold lookups overlap on every upstream call
SANDBOX_LATENCY_MS = 150


@dataclass
class Cluster:
    sandbox: SandboxProcess
    instances: list[ApiProcess]

    def lookup(self, index: int, payload: dict) -> requests.Response:
        api = self.instances[index]
        body, headers = signed(payload)
        return requests.post(api.lookup_url, data=body, headers=headers, timeout=30)

    def post(self, index: int, path: str, body: bytes, headers: dict | None = None) -> requests.Response:
        """A signed POST of raw ``body`` to ``path`` of instance ``index`` (actions, webhooks)."""
        api = self.instances[index]
        headers = sign_headers(SIGNING_KEY, method="POST", path=path, body=body,
                               headers={"Content-Type": "application/json", **(headers or {})})
        return requests.post(api.base_url + path, data=body, headers=headers, timeout=30)

    def upstream_log(self) -> list[dict]:
        return self.sandbox.http.get(f"{self.sandbox.base_url}/_sandbox/requests", timeout=10).json()


@pytest.fixture(scope="module")
def cluster_sandbox(tmp_path_factory):
    with SandboxProcess(latency_ms=SANDBOX_LATENCY_MS,
                        log_path=tmp_path_factory.mktemp("sandbox") / "sandbox.log") as sandbox:
        yield sandbox


@pytest.fixture
def cluster_env(redis_url) -> dict[str, str]:
    return {"OGTK_CACHE_URL": redis_url}


@pytest.fixture
def cluster(cluster_sandbox, cluster_env, tmp_path):
    instances = [ApiProcess(sandbox_url=cluster_sandbox.base_url, data_dir=tmp_path / f"instance-{n}",
                            signing_key=SIGNING_KEY, log_path=tmp_path / f"instance-{n}.log", workers=2,
                            threads=4, env=cluster_env)
                 for n in range(2)]
    try:
        for api in instances:
            api.start()
        cluster_sandbox.reset_stats()
        yield Cluster(cluster_sandbox, instances)
    finally:
        for api in instances:
            api.stop()


def data_dirs(cluster: Cluster) -> list[Path]:
    return [api.data_dir for api in cluster.instances]
