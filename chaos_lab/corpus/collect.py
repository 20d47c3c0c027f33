"""`corpus collect EXPLORE_DIR`: the schedules of an exploration that reached a feature no corpus entry (and
no earlier schedule of it) reached, or that violated a checker, become candidates; so does the shrunk
schedule of a violation. A lab error or a vacuous schedule reached nothing it can be kept for."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from chaos_lab.corpus.features import features
from chaos_lab.corpus.store import CorpusError, CorpusIndex, Entry, header, read_index, save, write_index
from chaos_lab.explore.outcome import ExploreReport
from chaos_lab.scenarios.file_format import ScenarioFileError, load_scenario
from chaos_lab.scenarios.model import Scenario


def read_report(explore_dir: Path) -> ExploreReport:
    path = explore_dir / "explore.json"
    try:
        return ExploreReport.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CorpusError(f"{explore_dir}: no explore.json (not a chaos-lab explore directory)") from exc
    except (ValidationError, OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: not an explore report: {str(exc).splitlines()[0]}") from exc


def _scenario(explore_dir: Path, file: str, name: str) -> Scenario:
    """The schedule as explore wrote it before running it (its path as recorded, else inside the directory
    given, which may have moved since)."""
    recorded = Path(file)
    path = recorded if recorded.is_file() else explore_dir / "schedules" / f"{name}.yaml"
    if not path.is_file():
        path = explore_dir / recorded.name
    try:
        return load_scenario(path)
    except ScenarioFileError as exc:
        raise CorpusError(str(exc)) from exc


def _unique(index: CorpusIndex, scenario: Scenario) -> Scenario:
    """Two explorations with other `--faults` give another schedule the same (seed, index) name."""
    name, n = scenario.name, 2
    while index.get(name) is not None:
        name, n = f"{scenario.name}-{n}", n + 1
    return scenario.model_copy(update={"name": name})


def collect(explore_dir: Path, root: Path) -> list[Entry]:
    """Add the new candidates to the corpus at `root`; returns them."""
    report = read_report(explore_dir)
    index = read_index(root)
    covered = index.covered()
    added: list[Entry] = []

    def keep(scenario: Scenario, feats: frozenset[str], found: list[str], duration_s: float,
             source: str) -> None:
        new = feats - covered
        if (not new and not found) or any(e.source == source for e in index.entries):
            return
        scenario = _unique(index, scenario)
        entry = Entry(name=scenario.name, source=source, features=sorted(feats), new=sorted(new),
                      duration_s=round(duration_s, 3), found=found)
        save(root, scenario, header(entry))
        index.entries.append(entry)
        covered.update(feats)
        added.append(entry)

    for s in sorted(report.schedules, key=lambda o: o.index):
        if s.error or (s.missed_goals and not s.violated):
            continue
        keep(_scenario(explore_dir, s.file, s.name), features(s.faults, s.reach, s.violated), s.violated,
             s.duration_s, f"explore seed {report.seed} index {s.index} ({explore_dir.name})")
    shrunk = report.shrink
    if shrunk is not None:
        minimal = _scenario(explore_dir, shrunk.minimal_file, Path(shrunk.minimal_file).stem)
        keep(minimal, features(shrunk.minimal_faults, {}, shrunk.violated), shrunk.violated,
             shrunk.duration_s / max(1, shrunk.replays or 1),
             f"explore seed {report.seed}, shrunk from {Path(shrunk.original).stem} ({explore_dir.name})")
    write_index(root, index)
    return added
