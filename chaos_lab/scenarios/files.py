"""Scenarios and incidents as files (YAML or JSON), validated by the catalogue's own pydantic models.

An on-call engineer writes an incident down as a file and replays it with `chaos-lab run --file`; the explorer
writes every schedule it generates as such a file before running it. `dump()` of a catalogue scenario loads
back to an equal Scenario (tested over the whole catalogue). Anything wrong with a file is one line naming
the file, the field and the problem (`ScenarioFileError`), never a traceback.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from chaos_lab.checkers import known as known_checker
from chaos_lab.faults.catalog import LAB_FAULTS, NETWORK_FAULTS
from chaos_lab.scenarios.model import Heal, Inject, Scenario, Step

SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}


class ScenarioFileError(ValueError):
    """One line: `<file>: <field>: <problem>`."""

    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}" if field else f"{path}: {problem}")
        self.path, self.field, self.problem = str(path), field, problem


_STEP_TAGS = frozenset(cls.model_fields["action"].default for cls in get_args(get_args(Step)[0]))
_TAGS = _STEP_TAGS | {"int", "float", "IntRange", "FloatRange"}


def _loc(parts: tuple[int | str, ...]) -> str:
    """`method.2.kind` for pydantic's ('method', 2, 'inject', 'kind'): the discriminator tag is noise."""
    return ".".join(str(p) for p in parts if not (isinstance(p, str) and p in _TAGS)) or "(top level)"


def _parse(path: Path, text: str) -> Any:
    fmt = SUFFIXES.get(path.suffix.lower(), "yaml")
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioFileError(path, f"line {exc.lineno}, column {exc.colno}", exc.msg) from exc
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise ScenarioFileError(path, where, str(exc.problem or exc.context or exc)) from exc
    except yaml.YAMLError as exc:
        raise ScenarioFileError(path, "YAML", str(exc).splitlines()[0]) from exc


def _fault_params_problem(kind: str, params: dict[str, Any]) -> str | None:
    """Bind the params to the fault's constructor now, not half-way through a run."""
    cls = LAB_FAULTS.get(kind) or NETWORK_FAULTS.get(kind)
    if cls is None:
        return None  # the model already said the kind is unknown
    try:
        inspect.signature(cls.__init__).bind(None, None, **params)
    except TypeError as exc:
        return f"{exc} (fault kind {kind!r})"
    return None


def _semantics(path: Path, scenario: Scenario) -> None:
    """What the models cannot see alone: checker names, fault params, heals of faults never injected."""
    for i, spec in enumerate(scenario.checkers):
        if not known_checker(spec.name):
            raise ScenarioFileError(path, f"checkers.{i}.name", f"unknown checker {spec.name!r}")
    for section in ("method", "rollback"):
        injected: set[str] = set()
        for i, step in enumerate(getattr(scenario, section)):
            if isinstance(step, Inject):
                problem = _fault_params_problem(step.kind, {**step.params, **step.random_params})
                if problem:
                    raise ScenarioFileError(path, f"{section}.{i}.params", problem)
                injected.add(step.name)
            elif isinstance(step, Heal) and step.name not in injected and section == "method":
                problem = f"heals {step.name!r}, which no earlier step injects"
                raise ScenarioFileError(path, f"{section}.{i}.name", problem)


def parse_scenario(data: Any, path: Path | str = "<data>") -> Scenario:
    path = Path(path)
    if not isinstance(data, dict):
        raise ScenarioFileError(path, "", f"expected a mapping of scenario fields, got {type(data).__name__}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ScenarioFileError(path, _loc(tuple(err["loc"])), err["msg"] + more) from exc
    _semantics(path, scenario)
    return scenario


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ScenarioFileError(path, "", "no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(path, "", f"cannot read: {exc}") from exc
    return parse_scenario(_parse(path, text), path)


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
