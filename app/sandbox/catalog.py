"""The merchant's product catalogue (~60 products), the same for every seed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .known import KNOWN
from .records import FREQUENCIES, MERCHANT, ts

# (name, base price, product_type); ids are assigned in order, see catalog()
_CATALOG = [
    ("House Blend Whole Bean 12 oz", "14.99", "standard"),
    ("Decaf Colombia Ground 12 oz", "15.49", "standard"),
    ("Espresso Roast Whole Bean 2 lb", "32.00", "standard"),
    ("Ethiopia Yirgacheffe 12 oz", "18.50", "standard"),
    ("Cold Brew Concentrate 64 oz", "42.00", "standard"),
    ("Single Origin Sampler Box", "29.00", "rotating"),
    ("Breakfast Tea 40 bags", "8.99", "standard"),
    ("Earl Grey Loose Leaf 4 oz", "11.25", "standard"),
    ("Matcha Ceremonial Grade 30 g", "26.00", "standard"),
    ("Chai Concentrate 32 oz", "9.75", "standard"),
    ("Almond Milk Unsweetened 6-pack", "19.99", "standard"),
    ("Oat Milk Original 6-pack", "17.49", "standard"),
    ("Vanilla Syrup 750 ml", "12.00", "standard"),
    ("Caramel Syrup 750 ml", "12.00", "standard"),
    ("Paper Filters #4 (200)", "6.49", "standard"),
    ("Descaling Solution 2-pack", "13.95", "standard"),
    ("Whey Protein Vanilla 2 lb", "39.99", "standard"),
    ("Plant Protein Chocolate 2 lb", "42.50", "standard"),
    ("Daily Multivitamin 90 ct", "24.00", "standard"),
    ("Vitamin D3 2000 IU 120 ct", "12.99", "standard"),
    ("Omega-3 Fish Oil 120 ct", "27.95", "standard"),
    ("Magnesium Glycinate 180 ct", "21.00", "standard"),
    ("Probiotic 30 Billion 30 ct", "34.99", "standard"),
    ("Electrolyte Mix Lemon 30 ct", "29.99", "standard"),
    ("Collagen Peptides 20 oz", "44.00", "standard"),
    ("Morning Bundle: Coffee + Syrup", "25.99", "static price bundle"),
    ("Build-a-Box Wellness Bundle", "59.00", "dynamic price bundle"),
    ("Grain-Free Dog Food 24 lb", "64.99", "standard"),
    ("Salmon Cat Food 12-pack", "18.99", "standard"),
    ("Dog Dental Chews 30 ct", "22.49", "standard"),
    ("Clumping Cat Litter 20 lb", "16.99", "standard"),
    ("Puppy Training Pads 100 ct", "27.50", "standard"),
    ("Bamboo Toilet Paper 24 rolls", "31.99", "standard"),
    ("Paper Towels 12 rolls", "26.49", "standard"),
    ("Laundry Detergent Pods 60 ct", "19.95", "standard"),
    ("Dish Soap Refill 1 gal", "14.50", "standard"),
    ("All-Purpose Cleaner 3-pack", "15.00", "standard"),
    ("Trash Bags 13 gal 90 ct", "17.25", "standard"),
    ("Hand Soap Refill 34 oz", "11.99", "standard"),
    ("Sponges Compostable 6-pack", "7.99", "standard"),
    ("Razor Cartridges 8 ct", "23.00", "standard"),
    ("Shave Gel 7 oz", "5.99", "standard"),
    ("Fluoride Toothpaste 3-pack", "9.49", "standard"),
    ("Electric Toothbrush Heads 4 ct", "19.00", "standard"),
    ("Daily Contact Lenses 90 ct", "58.00", "standard"),
    ("Unscented Baby Wipes 720 ct", "21.99", "standard"),
    ("Diapers Size 3 (144)", "47.99", "standard"),
    ("Infant Formula 35 oz", "39.49", "standard"),
    ("Granola Honey Almond 3-pack", "16.50", "standard"),
    ("Protein Bars Variety 12 ct", "24.99", "rotating"),
    ("Sparkling Water Lime 24-pack", "12.99", "standard"),
    ("Kombucha Ginger 12-pack", "35.88", "standard"),
    ("Olive Oil Extra Virgin 1 L", "22.00", "standard"),
    ("Snack Box Monthly Surprise", "32.00", "rotating"),
    ("Air Purifier Filter HEPA", "49.99", "standard"),
    ("Water Filter Cartridge 3-pack", "34.50", "standard"),
    ("Holiday Blend 12 oz (seasonal)", "16.99", "standard"),
    ("Legacy Decaf Pods 24 ct", "14.00", "standard"),
]


def catalog() -> list[dict]:
    """~60 products; the merchant's catalogue does not depend on the seed."""
    rng = random.Random("catalog")
    products = [reference_cold_brew(), {
        **reference_cold_brew(), "external_product_id": "40212877254711", "name": "Oat Milk Barista 6-pack",
        "sku": "OM-BAR-6", "price": "21.00", "image_url": "https://cdn.example.com/p/oat-milk-barista-6.jpg",
        "detail_url": "https://shop.example.com/products/oat-milk-barista-6", "every": 1, "every_period": 3,
        "created": "2023-05-02 09:15:00", "last_update": "2025-06-03 11:40:12"}]
    fixed_ids = {0: KNOWN["bench_products"][0], 1: KNOWN["bench_products"][1], 2: KNOWN["bench_products"][2],
                 3: KNOWN["no_image_product"], len(_CATALOG) - 2: KNOWN["discontinued_product"],
                 len(_CATALOG) - 1: KNOWN["autoship_disabled_product"]}
    for n, (name, price, product_type) in enumerate(_CATALOG):
        slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
        while "--" in slug:
            slug = slug.replace("--", "-")
        created = datetime(2022, 1, 10) + timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 86399))
        every, period = rng.choice(FREQUENCIES[:6])
        pid = fixed_ids.get(n, f"402128773{n:03d}{rng.randint(10, 99)}")
        image = None if (pid == KNOWN["no_image_product"] or rng.random() < 0.06) else \
            f"https://cdn.example.com/p/{slug}.jpg"
        discontinued = pid == KNOWN["discontinued_product"]
        products.append({
            "external_product_id": pid, "merchant": MERCHANT, "groups": [], "name": name,
            "sku": "".join(w[0] for w in name.split() if w[0].isalnum()).upper() + f"-{n:03d}",
            "price": price, "image_url": image, "detail_url": f"https://shop.example.com/products/{slug}",
            "autoship_enabled": pid != KNOWN["autoship_disabled_product"], "premier_enabled": rng.choice([0, 0, 1]),
            "created": ts(created), "last_update": ts(created + timedelta(days=rng.randint(1, 700))),
            "live": not discontinued, "discontinued": discontinued, "offer_profile": None,
            "extra_data": None, "incentive_group": None, "product_type": product_type,
            "autoship_by_default": rng.random() < 0.2, "every": every, "every_period": period,
            "prepaid_eligible": rng.random() < 0.15,
        })
    return products


def reference_cold_brew() -> dict:
    return {"external_product_id": "40212877221943", "merchant": MERCHANT, "groups": [],
            "name": "Cold Brew Concentrate 32 oz", "sku": "CB-32-ORIG", "price": "24.50",
            "image_url": "https://cdn.example.com/p/cold-brew-32.jpg",
            "detail_url": "https://shop.example.com/products/cold-brew-32",
            "autoship_enabled": True, "premier_enabled": 0, "created": "2023-05-02 09:15:00",
            "last_update": "2024-11-30 17:22:05", "live": True, "discontinued": False,
            "offer_profile": None, "extra_data": None, "incentive_group": None,
            "product_type": "standard", "autoship_by_default": False, "every": 6, "every_period": 2,
            "prepaid_eligible": False}

