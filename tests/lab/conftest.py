"""The Docker lab for tests: one stack per session (up once, down at the end, also on failure, Ctrl-C and
SIGTERM), and a per-test reset that is much cheaper than recreating the stack."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from chaos_lab.lab.docker import PROJECT, DockerLab


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
