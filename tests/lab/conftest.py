"""The Docker lab for tests: one stack per session (up once, down at the end, also on failure, Ctrl-C and
SIGTERM), and a per-test reset that is much cheaper than recreating the stack.

Under pytest-xdist (`make test` runs `-n`) each worker is a session of its own: worker gw<k> takes the Compose
project `<COMPOSE_PROJECT_NAME>-gw<k>` and shifts every lab port by WORKER_PORT_SHIFT*(k+1), so its lab and
every lab its tests start (mutant, captured-start, self-test, explore and pool instances, all derived from
these variables) share nothing with another worker's."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from support.lab_ports import EXPLORE_TEST_PORT

from chaos_lab.lab.docker import PORTS, PROJECT, DockerLab
from chaos_lab.lab.pool import PORT_BASE

# Ports a test's labs derive from: each service's, the pool's base (instances at +10 each) and the explore
# test's own instance. One worker's set spans < 1000 (18080..19052 plus small shifts).
WORKER_PORT_SHIFT = 1000


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    shift = WORKER_PORT_SHIFT * (int(worker.removeprefix("gw")) + 1)
    os.environ["COMPOSE_PROJECT_NAME"] = f"{os.environ.get('COMPOSE_PROJECT_NAME') or PROJECT}-{worker}"
    for var, default in (*PORTS.values(), PORT_BASE, EXPLORE_TEST_PORT):
        os.environ[var] = str(int(os.environ.get(var) or default) + shift)


@pytest.fixture(scope="session")
def lab() -> Iterator[DockerLab]:
    """The running lab (compose/lab.yml), healthy; needs the images (`make images`). The project is
    COMPOSE_PROJECT_NAME (default `solat-lab`): with its own name and LAB_*_PORT values a second lab can run
    beside another one."""
    with DockerLab(project=os.environ.get("COMPOSE_PROJECT_NAME") or PROJECT) as running:
        yield running


@pytest.fixture
def clean_lab(lab: DockerLab) -> DockerLab:
    """The lab with an empty engine volume, an empty broker record, no toxics and a freshly started engine."""
    lab.reset()
    return lab
