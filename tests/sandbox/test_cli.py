"""``python -m app.sandbox``: flags, their environment fallbacks, the start line and a clean Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from app.sandbox import KNOWN
from app.sandbox.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_flags_fall_back_to_the_environment():
    env = {"OGTK_SANDBOX_LATENCY_MS": "80", "OGTK_SANDBOX_ERROR_RATE": "0.05", "OGTK_SANDBOX_API_KEY": "k"}
    args = build_parser(env).parse_args([])
    assert (args.latency_ms, args.error_rate, args.api_key, args.hang_s) == (80.0, 0.05, "k", 60.0)
    assert build_parser(env).parse_args(["--latency-ms", "5"]).latency_ms == 5.0
    defaults = build_parser({}).parse_args([])
    assert (defaults.host, defaults.api_key, defaults.customers) == ("127.0.0.1", "sandbox-key", 400)


def test_serves_prints_one_line_and_exits_cleanly_on_ctrl_c():
    env = {**os.environ, "OGTK_SANDBOX_CUSTOMERS": "80"}
    proc = subprocess.Popen([sys.executable, "-m", "app.sandbox", "--port", "0", "--error-rate", "0.01"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "sandbox-key" in line and "errors 1%" in line, line
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        response = requests.get(f"{url}/customers/{KNOWN['reference']}/", headers={"x-api-key": "sandbox-key"},
                                timeout=5)
        assert response.status_code in (200, 500, 503)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sandbox_process_serves_its_request_log_on_this_machines_clock(tmp_path):
    import time

    from app.processes import SandboxProcess

    with SandboxProcess(log_path=tmp_path / "sandbox.log", customers=80) as sb:
        sb.reset_stats()
        before = time.monotonic()
        requests.get(f"{sb.base_url}/subscriptions/", params={"customer": KNOWN["bench"]},
                     headers={"x-api-key": sb.api_key}, timeout=5)
        [entry] = sb.request_log()
        assert entry["endpoint"] == "/subscriptions/" and entry["query"] == {"customer": [KNOWN["bench"]]}
        assert before <= entry["started"] <= entry["ended"] <= time.monotonic()
