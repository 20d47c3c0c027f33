"""The CPU starvation fault sets the CFS period and quota the scenario asks for, within Docker's limits, and
proves its reach by the kernel's own throttle count over its window."""

from __future__ import annotations

from typing import Any

import pytest

from chaos_lab.faults.cpu_starve import CpuStarve


class _Lab:
    def __init__(self, throttling: list[tuple[int, float]] | None = None) -> None:
        self.updates: list[dict[str, Any]] = []
        self.throttling = throttling or [(0, 0.0), (0, 0.0)]

    def update_resources(self, service: str, **limits: Any) -> None:
        self.updates.append({"service": service, **limits})

    def cpu_throttling(self, service: str) -> tuple[int, float]:
        if not self.throttling:
            raise RuntimeError("stats refused")
        return self.throttling.pop(0)


def test_a_long_period_gives_long_stalls() -> None:
    lab = _Lab()
    fault = CpuStarve(lab, cpu_fraction=0.05, period_s=1.0)
    assert fault.inject() == {"cpu_period_us": 1_000_000, "cpu_quota_us": 50_000}
    fault.heal()
    assert lab.updates == [
        {"service": "engine", "cpu_period": 1_000_000, "cpu_quota": 50_000},
        {"service": "engine", "cpu_quota": -1},
    ]


def test_period_and_quota_stay_within_what_docker_accepts() -> None:
    assert CpuStarve(_Lab(), cpu_fraction=0.001, period_s=5.0).inject() == {
        "cpu_period_us": 1_000_000,
        "cpu_quota_us": 1_000,
    }
    assert CpuStarve(_Lab(), cpu_fraction=0.05).inject() == {"cpu_period_us": 100_000, "cpu_quota_us": 5_000}


def test_the_heal_reports_the_throttles_of_its_window_only() -> None:
    fault = CpuStarve(_Lab([(7, 1.5), (10, 4.25)]), cpu_fraction=0.05, period_s=1.0)
    fault.inject()
    assert fault.heal() == {"throttled_periods": 3, "throttled_s": 2.75,
                            "events": [{"event": "cpu_throttled", "periods": 3, "seconds": 2.75}]}


@pytest.mark.parametrize(
    ("counts", "why"),
    [
        ([(4, 1.0), (4, 1.0)], "never throttled: the engine stayed within its quota"),
        ([(9, 3.0), (1, 0.1)], "the count went back: a new container"),
        ([(4, 1.0)], "the count could not be read at the heal"),
    ],
)
def test_no_throttle_no_reach_event_and_the_quota_is_lifted(
    counts: list[tuple[int, float]], why: str
) -> None:
    lab = _Lab(counts)
    fault = CpuStarve(lab, cpu_fraction=0.05, period_s=1.0)
    fault.inject()
    measured = fault.heal()
    assert not (measured or {}).get("events"), why
    assert lab.updates[-1] == {"service": "engine", "cpu_quota": -1}


def test_a_heal_without_an_inject_only_lifts_the_quota() -> None:
    lab = _Lab()
    assert CpuStarve(lab).heal() is None and lab.updates == [{"service": "engine", "cpu_quota": -1}]
