"""A picture for every product, drawn here (no external files), so card previews show images offline.

``GET /images/products/{id}.png``: a tile in colours derived from the product id (a disc on a
soft background). PNG rather than SVG because the dashboard shows only formats a browser renders
without scripts. No api key, no faults, not counted: it stands in for the merchant's CDN, not for
Ordergroove. Product answers whose ``image_url`` is on the catalogue's placeholder CDN
(:data:`PLACEHOLDER_CDN`) point here instead (:func:`local_image_url`); any other address, a
remote-only or broken one set by a test, is left as it is, and a null stays null (the
``no_image_product`` quirk).
"""

from __future__ import annotations

import colorsys
import hashlib
import struct
import zlib
from functools import lru_cache

from flask import Blueprint, Response, current_app, request

from .protocol import NOT_FOUND, json_response

images = Blueprint("sandbox_images", __name__)
IMAGE_PATH = "/images/products/"
#: where the generated catalogue's image URLs live (a reserved name that never resolves)
PLACEHOLDER_CDN = "https://cdn.example.com/"
SIZE = 96


def local_image_url(product: dict) -> dict:
    """``product`` with a placeholder-CDN ``image_url`` moved to this sandbox's own address (a copy)."""
    url = product.get("image_url")
    if not isinstance(url, str) or not url.startswith(PLACEHOLDER_CDN):
        return product
    return {**product, "image_url": f"{request.host_url.rstrip('/')}{IMAGE_PATH}{product['external_product_id']}.png"}


def _rgb(hue: float, lightness: float, saturation: float) -> bytes:
    return bytes(round(c * 255) for c in colorsys.hls_to_rgb(hue, lightness, saturation))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@lru_cache(maxsize=512)
def product_png(product_id: str) -> bytes:
    """A ``SIZE``×``SIZE`` RGB PNG: a disc of one colour on a lighter one, both from the id's hash."""
    digest = hashlib.sha256(product_id.encode()).digest()
    background, disc = _rgb(digest[0] / 256, 0.88, 0.45), _rgb(digest[1] / 256, 0.62, 0.55)
    centre, radius2 = (SIZE - 1) / 2, (SIZE * 0.32) ** 2
    rows = b"".join(
        b"\x00" + b"".join(disc if (x - centre) ** 2 + (y - centre) ** 2 <= radius2 else background
                           for x in range(SIZE))
        for y in range(SIZE))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9))
            + _chunk(b"IEND", b""))


@images.get(f"{IMAGE_PATH}<rid>.png")
def product_image(rid: str) -> Response:
    if current_app.extensions["sandbox"].dataset.product_by_id.get(rid) is None:
        return json_response(NOT_FOUND, 404)
    return Response(product_png(rid), content_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})
