"""A local stand-in for Ordergroove's REST API (CONTRACT section 6): data, server, fault injection.

>>> with SandboxServer(latency_ms=20) as sb:  # doctest: +SKIP
...     requests.get(f"{sb.base_url}/customers/{KNOWN['reference']}/", headers={"x-api-key": sb.api_key})
"""

from .data import KNOWN, REFERENCE_DATE, generate
from .faults import FaultSettings
from .server import SandboxServer

__all__ = ["KNOWN", "REFERENCE_DATE", "FaultSettings", "SandboxServer", "generate"]
