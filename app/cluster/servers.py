"""Local Redis and PostgreSQL servers for the tests and ``make run-cluster``.

Each runs from a temporary directory, on loopback, on a free port, without persistence worth
keeping, and stops with its owner. ``initdb`` refuses to run as root, so as root PostgreSQL runs
as the ``postgres`` system user (created as ``ogtk-postgres`` when no such user exists). Missing
binaries raise :class:`ServerUnavailable` saying what to install.

>>> with RedisServer(tmp) as redis, PostgresServer() as postgres:
...     redis.url(), postgres.url
>>> with local_servers(tmp) as (redis, postgres):   # both, or ServerUnavailable
...     ...
"""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from ..processes import LOOPBACK, free_port

START_TIMEOUT_S = 30.0


class ServerUnavailable(RuntimeError):
    """The server binary is missing or the server did not come up; the message says what to do."""


class _Managed:
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_port(port: int, process: subprocess.Popen | None, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerUnavailable(f"{what} exited with code {process.returncode}: {_tail(log)}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerUnavailable(f"{what} did not listen on port {port} within {START_TIMEOUT_S:.0f}s: {_tail(log)}")


def _parent_death_signal():
    """A function for ``preexec_fn`` that makes the child get SIGTERM when its parent dies (a
    killed test run or ``make run-cluster`` never leaves a server behind); ``None`` off Linux.

    Only from the main thread: Linux sends the signal when the *thread* that started the child
    exits, so a server (re)started by a helper thread would die with it; such a server is
    stopped by its owner instead. libc is loaded here, in the parent: the child of a threaded
    parent must not import or take any lock before exec, so it only makes the one C call."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class RedisServer(_Managed):
    """``redis-server`` without persistence on a free loopback port; can be stopped and started
    again on the same port (to test losing and regaining Redis).

    >>> server = RedisServer(tmp).start(); server.url(db=1)
    'redis://127.0.0.1:40123/1'
    """

    def __init__(self, directory: Path, binary: str | None = None):
        self.binary = binary or shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.access(self.binary, os.X_OK):
            raise ServerUnavailable("redis-server is not installed (Debian: apt-get install redis-server)")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = self.directory / "redis.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{LOOPBACK}:{self.port}/{db}"

    def start(self) -> "RedisServer":
        command = [self.binary, "--bind", LOOPBACK, "--port", str(self.port), "--save", "",
                   "--appendonly", "no", "--dir", str(self.directory), "--databases", "16",
                   "--maxclients", "1000", "--protected-mode", "no", "--logfile", str(self.log)]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=_parent_death_signal())
        _wait_port(self.port, self.process, "redis-server", self.log)
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


def _postgres_bin() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent  # /usr/local/bin may link initdb alone
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not candidates:
        raise ServerUnavailable("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    return Path(candidates[-1]).parent


def _postgres_user() -> str | None:
    """The user to run PostgreSQL as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "ogtk-postgres"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    try:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "ogtk-postgres"],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ServerUnavailable(f"running as root and no non-root user for initdb could be created: {exc}") from exc
    return "ogtk-postgres"


class PostgresServer(_Managed):
    """A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``) on a free loopback port, trust auth.

    >>> server = PostgresServer().start(); server.url
    'postgresql://ogtk@127.0.0.1:40124/ogtk'
    """

    superuser = "ogtk"
    database = "ogtk"

    def __init__(self):
        self.bin = _postgres_bin()
        self.user = _postgres_user()
        # Our own temp dir (pytest's are private to root): owned by the user who runs postgres.
        self.directory = Path(tempfile.mkdtemp(prefix="ogtk-pg-"))
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self.started = False

    @property
    def url(self) -> str:
        return self.url_of(self.database)

    def _run(self, *command: str) -> None:
        try:
            done = subprocess.run([str(self.bin / command[0]), *command[1:]], user=self.user, cwd=self.directory,
                                  capture_output=True, text=True, timeout=START_TIMEOUT_S * 2,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ServerUnavailable(f"{command[0]} could not run: {exc}") from exc
        if done.returncode != 0:
            raise ServerUnavailable(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-800:]}"
                                    f"\n{_tail(self.log)}")

    def start(self) -> "PostgresServer":
        self._run("initdb", "-D", str(self.data), "-U", self.superuser, "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        self.resume()
        self.create_database(self.database)
        return self

    def resume(self) -> None:
        """Start the server (again, after :meth:`pause`: same port, same data)."""
        options = (f"-c listen_addresses={LOOPBACK} -p {self.port} -k {self.directory} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", str(int(START_TIMEOUT_S)), "start")
        self.started = True

    def pause(self) -> None:
        """Stop the server, keeping its data (to test losing and regaining PostgreSQL)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.started = False

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its URL."""
        self._run("createdb", "-h", LOOPBACK, "-p", str(self.port), "-U", self.superuser, name)
        return self.url_of(name)

    def url_of(self, database: str) -> str:
        return f"postgresql://{self.superuser}@{LOOPBACK}:{self.port}/{database}"

    def stop(self) -> None:
        if self.started:
            try:
                self.pause()
            except ServerUnavailable:
                pass
            self.started = False
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def local_servers(directory: Path) -> Iterator[tuple[RedisServer, PostgresServer]]:
    """A fresh ``redis-server`` (its files under ``directory``) and PostgreSQL for the block, both
    stopped after it; :class:`ServerUnavailable` (before the block) when either cannot start."""
    with ExitStack() as stack:
        redis = RedisServer(directory)
        stack.callback(redis.stop)
        redis.start()
        postgres = PostgresServer()
        stack.callback(postgres.stop)
        postgres.start()
        yield redis, postgres
