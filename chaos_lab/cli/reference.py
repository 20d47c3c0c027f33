"""The reference of what a scenario file may say, generated from the code: fault kinds and their `Params`,
checkers and their params, step kinds and their fields, reach events.

Generated rather than written so it cannot drift: docs/reference.md is `chaos-lab reference` verbatim, and a
unit test fails when the two differ. Types, bounds and defaults come from the pydantic models themselves;
only the one-line meaning of a fault param or step field is written here (the models' comments are not
visible at run time), and a test fails when a param or field has none or a meaning names nothing.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from chaos_lab.bounds import Between, _fmt

REGENERATE = ".venv/bin/chaos-lab reference > docs/reference.md"

#: fault kind -> param -> meaning (a `description=` on the param's Field wins over this)
FAULT_PARAMS: dict[str, dict[str, str]] = {
    "disk_fill": {
        "bytes": "write exactly this many bytes (capped by the free space)",
        "percent": "fill until /data is this full",
        "leave_bytes": "fill until exactly this many bytes are free (0: completely full)",
    },
    "kill": {
        "signal": "the signal sent to the container's main process",
        "service": "the lab service it is sent to",
    },
    "stop": {
        "service": "the lab service stopped until the heal",
        "timeout": "Docker's grace before it sends SIGKILL",
    },
    "restart": {"service": "the lab service restarted"},
    "pause": {"service": "the lab service frozen until the heal"},
    "tear_ledger_tail": {"fraction": "where in the last record the cut falls (0: its start, 1: its end)"},
    "flip_ledger_byte": {
        "record_fraction": "which record, as a fraction of the ledger's records",
        "byte_fraction": "which byte of that record, as a fraction of its length",
    },
    "truncate_parquet": {
        "symbol": "the bar file's symbol (stored by a `put_bars` step)",
        "timeframe": "the bar file's timeframe",
        "fraction": "how much of the file is kept",
    },
    "fsync_eio": {"errno": "the error every fsync returns"},
    "fsync_eio_once": {"errno": "the error the next fsync returns"},
    "write_eio": {"errno": "the error every write(2) returns"},
    "clock_step": {"offset_s": "how far the engine's wall clock jumps (negative: backwards)"},
    "clock_fast": {"rate": "how many times too fast the engine's wall clock runs"},
    "cpu_starve": {
        "cpu_fraction": "the share of one CPU the engine's cgroup gets",
        "period_s": "the CFS period: the engine stalls up to (1 - cpu_fraction) of it at a time",
    },
    "memory_oom": {
        "headroom_bytes": "the memory cap above the engine's usage at inject",
        "timeout_s": "how long to wait for the kernel's OOM kill",
    },
    "broker_ambiguity": {
        "mode": "what the broker does after it commits the order",
        "probability": "the share of orders the knob hits",
        "seed": "the broker's own random seed for which orders are hit",
        "late_s": "how late a `commit_then_late` answer comes",
        "fill_fraction": "the filled share of the quantity for `partial_fill`",
    },
    "toxic": {
        "type": "the Toxiproxy toxic (its attributes below)",
        "stream": "the direction it acts on (downstream: broker to engine)",
        "attributes": "the toxic's own attributes (only its type's, listed below)",
        "toxicity": "the share of connections it acts on",
    },
}

#: step field -> meaning; "action.field" for a field that means something else in that step
STEP_FIELDS: dict[str, str] = {
    "burst.count": "how many signals the burst sends",
    "interval_s": "the pause between two signals of one client",
    "background": "run while the next steps go on (a fault can hit it mid-flight)",
    "symbols": "the symbols signals are drawn from",
    "max_quantity": "the largest quantity drawn",
    "concurrency": "clients sending at once, each one signal at a time",
    "burst.retry_unknown": "resend an in-doubt (`info`) signal under its intent id up to this many times",
    "signals": "the signals as written (then sent whatever the seed); empty: drawn from the seed",
    "timeout_s": "how long the wait may last",
    "wait_ops.count": "completed signals of the background burst to wait for",
    "seconds": "how long to sleep",
    "name": "the fault's name (a `heal` and a goal's `during` refer to it)",
    "kind": "the fault kind (see Fault kinds)",
    "params": "the kind's params (see Fault kinds)",
    "random_params": "float params drawn from a range by the seed",
    "order_delay_s": "the broker fills, then answers this late",
    "fail_next": "the broker answers 503 to the next N orders",
    "reason": "the operator's reason",
    "required": "false: a refusal or an unreached state is recorded and the method goes on",
    "token": "the reset token (default: the lab's, LAB_KILL_SWITCH_TOKEN or lab-token)",
    "bytes": "ledger file size on the engine's volume to wait for",
    "await_broker_orders.count": "orders the broker has received (any outcome) to wait for",
    "ready": "false: only wait until /health answers",
    "symbol": "the bar file's symbol",
    "timeframe": "the bar file's timeframe",
    "put_bars.count": "how many bars are stored",
}

#: what a field's validator allows where its type cannot say it
STEP_ALLOWED: dict[str, str] = {
    "inject.kind": "a fault kind (see Fault kinds)",
    "inject.params": "the kind's params",
    "inject.random_params": "`{param: {lo, hi}}`, float params of the kind",
}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def first_sentence(doc: str | None) -> str:
    """The first sentence of a docstring's first paragraph, on one line."""
    para = " ".join((doc or "").strip().split("\n\n")[0].split())
    end = re.search(r"(?<!e\.g)(?<!i\.e)\.\s", para)
    return para[: end.start() + 1] if end else para


def _allowed(annotation: Any, metadata: list[Any]) -> tuple[str, str]:
    """(type, allowed values) of a field's annotation and metadata, as a person writes it in a file."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _allowed(args[0], [*args[1:], *metadata])
    if origin in (Union, types.UnionType):  # X | None, and a number or a {lo, hi} range (IntOrRange)
        options = [a for a in args if a is not type(None)]
        shown = [_allowed(a, []) for a in options]
        kind = " or ".join(t for t, _ in shown) + (" (optional)" if len(options) < len(args) else "")
        what = "characters" if str in options else "items"
        return kind, _bounds(metadata, what) or "; ".join(a for _, a in shown if a)
    if origin is Literal:
        return "string", "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is tuple:
        item, allowed = _allowed(args[0], [])
        return f"list of {item}", "; ".join(p for p in (_bounds(metadata), allowed) if p)
    if origin is dict:
        return "mapping", ""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("range" if set(annotation.model_fields) == {"lo", "hi"} else annotation.__name__), ""
    if annotation is bool:
        return "boolean", "`true` or `false`"
    name = {int: "integer", float: "number", str: "string"}.get(annotation, str(annotation))
    return name, _bounds(metadata, "characters" if annotation is str else "items")


def _bounds(metadata: list[Any], what: str = "items") -> str:
    parts: list[str] = []
    shortest: int | None = None
    longest: int | None = None
    for m in metadata:
        if isinstance(m, FieldInfo):  # Annotated[str, Field(pattern=...)]
            parts.append(_bounds(list(m.metadata), what))
        elif isinstance(m, Between):
            shown = m.allowed().removeprefix("an integer").removeprefix("a finite number").strip()
            parts.append(shown.removeprefix("in "))
        elif getattr(m, "pattern", None):
            parts.append(f"matches `{m.pattern}`")
        elif getattr(m, "func", None) is not None and m.func.__name__ == "_real_signal":
            parts.append("a signal name (`SIGKILL`, `KILL`, `SIGTERM`, ...) or 1..64")
        shortest = getattr(m, "min_length", None) if getattr(m, "min_length", None) is not None else shortest
        longest = getattr(m, "max_length", None) if getattr(m, "max_length", None) is not None else longest
    if longest is not None:
        parts.append(f"{shortest or 0}..{longest} {what}")
    elif shortest:
        parts.append(f"at least {shortest} {what.removesuffix('s') if shortest == 1 else what}")
    return "; ".join(p for p in parts if p)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "none"
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"`{_fmt(value)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`" if value not in ({}, []) else "empty"


def _rows(
    model: type[BaseModel],
    meaning: Callable[[str, FieldInfo], str],
    skip: tuple[str, ...] = (),
    allowed_of: Callable[[str], str | None] = lambda _: None,
) -> list[str]:
    out = ["| param | type | allowed | default | meaning |", "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        kind, allowed = _allowed(field.annotation, list(field.metadata))
        allowed = allowed_of(name) or allowed
        out.append(
            f"| `{name}` | {_cell(kind)} | {_cell(allowed) or 'any'} | {_cell(_default(field))} | "
            f"{_cell(meaning(name, field))} |"
        )
    return out


def _doc_of(cls: type) -> str:
    return first_sentence(cls.__doc__) or first_sentence(sys.modules[cls.__module__].__doc__)


def fault_kinds() -> str:
    from chaos_lab.faults.registry import FAULTS
    from chaos_lab.faults.toxiproxy_api import ATTRIBUTES

    out = [
        "## Fault kinds",
        "",
        "An `inject` step's `kind` and `params` (each kind's nested `Params` model, chaos_lab/faults/). "
        "Every number is finite; keys not listed are refused.",
    ]
    for kind, cls in sorted(FAULTS.items()):
        out += ["", f"### `{kind}`", "", _doc_of(cls)]
        out += ["", "Effects: " + (", ".join(f"`{e}`" for e in sorted(cls.effects)) or "none") + "."]
        if cls.stops_engine():
            out += ["", "The engine does not answer while it is active (`availability` exempts its window)."]
        if not cls.Params.model_fields:
            out += ["", "No params."]
            continue

        def meaning(name: str, field: FieldInfo, kind: str = kind) -> str:
            return field.description or FAULT_PARAMS.get(kind, {}).get(name, "")

        out += ["", *_rows(cls.Params, meaning)]
        if kind == "toxic":
            out += ["", "| `type` | `attributes` (integers, default 0) |", "|---|---|"]
            for toxic, model in ATTRIBUTES.items():
                attrs = ", ".join(f"`{n}` {_bounds(list(f.metadata))}" for n, f in model.model_fields.items())
                out.append(f"| `{toxic}` | {_cell(attrs)} |")
    return "\n".join(out) + "\n"


def checkers() -> str:
    from chaos_lab.checkers import CHECKERS
    from chaos_lab.scenarios.checker_params import checker_params

    out = [
        "## Checkers",
        "",
        "A scenario's `checkers`: `{name: ..., params: {...}}`. Params come from each checker's `check()` "
        "signature (numbers >= 0, booleans strictly `true`/`false`).",
    ]
    for name, check in sorted(CHECKERS.items()):
        out += ["", f"### `{name}`", "", first_sentence(sys.modules[check.__module__].__doc__)]
        model = checker_params(name)
        if not model.model_fields:
            out += ["", "No params."]
            continue
        rows = _rows(model, lambda n, f: "")
        out += ["", *[row.rsplit(" |", 2)[0] + " |" for row in rows]]  # no meaning column
        out[-len(rows) + 1] = "|---|---|---|---|"
    return "\n".join(out) + "\n"


def steps() -> str:
    from chaos_lab.scenarios.file_format import _STEPS

    out = [
        "## Steps",
        "",
        "The steps of a scenario's `method` and `rollback`, by `action`. Where a range is allowed "
        "(`{lo: 1, hi: 3}`), the seed picks the value.",
    ]
    for action, model in _STEPS.items():
        out += ["", f"### `{action}`"]
        doc = first_sentence(model.__doc__)
        if doc:
            out += ["", doc]
        if set(model.model_fields) == {"action"}:
            out += ["", "No fields."]
            continue

        def meaning(name: str, field: FieldInfo, action: str = action) -> str:
            return field.description or STEP_FIELDS.get(f"{action}.{name}") or STEP_FIELDS.get(name, "")

        def allowed_of(name: str, action: str = action) -> str | None:
            return STEP_ALLOWED.get(f"{action}.{name}")

        out += ["", *_rows(model, meaning, skip=("action",), allowed_of=allowed_of)]
    return "\n".join(out).replace("| param |", "| field |") + "\n"


def reach_events() -> str:
    from chaos_lab.reach.events import ENGINE_EVENTS, LAB_EVENTS

    out = [
        "## Reach events",
        "",
        "What a goal may ask for (`goals: [{events: [...], during: FAULT, where: {...}}]`): the engine's "
        "`REACH` lines and the lab's own records. The fields in brackets can be matched with `where`.",
        "",
        "| event | source | meaning |",
        "|---|---|---|",
    ]
    for source, events in (("engine", ENGINE_EVENTS), ("lab", LAB_EVENTS)):
        out += [f"| `{name}` | {source} | {_cell(text)} |" for name, text in events.items()]
    return "\n".join(out) + "\n"


SECTIONS: dict[str, Callable[[], str]] = {
    "kinds": fault_kinds,
    "checkers": checkers,
    "steps": steps,
    "reach": reach_events,
}


def reference() -> str:
    """docs/reference.md, whole."""
    head = (
        "# chaos-lab reference\n\n"
        f"<!-- Generated from the code by `chaos-lab reference` (chaos_lab/cli/reference.py): do not edit. "
        f"Regenerate with `{REGENERATE}`; tests/unit/test_reference.py fails when this file is stale. -->\n\n"
        "What a scenario or incident file may say (docs/incident-files.md), generated from the models that "
        "validate it. The same sections print one at a time: `chaos-lab kinds`, `chaos-lab checkers`, "
        "`chaos-lab steps`, `chaos-lab reach`.\n"
    )
    return "\n".join([head, *(section() for section in SECTIONS.values())])


def add_parsers(sub: Any) -> None:
    sub.add_parser("kinds", help="fault kinds and their params (markdown, from the code)")
    sub.add_parser("checkers", help="checkers and their params (markdown, from the code)")
    sub.add_parser("steps", help="scenario step kinds and their fields (markdown, from the code)")
    sub.add_parser("reach", help="reach events a goal may ask for (markdown, from the code)")
    sub.add_parser("reference", help=f"all of the above as docs/reference.md ({REGENERATE})")


def main(command: str) -> int:
    text = reference() if command == "reference" else SECTIONS[command]()
    sys.stdout.write(text)
    return 0
