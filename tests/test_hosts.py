"""The one host parser: URLs and addresses as settings, the sandbox and the dashboard meet them."""

from __future__ import annotations

import pytest

from app.hosts import is_loopback, is_loopback_url, url_host


@pytest.mark.parametrize("url, host", [
    ("http://127.0.0.1:8700", "127.0.0.1"),
    ("https://User:pw@CDN.Example.com:443/a.png", "cdn.example.com"),
    ("http://[::1]:8700/x", "::1"),
    ("https://restapi.ordergroove.com", "restapi.ordergroove.com"),
    ("not a url", ""),
    ("http://[::1", ""),
    (None, ""),
])
def test_url_host(url, host):
    assert url_host(url) == host


@pytest.mark.parametrize("value, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("10.0.0.1", False), ("127.example.com", False), ("", False), (None, False),
])
def test_is_loopback(value, loopback):
    assert is_loopback(value) is loopback


def test_a_host_named_like_loopback_is_not_the_sandbox():
    assert is_loopback_url("http://localhost:8700") and is_loopback_url("http://[::1]:1")
    assert not is_loopback_url("https://127.0.0.1.evil.example/")
