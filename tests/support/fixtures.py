"""pytest fixtures for real broker/engine processes; import them into a conftest or test module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.processes import BrokerProcess, EngineProcess

EngineFactory = Callable[..., EngineProcess]


@pytest.fixture
def broker_server(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A running fake broker with its own SQLite file."""
    proc = BrokerProcess(tmp_path / "broker.sqlite3", tmp_path)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[EngineFactory]:
    """Builds (not starts) engine processes; every one is stopped at teardown."""
    made: list[EngineProcess] = []

    def make(
        data_dir: Path | None = None, broker_url: str = "http://127.0.0.1:9", **env: str
    ) -> EngineProcess:
        proc = EngineProcess(data_dir or tmp_path / "engine-data", broker_url, tmp_path, **env)
        made.append(proc)
        return proc

    try:
        yield make
    finally:
        for proc in made:
            proc.stop()
