"""The hostile suite's shared warehouse: one small sync, copied by every test that damages it."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from pipelines.sync import SyncRange, run_sync
from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED
from tests.faults.helpers import settings_for
from tests.hostile.helpers import FIRST, LAST, SOURCE


@pytest.fixture(scope="session")
def synced_warehouse(tmp_path_factory) -> Path:
    """A warehouse synced for FIRST..LAST from the simulator, with its serving copy and Parquet export."""
    path = tmp_path_factory.mktemp("hostile") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env, Simulator(seed=SIMULATOR_SEED, now=SIMULATOR_NOW) as simulator:
        env.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
        run_sync(settings_for(simulator, path).model_copy(update={"source": SOURCE}), SyncRange(FIRST, LAST))
    return path


@pytest.fixture
def warehouse(synced_warehouse, tmp_path) -> Path:
    """A private copy of the shared warehouse and its serving copy, in this test's folder."""
    for name in ("warehouse.duckdb", "serving.duckdb"):
        shutil.copy(synced_warehouse.with_name(name), tmp_path / name)
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def in_process_cli():
    """For tests that call `pipelines.cli.main` in-process: it sets the process's umask (files
    private) and adds its stderr handler to the package logger; both are put back afterwards."""
    umask = os.umask(0o022)
    os.umask(umask)
    logger = logging.getLogger("pipelines")
    handlers, level = list(logger.handlers), logger.level
    yield
    os.umask(umask)
    logger.handlers[:] = handlers
    logger.setLevel(level)
