"""Position snapshots come back after a failed write: once the fault that made a snapshot write fail is
healed, the engine writes a snapshot again within `within_s` (while it keeps running). An engine whose
snapshotter gives up after one failure, or forgets what it failed to write, looks healthy and serves a
snapshot that falls further behind the ledger every minute.

Judged from the engine's reach events (`snapshot_write_failed`, `snapshot_written`). With no failed snapshot
write there is nothing to judge, and a heal followed by a restart before the horizon says nothing either."""

from __future__ import annotations

from chaos_lab.checkers.common import judge, unknown, windows
from chaos_lab.effects import Effect
from chaos_lab.models import Observation, Verdict

NAME = "snapshots_resume"
APPLIES_TO = frozenset({Effect.DISK_FULL, Effect.LEDGER_UNWRITABLE})
#: three of the engine's default 5 s snapshot intervals (a scenario with a shorter one names its own)
AUTO_PARAMS = {"within_s": 15.0}


def check(obs: Observation, within_s: float = 3.0) -> Verdict:
    failed = [e.time for e in obs.reach if e.name == "snapshot_write_failed"]
    written = [e.time for e in obs.reach if e.name == "snapshot_written"]
    if not failed:
        return unknown(NAME, "no snapshot write failed")
    end = obs.history[-1].time if obs.history else 0.0
    # The engine stops being judged at its first stop after the heal: a fault that stops it, or recovery.
    stops = [w.start for w in windows(obs) if w.has(Effect.ENGINE_DOWN)]
    stops += [op.time for op in obs.history if op.phase == "recover"][:1]
    healed = [
        w for w in windows(obs) if w.end is not None and any(w.start <= t <= w.end + 0.5 for t in failed)
    ]
    problems: list[str] = []
    judged: list[dict[str, object]] = []
    for w in healed:
        assert w.end is not None
        horizon = w.end + within_s
        if horizon > end or any(w.end <= t < horizon for t in stops):
            continue
        again = [t for t in written if w.end < t <= horizon]
        judged.append({"fault": w.name, "healed_t": round(w.end, 3), "written_after": len(again)})
        if not again:
            problems.append(f"no snapshot written within {within_s:g}s after {w.name} was healed")
    evidence = {"failed_writes": len(failed), "writes": len(written), "judged": judged}
    if not judged and not problems:
        return unknown(NAME, "no heal with the engine running long enough after it", evidence)
    return judge(
        NAME, problems, evidence, lambda: f"{len(failed)} failed snapshot writes; one after each heal"
    )
