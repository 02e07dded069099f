"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from admin_api_simulator import Simulator

SIMULATOR_SEED = 7
SIMULATOR_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """An Admin API simulator on a free port: seed 7, clock pinned to 2026-11-20T12:00:00Z."""
    with Simulator(seed=SIMULATOR_SEED, port=0, now=SIMULATOR_NOW) as sim:
        yield sim
