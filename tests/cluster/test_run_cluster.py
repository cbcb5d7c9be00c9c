"""``make run-cluster`` (python -m app.cluster): everything starts, the burst reaches both
instances, both instances' events land in the PostgreSQL it started, and Ctrl-C stops
everything again."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest

from app.cluster import __main__ as run_cluster
from app.cluster.servers import ServerUnavailable
from app.processes import ROOT, clean_env, free_port

READY = "[cluster] Ctrl-C stops everything."


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _run_until_ready(command: list[str]) -> tuple[subprocess.Popen, list[str]]:
    """Start ``command``; its output up to the line saying it is up (the test fails at an early exit)."""
    # started with SIGINT ignored, as a script's background job starts its children: Ctrl-C
    # must stop everything all the same
    process = subprocess.Popen(command, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=240)
        except queue.Empty:
            process.kill()
            pytest.fail("make run-cluster did not come up within 240 s:\n" + "".join(seen[-40:]))
        if line is None:
            process.wait(10)
            pytest.fail(f"make run-cluster exited ({process.returncode}) before it was up:\n" + "".join(seen[-40:]))
        seen.append(line)
        if line.startswith(READY):
            return process, seen


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_run_cluster_serves_the_burst_from_both_instances_on_shared_servers_and_ctrl_c_stops_all(
        redis_server, postgres_server, tmp_path):
    # the session's servers only prove both can start here (or skip with the reason); run-cluster starts its own
    sandbox_port, api_ports = free_port(), [free_port(), free_port()]
    process, seen = _run_until_ready(
        [sys.executable, "-m", "app.cluster", "--no-dashboard", "--lookups", "24", "--latency-ms", "5",
         "--sandbox-port", str(sandbox_port), "--api-ports", *map(str, api_ports),
         "--data-dir", str(tmp_path / "cluster")])
    out = "".join(seen)
    try:
        assert "(0, 200): 12" in out and "(1, 200): 12" in out, out
        assert "lookup events in PostgreSQL, both instances': 24 of 24 lookups" in out, out
        redis_port = int(re.search(r"Redis \(shared cache\) redis://127\.0\.0\.1:(\d+)", out).group(1))
        postgres_port = int(re.search(r"PostgreSQL \(events\)  postgresql://ogtk@127\.0\.0\.1:(\d+)", out).group(1))
        assert all(_listening(port) for port in (sandbox_port, *api_ports, redis_port, postgres_port))
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        # each child gets a grace period before it is killed (two instances, sandbox, Redis,
        # PostgreSQL: up to about 75 s in all when each needs it, as on a loaded CI machine)
        assert process.wait(150) == 0
    for port in (sandbox_port, *api_ports, redis_port, postgres_port):
        assert not _listening(port), f"port {port} still listening after Ctrl-C"
    for instance in ("a", "b"):  # each instance has its own data directory, but no events of its own
        assert (tmp_path / "cluster" / instance).is_dir()
        assert not (tmp_path / "cluster" / instance / "events.sqlite3").exists()
    assert "ready to exit, bye bye" in (tmp_path / "cluster" / "redis" / "redis.log").read_text().lower()


@pytest.mark.parametrize("server, message", [
    ("RedisServer", "redis-server is not installed (Debian: apt-get install redis-server)"),
    ("PostgresServer", "PostgreSQL is not installed (Debian: apt-get install postgresql)"),
])
def test_a_missing_server_is_named_with_what_to_install(monkeypatch, tmp_path, capsys, server, message):
    def missing(*_args, **_kwargs):
        raise ServerUnavailable(message)

    monkeypatch.setattr(run_cluster, server, missing)
    assert run_cluster.main(["--data-dir", str(tmp_path), "--no-dashboard"]) == 1
    err = capsys.readouterr().err
    assert message in err and "apt-get install redis-server postgresql" in err
