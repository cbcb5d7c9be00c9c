"""The resilience scenarios of ``make soak``, one module each, sized by arguments so the fast tests reuse them.

Shared pieces (sizes, results, signed lookups, the API under test) are in :mod:`.common`.
"""

from .common import (DEFAULT_FAULTS, Customers, ScenarioResult, Sizes, api_running, basic, detailed, lookup_mix,
                     pick_customers, signed, valid_lookup_answer, warm_up)
from .data_dir import data_dir_unwritable, fill
from .events import EventCounter, events_in
from .malformed import malformed_burst
from .shared_servers import postgres_stopped, redis_stopped
from .upstream import upstream_errors, upstream_hangs
from .worker_killed import worker_killed

ALL = (upstream_errors, upstream_hangs, worker_killed, data_dir_unwritable, malformed_burst, redis_stopped,
       postgres_stopped)

__all__ = ["ALL", "DEFAULT_FAULTS", "Customers", "EventCounter", "ScenarioResult", "Sizes", "api_running", "basic",
           "data_dir_unwritable", "detailed", "events_in", "fill", "lookup_mix", "malformed_burst", "pick_customers",
           "postgres_stopped", "redis_stopped", "signed", "upstream_errors", "upstream_hangs", "valid_lookup_answer",
           "warm_up", "worker_killed"]
