"""Replace the kill-switch file with a torn JSON document (the engine must fail closed, not open)."""

from __future__ import annotations

from typing import Any

from chaos_lab.effects import Effect
from chaos_lab.faults.base import goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.file_fault import FileFault
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import KILL_SWITCH, read_data_file, run_on_data


class CorruptKillSwitch(FileFault):
    """Replace the kill-switch file with a torn JSON document (the engine must fail closed, not open)."""

    kind = "corrupt_kill_switch"
    explore = ExploreRule(no_params, (0.0, 0.0), "file", weight=0.5)
    effects = frozenset({Effect.KILL_SWITCH_DAMAGED})

    may_trip_kill_switch = True

    goals = (goal("kill_switch_unreadable", anywhere=True, why="start-up met the corrupt file"),)
    GARBAGE = '{"active": tr'

    def __init__(self, lab: Lab) -> None:
        super().__init__(lab)

    def inject(self) -> dict[str, Any]:
        before = read_data_file(self.lab, KILL_SWITCH)
        run_on_data(self.lab, ["sh", "-c", 'printf %s "$1" > "$2"', "sh", self.GARBAGE, KILL_SWITCH])
        return {"path": KILL_SWITCH, "bytes_before": len(before), "written": self.GARBAGE}
