"""The session's lab, already up, handed to a command that brings its own lab up and takes it down (a run
session): it must do neither, because the `lab` fixture owns it."""

from __future__ import annotations

from typing import Any


class RunningLab:
    def __init__(self, lab: Any) -> None:
        self._lab = lab

    def up(self) -> None:
        pass

    def down(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lab, name)
