"""An idle engine writes nothing: between two resource samples at least `min_idle_s` apart, with no request,
fault or operator action from `settle_s` before the first until the second, no file on the data volume
appears, disappears or changes (size or modification time).

By design the engine writes only when something changed: a ledger record per event, a snapshot when
positions moved, the kill-switch file when it is switched. An engine that rewrites its snapshot every interval
or touches a file per health check wears the disk for nothing, and on a nearly full disk every needless write
is one more chance to fail. Judged from the `sample_resources` steps (chaos_lab/lab/resources.py); with no
such pair of samples there is nothing to judge."""

from __future__ import annotations

import itertools

from chaos_lab.checkers.common import judge, unknown, windows
from chaos_lab.lab.resources import ResourceSample, samples_in
from chaos_lab.models import Observation, Verdict

NAME = "idle_quiet"
QUIET_PROCESSES = ("probe", "sampler")  # /health reads and the samples themselves are not work


def _changes(before: ResourceSample, after: ResourceSample) -> list[str]:
    both = sorted(before.files.keys() & after.files.keys())
    changed = [p for p in both if before.files[p] != after.files[p]]
    return (
        [f"{p} written" for p in changed]
        + [f"{p} created" for p in sorted(after.files.keys() - before.files.keys())]
        + [f"{p} removed" for p in sorted(before.files.keys() - after.files.keys())]
        + (
            [f"{after.data_bytes - before.data_bytes:+d} bytes on the volume"]
            if after.data_bytes != before.data_bytes and not changed
            else []
        )
    )


def check(obs: Observation, min_idle_s: float = 2.0, settle_s: float = 1.0) -> Verdict:
    samples = samples_in(obs.history)
    busy = [op.time for op in obs.history if op.process not in QUIET_PROCESSES]
    faults = windows(obs)
    end = obs.history[-1].time if obs.history else 0.0
    judged: list[dict[str, object]] = []
    problems: list[str] = []
    for (ta, a), (tb, b) in itertools.pairwise(samples):
        quiet_from = ta - settle_s
        if tb - ta < min_idle_s or any(quiet_from <= t <= tb for t in busy):
            continue
        if any(w.start <= tb and (w.end if w.end is not None else end) >= quiet_from for w in faults):
            continue
        changes = _changes(a, b)
        judged.append({"from_t": round(ta, 2), "to_t": round(tb, 2), "changes": changes[:20]})
        if changes:
            what = ", ".join(changes[:5])
            problems.append(f"idle for {tb - ta:.1f}s the engine changed the data volume: {what}")
    evidence: dict[str, object] = {"idle_windows": judged}
    if not judged:
        return unknown(NAME, "no idle stretch between two resource samples", evidence)
    seconds = sum(float(str(j["to_t"])) - float(str(j["from_t"])) for j in judged)
    return judge(
        NAME, problems, evidence, lambda: f"nothing written on the data volume while idle ({seconds:.1f}s)"
    )
