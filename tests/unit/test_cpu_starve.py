"""The CPU starvation fault sets the CFS period and quota the scenario asks for, within Docker's limits."""

from __future__ import annotations

from typing import Any

from chaos_lab.faults.cpu_starve import CpuStarve


class _Lab:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def update_resources(self, service: str, **limits: Any) -> None:
        self.updates.append({"service": service, **limits})


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
