"""Slow damage on hand-built observations: resources_bounded fails on a descriptor, thread, file or memory
leak and passes a flat engine; idle_quiet fails on a file written while idle and passes a quiet one; both
answer "nothing to judge" without samples. The sampler's parsing of /proc and of the volume's listing is
checked on the outputs the real commands print (tests/lab/test_endurance_lab.py runs them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chaos_lab.checkers import idle_quiet, resources_bounded
from chaos_lab.lab.resources import ResourceSample, SampleError, parse_files, parse_proc, samples_in
from chaos_lab.models import Observation, Op
from chaos_lab.synthetic import inject_value

T0 = datetime(2026, 12, 1, tzinfo=UTC)
FILES = {"ledger.log": "61440 1733300000.10", "positions.snapshot.json": "120 1733300001.20"}


def _sample(
    rss: int = 60_000, fds: int = 12, threads: int = 9, files: dict[str, str] | None = None, **over: Any
) -> dict[str, Any]:
    listed = FILES if files is None else files
    size = sum(int(v.split()[0]) for v in listed.values())
    base = {
        "rss_kib": rss,
        "threads": threads,
        "fds": fds,
        "data_files": len(listed),
        "data_bytes": size,
        "files": listed,
    }
    return ResourceSample.model_validate({**base, **over}).model_dump()


class Hist:
    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.t = 0.0

    def op(self, process: str, type_: str, f: str, dt: float = 0.001, **kw: Any) -> None:
        self.t += dt
        self.ops.append(
            Op(
                index=len(self.ops),
                process=process,
                type=type_,
                f=f,
                time=self.t,  # type: ignore[arg-type]
                wall=T0 + timedelta(seconds=self.t),
                **kw,
            )
        )

    def signals(self, n: int) -> None:
        for _ in range(n):
            self.op("workload", "invoke", "signal")
            self.op("workload", "ok", "signal", status_code=200)

    def sample(self, dt: float = 0.05, **kw: Any) -> None:
        self.op("sampler", "ok", "resources", dt=dt, value=_sample(**kw))

    def obs(self) -> Observation:
        return Observation(scenario="endurance", history=self.ops)


def _load(rounds: int = 10, per_round: int = 200, **grow: int) -> Hist:
    """A warm-up, a sample, then rounds of signals each followed by a sample; `grow` adds per round."""
    h = Hist()
    h.signals(100)
    h.sample()
    for i in range(rounds):
        h.signals(per_round)
        h.sample(
            rss=60_000 + grow.get("rss", 0) * i + 300 * (i % 2),
            fds=12 + grow.get("fds", 0) * i + i % 3,
            threads=9 + grow.get("threads", 0) * i,
        )
    return h


def test_a_flat_engine_is_within_its_bounds() -> None:
    v = resources_bounded.check(_load().obs())
    assert v.ok, v.summary
    assert v.evidence["signals"] == 1800 and "descriptors +0" in v.summary  # from the 2nd sample


@pytest.mark.parametrize(
    "grow, what",
    [
        ({"fds": 20}, "open descriptors grew by 180"),  # a directory fd left open per snapshot
        ({"threads": 5}, "threads grew by 45"),  # a thread per request, never joined
        ({"rss": 2000}, "memory grew 10167 KiB per 1000 signals"),  # every record kept in a list
    ],
)
def test_a_leak_grows_with_the_signals_and_is_flagged(grow: dict[str, int], what: str) -> None:
    v = resources_bounded.check(_load(**grow).obs())
    assert not v.ok and what in v.summary, v.summary


def test_files_left_behind_are_flagged() -> None:
    h = _load(rounds=2)
    h.signals(600)
    h.sample(
        files={**FILES, **{f"positions.{i}.tmp": f"120 1733300002.{i}" for i in range(30)}}, data_files=32
    )
    v = resources_bounded.check(h.obs())
    assert not v.ok and "files on the data volume grew by 30" in v.summary, v.summary


def test_too_few_signals_or_a_restart_is_nothing_to_judge() -> None:
    short = resources_bounded.check(_load(rounds=2, per_round=100, fds=50).obs())
    assert short.ok and "nothing to judge" in short.summary
    h = _load(fds=20)
    restarted = Hist()
    restarted.ops = h.ops[:1000]
    restarted.t = h.ops[999].time
    restarted.op("nemesis", "invoke", "inject", fault="k", value=inject_value("kill"))
    restarted.op("nemesis", "ok", "inject", fault="k", value=inject_value("kill"))
    restarted.ops += [
        op.model_copy(update={"index": len(restarted.ops) + i, "time": restarted.t + op.time})
        for i, op in enumerate(h.ops[1000:])
    ]
    v = resources_bounded.check(restarted.obs())
    assert v.ok and "restarted" in v.summary, v.summary
    assert resources_bounded.check(Hist().obs()).ok


def _idle(after: dict[str, str], settle: float = 1.5, idle: float = 3.0) -> Observation:
    h = _load(rounds=1)
    h.sample(dt=settle)
    h.sample(dt=idle, files=after)
    return h.obs()


def test_a_quiet_engine_writes_nothing_while_idle() -> None:
    v = idle_quiet.check(_idle(FILES))
    assert v.ok and "nothing written" in v.summary, v.summary
    assert len(v.evidence["idle_windows"]) == 1  # the samples during the load are not idle


def test_a_snapshot_rewritten_while_idle_is_flagged() -> None:
    rewritten = {**FILES, "positions.snapshot.json": "120 1733300009.90"}  # same size, new mtime
    v = idle_quiet.check(_idle(rewritten))
    assert not v.ok and "positions.snapshot.json written" in v.summary, v.summary
    created = idle_quiet.check(_idle({**FILES, "touch.tmp": "0 1733300010.00"}))
    assert not created.ok and "touch.tmp created" in created.summary


def test_no_idle_stretch_is_nothing_to_judge() -> None:
    too_soon = idle_quiet.check(_idle({**FILES, "x": "1 1"}, settle=0.2))  # the first sample not settled
    assert too_soon.ok and "nothing to judge" in too_soon.summary
    short = idle_quiet.check(_idle({**FILES, "x": "1 1"}, idle=0.5))
    assert short.ok and "nothing to judge" in short.summary


def test_proc_and_listing_parse_what_the_commands_print() -> None:
    assert parse_proc("VmRSS:\t   61234 kB\nThreads:\t9\n14\n") == (61234, 9, 14)
    with pytest.raises(SampleError):
        parse_proc("sh: /proc/1/status: No such file\n")
    listing = (
        "61440 1733300000.1000000000 ledger.log\n12 1733300001.5 bars/EUR USD/M1.parquet\ntotal 3 61500\n"
    )
    assert parse_files(listing) == (
        3,
        61500,
        {"ledger.log": "61440 1733300000.1000000000", "bars/EUR USD/M1.parquet": "12 1733300001.5"},
    )
    assert parse_files("total 0 0\n") == (0, 0, {})
    with pytest.raises(SampleError):
        parse_files("")


def test_samples_are_read_back_from_the_history() -> None:
    h = _load(rounds=2)
    got = samples_in(h.obs().history)
    assert len(got) == 3 and all(isinstance(s, ResourceSample) for _, s in got)
