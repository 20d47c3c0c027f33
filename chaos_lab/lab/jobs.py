"""How many lab instances this machine runs at once: one per core, at most one per 2 GiB of memory (a lab
holds the engine, the broker, Toxiproxy and a 64 MiB tmpfs), at most 4. On the 2-core, 24 GiB lab host that
is 2; a third lab there bought 13 % and made the runs' timing depend on the host's load (docs/chaos-lab.md,
Timing).

One rule for `make` (JOBS: `python3 chaos_lab/lab/jobs.py`, standard library only, before the venv exists) and
for `chaos-lab explore --parallel`. `make test` runs one pytest worker more than that (`--test-workers`), each
with a lab of its own: most of a lab test is a fault's hold, so with 2 labs' worth of tests the cores idle
(2026-12-06, 2 cores: 3 workers ran the suite in 0.73 of the time of 2, the cores 78 % busy)."""

from __future__ import annotations

import os
import sys

GIB_PER_LAB, MOST = 2, 4


def _memory_gib() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // (1024 * 1024)
    except (OSError, ValueError, IndexError):
        pass
    return GIB_PER_LAB


def machine_jobs(cores: int | None = None, memory_gib: int | None = None) -> int:
    cores = cores if cores is not None else len(os.sched_getaffinity(0))  # what `nproc` counts
    memory_gib = memory_gib if memory_gib is not None else _memory_gib()
    return max(1, min(cores, memory_gib // GIB_PER_LAB, MOST))


def test_workers(cores: int | None = None, memory_gib: int | None = None) -> int:
    """pytest-xdist workers for `make test`: one more than the labs on 2 cores or more, memory permitting."""
    memory_gib = memory_gib if memory_gib is not None else _memory_gib()
    labs = machine_jobs(cores, memory_gib)
    return labs + 1 if labs >= 2 and memory_gib // GIB_PER_LAB > labs else labs


if __name__ == "__main__":
    print(test_workers() if sys.argv[1:] == ["--test-workers"] else machine_jobs())
