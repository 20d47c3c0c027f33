"""A replaced file (kill switch, position snapshot, config, bar file) holds, after a crash, one whole version
the engine wrote (content renamed into place, or complete when its writer closed it), never a torn or empty
mix. The engine promises this (solat_engine/durable.py: "a crash leaves either the old or the new file").
The append-only ledger and the writers' hidden temp files are not judged here."""

from __future__ import annotations

import posixpath

from chaos_lab.checkers.common import clip, judge
from chaos_lab.crashstates.models import CrashObservation
from chaos_lab.models import Verdict

NAME = "whole_file_versions"
LEDGER = "data/ledger/ledger.log"


def judged(path: str) -> bool:
    name = posixpath.basename(path)
    return path != LEDGER and not (name.startswith(".") and name.endswith(".tmp"))


def check(obs: CrashObservation) -> Verdict:
    files = {p: d for p, d in obs.crash_files.items() if d is not None and judged(p)}
    bad = [
        f"{path}: content {digest[:12]} is none of its {len(obs.file_versions.get(path, []))} whole versions"
        for path, digest in sorted(files.items())
        if digest not in obs.file_versions.get(path, [])
    ]
    evidence = {"files": sorted(files), "not_whole": clip(bad)}
    problems = [f"{len(bad)} replaced files hold a torn or partial version: {bad[0]}"] if bad else []
    return judge(NAME, problems, evidence, lambda: f"{len(files)} replaced files each hold a whole version")
