"""One rule for how many labs a machine runs (chaos_lab/lab/jobs.py): the Makefile's JOBS and explore's
default `--parallel` read it, `make test`'s TEST_JOBS adds one; the Makefile runs it with the system Python,
before the venv exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chaos_lab.cli import main as cli
from chaos_lab.lab import jobs

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("cores", "memory_gib", "labs"),
    [(2, 24, 2), (8, 64, 4), (8, 5, 2), (1, 24, 1), (4, 1, 1)],
    ids=["lab-host", "at-most-4", "memory-bound", "one-core", "tiny-memory"],
)
def test_one_lab_per_core_per_2_gib_at_most_4(cores: int, memory_gib: int, labs: int) -> None:
    assert jobs.machine_jobs(cores, memory_gib) == labs


@pytest.mark.parametrize(
    ("cores", "memory_gib", "workers"),
    [(2, 24, 3), (8, 64, 5), (2, 4, 2), (1, 24, 1), (4, 6, 3)],
    ids=["lab-host", "many-cores", "no-memory-for-one-more", "one-core", "memory-bound"],
)
def test_make_test_runs_one_worker_more_than_the_labs(cores: int, memory_gib: int, workers: int) -> None:
    assert jobs.test_workers(cores, memory_gib) == workers


@pytest.mark.parametrize("flag", [[], ["--test-workers"]], ids=["labs", "test-workers"])
def test_the_makefile_runs_it_with_the_standard_library_only(flag: list[str]) -> None:
    out = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "chaos_lab/lab/jobs.py"), *flag],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    assert int(out) == (jobs.test_workers() if flag else jobs.machine_jobs()) >= 1
    assert " ".join(["chaos_lab/lab/jobs.py", *flag]) in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_explore_defaults_to_the_machine_rule() -> None:
    args = cli._parser().parse_args(["explore"])
    assert args.parallel == jobs.machine_jobs()
