"""File faults, applied while the engine is stopped: what a crash, a bad sector or a careless operator leaves.

Each fault reads the file first (through the lab) and aims at a real record boundary, so the history names
the exact byte offset it damaged and the checkers can hold the engine to it. This module holds what the file
kinds share; each kind is its own module."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from chaos_lab.bounds import Between
from chaos_lab.faults.base import Fault
from chaos_lab.lab.protocol import Lab

Fraction = Annotated[float, Between(0.0, 1.0)]  # where in the file, drawn from the seed


# a path component under /data/bars: the engine's own name rule, so nothing escapes the directory
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


def pick(fraction: float, lo: int, hi: int) -> int:
    """An integer in [lo, hi] chosen by a generator-supplied fraction in [0, 1): reproducible from the
    seed."""
    return lo + min(hi - lo, int(fraction * (hi - lo + 1)))


class FileFault(Fault):
    def __init__(self, lab: Lab, **params: Any) -> None:
        super().__init__(**params)
        self.lab = lab

    def heal(self) -> None:
        """Nothing to undo: the damage is the test, the engine's recovery is what is judged."""
