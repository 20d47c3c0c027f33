"""CPU starvation: the engine's cgroup gets a few percent of one CPU (CFS quota through the Docker API, as
`docker update --cpu-quota`), as on an oversubscribed host. It keeps running, slowly: timeouts and
health must stay truthful, nothing may be lost or doubled."""

from __future__ import annotations

from typing import Any

from chaos_lab.faults.base import Fault
from chaos_lab.faults.lab_ops import ENGINE

PERIOD_US = 100_000


class CpuStarve(Fault):
    kind = "cpu_starve"

    def __init__(self, lab: Any, cpu_fraction: float = 0.05) -> None:
        super().__init__(cpu_fraction=cpu_fraction)
        self.lab, self.fraction = lab, cpu_fraction

    def inject(self) -> dict[str, Any]:
        quota = max(1000, int(PERIOD_US * self.fraction))
        self.lab.update_resources(ENGINE, cpu_period=PERIOD_US, cpu_quota=quota)
        return {"cpu_period_us": PERIOD_US, "cpu_quota_us": quota}

    def heal(self) -> None:
        self.lab.update_resources(ENGINE, cpu_quota=-1)
