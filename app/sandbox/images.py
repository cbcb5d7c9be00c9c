"""A picture for every product, drawn here (no external files), so card previews show images offline.

``GET /images/products/{id}.svg``: a tile in a colour derived from the product id, with the
product's initials and name. No api key, no faults, not counted: it stands in for the merchant's
CDN, not for Ordergroove. Product answers point their ``image_url`` here (:func:`local_image_url`)
except where the record has none (the ``no_image_product`` quirk stays null).
"""

from __future__ import annotations

import hashlib
from html import escape

from flask import Blueprint, Response, current_app, request

from .protocol import NOT_FOUND, json_response

images = Blueprint("sandbox_images", __name__)
IMAGE_PATH = "/images/products/"


def local_image_url(product: dict) -> dict:
    """``product`` with ``image_url`` on this sandbox's own address (a copy; null stays null)."""
    if product.get("image_url") is None:
        return product
    return {**product, "image_url": f"{request.host_url.rstrip('/')}{IMAGE_PATH}{product['external_product_id']}.svg"}


def product_svg(product: dict) -> str:
    digest = hashlib.sha256(str(product["external_product_id"]).encode()).digest()
    hue, accent = digest[0] * 360 // 256, digest[1] * 360 // 256
    words = [w for w in str(product.get("name") or "").split() if w[:1].isalnum()]
    initials = escape("".join(w[0] for w in words[:2]).upper() or "?")
    name = escape(str(product.get("name") or "")[:28])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240">'
        f'<rect width="240" height="240" rx="24" fill="hsl({hue},45%,88%)"/>'
        f'<circle cx="120" cy="100" r="58" fill="hsl({accent},55%,62%)"/>'
        f'<text x="120" y="118" font-family="sans-serif" font-size="48" font-weight="700" '
        f'text-anchor="middle" fill="#ffffff">{initials}</text>'
        f'<text x="120" y="206" font-family="sans-serif" font-size="15" text-anchor="middle" '
        f'fill="hsl({hue},30%,28%)">{name}</text></svg>')


@images.get(f"{IMAGE_PATH}<rid>.svg")
def product_image(rid: str) -> Response:
    product = current_app.extensions["sandbox"].dataset.product_by_id.get(rid)
    if product is None:
        return json_response(NOT_FOUND, 404)
    return Response(product_svg(product), content_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})
