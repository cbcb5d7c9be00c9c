"""The KNOWN customers (:mod:`.known`): fixed values and their own RNG, independent of the seed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .known import KNOWN
from .records import MERCHANT, REFERENCE_DATE, Builder, payment_and_address, upcoming_place



def build_fixtures(b: Builder) -> None:
    """The KNOWN customers: fixed values, own RNG, independent of the seed."""
    rng = random.Random("fixtures")
    # -- reference: Dana Reyes, straight from the reference docs
    dana = b.customer(rng, id=2284417, merchant_user_id=KNOWN["reference"],
                      session_id=f"{MERCHANT}.412907.1709396411", first_name="Dana", last_name="Reyes",
                      email=KNOWN["reference_email"], phone_number="+14155550123", phone_type=2,
                      live=True, created="2023-07-11 11:58:40", last_updated="2025-01-19 08:03:47",
                      last_login="2025-01-18 21:12:09", extra_data={"loyalty_tier": "gold"},
                      locale="en-us", **{"_payment": "7e56baa025b08f1bbdccad3f68f78a69",
                                         "_address": "057b84ca2e1ccfe0558c92329fb98546"})
    active = b.subscription(
        rng, dana, "40212877221943", "active", public_id=KNOWN["reference_active_subscription"],
        offer="98613d4df8dad29806cf5f53ba42b8cb", extra_data={}, quantity=2, price=None,
        currency_code="USD", frequency_days=42, reminder_days=7, every=6, every_period=2,
        start_date="2024-03-04", cancelled=None, merchant_order_id="10482",
        created="2024-03-02 16:20:11", updated="2025-01-19 08:03:47", live=True)
    canceled = b.subscription(
        rng, dana, "40212877254711", "canceled", public_id=KNOWN["reference_canceled_subscription"],
        offer="98613d4df8dad29806cf5f53ba42b8cb", quantity=1, price="18.00", currency_code="USD",
        every=1, every_period=3, frequency_days=30, reminder_days=7, start_date="2023-07-12",
        cancelled="2024-02-20 10:41:09", cancel_reason="4|Overstocked", cancel_reason_code="4",
        extra_data='{"source": "checkout"}', created="2023-07-11 12:00:05",
        updated="2024-02-20 10:41:09", live="False", merchant_order_id="9311")
    place = datetime.strptime(KNOWN["reference_next_place"], "%Y-%m-%d %H:%M:%S")
    last_placed = datetime(2026, 10, 5, 6, 2, 31)
    b.order(rng, dana, place, 1, [(active, "40212877221943")], public_id=KNOWN["reference_upcoming_order"],
            created=last_placed, discount_total="2.45", total="46.55")
    b.items[-1].update(public_id="1a464dae15527a047d3f5a20d92ff7a1", total_price="46.55")
    b.past_orders(rng, dana, active, place - timedelta(days=42), 3)
    b.past_orders(rng, dana, canceled, datetime(2024, 2, 20, 6), 2)

    # -- bench: 5 live subscriptions over 3 products, one upcoming order each, nothing else
    bench = b.customer(rng, merchant_user_id=KNOWN["bench"], first_name="Morgan", last_name="Ellis",
                       email="morgan.ellis@example.com", phone_number="+13035550188", phone_type=2,
                       extra_data={}, **payment_and_address(KNOWN["bench"]))
    for n, pid in enumerate(KNOWN["bench_products"] + KNOWN["bench_products"][:2]):
        sub = b.subscription(rng, bench, pid, "active", live=True, cancelled=None, price=None,
                             currency_code="USD", every=4, every_period=2, frequency_days=28)
        b.order(rng, bench, (REFERENCE_DATE + timedelta(days=5 + 7 * n)).replace(hour=6), 1, [(sub, pid)])

    # -- many_pages: 130 subscriptions
    many = b.customer(rng, merchant_user_id=KNOWN["many_pages"], first_name="Riley", last_name="Brooks",
                      email="riley.brooks@example.org", phone_number="+12125550147", phone_type=1,
                      **payment_and_address(KNOWN["many_pages"]))
    for n in range(KNOWN["many_pages_count"]):
        state = "active" if n % 13 == 0 else ("canceled" if n % 13 < 8 else "inactive")
        sub = b.subscription(rng, many, b.orderable[n % len(b.orderable)]["external_product_id"], state)
        if state == "active":
            b.order(rng, many, upcoming_place(rng), 1, [(sub, sub["product"])])

    # -- quirks: every odd form at once
    quirks = b.customer(rng, merchant_user_id=int(KNOWN["quirks"]), first_name="Quinn", last_name="Oddway",
                        email="quinn.oddway@example.net", phone_number="+16175550190", phone_type="mobile",
                        live="True", extra_data='{"loyalty_tier": "silver"}', locale=1,
                        **payment_and_address(KNOWN["quirks"]))
    del quirks["last_login"]
    qcid = int(KNOWN["quirks"])
    q1 = b.subscription(rng, quirks, b.orderable[0]["external_product_id"], "active", customer=qcid,
                        live="True", cancelled="null", extra_data="", price="12.99", every=None,
                        every_period=None, frequency_days=42, start_date="2024-05-06 00:00:00")
    q1.pop("currency_code", None)
    q2 = b.subscription(rng, quirks, b.orderable[1]["external_product_id"], "active", customer=qcid,
                        live="true", cancelled=None, extra_data='{"source": "import", "batch": 7}',
                        start_date="2023-02-29", currency_code="CAD", every=2, every_period=3,
                        frequency_days=60)
    q3 = b.subscription(rng, quirks, b.orderable[2]["external_product_id"], "canceled", customer=qcid,
                        live="False", cancel_reason="7|", cancel_reason_code="7|", extra_data=None,
                        currency_code="USD")
    b.subscription(rng, quirks, b.orderable[3]["external_product_id"], "inactive", customer=qcid,
                   live=False, cancelled="null", extra_data={"gift": True}, currency_code="EUR")
    b.order(rng, quirks, upcoming_place(rng), 1, [(q1, None), (q2, q2["product"])], extra_data="")
    b.past_orders(rng, quirks, q3, datetime.strptime(q3["cancelled"], "%Y-%m-%d %H:%M:%S"), 2)
    b.order(rng, quirks, REFERENCE_DATE - timedelta(days=20, hours=18), 3, [(q2, q2["product"])])

    # -- two customers sharing one email (different case)
    for cid, email, first in zip(KNOWN["shared_email_customers"],
                                 ("Shared.Household@example.com", "shared.household@example.com"),
                                 ("Alex", "Jamie")):
        c = b.customer(rng, merchant_user_id=cid, first_name=first, last_name="Morgan", email=email,
                       phone_number="+15035550111", phone_type=1, **payment_and_address(cid))
        sub = b.subscription(rng, c, rng.choice(b.orderable)["external_product_id"], "active", live=True)
        b.order(rng, c, upcoming_place(rng), 1, [(sub, sub["product"])])

    # -- a "+" address, stored in mixed case
    plus = b.customer(rng, merchant_user_id=KNOWN["plus_email_customer"], first_name="Dana",
                      last_name="Reyes-Ortiz", email="Dana+Subs@example.com", phone_number="+14155550177",
                      phone_type=3, **payment_and_address(KNOWN["plus_email_customer"]))
    sub = b.subscription(rng, plus, b.orderable[4]["external_product_id"], "active", live=True)
    b.order(rng, plus, upcoming_place(rng), 1, [(sub, sub["product"])])

    # -- a subscription on a product that 404s, one on a discontinued product
    mp = b.customer(rng, merchant_user_id=KNOWN["missing_product_customer"], first_name="Sam",
                    last_name="Whitfield", email="sam.whitfield@example.com", phone_number="+12065550134",
                    phone_type=2, **payment_and_address(KNOWN["missing_product_customer"]))
    gone = b.subscription(rng, mp, KNOWN["missing_product"], "active", live=True, price=None)
    ok = b.subscription(rng, mp, b.orderable[5]["external_product_id"], "active", live=True)
    b.subscription(rng, mp, KNOWN["discontinued_product"], "canceled", cancel_reason="5|No longer need it")
    b.order(rng, mp, upcoming_place(rng), 1, [(gone, None)])
    b.order(rng, mp, upcoming_place(rng), 1, [(ok, ok["product"])])

    b.customer(rng, merchant_user_id=KNOWN["no_subscriptions"], first_name="Noor", last_name="Haddad",
               email="noor.haddad@example.com", phone_number="", phone_type=0, **payment_and_address(KNOWN["no_subscriptions"]))
    inactive = b.customer(rng, merchant_user_id=KNOWN["inactive_customer"], first_name="Pat", last_name="Lindqvist",
                          email="pat.lindqvist@example.org", phone_number="+13125550166", phone_type="landline",
                          live=False, **payment_and_address(KNOWN["inactive_customer"]))
    b.subscription(rng, inactive, b.orderable[6]["external_product_id"], "inactive", live=False)

    # -- twelve: 12 live subscriptions over 6 products on 4 upcoming orders, nothing else
    twelve = b.customer(rng, merchant_user_id=KNOWN["twelve"], first_name="Avery", last_name="Castellanos",
                        email="avery.castellanos@example.com", phone_number="+15125550142", phone_type=2,
                        extra_data={}, **payment_and_address(KNOWN["twelve"]))
    per_order = KNOWN["twelve_subscriptions"] // KNOWN["twelve_orders"]
    for n in range(KNOWN["twelve_orders"]):
        lines = []
        for m in range(per_order):
            pid = b.orderable[10 + (n * per_order + m) % 6]["external_product_id"]
            sub = b.subscription(rng, twelve, pid, "active", live=True, cancelled=None, price=None,
                                 currency_code="USD", every=1, every_period=3, frequency_days=30)
            lines.append((sub, pid))
        b.order(rng, twelve, (REFERENCE_DATE + timedelta(days=3 + 9 * n)).replace(hour=6), 1, lines)

    # -- prepaid: one live prepaid subscription, which the cancel call refuses
    prepaid = b.customer(rng, merchant_user_id=KNOWN["prepaid"], first_name="Jordan", last_name="Baptiste",
                         email="jordan.baptiste@example.com", phone_number="+12025550173", phone_type=2,
                         **payment_and_address(KNOWN["prepaid"]))
    sub = b.subscription(rng, prepaid, b.orderable[7]["external_product_id"], "active", live=True, cancelled=None,
                         public_id=KNOWN["prepaid_subscription"],
                         prepaid_subscription_context={"prepaid_orders_remaining": 2, "prepaid_orders_per_billing": 3})
    b.order(rng, prepaid, upcoming_place(rng), 1, [(sub, sub["product"])])
