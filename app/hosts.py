"""The one place a URL's host is read, and loopback decided (settings, sandbox, dashboard).

Hand-split ``scheme://host:port/`` strings get IPv6 literals, user-info and upper case wrong;
:func:`urllib.parse.urlsplit` does not.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def url_host(url: str | None) -> str:
    """``"http://User@[::1]:8700/x"`` → ``"::1"``; lower-cased; ``""`` when there is none."""
    if not url or "://" not in url:
        return ""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:  # e.g. an unbalanced "[" in the netloc
        return ""


def is_loopback(host: str | None) -> bool:
    """``localhost``, ``127.x.x.x`` or ``::1`` (a host name or an address, not a URL)."""
    host = (host or "").strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str | None) -> bool:
    return is_loopback(url_host(url))
