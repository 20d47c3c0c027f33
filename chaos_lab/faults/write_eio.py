"""write(2) fails with EIO in the engine for a short window: a disk that returns errors on write.

Scope: libfiu's `posix/io/rw/write` point cannot be limited to one file descriptor from fiu-ctrl (the
fd-aware `enable_external` needs code inside the process), so every write(2) of the engine fails, stdout
included; sockets are unaffected (uvicorn sends with send(2), a different point). Python's logging swallows
its own write errors, so the engine survives; scenarios hold this fault for 1-2 s only and the availability
and health_truth checkers prove the engine kept answering and told the truth meanwhile.
"""

from __future__ import annotations

from chaos_lab.effects import Effect
from chaos_lab.faults.base import goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.fiu import FailurePoint

WRITE = "posix/io/rw/write"


class WriteEIO(FailurePoint):
    kind = "write_eio"
    in_process = True
    explore = ExploreRule(no_params, (0.5, 1.5), "disk")
    effects = frozenset({Effect.LEDGER_UNWRITABLE})
    # The engine's own REACH lines are writes to stdout and fail too: the lab's record of the answer tells.
    goals = (goal("signal_answered", status=507, why="a signal was refused: its intent was not written"),)
    point = WRITE
