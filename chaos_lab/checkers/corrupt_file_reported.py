"""A damaged data file is reported, not served and not a crash: reading it answers a 4xx JSON error naming
the file's path and a byte offset, and the engine keeps answering."""

from __future__ import annotations

from chaos_lab.checkers.common import judge, unknown, windows
from chaos_lab.effects import Effect
from chaos_lab.models import Observation, Verdict

NAME = "corrupt_file_reported"
APPLIES_TO = frozenset({Effect.BARS_DAMAGED})


def check(obs: Observation) -> Verdict:
    damage = [w for w in windows(obs) if w.has(Effect.BARS_DAMAGED)]
    if not damage:
        return unknown(NAME, "no data file was damaged")
    path = str(damage[-1].result["path"])
    tail = path.removeprefix("/data/")
    # A read answered before the damage saw the whole file: only the reads after it are judged.
    after = damage[0].start
    reads = [op for op in obs.history if op.f == "bars_read" and op.type != "invoke" and op.time > after]
    evidence: dict[str, object] = {
        "path": path,
        "reads": [{"status": op.status_code, "type": op.type, "body": op.value} for op in reads],
    }
    if not reads:
        return unknown(NAME, "the damaged file was never read back", evidence)
    bad = []
    for op in reads:
        text = f"{op.value.get('reason', '')} {op.value.get('path', '')}"
        if op.status_code is None or not 400 <= op.status_code < 500:
            bad.append(f"status {op.status_code} ({op.type})")
        elif tail not in text:
            bad.append(f"error does not name {tail}: {text.strip()!r}")
        elif op.value.get("offset") is None and "offset" not in text:
            bad.append("error names no byte offset")
    return judge(
        NAME,
        bad,
        evidence,
        lambda: f"{len(reads)} reads of {tail} answered {reads[-1].status_code} naming path and offset",
    )
