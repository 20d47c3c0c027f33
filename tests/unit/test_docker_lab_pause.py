"""DockerLab.pause retries runc's "unable to freeze" a bounded number of times and raises anything else."""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest

from chaos_lab.lab import docker as docker_lab
from chaos_lab.lab.docker import PAUSE_ATTEMPTS, DockerLab


class _Container:
    def __init__(self, errors: list[str]) -> None:
        self.errors, self.calls = errors, 0

    def pause(self) -> None:
        self.calls += 1
        if self.errors:
            raise docker.errors.APIError(self.errors.pop(0))


def _lab(monkeypatch: pytest.MonkeyPatch, container: _Container) -> DockerLab:
    lab = DockerLab(project="solat-lab-unit")
    monkeypatch.setattr(lab, "container", lambda service: container)
    monkeypatch.setattr(docker_lab.time, "sleep", lambda s: None)
    return lab


FREEZE = "Cannot pause container x: OCI runtime pause failed: unable to freeze: unknown"


def test_pause_retries_a_freeze_that_timed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    container = _Container([FREEZE, FREEZE])
    _lab(monkeypatch, container).pause("engine")
    assert container.calls == 3


@pytest.mark.parametrize("errors", [[FREEZE] * PAUSE_ATTEMPTS, ["container is not running"]])
def test_pause_raises_other_errors_and_the_last_freeze_failure(
    monkeypatch: pytest.MonkeyPatch, errors: list[str]
) -> None:
    container: Any = _Container(list(errors))
    with pytest.raises(docker.errors.APIError):
        _lab(monkeypatch, container).pause("engine")
    assert container.calls == len(errors)


def test_the_lab_finds_its_compose_file() -> None:
    """The module's place in the package fixes where the repository is: a move must not lose it."""
    assert docker_lab.COMPOSE_FILE.is_file()
