"""Product pictures for the card preview, fetched by the dashboard server, never by the browser.

A product's ``imageUrl`` comes from Ordergroove: letting every viewer's browser load it would leak
their address to whoever hosts it (a tracking pixel) and make the page depend on the internet.
So the server fetches it once (short timeouts, at most :data:`MAX_BYTES`, an image by its first
bytes, not by what the host claims), caches the answer for a while, and hands the bytes to
``st.image``; anything else gets the placeholder. The sandbox serves a picture for every product
on loopback, so the demo shows real pictures offline.

Only hosts that are this machine or public are fetched (no private, link-local or reserved
address, so an ``imageUrl`` cannot make the dashboard probe the internal network or a cloud
metadata service), redirects are followed only to hosts that pass the same test, and names that
never resolve (``*.example.com``, ``*.invalid``, single-label names) are not even looked up.

The host test runs before connecting; a name whose DNS answer changes in between is out of scope.

>>> pictures = load_images(tuple(sub.image_url for sub in subscriptions))  # doctest: +SKIP
>>> pictures[url] or card.placeholder_html(url)  # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

import requests
import streamlit as st

MAX_BYTES = 2 * 1024 * 1024
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 1.0, 2.0
MAX_REDIRECTS = 3
TTL_S = 600
#: RFC 2606/6761 names that never resolve: the old sandbox's example image URLs live there
RESERVED_SUFFIXES = ("example.com", "example.org", "example.net", "example", "test", "invalid", "local")
#: leading bytes of the formats a browser shows without scripts (no SVG)
SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def _allowed_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return ip.is_loopback or ip.is_global


def host_allowed(host: str | None, *, resolve=socket.getaddrinfo) -> bool:
    """Whether the dashboard may fetch from ``host``: every address it resolves to is loopback or
    public. Reserved and single-label names (other than ``localhost``) are refused unresolved."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    try:
        return _allowed_ip(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host != "localhost" and ("." not in host or any(
            host == suffix or host.endswith("." + suffix) for suffix in RESERVED_SUFFIXES)):
        return False
    try:
        addresses = {info[4][0] for info in resolve(host, None, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        return False
    try:
        return bool(addresses) and all(_allowed_ip(ipaddress.ip_address(a.split("%", 1)[0])) for a in addresses)
    except ValueError:
        return False


def fetchable(url: str | None) -> bool:
    """An http(s) URL whose host passes :func:`host_allowed`."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return False
    try:
        return host_allowed(urlsplit(url).hostname)
    except ValueError:
        return False


def is_image(data: bytes) -> bool:
    """PNG, JPEG, GIF or WebP by its first bytes."""
    return data.startswith(SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def fetch_image(url: str) -> bytes | None:
    """The picture at ``url``, or ``None`` when it is not allowed, not there, too big or not an image."""
    http = requests.Session()
    try:
        for _ in range(MAX_REDIRECTS + 1):
            if not fetchable(url):
                return None
            with http.get(url, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), stream=True,
                          allow_redirects=False, headers={"Accept": "image/png,image/jpeg,image/gif,image/webp"}) as answer:
                if answer.is_redirect and answer.headers.get("location"):
                    url = urljoin(url, answer.headers["location"])
                    continue
                if answer.status_code != 200:
                    return None
                body = b""
                for chunk in answer.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > MAX_BYTES:
                        return None
                return body if is_image(body) else None
        return None  # too many redirects
    except (requests.RequestException, OSError, ValueError):
        return None
    finally:
        http.close()


@st.cache_data(ttl=TTL_S, max_entries=64, show_spinner=False)
def load_images(urls: tuple[str, ...]) -> dict[str, bytes | None]:
    """Every URL's picture (or ``None``), fetched side by side; cached, failures included, so a
    card whose pictures are unreachable costs their timeout once, not on every rerun."""
    unique = list(dict.fromkeys(u for u in urls if u))
    if not unique:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(unique)), thread_name_prefix="ogtk-images") as pool:
        return dict(zip(unique, pool.map(fetch_image, unique)))
