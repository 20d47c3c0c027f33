"""Planted engine bugs for the explorer's proof: each is a realistic mistake that only shows under a
combination or sequence of faults (no single catalogue scenario reaches it), applied as a text patch to a
scratch copy of engine/solat_engine and built as its own image tag (compose/build-mutant.sh).

Full proof (slow; numbers go into the final report):
    python -m bench.mutants prove --budget 8m --parallel 2 [--only NAME]
It runs, per mutant, the relevant catalogue scenarios (they must pass) and `chaos-lab explore` (it must find a
violation), and prints time to first violation, the shrunk schedule and its reproduction rate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE_SRC = ROOT / "engine" / "solat_engine"


@dataclass(frozen=True)
class Mutant:
    name: str
    story: str  # what the bug is and which fault sequence shows it
    patches: tuple[tuple[str, str, str], ...]  # (file under solat_engine/, exact old text, new text)
    catalogue: tuple[str, ...]  # the fixed scenarios closest to it: they pass on the mutant
    faults: str | None = None  # --faults for a focused explore run (None: every kind)


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "fill-after-not-sent-dropped",
        "A retry re-sends an intent that start-up reconcile marked not-sent, and the ledger fold ignores "
        "the fill of an intent it already considers closed: the broker holds a position the engine never "
        "counts. Needs an in-doubt order that never reached the broker, a restart (reconcile: not-sent), "
        "then a retry.",
        (
            (
                "execution/router.py",
                "        if not view.open:\n            return self._view_result(view)",
                "        if not view.open and view.state != EntryType.NOT_SENT:\n"
                "            return self._view_result(view)",
            ),
            (
                "execution/ledger.py",
                "                    if entry_type in _POSITION_VALUES:",
                "                    if entry_type in _POSITION_VALUES"
                " and (state is None or not state.terminal):",
            ),
        ),
        ("retry-after-timeout", "broker-timeout", "sigkill-mid-burst"),
        "toxic,kill,stop,proxy_down",
    ),
    Mutant(
        "kill-switch-cleared-by-reconcile",
        "Start-up reconcile clears a kill switch that was off when it began, meaning to drop a stale drift "
        "trip: an operator's activation while reconcile waits for the broker is forgotten. Needs a restart "
        "while the broker link is down, and the operator acting in that window.",
        (
            (
                "engine.py",
                "        delay, cap = RECONCILE_BACKOFF\n",
                "        delay, cap = RECONCILE_BACKOFF\n        was_active = self.kill_switch.is_active\n",
            ),
            (
                "engine.py",
                "            if drift:\n"
                "                self.trip(describe_drift(drift), cause=\"position_drift\")\n",
                "            if drift:\n"
                "                self.trip(describe_drift(drift), cause=\"position_drift\")\n"
                "            elif self.kill_switch.is_active and not was_active:\n"
                "                self.kill_switch.reset(self.config.kill_switch_token or '', "
                "self.config.kill_switch_token)\n",
            ),
        ),
        ("kill-switch-survives-sigkill", "kill-switch-file-vs-memory", "broker-down-then-up"),
        "proxy_down,toxic,kill,stop",
    ),
    Mutant(
        "reconcile-error-as-not-found",
        "Reconcile treats a failed GET /orders (timeout, reset) like a 404 and marks the intent not-sent, "
        "and asks about open intents before the balance: an order the broker filled but whose answer was "
        "lost is dropped from the ledger. Needs a lost answer, a crash, and a restart while the link is "
        "still sick.",
        (
            (
                "execution/router.py",
                "                except BrokerError:\n"
                "                    reach.emit(\"reconcile_lookup\", result=\"failed\")\n"
                "                    raise\n",
                "                except BrokerError:  # broker unreachable: it cannot have the order\n"
                "                    order = None\n",
            ),
            (
                "engine.py",
                "                self.router.refresh_balance()\n"
                "                resolved = self.router.reconcile_open_intents()\n",
                "                resolved = self.router.reconcile_open_intents()\n"
                "                self.router.refresh_balance()\n",
            ),
        ),
        ("ack-lost-between-submit-and-record", "broker-timeout", "broker-reset-peer"),
        "toxic,kill,stop,proxy_down",
    ),
    Mutant(
        "kill-switch-save-error-swallowed",
        "Activating the kill switch on a full disk answers 200 although the state file could not be "
        "written (the error is logged, not returned): after a crash the switch is off and trading resumes. "
        "Needs the operator's activation while the disk is full, then a crash before anyone re-activates.",
        (
            (
                "engine.py",
                "            log.error(problem)\n",
                "            log.error(problem)\n            problem = None  # memory is what counts\n",
            ),
        ),
        ("kill-switch-survives-sigkill", "kill-switch-file-vs-memory", "disk-full-then-crash-then-free"),
        "disk_fill,kill",
    ),
    Mutant(
        "no-per-intent-lock",
        'The per-intent lock is gone ("the client never sends one intent twice at once"): a retry that '
        "arrives while the original is still being handled records a second fill. Needs the engine frozen "
        "longer than the client's timeout (pause) while signals are in flight, and the client retrying.",
        (
            (
                "execution/router.py",
                "            with lock:\n                yield\n",
                "            yield  # the client never sends one intent twice at once\n",
            ),
        ),
        ("retry-after-timeout", "broker-latency-2s", "sigkill-mid-burst"),
        "pause,toxic",
    ),
    Mutant(
        "kill-switch-reset-fails-open",
        "A kill-switch reset is applied in memory before it is saved; when the save fails (full disk) the "
        "engine answers 507 but trades again. Needs the operator's activation, a full disk, and a reset "
        "during it.",
        (
            (
                "execution/kill_switch.py",
                "            new_state = KillSwitchState()\n"
                "            self._write(new_state)\n"
                "            self._state = new_state\n",
                "            new_state = KillSwitchState()\n"
                "            self._state = new_state  # trading resumes at once; the file follows\n"
                "            self._write(new_state)\n",
            ),
        ),
        ("kill-switch-survives-sigkill", "kill-switch-file-vs-memory", "disk-full-during-burst"),
        "disk_fill,kill",
    ),
)
BY_NAME = {m.name: m for m in MUTANTS}


def patch_tree(mutant: Mutant, dest: Path) -> Path:
    """A patched copy of the engine package at dest/solat_engine; every patch must apply exactly once."""
    target = dest / "solat_engine"
    shutil.copytree(ENGINE_SRC, target, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, old, new in mutant.patches:
        path = target / rel
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise ValueError(
                f"{mutant.name}: patch for {rel} matches {text.count(old)} times (engine changed?)"
            )
        path.write_text(text.replace(old, new), encoding="utf-8")
    return target


def tag_for(mutant: Mutant) -> str:
    return f"mut-{mutant.name}"[:120]


def build(mutant: Mutant, base_tag: str | None = None) -> str:
    """Build solat-lab/engine:mut-NAME from a patched copy; returns the tag."""
    base = base_tag or os.environ.get("LAB_IMAGE_TAG") or "dev"
    with tempfile.TemporaryDirectory(prefix=f"{mutant.name}-") as tmp:
        patch_tree(mutant, Path(tmp))
        cmd = ["bash", str(ROOT / "compose" / "build-mutant.sh"), tmp, tag_for(mutant), base]
        for attempt in (1, 2):  # another checkout's `make images` prunes dangling lab layers mid-build
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode == 0:
                break
            if attempt == 2:
                raise RuntimeError(f"building {mutant.name} failed: {done.stderr.strip()[-500:]}")
    return tag_for(mutant)


def remove(tag: str) -> None:
    for image in (f"solat-lab/engine:{tag}", f"solat-lab/broker:{tag}"):
        subprocess.run(["docker", "rmi", image], capture_output=True, check=False)


def _chaos_lab(args: list[str], tag: str, timeout: float) -> tuple[int, str]:
    env = {**os.environ, "LAB_IMAGE_TAG": tag}
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "chaos-lab"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr


def prove(mutant: Mutant, budget: str, seed: int, parallel: int, focused: bool) -> dict[str, object]:
    """Catalogue scenarios on the mutant (must pass), then explore (must find it)."""
    tag = build(mutant)
    row: dict[str, object] = {"mutant": mutant.name}
    try:
        catalogue = []
        for scenario in mutant.catalogue:
            rc, out = _chaos_lab(["run", "--scenario", scenario, "--parallel", str(parallel)], tag, 900)
            catalogue.append({"scenario": scenario, "passed": rc == 0, "tail": out.strip().splitlines()[-3:]})
        row["catalogue"] = catalogue
        args = [
            "explore",
            "--budget",
            budget,
            "--seed",
            str(seed),
            "--parallel",
            str(parallel),
            "--shrink-attempts",
            "8",
            "--shrink-tries",
            "1",
            "--replays",
            "3",
        ]
        if focused and mutant.faults:
            args += ["--faults", mutant.faults]
        t0 = time.monotonic()
        rc, out = _chaos_lab(args, tag, 3 * 3600)
        row["explore_rc"] = rc
        row["explore_s"] = round(time.monotonic() - t0, 1)
        report = next(
            (ln.split("report: ", 1)[1] for ln in out.splitlines() if ln.startswith("report: ")), None
        )
        if report:
            data = json.loads(Path(report).read_text())
            row["report"] = report
            row["schedules"] = len(data["schedules"])
            row["first_violation_s"] = data["first_violation_s"]
            row["violated"] = [s for s in data["schedules"] if s["violated"]][:1]
            row["shrink"] = (
                {
                    k: data["shrink"][k]
                    for k in (
                        "original_size",
                        "minimal_size",
                        "minimal_faults",
                        "violated",
                        "attempts",
                        "replays",
                        "reproduced",
                        "replay_command",
                        "minimal_file",
                    )
                }
                if data.get("shrink")
                else None
            )
        row["tail"] = out.strip().splitlines()[-6:]
    finally:
        remove(tag)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutants")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prove")
    p.add_argument("--budget", default="8m")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--only", action="append")
    p.add_argument("--focused", action="store_true", help="use each mutant's --faults narrowing")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for m in MUTANTS:
            print(f"{m.name}: {m.story}")
        return 0
    rows = []
    for m in MUTANTS:
        if args.only and m.name not in args.only:
            continue
        row = prove(m, args.budget, args.seed, args.parallel, args.focused)
        rows.append(row)
        print(json.dumps(row, indent=2), flush=True)
    return 0 if all(r.get("explore_rc") == 1 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
