"""Product pictures: fetched by the dashboard server from this machine or public hosts only,
kept only when they really are pictures, and shown on the card as bytes (never a remote URL)."""

from __future__ import annotations

import socket

import pytest

from app.sandbox import KNOWN
from dashboard import images

from dash_support import ImageServer, assert_clean, tiny_png


def _resolves_to(*addresses):
    return lambda host, port, type=0: [(socket.AF_INET, type, 6, "", (a, 0)) for a in addresses]


@pytest.mark.parametrize("host, allowed", [
    ("127.0.0.1", True), ("::1", True), ("[::1]", True), ("8.8.8.8", True), ("2606:4700::1111", True),
    ("10.1.2.3", False), ("192.168.0.9", False), ("169.254.169.254", False), ("fe80::1", False),
    ("0.0.0.0", False), ("::ffff:10.0.0.1", False), ("", False), (None, False),
    ("cdn.example.com", False), ("evil", False), ("shop.invalid", False), ("printer.local", False),
])
def test_which_hosts_may_be_fetched(host, allowed):
    def never(*args, **kwargs):
        raise AssertionError("looked up a name that should be refused unresolved")

    assert images.host_allowed(host, resolve=never) is allowed


def test_a_name_is_judged_by_every_address_it_resolves_to():
    assert images.host_allowed("cdn.shop.com", resolve=_resolves_to("151.101.1.1"))
    assert not images.host_allowed("cdn.shop.com", resolve=_resolves_to("151.101.1.1", "10.0.0.4"))
    assert not images.host_allowed("intranet.shop.com", resolve=_resolves_to("172.16.0.3"))
    assert images.host_allowed("localhost")  # the machine's own resolver: loopback

    def unknown(*args, **kwargs):
        raise socket.gaierror("no such name")

    assert not images.host_allowed("gone.shop.com", resolve=unknown)


def test_is_image_by_its_first_bytes():
    assert images.is_image(tiny_png())
    assert images.is_image(b"\xff\xd8\xff\xe0 jpeg") and images.is_image(b"GIF89a...")
    assert images.is_image(b"RIFF\0\0\0\0WEBPVP8 ")
    assert not images.is_image(b"<svg/>") and not images.is_image(b"") and not images.is_image(b"<html>")


@pytest.mark.parametrize("path, loads", [
    ("/ok.png", True), ("/moved.png", True), ("/missing.png", False), ("/lying.png", False),
    ("/big.png", False), ("/vector.svg", False), ("/to-private.png", False), ("/loop.png", False),
])
def test_fetch_image(path, loads):
    with ImageServer() as server:
        picture = images.fetch_image(server.url(path))
    assert (picture == tiny_png()) if loads else picture is None


def test_fetch_image_refuses_without_connecting():
    assert images.fetch_image("https://cdn.example.com/p/x.jpg") is None
    assert images.fetch_image("ftp://127.0.0.1/x.png") is None
    assert images.fetch_image("http://10.255.255.1/x.png") is None


def test_load_images_fetches_each_once_and_remembers_failures(dashboard_env):
    with ImageServer() as server:
        urls = (server.url("/ok.png"), server.url("/missing.png"), server.url("/ok.png"))
        first = images.load_images(urls)
        again = images.load_images(urls)
        assert first == again == {urls[0]: tiny_png(), urls[1]: None}
        assert sorted(server.hits) == ["/missing.png", "/ok.png"]


def test_the_card_shows_loadable_pictures_as_bytes_and_placeholders_for_the_rest(dashboard_env, monkeypatch,
                                                                                   app_test):
    from app.sandbox import SandboxServer

    with ImageServer() as server, SandboxServer(seed=8810, customers=40) as sandbox:
        loadable, broken = KNOWN["reference_products"]
        sandbox.dataset.product_by_id[loadable]["image_url"] = server.url("/ok.png")
        sandbox.dataset.product_by_id[broken]["image_url"] = server.url("/missing.png")
        monkeypatch.setenv("ORDERGROOVE_BASE_URL", sandbox.base_url)
        at = app_test.run()
        at.text_input(key="card_query").input(KNOWN["reference"]).run()
    assert_clean(at)
    pictures = [url for image in at.get("image") for url in image.value]
    assert len(pictures) == 1
    assert "/media/" in pictures[0] and "127.0.0.1" not in pictures[0]  # Streamlit serves the bytes
    assert [h.proto.body for h in at.get("html") if "image not loadable" in h.proto.body]
