"""`chaos-lab crashstates`: argument checks (one line, exit 2, on a bad value) and the two modes: a run
(record, enumerate, recover, judge, report) or `--trace T --state ID --out DIR` (rebuild one state)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from chaos_lab.cli.exits import EXIT_FAILED, EXIT_LAB, EXIT_OK, EXIT_USAGE
from chaos_lab.crashstates.models import Model

MAX_SIGNALS = 1000
MODELS: dict[str, tuple[Model, ...]] = {
    "process": ("process",),
    "power": ("power",),
    "both": ("process", "power"),
}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "crashstates", help="enumerate crash states (process crash, power loss) and check each"
    )
    # Values are checked here, not by argparse types, so that a bad one is a single line (exit 2).
    p.add_argument("--signals", default="20", help="signals in the recorded workload (default 20)")
    p.add_argument("--model", default="both", help="process | power | both (default both)")
    p.add_argument("--seed", default="1", help="workload and sampling seed (default 1)")
    p.add_argument(
        "--max-states", default="5000", help="states checked at most; sampled above (default 5000)"
    )
    p.add_argument("--workers", default="2", help="warm recovery workers (default 2)")
    p.add_argument("--reports", default="reports", help="reports directory (default reports)")
    p.add_argument(
        "--engine-src", default=None, help="directory holding a solat_engine package to use instead"
    )
    p.add_argument("--trace", default=None, help="a recorded trace directory (skips recording)")
    p.add_argument("--state", default=None, help="with --trace and --out: rebuild this one state")
    p.add_argument("--out", default=None, help="where --state writes the rebuilt data dir and broker record")

    def one_line_error(message: str) -> NoReturn:  # e.g. an option without its value: one line, exit 2
        sys.exit(_usage(message))

    p.error = one_line_error  # type: ignore[method-assign]


def _usage(message: str) -> int:
    print(f"chaos-lab crashstates: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be in {low}..{high}, not {number}")
    return number


def main(args: argparse.Namespace) -> int:
    from chaos_lab.crashstates.run import Options

    try:
        opts = Options(
            signals=_int(args.signals, "--signals", 1, MAX_SIGNALS),
            seed=_int(args.seed, "--seed", 0, 2**31),
            max_states=_int(args.max_states, "--max-states", 1, 10_000_000),
            workers=_int(args.workers, "--workers", 1, 16),
            reports=Path(args.reports),
        )
        if args.model not in MODELS:
            raise ValueError(f"--model must be process, power or both, not {args.model!r}")
        opts.models = MODELS[args.model]
        if args.engine_src is not None:
            opts.engine_src = Path(args.engine_src).resolve()
            if not (opts.engine_src / "solat_engine" / "__init__.py").is_file():
                raise ValueError(f"--engine-src {args.engine_src}: no solat_engine package in it")
        if args.trace is not None:
            opts.trace = Path(args.trace)
            if not (opts.trace / "ops.json").is_file():
                raise ValueError(f"--trace {args.trace}: not a crashstates recording (no ops.json)")
        if (args.state is None) != (args.out is None) or (args.state is not None and args.trace is None):
            raise ValueError("--state needs --trace and --out (and --out needs --state)")
    except ValueError as exc:
        return _usage(str(exc))
    if args.state is not None:
        return rebuild(opts.trace, args.state, Path(args.out))  # type: ignore[arg-type]
    from chaos_lab.crashstates.record import RecordError
    from chaos_lab.crashstates.recover import RecoverError
    from chaos_lab.crashstates.run import run

    try:
        report, out = run(opts)
    except (RecordError, RecoverError) as exc:
        print(f"chaos-lab crashstates: {exc}", file=sys.stderr)
        return EXIT_LAB
    for m in report.models:
        print(
            f"{m.model:8s} crash points {m.crash_points:5d}  states possible {m.states_possible:7d}  checked "
            f"{m.states_checked:6d}  (distinct recoveries {m.recoveries})  violations {m.violations}"
        )
    for v in report.violations[:10]:
        print(f"  VIOLATION {v.checker} {v.state} after {v.op}: {v.summary}")
        print(f"    rebuild: {v.rebuild}")
    print(
        f"{report.states_per_minute:.0f} states checked/min; total {report.total_s:.1f}s "
        f"(record {report.record_s:.1f}s, recover {report.recover_s:.1f}s); report: {out / 'report.html'}"
    )
    return EXIT_OK if report.ok else EXIT_FAILED


def rebuild(trace: Path, state_id: str, out: Path) -> int:
    """Write one state: out/data (the data dir), out/broker.sqlite3 (the broker's record), out/state.json."""
    from chaos_lab.broker.app import BrokerStore, OrderRequest
    from chaos_lab.crashstates.record import load_recording
    from chaos_lab.crashstates.recover import materialize, orders_at
    from chaos_lab.crashstates.states import enumerate_points, rebuild_state

    try:
        meta, ops = load_recording(trace)
        enum = enumerate_points(ops, meta.seed)
        state = rebuild_state(enum.points, state_id)
        if out.exists() and any(out.iterdir()):
            raise ValueError(f"--out {out} exists and is not empty")
    except ValueError as exc:
        return _usage(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    out.rmdir()
    materialize(state, enum.blobs, out)
    orders = orders_at(ops, state.point)
    store = BrokerStore(out / "broker.sqlite3", meta.broker_balance)
    for order in orders:
        store.place(OrderRequest.model_validate(order))
    (out / "state.json").write_text(
        json.dumps(
            {"state": state.model_dump(mode="json"), "op": ops[state.point].label(), "orders": orders},
            indent=2,
        )
        + "\n"
    )
    print(
        f"state {state_id} (crash after {ops[state.point].label()}) written to {out}: "
        f"data dir {out / 'data'}, "
        f"broker {out / 'broker.sqlite3'}"
    )
    return EXIT_OK
