"""``make run-cluster`` (python -m app.cluster): everything starts, the burst reaches both
instances, and everything stops again."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from app.cluster import __main__ as run_cluster
from app.cluster.servers import ServerUnavailable
from app.processes import ROOT, clean_env, free_port


@pytest.mark.slow
def test_run_cluster_serves_the_burst_from_both_instances_then_stops(redis_server, tmp_path):
    ports = [str(free_port()), str(free_port())]
    done = subprocess.run(
        [sys.executable, "-m", "app.cluster", "--exit-after-traffic", "--lookups", "24", "--latency-ms", "5",
         "--sandbox-port", str(free_port()), "--api-ports", *ports, "--data-dir", str(tmp_path / "cluster")],
        cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "(0, 200): 12" in done.stdout and "(1, 200): 12" in done.stdout
    assert "Redis (shared cache) redis://127.0.0.1:" in done.stdout
    assert (tmp_path / "cluster" / "a").is_dir() and (tmp_path / "cluster" / "b").is_dir()
    for port in ports:  # both instances are gone
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
    redis_log = (tmp_path / "cluster" / "redis" / "redis.log").read_text()
    assert "ready to exit, bye bye" in redis_log.lower()


def test_a_missing_server_is_named_with_what_to_install(monkeypatch, tmp_path, capsys):
    def no_redis(*_args, **_kwargs):
        raise ServerUnavailable("redis-server is not installed (Debian: apt-get install redis-server)")

    monkeypatch.setattr(run_cluster, "RedisServer", no_redis)
    assert run_cluster.main(["--data-dir", str(tmp_path), "--no-dashboard"]) == 1
    err = capsys.readouterr().err
    assert "redis-server is not installed" in err and "apt-get install redis-server postgresql" in err
