"""A faithful, deterministic simulator of the Anthropic Admin API, served over real HTTP.

The demo, the tests and the benchmarks talk to it instead of api.anthropic.com::

    with Simulator(seed=7, now=datetime(2026, 11, 20, 12, tzinfo=UTC)) as sim:
        httpx.get(sim.base_url + "/v1/organizations/me",
                  headers={"x-api-key": DEMO_ADMIN_KEY, "anthropic-version": "2023-06-01"})

Modules: ``server`` (HTTP, auth, routing, errors, the ``Simulator``), ``reports`` and
``directory`` (the endpoints), ``params`` (query validation), ``faults`` (fault injection),
``org`` (the organization's data as of now), ``entities``, ``traffic``, ``billing`` and
``claude_code`` (how that data is made).
"""

from .faults import MALFORMED_KINDS, TRANSIENT_KINDS, Faults
from .org import ANY, SyntheticOrg
from .server import DEMO_ADMIN_KEY, InjectedFault, RequestStats, Simulator

__all__ = [
    "ANY",
    "DEMO_ADMIN_KEY",
    "MALFORMED_KINDS",
    "TRANSIENT_KINDS",
    "Faults",
    "InjectedFault",
    "RequestStats",
    "Simulator",
    "SyntheticOrg",
]
