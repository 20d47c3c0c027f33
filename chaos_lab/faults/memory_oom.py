"""A memory cap that ends in a kernel OOM kill of the engine, mid-burst.

The cap is set just above what the engine's cgroup uses now (Docker API, as `docker update --memory`), then a
process in the engine's container allocates past it: the engine's memory growth, made deterministic. The
engine (pid 1) has raised its own oom_score_adj to 1000 first (a process may raise its own score without any
capability), so the kernel's OOM killer picks the engine, and Docker reports State.OOMKilled. Inject returns
only once that was observed; heal lifts the cap and starts the engine again, as a restart policy would.
"""

from __future__ import annotations

import contextlib
import time
from typing import Annotated, Any

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE, engine_running

HEADROOM = 48 * 2**20
NO_CAP = "8g"  # Docker cannot unset a memory limit on a running container; this is far above any lab use
_GROW = "b = []\nfor _ in range(128):\n    b.append(bytearray(8 * 2**20))\n"


class MemoryOOM(Fault):
    kind = "memory_oom"
    explore = ExploreRule(no_params, (0.1, 1.0), "process", weight=0.5)  # it stops the engine
    # down, but its moment is not recorded: not PROCESS_ENDS
    effects = frozenset({Effect.ENGINE_DOWN})
    restarts_engine = "heal"
    goals = (goal("workload_hit", why="the OOM kill struck while signals were being sent"),)

    class Params(FaultParams):
        """Headroom above the engine's usage, up to 1 GiB (the grower allocates 1 GiB); a bounded wait."""

        headroom_bytes: Annotated[int, Between(1, 2**30, " bytes", integer=True)] = HEADROOM
        timeout_s: Annotated[float, Between(0.0, 120.0, " s", lo_open=True)] = 15.0

    def __init__(self, lab: Lab, headroom_bytes: int = HEADROOM, timeout_s: float = 15.0) -> None:
        super().__init__(headroom_bytes=headroom_bytes)
        self.lab, self.headroom, self.timeout_s = lab, headroom_bytes, timeout_s

    def inject(self) -> dict[str, Any]:
        rc, out = self.lab.exec(ENGINE, ["sh", "-c", "echo 1000 > /proc/1/oom_score_adj"], idempotent=True)
        if rc != 0:
            raise FaultError(f"raising the engine's oom_score_adj failed: {(out or '').strip()[:200]}")
        usage = self.lab.memory_usage(ENGINE)
        cap = usage + self.headroom
        self.lab.update_resources(ENGINE, mem_limit=cap, memswap_limit=cap)
        with contextlib.suppress(Exception):  # the exec dies with the container: expected
            self.lab.exec(ENGINE, ["python3", "-c", _GROW])
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            state = self.lab.state(ENGINE)
            if state.get("Status") != "running":
                if not state.get("OOMKilled"):
                    raise FaultError(f"engine stopped without an OOM kill: {state}")
                return {
                    "usage_bytes": usage,
                    "cap_bytes": cap,
                    "exit_code": state.get("ExitCode"),
                    "oom_killed": True,
                }
            time.sleep(0.1)
        raise FaultError(f"engine not OOM-killed within {self.timeout_s}s under a {cap}-byte cap")

    def heal(self) -> None:
        self.lab.update_resources(ENGINE, mem_limit=NO_CAP, memswap_limit=-1)
        if not engine_running(self.lab):
            self.lab.start(ENGINE)
