"""DockerLab's readiness: a service is up when its container runs and it answers over its published port, and
`up` starts the engine only after the broker and the proxy answer (its start-up reconcile asks them)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from chaos_lab.lab import docker as docker_lab
from chaos_lab.lab.docker import READY_PATHS, SERVICES, UP_STAGES, DockerLab, LabError


class _Container:
    def __init__(self, status: str, exit_code: int = 0) -> None:
        self.attrs = {"State": {"Status": status, "ExitCode": exit_code}}


def _lab(
    monkeypatch: pytest.MonkeyPatch, status: dict[str, str], answers: dict[str, Iterator[bool]]
) -> DockerLab:
    lab = DockerLab(project="solat-lab-unit")
    monkeypatch.setattr(lab, "container", lambda service: _Container(status[service], 1))
    monkeypatch.setattr(lab, "_answers", lambda s: next(answers[s]))
    monkeypatch.setattr(lab, "logs", lambda service, since=None: "boom: the last line\n")
    monkeypatch.setattr(docker_lab.time, "sleep", lambda s: None)
    return lab


def test_a_running_service_waits_until_it_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    replies = iter([False, False, True])
    _lab(monkeypatch, {"engine": "running"}, {"engine": replies}).wait_healthy("engine", timeout=5)
    assert next(replies, None) is None  # asked until it answered, then no more


def test_one_that_never_answers_is_named_with_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = _lab(monkeypatch, {"broker": "running"}, {"broker": itertools.repeat(False)})
    with pytest.raises(LabError, match=r"broker.*not answering /health"):
        lab.wait_healthy("broker", timeout=0.05)


def test_an_exited_container_fails_at_once_with_its_last_line(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = _lab(monkeypatch, {"engine": "exited"}, {"engine": iter([])})
    with pytest.raises(LabError, match="engine exited with code 1: boom: the last line"):
        lab.wait_healthy("engine", timeout=5)


def test_up_starts_the_engine_after_the_broker_and_proxy_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    lab = DockerLab(project="solat-lab-unit")
    monkeypatch.setattr(lab, "check_images", lambda: None)
    monkeypatch.setattr(lab, "_compose", lambda *args, **kw: calls.append(("compose", *args)) or "")
    monkeypatch.setattr(lab, "wait_healthy", lambda service=None, timeout=0: calls.append(("ready", service)))
    lab.up()
    engine_up = calls.index(("compose", "up", "-d", "--no-deps", "--remove-orphans", "engine"))
    assert {("ready", s) for s in ("broker", "toxiproxy", "datavol")} <= set(calls[:engine_up])
    assert calls[-1] == ("ready", "engine")
    assert sorted(s for stage in UP_STAGES for s in stage) == sorted(SERVICES)
    assert set(READY_PATHS) == set(docker_lab.PORTS)  # every published service has a readiness request


def test_up_takes_the_project_down_when_a_stage_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    downs: list[Any] = []
    lab = DockerLab(project="solat-lab-unit")
    monkeypatch.setattr(lab, "check_images", lambda: None)
    monkeypatch.setattr(lab, "_compose", lambda *args, **kw: "")

    def never(service: str | None = None, timeout: float = 0) -> None:
        raise LabError(f"{service} not answering")

    monkeypatch.setattr(lab, "wait_healthy", never)
    monkeypatch.setattr(lab, "down", lambda: downs.append(True))
    with pytest.raises(LabError):
        lab.up()
    assert downs == [True]
