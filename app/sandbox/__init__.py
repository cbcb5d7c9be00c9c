"""A local stand-in for Ordergroove's REST API (CONTRACT section 6).

Data: :mod:`.known` (the named fixtures), :mod:`.catalog`, :mod:`.records` (record builders),
:mod:`.fixtures`, :mod:`.generator`, :mod:`.dataset`. Serving: :mod:`.wsgi` (the gate),
:mod:`.reads`, :mod:`.control`, :mod:`.protocol` (params, pagination), :mod:`.faults`,
:mod:`.stats`, :mod:`.server`.

>>> with SandboxServer(latency_ms=20) as sb:  # doctest: +SKIP
...     requests.get(f"{sb.base_url}/customers/{KNOWN['reference']}/", headers={"x-api-key": sb.api_key})
"""

from .faults import FaultSettings
from .generator import generate
from .known import KNOWN
from .records import REFERENCE_DATE
from .server import SandboxServer

__all__ = ["KNOWN", "REFERENCE_DATE", "FaultSettings", "SandboxServer", "generate"]
