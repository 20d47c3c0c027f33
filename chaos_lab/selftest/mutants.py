"""Mutants: patch files under chaos_lab/selftest/mutants/, each a realistic engine bug.

A mutant file is a unified diff against the engine's source tree (paths `a/solat_engine/...`, applied with
`patch -p1` inside a copy of `engine/`), preceded by a header of `# key: value` lines:

    # bug: what the engine does wrong
    # incident: the real incident class it stands for
    # invariant: the invariant it breaks
    # class: the fault class that should expose it (disk, process, network, files, fsync, clock, resource,
    #        broker ambiguity)
    # scenarios: the scenario names to run against it (space separated)
    # expect: the checker(s) expected to flag it (informative; any failed checker counts as detection)
    # held-out: yes  -- written before anything was run against it, and never tuned for: it names no
    #                   scenario and no checker (`scenarios: gate`) and runs against every gate scenario,
    #                   what `make chaos` runs. Its score is reported apart from the tuned mutants'.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel, Field

MUTANTS_DIR = Path(__file__).parent / "mutants"
HEADER_KEYS = ("bug", "incident", "invariant", "class", "scenarios")
GATE = "gate"  # a held-out mutant's scenarios: the whole gate (the catalogue and the admitted corpus)


class MutantError(ValueError):
    """A mutant file is unusable (bad header, unknown scenario, patch does not apply): one line, naming it."""


class Mutant(BaseModel):
    name: str
    path: Path
    bug: str
    incident: str
    invariant: str
    fault_class: str
    scenarios: list[str] = Field(min_length=1)
    expect: list[str] = Field(default_factory=list)
    held_out: bool = False  # never tuned for: runs against the whole gate, scored apart


def parse_header(path: Path) -> dict[str, str]:
    header: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        if sep:
            header[key.strip()] = value.strip()
    return header


def load_mutant(path: Path, known_scenarios: set[str] | None = None) -> Mutant:
    header = parse_header(path)
    missing = [k for k in HEADER_KEYS if not header.get(k)]
    if missing:
        raise MutantError(f"mutant {path}: header lacks {', '.join(missing)}")
    scenarios = header["scenarios"].split()
    held_out = header.get("held-out", "no") == "yes"
    if header.get("held-out", "no") not in ("yes", "no"):
        raise MutantError(f"mutant {path}: held-out must be yes or no, not {header['held-out']!r}")
    if held_out != (scenarios == [GATE]) or (held_out and header.get("expect")):
        raise MutantError(
            f"mutant {path}: a held-out mutant has `scenarios: {GATE}` and no `expect` (never tuned for), "
            f"and only a held-out one has `scenarios: {GATE}`"
        )
    if held_out:
        scenarios = sorted(known_scenarios) if known_scenarios is not None else [GATE]
    elif known_scenarios is not None:
        unknown = [s for s in scenarios if s not in known_scenarios]
        if unknown:
            raise MutantError(f"mutant {path}: unknown scenario(s) {', '.join(unknown)}")
    return Mutant(
        name=path.stem,
        path=path,
        bug=header["bug"],
        incident=header["incident"],
        invariant=header["invariant"],
        fault_class=header["class"],
        scenarios=scenarios,
        expect=header.get("expect", "").split(),
        held_out=held_out,
    )


def load_mutants(folder: Path = MUTANTS_DIR, known_scenarios: set[str] | None = None) -> list[Mutant]:
    files = sorted(folder.glob("*.patch"))
    if not files:
        raise MutantError(f"no *.patch mutant in {folder}")
    return [load_mutant(f, known_scenarios) for f in files]


def apply_mutant(mutant: Mutant, engine_src: Path, dest: Path) -> Path:
    """Copy `engine_src` (the engine distribution: pyproject.toml + solat_engine/) to `dest` and apply the
    patch there. Raises MutantError when it does not apply cleanly (the engine moved on:
    refresh the patch)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(engine_src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    done = subprocess.run(
        [
            "patch",
            "-p1",
            "--batch",
            "--forward",
            "--no-backup-if-mismatch",
            "-d",
            str(dest),
            "-i",
            str(mutant.path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        last = (done.stdout + done.stderr).strip().splitlines()
        raise MutantError(
            f"mutant {mutant.path.name} does not apply: {last[-1] if last else done.returncode}"
        )
    return dest
