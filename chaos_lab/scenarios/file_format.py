"""Scenarios and incidents as files (YAML or JSON), validated by the catalogue's own pydantic models.

An on-call engineer writes an incident down as a file and replays it with `chaos-lab run --file`; the explorer
writes every schedule it generates as such a file before running it. `dump()` of a catalogue scenario loads
back to an equal Scenario (tested over the whole catalogue). Anything wrong with a file is one line naming
the file, the field and the problem (`ScenarioFileError`), never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn, get_args, get_origin

import yaml
from pydantic import AfterValidator, BaseModel, TypeAdapter, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from chaos_lab.bounds import Between
from chaos_lab.checkers import CHECKERS
from chaos_lab.experiment.start_state import CapturedDataError
from chaos_lab.experiment.start_state import inspect as inspect_captured
from chaos_lab.faults.registry import FAULTS
from chaos_lab.scenarios.checker_params import checker_params
from chaos_lab.scenarios.model import Heal, Inject, Scenario, Step

SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
Loc = tuple[int | str, ...]


class ScenarioFileError(ValueError):
    """One line: `<file>: line L, column C: <field>: <problem>` (the line when the file has one)."""

    def __init__(
        self, path: Path | str, field: str, problem: str, line: int | None = None, column: int | None = None
    ) -> None:
        problem = " ".join(problem.split())  # one line, whatever a message quoted
        where = f"line {line}, column {column}" if line is not None else ""
        super().__init__(": ".join(part for part in (str(path), where, field, problem) if part))
        self.path, self.field, self.problem, self.line, self.column = str(path), field, problem, line, column


_STEPS: dict[str, type[BaseModel]] = {
    cls.model_fields["action"].default: cls for cls in get_args(get_args(Step)[0])
}
_SCALAR_TAGS = frozenset({"number", "range"})  # model.py's number-or-range discriminator


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[tuple[str, str], Node] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                first = seen.setdefault((key_node.tag, key_node.value), key_node)
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key_node.value!r} (first given at line {first.start_mark.line + 1})",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


def _compose(text: str) -> tuple[Any, Node | None]:
    """The data and the node tree it came from (its marks give each value's line and column)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"duplicate key {key!r}")
        data[key] = value
    return data


def _parse(path: Path, text: str) -> tuple[Any, Node | None]:
    fmt = SUFFIXES.get(path.suffix.lower(), "yaml")
    if fmt == "json":
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            raise ScenarioFileError(path, "", exc.msg, exc.lineno, exc.colno) from exc
        except ValueError as exc:
            try:  # JSON is YAML: the YAML loader says where the duplicate is
                _compose(text)
            except yaml.MarkedYAMLError as marked:
                _raise_yaml(path, marked)
            raise ScenarioFileError(path, "", str(exc)) from exc
        try:
            return data, _compose(text)[1]
        except yaml.YAMLError:
            return data, None  # valid JSON PyYAML cannot read: no line numbers, nothing else lost
    try:
        return _compose(text)
    except yaml.MarkedYAMLError as exc:
        _raise_yaml(path, exc)
    except yaml.YAMLError as exc:
        raise ScenarioFileError(path, "YAML", str(exc).splitlines()[0]) from exc


def _raise_yaml(path: Path, exc: yaml.MarkedYAMLError) -> NoReturn:
    mark = exc.problem_mark
    problem = str(exc.problem or exc.context or exc)
    if mark is None:
        raise ScenarioFileError(path, "YAML", problem) from exc
    raise ScenarioFileError(path, "", problem, mark.line + 1, mark.column + 1) from exc


def _node_at(root: Node | None, loc: Loc) -> tuple[Node | None, Node | None]:
    """(key node, value node) of the deepest part of `loc` the file has; parts it lacks (pydantic's union
    tags, a missing field) are skipped, so a missing field points at its mapping."""
    key: Node | None = None
    node = root
    for part in loc:
        if isinstance(node, MappingNode) and isinstance(part, str):
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.value == part:
                    key, node = k, v
                    break
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            key, node = None, node.value[part]
    return key, node


def _clean(loc: Loc) -> Loc:
    """pydantic's loc without its union tags: ('method', 2, 'inject', 'kind') -> ('method', 2, 'kind')."""
    out: list[int | str] = []
    for i, part in enumerate(loc):
        step_tag = i == 2 and loc[0] in ("method", "rollback") and isinstance(loc[1], int) and part in _STEPS
        if not (step_tag or part in _SCALAR_TAGS):
            out.append(part)
    return tuple(out)


def _field(data: Any, loc: Loc) -> str:
    """`method step 3 (inject): params.leave_bytes`, `checker 2 (availability): params`, `seeds #1`:
    1-based numbers, as a person counts the items of a list."""

    def rest(parts: Loc) -> str:
        return ".".join(f"#{p + 1}" if isinstance(p, int) else p for p in parts).replace(".#", " #")

    if len(loc) >= 2 and isinstance(loc[1], int) and loc[0] in ("method", "rollback", "checkers"):
        items = data.get(loc[0]) if isinstance(data, dict) else None
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        label = item.get("action" if loc[0] != "checkers" else "name") if isinstance(item, dict) else None
        head = f"{loc[0]} step {loc[1] + 1}" if loc[0] != "checkers" else f"checker {loc[1] + 1}"
        head += f" ({label})" if isinstance(label, str) else ""
        return ": ".join(x for x in (head, rest(loc[2:])) if x)
    return rest(loc) or "(top level)"


def _fields_of(loc: Loc) -> list[str] | None:
    """The field names allowed where `loc` points, for an unknown key's message."""
    if len(loc) == 1:
        return list(Scenario.model_fields)
    if len(loc) == 4 and loc[0] in ("method", "rollback") and isinstance(loc[2], str) and loc[2] in _STEPS:
        return list(_STEPS[loc[2]].model_fields)
    if len(loc) == 3 and loc[0] == "checkers":
        return ["name", "params"]
    return None


def _message(err: dict[str, Any], allowed: list[str] | None) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    actions = ", ".join(_STEPS)
    if err["type"] == "union_tag_not_found":
        msg = f"missing required field 'action' (one of {actions})"
    elif err["type"] == "union_tag_invalid":
        msg = f"unknown action {err['ctx']['tag']!r} (one of {actions})"
    elif err["type"] == "extra_forbidden":
        msg = f"unknown field {err['loc'][-1]!r}" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif err["type"] == "missing":
        msg = f"missing required field {err['loc'][-1]!r}"
    return msg


class _Located:
    """Raises ScenarioFileError for a loc in the file's data, at its line and column when known."""

    def __init__(self, path: Path, data: Any, root: Node | None) -> None:
        self.path, self.data, self.root = path, data, root

    def error(self, loc: Loc, problem: str, *, at_key: bool = False) -> ScenarioFileError:
        key, node = _node_at(self.root, loc)
        mark = (key if at_key and key is not None else node).start_mark if node is not None else None
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        return ScenarioFileError(self.path, _field(self.data, _clean(loc)), problem, line, column)

    def from_validation(
        self, exc: ValidationError, prefix: Loc = (), allowed: list[str] | None = None
    ) -> NoReturn:
        err = exc.errors()[0]
        loc = prefix + tuple(err["loc"])
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = _message(err, allowed if allowed is not None else _fields_of(loc))
        raise self.error(loc, message + more, at_key=err["type"] == "extra_forbidden") from exc


def _some(seeds: list[int]) -> list[int]:
    if not seeds:
        raise ValueError("must list at least one seed (or leave `seeds` out: seed 1)")
    return seeds


# Top-level fields the model takes laxly (pydantic reads `true` as 1) or allows wider than a run can use:
# `--seed -1` is refused on the command line, so `seeds: [-3]` is in a file; `seeds: []` would run nothing.
_TOP_LEVEL: dict[str, TypeAdapter[Any]] = {
    "tier": TypeAdapter(Annotated[int, Between(1, 5, integer=True)]),
    "verify_signals": TypeAdapter(Annotated[int, Between(0, 10, integer=True)]),
    "seeds": TypeAdapter(Annotated[list[Annotated[int, Between(0, integer=True)]], AfterValidator(_some)]),
}


def _integer_only(annotation: Any) -> bool:
    """An int field (possibly Optional, Annotated): a random_params draw (a float) cannot fill it."""
    if annotation is int:
        return True
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        return any(isinstance(m, Between) and m.integer for m in meta) or _integer_only(base)
    args = [a for a in get_args(annotation) if a is not type(None)]
    return bool(args) and all(_integer_only(a) for a in args)


def _check_inject(at: _Located, loc: Loc, step: Inject) -> None:
    """Params against the kind's Params model; each random_params range at both ends (the draw is a float
    between them, rounded to 3 decimals)."""
    cls = FAULTS.get(step.kind)
    if cls is None:
        return  # the model already said the kind is unknown
    model = cls.Params
    names = list(model.model_fields)
    listed = ", ".join(names) or "none"
    for key in step.random_params:
        if key not in model.model_fields:
            problem = f"unknown param {key!r} for fault kind {step.kind!r} (params: {listed})"
            raise at.error((*loc, "random_params", key), problem, at_key=True)
        if key in step.params:
            raise at.error((*loc, "random_params", key), f"{key!r} is in params too: give it in one place")
        if _integer_only(model.model_fields[key].annotation):
            problem = f"{key!r} of fault kind {step.kind!r} is an integer; a random range draws a float"
            raise at.error((*loc, "random_params", key), problem)
    ends = (
        [{}]
        if not step.random_params
        else [{k: getattr(r, end) for k, r in step.random_params.items()} for end in ("lo", "hi")]
    )
    for drawn in ends:
        try:
            model.model_validate({**step.params, **drawn})
        except ValidationError as exc:
            err = exc.errors()[0]
            first = err["loc"][0] if err["loc"] else None
            where: Loc = (*loc, "random_params") if first in drawn else (*loc, "params")
            if err["type"] == "extra_forbidden":
                problem = f"unknown param {first!r} for fault kind {step.kind!r} (params: {listed})"
                raise at.error((*where, *err["loc"]), problem, at_key=True) from exc
            problem = f"{_message(err, None)} (fault kind {step.kind!r})"
            raise at.error((*where, *err["loc"]), problem) from exc


def _semantics(at: _Located, scenario: Scenario) -> None:
    """What the models cannot see alone: checker names and params, fault params, heals of faults never
    injected."""
    for i, spec in enumerate(scenario.checkers):
        if spec.name not in CHECKERS:
            problem = f"unknown checker {spec.name!r} (one of {', '.join(sorted(CHECKERS))})"
            raise at.error(("checkers", i, "name"), problem)
        model = checker_params(spec.name)
        try:
            model.model_validate(spec.params)
        except ValidationError as exc:
            err = exc.errors()[0]
            if err["type"] == "extra_forbidden":
                listed = ", ".join(model.model_fields) or "none"
                problem = f"unknown param {err['loc'][0]!r} for checker {spec.name!r} (params: {listed})"
                raise at.error(("checkers", i, "params", *err["loc"]), problem, at_key=True) from exc
            at.from_validation(exc, ("checkers", i, "params"))
    for section in ("method", "rollback"):
        injected: set[str] = set()
        for i, step in enumerate(getattr(scenario, section)):
            if isinstance(step, Inject):
                _check_inject(at, (section, i), step)
                injected.add(step.name)
            elif isinstance(step, Heal) and step.name not in injected and section == "method":
                problem = f"heals {step.name!r}, which no earlier step injects"
                raise at.error((section, i, "name"), problem)


def _start_from(at: _Located, scenario: Scenario, base: Path) -> Scenario:
    """`start_from` paths made absolute against the file's directory (a saved copy of the scenario, in a run
    directory, then still finds them), and the captured directory inspected now, before any lab work."""
    if scenario.start_from is None:
        return scenario
    start = scenario.start_from.resolved(base)
    try:
        inspect_captured(start)
    except CapturedDataError as exc:
        orders = start.broker_orders
        field = "broker_orders" if orders and str(exc).startswith(str(orders)) else "data_dir"
        raise at.error(("start_from", field), str(exc)) from exc
    return scenario.model_copy(update={"start_from": start})


def _scenario(data: Any, path: Path, root: Node | None) -> Scenario:
    at = _Located(path, data, root)
    if data is None:
        raise ScenarioFileError(path, "", "the file is empty: expected a mapping of scenario fields")
    if not isinstance(data, dict):
        problem = f"expected a mapping of scenario fields, got {type(data).__name__}"
        line = root.start_mark.line + 1 if root is not None else None
        raise ScenarioFileError(path, "", problem, line, 1 if line else None)
    for key, adapter in _TOP_LEVEL.items():  # before the model: its messages for these say less
        if key in data:
            try:
                adapter.validate_python(data[key])
            except ValidationError as exc:
                at.from_validation(exc, (key,))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        at.from_validation(exc)
    _semantics(at, scenario)
    return _start_from(at, scenario, path.parent)


def parse_scenario(data: Any, path: Path | str = "<data>") -> Scenario:
    """Data already parsed (no line numbers to give)."""
    return _scenario(data, Path(path), None)


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ScenarioFileError(path, "", "no such file") from exc
    except IsADirectoryError as exc:
        raise ScenarioFileError(path, "", "a directory, not a scenario file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(path, "", f"cannot read: {exc}") from exc
    data, root = _parse(path, text)
    return _scenario(data, path, root)


def _compact(model: BaseModel) -> dict[str, Any]:
    """Fields that differ from their defaults, with a step's `action` always first (it names the kind)."""
    data = model.model_dump(mode="json", exclude_defaults=True)
    action = getattr(model, "action", None)
    return {"action": action, **data} if action is not None else data


def to_data(scenario: Scenario) -> dict[str, Any]:
    data: dict[str, Any] = {"name": scenario.name, "tier": scenario.tier, "description": scenario.description}
    for key, value in _compact(scenario).items():
        if key in ("method", "rollback"):
            value = [_compact(step) for step in getattr(scenario, key)]
        data.setdefault(key, value)
    return data


def started_from(scenario: Scenario, data_dir: Path) -> Scenario:
    """`run --data-from DIR`: the scenario started from that captured directory (any other `start_from`
    setting of its file kept), its steady state comparing positions instead of wanting them flat."""
    data = to_data(scenario)
    data["start_from"] = {**data.get("start_from", {}), "data_dir": str(data_dir.resolve())}
    if "steady_state" in data:
        probes = data["steady_state"]
        data["steady_state"] = [p if p != "flat_positions" else "positions_agree" for p in probes]
    return parse_scenario(data, path="--data-from")


def dump_scenario(scenario: Scenario, fmt: str = "yaml") -> str:
    data = to_data(scenario)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)


def write_scenario(scenario: Scenario, path: Path, header: str | None = None) -> Path:
    fmt = SUFFIXES.get(path.suffix.lower(), "yaml")
    text = dump_scenario(scenario, fmt)
    if header and fmt == "yaml":
        text = "".join(f"# {line}\n" for line in header.splitlines()) + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
