"""The sandbox's data set: a deterministic, Ordergroove-shaped merchant with several hundred customers.

The fixture customers of :data:`~.known.KNOWN` (:mod:`.fixtures`) come from fixed values,
independent of the seed and of the customer count; the background customers around them come
from the seed. The same seed always gives byte-identical records.

>>> ds = generate(seed=1); ds.customer(KNOWN["reference"])["first_name"]
'Dana'
"""

from __future__ import annotations

import random
from datetime import datetime
from functools import lru_cache

from .catalog import catalog
from .dataset import Dataset
from .fixtures import build_fixtures
from .known import KNOWN
from .records import DEFAULT_CUSTOMERS, DEFAULT_SEED, Builder, payment_and_address, upcoming_place

_FIRST = ("Olivia Liam Emma Noah Ava Elijah Sophia James Isabella William Mia Benjamin Charlotte Lucas "
          "Amelia Henry Harper Theo Evelyn Mateo Abigail Jack Emily Levi Ella Sebastian Avery Daniel "
          "Scarlett Aiden Grace Samuel Chloe Owen Priya Ravi Mei Wei Hiroshi Yuki Fatima Omar Aisha "
          "Diego Lucia Sofia Carlos Ana Nia Kwame Ines Joao Lars Freya Niamh Cormac Zoe Rosa Tomas").split()
_LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
         "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
         "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
         "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Kim Chen "
         "Okafor Silva Novak Murphy O'Brien Schmidt Tanaka").split()
_DOMAINS = ["example.com", "example.com", "example.net", "example.org", "mail.example.com"]
_AREA_CODES = ["415", "212", "312", "206", "617", "303", "512", "646", "718", "202", "503", "408"]
_STREET = "Main Oak Pine Maple Cedar Elm Lake Hill Park River".split()

def _background(b: Builder, rng: random.Random, count: int) -> None:
    taken_ids = set(str(c["merchant_user_id"]) for c in b.customers) | {KNOWN["unknown"]}
    taken_emails = set(c["email"].lower() for c in b.customers)
    discontinued = [p for p in b.products if p["discontinued"]]
    for _ in range(count):
        cid = str(rng.randint(1_000_000_000, 4_999_999_999))
        while cid in taken_ids:
            cid = str(rng.randint(1_000_000_000, 4_999_999_999))
        taken_ids.add(cid)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{first}_{last}"])
        email = f"{local}@{rng.choice(_DOMAINS)}".lower().replace("'", "")
        while email in taken_emails:
            email = f"{local}{rng.randint(1, 99)}@{rng.choice(_DOMAINS)}".lower().replace("'", "")
        taken_emails.add(email)
        if rng.random() < 0.15:
            email = email.capitalize()
        if rng.random() < 0.03:
            email = ""
        phone_type = rng.choices([2, 1, 3, 0, "mobile", "landline", "voip"], [45, 15, 5, 3, 20, 10, 2])[0]
        phone = f"+1{rng.choice(_AREA_CODES)}555{rng.randint(0, 9999):04d}"
        if rng.random() < 0.05:
            phone = f"+4420794{rng.randint(0, 99999):05d}"
        if rng.random() < 0.06:
            phone, phone_type = "", 0
        customer = b.customer(
            rng, merchant_user_id=int(cid) if rng.random() < 0.05 else cid, first_name=first,
            last_name=last, email=email, phone_number=phone, phone_type=phone_type,
            live=rng.choices([True, "True", "true", False, "False"], [80, 6, 6, 5, 3])[0],
            extra_data=rng.choices([None, {}, {"loyalty_tier": "gold"}, '{"loyalty_tier": "bronze"}', ""],
                                   [40, 20, 15, 15, 10])[0],
            locale=rng.choices(["en-us", 1], [75, 25])[0], **payment_and_address(cid))
        if rng.random() < 0.2:
            del customer["last_login"]
        n_subs = rng.choices(range(7), [20, 25, 20, 15, 10, 5, 5])[0]
        upcoming: dict | None = None
        for _ in range(n_subs):
            state = rng.choices(["active", "canceled", "inactive"], [55, 30, 15])[0]
            pool = discontinued if state == "canceled" and rng.random() < 0.06 else b.orderable
            sub = b.subscription(rng, customer, rng.choice(pool)["external_product_id"], state)
            if isinstance(customer["merchant_user_id"], int) and rng.random() < 0.5:
                sub["customer"] = customer["merchant_user_id"]
            if state == "active":
                item_product = None if rng.random() < 0.15 else sub["product"]
                if upcoming is not None and rng.random() < 0.3:  # shares the next shipment
                    b.order_lines_append(rng, upcoming, sub, item_product)
                else:
                    upcoming = b.order(rng, customer, upcoming_place(rng), 1, [(sub, item_product)])
                b.past_orders(rng, customer, sub, datetime.strptime(upcoming["place"], "%Y-%m-%d %H:%M:%S"),
                              rng.randint(0, 4))
            elif state == "canceled":
                b.past_orders(rng, customer, sub, datetime.strptime(sub["cancelled"], "%Y-%m-%d %H:%M:%S"),
                              rng.randint(0, 3))
        past = [o for o in b.orders[-6:] if o["customer"] == customer["merchant_user_id"] and o["status"] == 5]
        if past and rng.random() < 0.1:
            b.one_time_item(rng, past[0])


@lru_cache(maxsize=8)
def generate(seed: int = DEFAULT_SEED, customers: int = DEFAULT_CUSTOMERS) -> Dataset:
    """The data set for ``seed``: the KNOWN fixtures plus background customers up to ``customers``.

    Cached per arguments; treat the returned records as read-only.
    """
    builder = Builder(catalog())
    build_fixtures(builder)
    _background(builder, random.Random(seed), max(0, customers - len(builder.customers)))
    for record in builder.customers:
        record.pop("_payment"), record.pop("_address")
    # Ordergroove documents no ordering and returns orders unordered: sort by the random public id.
    orders = sorted(builder.orders, key=lambda o: o["public_id"])
    return Dataset(customers=builder.customers, subscriptions=builder.subscriptions, orders=orders,
                   items=builder.items, products=builder.products)

