"""Build one engine variant's image: a thin layer over the built engine image (compose/build-mutant.sh), with
only the variant's `solat_engine/` package copied over the installed one. A planted bug changes a few lines
of Python, so rebuilding the whole image (dependencies, .debs, wheels) for it was wasted work: measured on 2
cores with warm caches, 7.0 s for the full build, 0.5 s for the layer. The self-test, the planted-bug lab
tests and the explorer's proof (bench/mutants.py) all build this way."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "compose" / "build-mutant.sh"
BUILD_TIMEOUT_S = 120
BUILD_ATTEMPTS = 2  # a concurrent `make images` elsewhere prunes dangling lab images, intermediates included


class BuildError(RuntimeError):
    """The variant's images could not be built (one line, with the log's path)."""


def build_variant(engine_dir: Path, tag: str, log: Path) -> None:
    """solat-lab/engine:TAG from `engine_dir` (a copy of engine/, patched or not) over the lab's engine image,
    and solat-lab/broker:TAG as the usual broker; BuildError naming the log otherwise."""
    for attempt in range(1, BUILD_ATTEMPTS + 1):
        try:
            return _build(engine_dir, tag, log)
        except BuildError:
            if attempt == BUILD_ATTEMPTS:
                raise


def _build(engine_dir: Path, tag: str, log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as out:
        try:
            done = subprocess.run(
                ["bash", str(BUILD_SCRIPT), str(engine_dir), tag],
                env=dict(os.environ),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise BuildError(f"build of {tag} took more than {BUILD_TIMEOUT_S}s (log: {log})") from exc
    if done.returncode != 0:
        raise BuildError(f"build of {tag} failed (log: {log})")
