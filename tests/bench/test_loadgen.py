"""The wrk script and its parser, and the checked-traffic driver."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.bench.loadgen import Request, drive, parse_wrk_output, wrk_script


def test_wrk_script_sends_the_exact_body_and_headers():
    body = b'{"a":"]]x"}'
    script = wrk_script("POST", body, {"Gladly-Authorization": "SigningAlgorithm=hmac-sha256, Signature=ab"})
    assert 'wrk.method = [[POST]]' in script
    assert '[=[{"a":"]]x"}]=]' in script  # a body containing ]] still round-trips
    assert "wrk.headers[ [[Gladly-Authorization]] ] = [[SigningAlgorithm=hmac-sha256, Signature=ab]]" in script
    assert "latency:percentile(99)" in script


def test_parse_wrk_output_reads_the_json_line():
    summary = {"requests": 5000, "duration_us": 5_000_000, "bytes": 1,
               "errors": {"connect": 0, "read": 1, "write": 0, "status": 3, "timeout": 2},
               "latency_us": {"min": 100, "mean": 900.0, "max": 9000, "p50": 800, "p90": 1500, "p95": 2000,
                              "p99": 4000, "p999": 8000}}
    result = parse_wrk_output("Running 5s test\nOGTK_WRK_JSON " + json.dumps(summary) + "\n", connections=16)
    assert result.rps == pytest.approx(1000)
    assert (result.p50_ms, result.p95_ms, result.p99_ms) == (0.8, 2.0, 4.0)
    assert result.non_2xx == 3 and result.socket_errors == 3


def test_parse_wrk_output_without_summary_raises():
    with pytest.raises(ValueError):
        parse_wrk_output("Running 5s test\n", connections=1)


def test_drive_keeps_every_answer_including_failures():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = 200 if body == b"ok" else 418
            payload = json.dumps({"results": []}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        reqs = [Request("good", "POST", b"ok", {}), Request("bad", "POST", b"no", {})] * 5
        answers = drive(f"http://127.0.0.1:{server.server_port}", reqs, concurrency=3, timeout=5)
        dead = drive("http://127.0.0.1:1", [Request("x", "POST", b"", {})], concurrency=1, timeout=1)
    finally:
        server.shutdown()
        server.server_close()
    assert sorted((a.kind, a.status) for a in answers) == sorted([("good", 200), ("bad", 418)] * 5)
    assert all(a.body == {"results": []} for a in answers)
    assert dead[0].status == 0 and dead[0].error
