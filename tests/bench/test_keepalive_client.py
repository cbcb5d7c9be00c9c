"""The bench's one-request-at-a-time client: one kept-alive connection, the signed body as sent."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.bench.measure import KeepAliveClient, detailed_payload
from app.gladly.signing import SignatureVerifier
from app.simulate import new_signing_key


def test_posts_the_signed_lookup_over_one_connection_and_reconnects_after_a_close():
    key = new_signing_key()
    seen = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.client_address[1], self.path, body, dict(self.headers)))
            close = len(seen) == 2  # the second answer closes the connection
            self.send_response(200 if not close else 503)
            self.send_header("Content-Length", "2")
            if close:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/gladly/lookup"
        with KeepAliveClient(url, key, detailed_payload("c1")) as client:
            assert [client.post() for _ in range(3)] == [200, 503, 200]
    finally:
        server.shutdown()
        server.server_close()
    ports = [port for port, *_ in seen]
    assert ports[0] == ports[1] != ports[2]  # kept alive, then a new connection after the close
    _, path, body, headers = seen[0]
    assert path == "/gladly/lookup" and b'"c1"' in body
    SignatureVerifier([key], path=path).verify("POST", "", headers, body)  # signed over exactly these bytes
