"""The Ordergroove side of the toolkit: REST client, shared disk cache, models and profile fetcher.

``ProfileFetcher.from_settings(settings)`` is the one object the rest of the app needs; the
others are exported for tests, the CLI and the dashboard.
"""

from .cache import CacheResult, ResourceCache
from .client import OrdergrooveClient
from .errors import BadRequest, NotFound, OrdergrooveError, RateLimited, Unauthorized, Unavailable
from .fetcher import FetchStats, ProfileFetcher, email_queries, normalise_emails
from .models import PERIOD_UNITS, Customer, CustomerProfile, Item, Order, Product, Subscription

__all__ = [
    "BadRequest",
    "CacheResult",
    "Customer",
    "CustomerProfile",
    "FetchStats",
    "Item",
    "NotFound",
    "Order",
    "OrdergrooveClient",
    "OrdergrooveError",
    "PERIOD_UNITS",
    "Product",
    "ProfileFetcher",
    "RateLimited",
    "ResourceCache",
    "Subscription",
    "Unauthorized",
    "Unavailable",
    "email_queries",
    "normalise_emails",
]
