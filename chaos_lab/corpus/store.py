"""The corpus on disk: `<dir>/<name>.yaml` (a scenario file, as `chaos-lab show` prints one) and
`<dir>/index.json` (`CorpusIndex`: where each came from, what it reaches, and whether it was admitted).

Only an admitted entry is part of the gate: it passed every one of its admission replays on the correct
engine (`corpus admit`). A candidate waits for that: a schedule that fails on the correct engine would make
the gate cry wolf, or hold a real engine bug that must be fixed first."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chaos_lab.scenarios.file_format import ScenarioFileError, load_scenario, write_scenario
from chaos_lab.scenarios.model import Scenario

INDEX = "index.json"
TIER = 5  # `make chaos TIER=5`, `chaos-lab run --tier 5`: the corpus alone


class Admission(BaseModel):
    """The replays that let an entry into the gate (all of them passed, or it stays a candidate)."""

    model_config = ConfigDict(extra="forbid")

    replays: int
    passed: int
    loaded: bool  # stress-ng kept every core busy during the replays (all but the `idle` ones)
    at: datetime
    mean_duration_s: float
    run_dir: str  # the admission run's id (its directory under the reports directory)
    idle: int = 0  # of the replays, those run on the idle host, first (a loaded one before 2026-12-06: none)
    idle_run_dir: str | None = None  # their run's id, when the loaded replays had a run of their own


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str  # the scenario's name and its file's stem
    source: str  # where it came from: "explore seed S index I (EXPLORE_DIR)", or the file it was added from
    features: list[str]  # chaos_lab/corpus/features.py; after admission: what every replay reached
    new: list[str] = Field(default_factory=list)  # the features no earlier entry had when it was collected
    duration_s: float  # one run's wall time: what it costs the gate
    found: list[str] = Field(default_factory=list)  # checkers it violated when found (the bug it keeps out)
    #: goals of its faults that some admission replay missed, dropped from its file ("goal: met k/n")
    unreliable_goals: list[str] = Field(default_factory=list)
    admitted: Admission | None = None


class CorpusIndex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[Entry] = Field(default_factory=list)

    def get(self, name: str) -> Entry | None:
        return next((e for e in self.entries if e.name == name), None)

    def covered(self) -> set[str]:
        return {f for e in self.entries for f in e.features}


class CorpusError(ValueError):
    """A corpus directory that cannot be read as one: one line naming the file."""


def read_index(root: Path) -> CorpusIndex:
    path = root / INDEX
    if not path.is_file():
        return CorpusIndex()
    try:
        return CorpusIndex.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: not a corpus index: {str(exc).splitlines()[0]}") from exc


def write_index(root: Path, index: CorpusIndex) -> None:
    root.mkdir(parents=True, exist_ok=True)
    data = index.model_dump(mode="json")
    (root / INDEX).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def scenario_path(root: Path, name: str) -> Path:
    return root / f"{name}.yaml"


def header(entry: Entry) -> str:
    """The comment an entry's file starts with: where it came from, and how to run it alone."""
    return f"corpus: {entry.source}\nreplay: chaos-lab run --file <this file>"


def save(root: Path, scenario: Scenario, comment: str) -> Path:
    return write_scenario(scenario, scenario_path(root, scenario.name), header=comment)


def load(root: Path, entry: Entry) -> Scenario:
    """An entry's scenario, in tier 5 (it was written in the tier explore gives its schedules)."""
    try:
        scenario = load_scenario(scenario_path(root, entry.name))
    except ScenarioFileError as exc:
        raise CorpusError(str(exc)) from exc
    if scenario.name != entry.name:
        raise CorpusError(f"{scenario_path(root, entry.name)}: names scenario {scenario.name!r}, "
                          f"the index {entry.name!r}")
    return scenario.model_copy(update={"tier": TIER})


def gate(root: Path | None) -> list[Scenario]:
    """The admitted entries, in index order: what `chaos-lab run` adds to the catalogue as tier 5."""
    if root is None or not root.is_dir():
        return []
    return [load(root, e) for e in read_index(root).entries if e.admitted is not None]
