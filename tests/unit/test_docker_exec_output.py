"""DockerLab.exec tells a command that printed nothing from one whose output Docker lost (docker/docker-py
#2042: the exit code arrives, the output does not): every command ends its output with an end marker."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from chaos_lab.lab.docker import DockerLab, LabError, with_end_marker, without_end_marker


def _sh(cmd: list[str]) -> tuple[int, str]:
    done = subprocess.run(with_end_marker(cmd), capture_output=True, text=True, check=False)
    return done.returncode, done.stdout


@pytest.mark.parametrize("printed", ["", "12 34", "12 34\n", "a\n\nb\n"])
def test_the_command_output_comes_back_exactly(printed: str) -> None:
    rc, raw = _sh(["printf", "%s", printed])
    assert rc == 0 and without_end_marker(raw) == printed


def test_the_exit_code_is_the_command_s() -> None:
    rc, raw = _sh(["sh", "-c", "echo no; exit 3"])
    assert rc == 3 and without_end_marker(raw) == "no\n"


@pytest.mark.parametrize("cut", [0, 5, 20])
def test_a_lost_or_cut_output_is_none(cut: int) -> None:
    _rc, raw = _sh(["printf", "12 34\n"])
    assert without_end_marker(raw[:cut]) is None


class _Container:
    """exec_run runs the wrapped command for real, but the first `losses` outputs are dropped."""

    def __init__(self, losses: int) -> None:
        self.losses, self.calls = losses, 0

    def exec_run(self, cmd: list[str], user: str = "") -> SimpleNamespace:
        self.calls += 1
        done = subprocess.run(cmd, capture_output=True, check=False)
        lost = self.calls <= self.losses
        return SimpleNamespace(exit_code=done.returncode, output=b"" if lost else done.stdout)


def _lab(monkeypatch: pytest.MonkeyPatch, container: _Container) -> DockerLab:
    lab = DockerLab(project="solat-lab-unit")
    monkeypatch.setattr(lab, "container", lambda service: container)
    return lab


def test_an_idempotent_command_is_asked_again_until_its_output_arrives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    container = _Container(losses=2)
    assert _lab(monkeypatch, container).exec("engine", ["echo", "7"], idempotent=True) == (0, "7\n")
    assert container.calls == 3


def test_any_other_command_runs_once_and_says_its_output_was_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    container = _Container(losses=1)
    assert _lab(monkeypatch, container).exec("engine", ["echo", "7"]) == (0, None)
    assert container.calls == 1
    with pytest.raises(LabError, match="lost the output of echo three times"):
        _lab(monkeypatch, _Container(losses=3)).exec("engine", ["echo", "7"], idempotent=True)
