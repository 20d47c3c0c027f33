"""How the explorer draws one fault kind: each kind's class carries its rule (`Fault.explore`), so a new kind
joins random exploration by declaring one in its own file."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

#: "process" (one at a time), "file" (engine stopped around it), "link", "disk", "clock", "resource",
#: "broker": every role but process and file may overlap any other fault
Role = Literal["process", "file", "link", "disk", "clock", "resource", "broker"]


@dataclass(frozen=True)
class ExploreRule:
    params: Callable[[random.Random], dict[str, Any]]
    hold: tuple[float, float]  # seconds the fault stays on (engine down time for a kill)
    role: Role
    terminal: bool = False  # after it the engine must refuse to trade: nothing may follow
    weight: float = 1.0  # file faults are slow (stop, damage, start) and ledger corruption ends a schedule
    #: parameters that fail every request while the fault holds (a link kind): a crash under one restarts the
    #: engine into a start-up reconcile that cannot ask the broker anything
    breaking: Callable[[random.Random], dict[str, Any]] | None = None


def no_params(rng: random.Random) -> dict[str, Any]:
    return {}
