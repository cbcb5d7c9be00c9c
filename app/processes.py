"""Start and stop the toolkit's own processes (sandbox, API under gunicorn, dashboard).

Used by ``make run``, ``make bench`` and ``make soak``. Each process runs in its own session
(process group), its output goes to a log file (or this terminal), and stopping it signals the
whole group: SIGTERM, then SIGKILL after a grace period. The classes are context managers, so a
failing run never leaves a server behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import requests

from .settings import SANDBOX_DEFAULT_API_KEY

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def clean_env(extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """This process's environment without any OGTK/Gladly/Ordergroove/Prometheus setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORDERGROOVE_", "GLADLY_", "OGTK_", "PROMETHEUS_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


def log_tail(path: Path | None, lines: int = 30) -> str:
    if path is None:
        return "(its output is above)"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ManagedProcess:
    """One child process in its own process group, logged to a file (``None``: this terminal),
    always cleaned up.

    >>> with ManagedProcess([sys.executable, "-m", "http.server"], log_path=Path("/tmp/x.log")) as p:
    ...     p.wait_http("http://127.0.0.1:8000/")
    """

    name = "process"

    def __init__(self, command: list[str], *, log_path: Path | None, env: Mapping[str, str] | None = None,
                 cwd: Path = ROOT, name: str | None = None):
        self.command = command
        self.log_path = Path(log_path) if log_path is not None else None
        self.name = name or self.name
        self.env = dict(env) if env is not None else clean_env()
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self) -> "ManagedProcess":
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT if self._log else None,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_http(self, url: str, timeout: float = 60.0) -> None:
        """Poll ``url`` until it answers below 500; raise with the log tail if the child dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode if self.process else '?'}"
                                   f":\n{log_tail(self.log_path)}")
            try:
                if requests.get(url, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout:.0f}s:\n{log_tail(self.log_path)}")

    def stop(self, grace: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=5)
        if self.process is not None:
            self._signal_group(signal.SIGKILL)  # stragglers of the group (e.g. orphaned workers)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SandboxProcess(ManagedProcess):
    """``python -m app.sandbox`` on a free port.

    >>> with SandboxProcess(latency_ms=50, log_path=Path("var/bench/sandbox.log")) as sb:
    ...     sb.stats()["requests"]
    """

    name = "the Ordergroove sandbox"

    def __init__(self, *, log_path: Path | None, latency_ms: float = 0.0, port: int | None = None, **flags: Any):
        self.port = port or free_port()
        self.api_key = SANDBOX_DEFAULT_API_KEY
        command = [sys.executable, "-m", "app.sandbox", "--port", str(self.port), "--latency-ms", str(latency_ms)]
        for name, value in flags.items():  # fault settings, customers, webhook_url, webhook_key, ...
            # one "--flag=value" word: a value starting with "-" (a random key does, one time in
            # 64) would otherwise read as the next option and the sandbox would refuse to start
            command.append(f"--{name.replace('_', '-')}={value}")
        super().__init__(command, log_path=log_path)
        self.http = requests.Session()

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> "SandboxProcess":
        super().start()
        self.wait_http(f"{self.base_url}/_sandbox/stats")
        return self

    def stats(self) -> dict:
        return self.http.get(f"{self.base_url}/_sandbox/stats", timeout=5).json()

    def request_log(self) -> list[dict]:
        """As :meth:`app.sandbox.SandboxServer.request_log`; the times are this machine's ``time.monotonic()``."""
        return self.http.get(f"{self.base_url}/_sandbox/requests", timeout=10).json()

    def mutate(self, **edit: Any) -> tuple[int, dict]:
        """An admin edit in Ordergroove, simulated (``POST /_sandbox/mutate``): ``(status, body)``."""
        response = self.http.post(f"{self.base_url}/_sandbox/mutate", json=edit, timeout=10)
        return response.status_code, response.json()

    def webhook_stats(self) -> dict:
        return self.http.get(f"{self.base_url}/_sandbox/webhooks", timeout=5).json()

    def reset_stats(self) -> None:
        self.http.post(f"{self.base_url}/_sandbox/reset-stats", timeout=5).raise_for_status()

    def set_faults(self, **changes: Any) -> dict:
        response = self.http.post(f"{self.base_url}/_sandbox/faults", json=changes, timeout=5)
        response.raise_for_status()
        return response.json()


class ApiProcess(ManagedProcess):
    """The lookup API under gunicorn (``gunicorn.conf.py`` of the repo root) on a free port.

    >>> with ApiProcess(sandbox_url=sb.base_url, data_dir=tmp, signing_key="k", log_path=tmp / "api.log") as api:
    ...     api.lookup_url
    """

    name = "the lookup API (gunicorn)"

    def __init__(self, *, sandbox_url: str, data_dir: Path, signing_key: str, log_path: Path | None,
                 workers: int | None = None, threads: int | None = None, worker_class: str | None = None,
                 env: Mapping[str, Any] | None = None, port: int | None = None):
        self.port = port or free_port()
        self.data_dir = Path(data_dir)
        self.workers = workers
        settings = {
            "ORDERGROOVE_BASE_URL": sandbox_url,
            "ORDERGROOVE_API_KEY": SANDBOX_DEFAULT_API_KEY,
            "GLADLY_SIGNING_KEY": signing_key,
            "OGTK_DATA_DIR": str(self.data_dir),
            "OGTK_BIND": f"{LOOPBACK}:{self.port}",
            "OGTK_LOG_LEVEL": "warning",
        }
        if workers is not None:
            settings["OGTK_WORKERS"] = workers
        if threads is not None:
            settings["OGTK_THREADS"] = threads
        settings.update(env or {})
        command = [sys.executable, "-m", "gunicorn"]
        if worker_class:
            command += ["--worker-class", worker_class]  # the command line wins over gunicorn.conf.py
        command.append("app:create_app()")
        super().__init__(command, log_path=log_path, env=clean_env(settings))

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def lookup_url(self) -> str:
        return f"{self.base_url}/gladly/lookup"

    def start(self) -> "ApiProcess":
        super().start()
        self.wait_http(f"{self.base_url}/healthz")
        if self.workers:
            self.wait_workers(self.workers, timeout=30)
        return self

    def worker_rss_mib(self) -> list[float]:
        """Resident memory of each worker, in MiB (``make bench`` reports it; target ≤ 60)."""
        return [rss_mib(pid) for pid in self.worker_pids()]

    def worker_pids(self) -> list[int]:
        """Pids of the gunicorn workers: the master's children."""
        return child_pids(self.pid)

    def wait_workers(self, count: int, timeout: float = 30.0) -> list[int]:
        """Wait until the master has ``count`` live workers (after start or a respawn)."""
        deadline = time.monotonic() + timeout
        pids = self.worker_pids()
        while len(pids) < count and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = self.worker_pids()
        if len(pids) < count:
            raise RuntimeError(f"gunicorn has {len(pids)} workers, expected {count}:\n{log_tail(self.log_path)}")
        return pids


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` in MiB (``VmRSS`` of /proc), what a worker really costs."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for pid {pid}")


def mapped_libraries(pid: int, names: tuple[str, ...] = ("pandas", "numpy", "streamlit", "pyarrow")) -> set[str]:
    """Which of ``names`` have files mapped into ``pid`` (a package imported there maps its .so)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {name for name in names if f"/{name}/" in maps or f"/{name}." in maps}


def child_pids(pid: int) -> list[int]:
    """Live (non-zombie) children of ``pid``, from /proc."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ..." — comm may contain spaces and parentheses
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) >= 2 and fields[1] == str(pid) and fields[0] != "Z":
            children.append(int(entry.name))
    return sorted(children)
