"""Which planted engine bugs the gate's corpus flags: per bug, its image (a thin layer,
chaos_lab/selftest/build.py), then `chaos-lab run --tier T --parallel N` with it; a bug counts as flagged only
by a failed checker verdict (exit 1), never by a lab error. Bugs: the self-test's mutants
(chaos_lab/selftest/mutants/*.patch, by number or name) and the explorer's planted bugs (bench/mutants.py).

    python -m bench.corpus_gate --tier 5 --parallel 2 25 26 28 reconcile-error-as-not-found   # the corpus
    python -m bench.corpus_gate --no-corpus 25                                              # the catalogue
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.mutants import BY_NAME as EXPLORE_BUGS
from bench.mutants import patch_tree
from chaos_lab.models import RunSummary
from chaos_lab.selftest.build import ROOT, build_variant
from chaos_lab.selftest.mutants import MUTANTS_DIR, apply_mutant, load_mutant

RUN_TIMEOUT_S = 1800


def _engine(name: str, scratch: Path) -> Path:
    """A patched copy of engine/ for `name`, in `scratch`."""
    if name in EXPLORE_BUGS:
        dest = scratch / "engine"
        dest.mkdir()
        (dest / "pyproject.toml").write_bytes((ROOT / "engine" / "pyproject.toml").read_bytes())
        patch_tree(EXPLORE_BUGS[name], dest)
        return dest
    (path,) = [p for p in MUTANTS_DIR.glob("*.patch") if p.stem == name or p.stem.split("-", 1)[0] == name]
    return apply_mutant(load_mutant(path), ROOT / "engine", scratch / "engine")


def one(name: str, tier: int | None, parallel: int, reports: Path, corpus: bool) -> dict[str, object]:
    tag = f"gate-{name}"[:60]
    with tempfile.TemporaryDirectory(prefix="gate-") as tmp:
        build_variant(_engine(name, Path(tmp)), tag, Path(tmp) / "build.log")
    out = reports / name
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(ROOT / ".venv" / "bin" / "chaos-lab"), "run", "--parallel", str(parallel),
           "--reports", str(out)]
    cmd += ["--tier", str(tier)] if tier is not None else []
    cmd += [] if corpus else ["--corpus", str(out / "no-corpus")]  # a directory that does not exist: none
    try:
        done = subprocess.run(cmd, env={**os.environ, "LAB_IMAGE_TAG": tag}, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S, cwd=ROOT)
    finally:
        for image in (f"solat-lab/engine:{tag}", f"solat-lab/broker:{tag}"):
            subprocess.run(["docker", "rmi", image], capture_output=True, check=False)
    summaries = sorted(out.glob("*/summary.json"))
    flagged: dict[str, list[str]] = {}
    duration = 0.0
    if summaries:
        summary = RunSummary.model_validate_json(summaries[-1].read_text(encoding="utf-8"))
        duration = summary.duration_s
        flagged = {r.scenario: [v.name for v in r.verdicts if not v.ok]
                   for r in summary.results if r.status == "failed"}
    return {"bug": name, "exit": done.returncode, "flagged": done.returncode == 1, "by": flagged,
            "duration_s": duration}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.corpus_gate")
    p.add_argument("bugs", nargs="+")
    p.add_argument("--tier", type=int, help="one tier (default: every tier; 5 is the corpus)")
    p.add_argument("--no-corpus", dest="corpus", action="store_false", help="the catalogue alone")
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--reports", type=Path, default=Path("reports/corpus-gate"))
    args = p.parse_args(argv)
    rows = []
    for name in args.bugs:
        row = one(name, args.tier, args.parallel, args.reports, args.corpus)
        rows.append(row)
        print(json.dumps(row), flush=True)
    flagged = sum(bool(r["flagged"]) for r in rows)
    print(f"flagged {flagged} of {len(rows)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
