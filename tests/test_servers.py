"""The real-server fixtures: Redis and PostgreSQL answer on loopback, Redis survives a restart."""

from __future__ import annotations

import socket
import subprocess

import pytest

import servers


def _redis_command(port: int, *words: str) -> bytes:
    """One RESP command over a raw socket (no client library needed to prove the server runs)."""
    payload = f"*{len(words)}\r\n".encode() + b"".join(f"${len(w)}\r\n{w}\r\n".encode() for w in words)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(1024)


def test_redis_answers_on_loopback_and_comes_back_after_a_stop(redis_server, redis_url):
    assert redis_url.startswith("redis://127.0.0.1:")
    assert _redis_command(redis_server.port, "SET", "k", "v") == b"+OK\r\n"
    redis_server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", redis_server.port), timeout=1).close()
    redis_server.start()
    assert _redis_command(redis_server.port, "PING") == b"+PONG\r\n"


def test_postgres_answers_on_loopback_with_a_fresh_database_per_test(postgres_server, postgres_url):
    assert postgres_url.startswith(f"postgresql://ogtk@127.0.0.1:{postgres_server.port}/")
    done = subprocess.run([str(postgres_server.bin / "psql"), postgres_url, "-Atc",
                           "select count(*) from pg_tables where schemaname = 'public'"],
                          user=postgres_server.user, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


def test_a_missing_server_skips_outside_ci_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no redis"):
        servers.unavailable("no redis")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        servers.unavailable("no redis")


def test_redis_server_reports_a_missing_binary(tmp_path):
    with pytest.raises(servers.ServerUnavailable, match="apt-get install redis-server"):
        servers.RedisServer(tmp_path, binary=str(tmp_path / "no-such-redis-server"))


def test_a_redis_started_from_a_short_lived_thread_outlives_the_thread(redis_server, tmp_path):
    """The parent-death signal fires when the *thread* that started the child exits: a server
    (re)started by a helper thread (the soak's outage scenario) must not die with that thread."""
    import threading

    server = servers.RedisServer(tmp_path)
    starter = threading.Thread(target=server.start)
    starter.start()
    starter.join()
    try:
        with pytest.raises(subprocess.TimeoutExpired):  # it would have exited within milliseconds
            server.process.wait(timeout=1)
        assert _redis_command(server.port, "PING") == b"+PONG\r\n"
    finally:
        server.stop()
