"""The nemesis heals whatever is injected, whatever happens, and records it in the history."""

from __future__ import annotations

from typing import Any

import pytest

from chaos_lab.faults.base import Fault, Nemesis, _heal_everything_at_exit
from chaos_lab.workload.history import History, fault_windows


class Recording(Fault):
    kind = "recording"

    def __init__(self, log: list[str], name: str, fail_heal: bool = False, fail_inject: bool = False) -> None:
        super().__init__(name=name)
        self.log, self.name, self.fail_heal, self.fail_inject = log, name, fail_heal, fail_inject

    def inject(self) -> dict[str, Any]:
        self.log.append(f"inject {self.name}")
        if self.fail_inject:
            raise RuntimeError("half injected")
        return {"ok": True}

    def heal(self) -> None:
        self.log.append(f"heal {self.name}")
        if self.fail_heal:
            raise RuntimeError("heal refused")


def test_context_heals_newest_first_even_on_error() -> None:
    log: list[str] = []
    history = History()
    with pytest.raises(ZeroDivisionError), Nemesis(history) as nemesis:
        nemesis.inject("a", Recording(log, "a"))
        nemesis.inject("b", Recording(log, "b"))
        1 / 0  # noqa: B018
    assert log == ["inject a", "inject b", "heal b", "heal a"]
    windows = fault_windows(history.ops)
    assert [(w.name, w.end is not None) for w in windows] == [("a", True), ("b", True)]
    assert windows[0].result == {"ok": True}


def test_ctrl_c_heals_too() -> None:
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt), Nemesis(History()) as nemesis:
        nemesis.inject("a", Recording(log, "a"))
        raise KeyboardInterrupt
    assert log == ["inject a", "heal a"]


def test_a_failing_heal_does_not_stop_the_others() -> None:
    log: list[str] = []
    nemesis = Nemesis(History())
    nemesis.inject("a", Recording(log, "a"))
    nemesis.inject("b", Recording(log, "b", fail_heal=True))
    errors = nemesis.heal_all()
    assert errors == ["b: heal refused"]
    assert log[-2:] == ["heal b", "heal a"]
    assert nemesis.active == {}


def test_a_half_injected_fault_is_still_healed() -> None:
    log: list[str] = []
    history = History()
    nemesis = Nemesis(history)
    with pytest.raises(RuntimeError):
        nemesis.inject("a", Recording(log, "a", fail_inject=True))
    nemesis.heal_all()
    assert log == ["inject a", "heal a"]
    assert [op.type for op in history.ops if op.f == "inject"] == ["invoke", "fail"]


def test_exit_hook_heals_live_nemeses() -> None:
    log: list[str] = []
    nemesis = Nemesis(History())
    nemesis.inject("a", Recording(log, "a"))
    _heal_everything_at_exit()
    assert log == ["inject a", "heal a"] and not nemesis.active
