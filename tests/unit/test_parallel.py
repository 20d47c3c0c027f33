"""Lab instances without Docker: each has its own project and ports, a pool of one is the base lab, a failed
`up` takes every instance down, and a worker's crash stops the others and reaches the caller."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from chaos_lab.lab.pool import LabPool, Work, Workers, instance

BASE = {"LAB_ENGINE_PORT": "18480", "LAB_TOXIPROXY_PORT": "18874", "LAB_BROKER_PORT": "18990"}


def test_instances_have_their_own_project_and_ports() -> None:
    envs = [instance("solat-lab-d", BASE, i, 3) for i in (1, 2, 3)]
    assert [p for p, _ in envs] == ["solat-lab-d1", "solat-lab-d2", "solat-lab-d3"]
    ports = [e[v] for _, e in envs for v in ("LAB_ENGINE_PORT", "LAB_TOXIPROXY_PORT", "LAB_BROKER_PORT")]
    assert len(set(ports)) == 9 and min(int(p) for p in ports) == 19000
    assert all(e["COMPOSE_PROJECT_NAME"] == p for p, e in envs)
    assert instance("solat-lab-d", BASE, 1, 1) == ("solat-lab-d", BASE)  # a pool of one is the base lab


class FakeLab:
    made: ClassVar[list[FakeLab]] = []

    def __init__(self, project: str, env: dict[str, str]) -> None:
        self.project, self.env, self.calls = project, env, []
        FakeLab.made.append(self)

    def up(self) -> None:
        self.calls.append("up")
        if self.project.endswith("2"):
            raise RuntimeError("engine unhealthy")

    def down(self) -> None:
        self.calls.append("down")


def test_failed_up_takes_every_instance_down() -> None:
    FakeLab.made.clear()
    pool = LabPool(3, "p", BASE, lab_factory=FakeLab)
    with pytest.raises(RuntimeError, match="unhealthy"):
        pool.up()
    assert all(lab.calls[-1] == "down" for lab in FakeLab.made)


def test_pool_size_is_bounded() -> None:
    with pytest.raises(ValueError):
        LabPool(0, "p", BASE, lab_factory=FakeLab)


def test_workers_spread_items_and_surface_a_crash() -> None:
    labs = ["a", "b"]
    seen: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2, timeout=10)

    def do(lab: Any, _meter: Any, item: int) -> int:
        if item < 2:
            barrier.wait()  # both labs are busy at once
        seen[lab].append(item)
        return item * 10

    results = sorted(Workers(labs, Work.of(list(range(6))), do).results())
    assert results == [0, 10, 20, 30, 40, 50] and seen["a"] and seen["b"]

    def crash(lab: Any, _meter: Any, item: int) -> int:
        if item == 1:
            raise ValueError("boom")
        return item

    workers = Workers(labs, Work.of(list(range(50))), crash)
    with pytest.raises(ValueError, match="boom"):
        list(workers.results())
    assert workers.work.stop.is_set() and workers.join(5)
