"""Ordergroove's read paths over the sandbox's data set: filters as the REST API documents them."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from .dataset import Dataset
from .images import local_image_url
from .protocol import NOT_FOUND, bool_param, int_param, is_true, json_response, narrow, paginate

reads = Blueprint("sandbox_reads", __name__)


def dataset() -> Dataset:
    return current_app.extensions["sandbox"].dataset


def retrieve(index: dict[str, dict], rid: str, content_type: str = "application/json") -> Response:
    record = index.get(rid)
    return json_response(record) if record is not None else json_response(NOT_FOUND, 404, content_type)


@reads.get("/customers/")
def customers() -> Response:
    rows: list[dict] | None = None
    email = request.args.get("email")
    if email:  # like django-filter, an empty value means "no filter"
        rows = dataset().by_email.get(email.strip().lower(), [])
    live = bool_param("live")
    rows = dataset().customers if rows is None else rows
    if live is not None:
        rows = [c for c in rows if is_true(c.get("live")) == live]
    return paginate(rows)


@reads.get("/customers/<rid>/")
def customer(rid: str) -> Response:
    return retrieve(dataset().by_customer, rid)


@reads.get("/subscriptions/")
def subscriptions() -> Response:
    rows: list[dict] | None = None
    if request.args.get("customer"):
        rows = dataset().subscriptions_by_customer.get(request.args["customer"], [])
    rows = dataset().subscriptions if rows is None else rows
    live = bool_param("live")
    if live is not None:
        rows = [s for s in rows if is_true(s.get("live")) == live]
    if request.args.get("product"):
        rows = [s for s in rows if str(s.get("product")) == request.args["product"]]
    return paginate(rows)


@reads.get("/subscriptions/<rid>/")
def subscription(rid: str) -> Response:
    return retrieve(dataset().subscription_by_id, rid)


@reads.get("/orders/")
def orders() -> Response:
    rows: list[dict] | None = None
    if request.args.get("customer"):
        rows = dataset().orders_by_customer.get(request.args["customer"], [])
    if request.args.get("subscription"):  # orders carry no subscription: go through items
        rows = narrow(rows, dataset().orders_by_subscription.get(request.args["subscription"], []))
    rows = dataset().orders if rows is None else rows
    status = int_param("status")
    if status is not None:
        rows = [o for o in rows if o.get("status") == status]
    return paginate(rows)


@reads.get("/orders/<rid>/")
def order(rid: str) -> Response:
    return retrieve(dataset().order_by_id, rid)


@reads.get("/items/")
def items() -> Response:
    rows: list[dict] | None = None
    if request.args.get("order"):
        rows = dataset().items_by_order.get(request.args["order"], [])
    if request.args.get("subscription"):
        rows = narrow(rows, dataset().items_by_subscription.get(request.args["subscription"], []))
    rows = dataset().items if rows is None else rows
    if request.args.get("product"):
        rows = [i for i in rows if str(i.get("product")) == request.args["product"]]
    one_time = bool_param("one_time")
    if one_time is not None:
        rows = [i for i in rows if bool(i.get("one_time")) == one_time]
    return paginate(rows)


@reads.get("/items/<rid>/")
def item(rid: str) -> Response:
    return retrieve(dataset().item_by_id, rid)


@reads.get("/products/")
def products() -> Response:
    # The gotcha: without both flags, discontinued and non-autoship products are silently hidden.
    autoship = request.args.get("autoship_enabled", "true")
    allow_discontinued = bool_param("allow_discontinued") or False
    ids = request.args.getlist("external_product_ids[]")  # without "[]" the filter is ignored
    known = dataset().product_by_id
    rows = [known[i] for i in dict.fromkeys(ids) if i in known] if ids else dataset().products
    if autoship.lower() != "all":
        wanted = bool_param("autoship_enabled")
        wanted = True if wanted is None else wanted
        rows = [p for p in rows if bool(p.get("autoship_enabled")) == wanted]
    if not allow_discontinued:
        rows = [p for p in rows if not p.get("discontinued")]
    live = bool_param("live")
    if live is not None:
        rows = [p for p in rows if is_true(p.get("live")) == live]
    if request.args.get("product_type"):
        rows = [p for p in rows if p.get("product_type") == request.args["product_type"]]
    return paginate([local_image_url(p) for p in rows])


@reads.get("/products/<rid>/")
def product(rid: str) -> Response:
    # Ordergroove sometimes declares this 404 as text/plain although the body is JSON.
    record = dataset().product_by_id.get(rid)
    return json_response(local_image_url(record)) if record is not None else \
        json_response(NOT_FOUND, 404, "text/plain")
