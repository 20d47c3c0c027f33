"""Build one engine variant's images with the project's own compose/build-images.sh, from a scratch tree.

The scratch tree holds what the build reads (compose/, pyproject.toml, the broker's sources and the variant's
engine/); the variants share one LAB_CACHE_DIR (.cache/selftest-build) and the Debian .deb cache.
Docker's layer cache keeps the dependency, .deb and broker layers: only the engine's small app layer is
rebuilt."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 900


class BuildError(RuntimeError):
    """The variant's images could not be built (one line, with the log's path)."""


def scratch_tree(engine_dir: Path, dest: Path) -> Path:
    """A minimal copy of the repository whose engine/ is `engine_dir`."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    shutil.copytree(ROOT / "compose", dest / "compose", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    (dest / "chaos_lab").mkdir()
    shutil.copy2(ROOT / "chaos_lab" / "__init__.py", dest / "chaos_lab" / "__init__.py")
    shutil.copytree(ROOT / "chaos_lab" / "broker", dest / "chaos_lab" / "broker", ignore=ignore)
    shutil.copytree(engine_dir, dest / "engine", ignore=ignore)
    return dest


BUILD_ATTEMPTS = 2  # a concurrent `make images` elsewhere prunes dangling lab images, intermediates included


def build_variant(tree: Path, tag: str, log: Path) -> None:
    for attempt in range(1, BUILD_ATTEMPTS + 1):
        try:
            return _build(tree, tag, log)
        except BuildError:
            if attempt == BUILD_ATTEMPTS:
                raise


def _build(tree: Path, tag: str, log: Path) -> None:
    env = {
        **os.environ,
        "LAB_IMAGE_TAG": tag,
        # One cache for every variant: the dependency wheels are built once, only app/ changes per variant.
        "LAB_CACHE_DIR": str(ROOT / ".cache" / "selftest-build"),
        "LAB_DEB_CACHE": str(ROOT / ".cache" / "debs"),
        "LAB_HOST_PYTHON": os.environ.get("LAB_HOST_PYTHON", sys.executable),
    }
    lock_path = ROOT / ".cache" / "selftest-build.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # The shared build cache takes one build at a time (a self-test and a lab test may build at once).
    with open(lock_path, "w") as lock, open(log, "w", encoding="utf-8") as out:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = subprocess.run(
                ["bash", str(tree / "compose" / "build-images.sh")],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise BuildError(f"build of {tag} took more than {BUILD_TIMEOUT_S}s (log: {log})") from exc
    if done.returncode != 0:
        raise BuildError(f"build of {tag} failed (log: {log})")
