"""One crash-state run: record (or load) a trace, enumerate states, recover the distinct ones, judge all."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chaos_lab.crashstates.judge import CHECKER_NAMES, judge_state, observation, verify_intent
from chaos_lab.crashstates.models import (
    CrashReport,
    CrashState,
    Model,
    ModelSummary,
    RecoveryResult,
    Violation,
)
from chaos_lab.crashstates.record import load_recording, record
from chaos_lab.crashstates.recover import WorkerPool, orders_at
from chaos_lab.crashstates.report import write_report
from chaos_lab.crashstates.states import enumerate_points, select_states

MAX_VIOLATIONS_KEPT = 500


@dataclass
class Options:
    signals: int = 20
    models: tuple[Model, ...] = ("process", "power")
    seed: int = 1
    max_states: int = 5000
    reports: Path = Path("reports")
    engine_src: Path | None = None
    trace: Path | None = None  # reuse a recording instead of making one
    workers: int = 2


def rebuild_command(trace_dir: Path, state_id: str) -> str:
    out = "/tmp/state-" + state_id.replace(":", "-")
    return f"chaos-lab crashstates --trace {trace_dir} --state {state_id} --out {out}"


def run(opts: Options, say: Callable[[str], None] = print) -> tuple[CrashReport, Path]:
    t0 = time.monotonic()
    run_id = f"crashstates-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    out = opts.reports / run_id
    out.mkdir(parents=True)
    if opts.trace is not None:
        trace_dir = opts.trace.resolve()
        meta, ops = load_recording(trace_dir)
    else:
        trace_dir = (out / "trace").resolve()
        say(f"recording {opts.signals} signals (seed {opts.seed}) under strace ...")
        meta, ops = record(trace_dir, opts.seed, opts.signals, opts.engine_src)
    engine_src = Path(meta.engine_src) if meta.engine_src else None
    t1 = time.monotonic()
    enum = enumerate_points(ops, meta.seed)
    possible, states = select_states(enum.points, list(opts.models), opts.max_states, meta.seed)
    unique: dict[str, CrashState] = {}
    for state in states:
        unique.setdefault(state.key, state)
    t2 = time.monotonic()
    say(
        f"{len(ops)} ops, {len(states)} states to check ({len(unique)} distinct), recovering with "
        f"{opts.workers} warm workers ..."
    )
    pool = WorkerPool(opts.workers, engine_src, meta.engine_env, out / "worker.log")
    try:
        results = pool.recover_all(
            ((s, orders_at(ops, s.point)) for s in unique.values()), enum.blobs, verify_intent
        )
    finally:
        pool.close()
    t3 = time.monotonic()
    data_dir = meta.root + "/data"
    violations: list[Violation] = []
    failed_states: Counter[str] = Counter()
    violations_by_model: Counter[str] = Counter()
    verdict_counts: Counter[str] = Counter()
    for state in states:
        rec = results.get(state.key) or RecoveryResult(key=state.key, crash="no recovery result")
        obs = observation(
            state, ops, enum.blobs, rec, data_dir, meta.kill_switch_reasons, enum.points[state.point].versions
        )
        bad = [v for v in judge_state(obs) if not v.ok]
        verdict_counts["checked"] += 1
        if not bad:
            continue
        failed_states[state.model] += 1
        op = ops[state.point]
        for v in bad:
            violations_by_model[state.model] += 1
            verdict_counts[v.name] += 1
            if len(violations) < MAX_VIOLATIONS_KEPT:
                violations.append(
                    Violation(
                        state=state.id,
                        model=state.model,
                        point=state.point,
                        op=op.label(),
                        syscall=op.syscall,
                        path=op.path,
                        choices=[
                            f"{c.item} ({c.syscall} #{c.op_index}): {c.outcome}"
                            for c in state.choices
                            if c.outcome not in ("kept", "done")
                        ],
                        checker=v.name,
                        summary=v.summary,
                        evidence=v.evidence,
                        rebuild=rebuild_command(trace_dir, state.id),
                    )
                )
    models = [
        ModelSummary(
            model=m,
            crash_points=len(enum.points),
            states_possible=possible[m],
            states_checked=sum(1 for s in states if s.model == m),
            recoveries=len({s.key for s in states if s.model == m}),
            violations=violations_by_model[m],
            states_failed=failed_states[m],
        )
        for m in opts.models
    ]
    total = time.monotonic() - t0
    judged_s = max(time.monotonic() - t2, 1e-9)
    report = CrashReport(
        run_id=run_id,
        ok=not violations_by_model and bool(states),
        seed=meta.seed,
        signals=meta.signals,
        trace_dir=str(trace_dir),
        ops=len(ops),
        op_kinds=dict(Counter(o.kind for o in ops)),
        models=models,
        violations=violations,
        record_s=meta.record_s if opts.trace is None else 0.0,
        enumerate_s=round(t2 - t1, 3),
        recover_s=round(t3 - t2, 3),
        total_s=round(total, 3),
        states_per_minute=round(60 * len(states) / judged_s, 1),
        recoveries_per_minute=round(60 * len(unique) / max(t3 - t2, 1e-9), 1),
        workers=opts.workers,
        checkers=CHECKER_NAMES,
        verdict_counts=dict(verdict_counts),
    )
    write_report(out, report, ops)
    return report, out
