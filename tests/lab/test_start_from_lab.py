"""An incident started from production's own data, end to end through the command line, on a lab of its own:
the shipped capture (examples/captured/disk-full-then-crash, taken by the lab itself with capture.py) replays
from its incident file on a volume sized as the file says, and `--data-from` starts a catalogue scenario from
the same directory with the broker seeded from the ledger alone. The captured directory is left unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from chaos_lab.cli.main import main
from chaos_lab.lab.volume_size import VOLUME_SIZE_VAR

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT / "examples" / "captured" / "disk-full-then-crash"
INCIDENT = ROOT / "examples" / "incidents" / "restart-from-captured-crash.yaml"
PORT_SHIFT = 3


@pytest.fixture
def own_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    """A project and ports of its own: the session fixture's lab stays as it is."""
    base = os.environ.get("COMPOSE_PROJECT_NAME") or "solat-lab"
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", f"{base}-captured")
    for var, port in (("LAB_ENGINE_PORT", 18080), ("LAB_TOXIPROXY_PORT", 18474), ("LAB_BROKER_PORT", 18700)):
        monkeypatch.setenv(var, str(int(os.environ.get(var) or port) + PORT_SHIFT))


def _snapshot() -> dict[str, bytes]:
    return {str(p.relative_to(CAPTURE)): p.read_bytes() for p in sorted(CAPTURE.rglob("*")) if p.is_file()}


def _result(reports: Path) -> dict[str, object]:
    (run_dir,) = [p for p in reports.iterdir() if p.is_dir()]
    (result,) = json.loads((run_dir / "summary.json").read_text())["results"]
    return dict(result)


def _verdict(result: dict[str, object], name: str) -> dict[str, object]:
    return next(v for v in result["verdicts"] if v["name"] == name)  # type: ignore[union-attr]


@pytest.mark.lab
@pytest.mark.tier4
def test_a_captured_incident_replays_from_its_file_on_its_volume_size(own_lab: None, tmp_path: Path) -> None:
    before = _snapshot()
    incident = yaml.safe_load(INCIDENT.read_text())
    incident["start_from"] = {"data_dir": str(CAPTURE / "data"),
                              "broker_orders": str(CAPTURE / "broker-orders.json"),
                              "volume_size": "16m", "leave_bytes": 262144}
    file = tmp_path / "incident.yaml"
    file.write_text(yaml.safe_dump(incident))
    assert main(["run", "--file", str(file), "--reports", str(tmp_path / "reports")]) == 0
    result = _result(tmp_path / "reports")
    assert result["status"] == "passed"  # the lab's volume was 16m: a 64m one is refused before the run
    kept = _verdict(result, "start_state_kept")
    assert kept["ok"] and kept["evidence"]["captured_records"] == 21 and kept["evidence"]["resolved"] == 3
    assert result["reach"]["reconcile_lookup"] >= 3
    assert VOLUME_SIZE_VAR not in os.environ or os.environ[VOLUME_SIZE_VAR] != "16m"
    assert _snapshot() == before


@pytest.mark.lab
@pytest.mark.tier4
def test_data_from_starts_a_catalogue_scenario_from_the_capture(own_lab: None, tmp_path: Path) -> None:
    """Without the broker's orders, the broker holds the ledger's 6 fills: the 3 open intents were never at
    the broker, and the reconcile closes them `not_sent`."""
    before = _snapshot()
    code = main(["run", "--scenario", "disk-full-then-crash-then-free", "--data-from", str(CAPTURE / "data"),
                 "--reports", str(tmp_path / "reports")])
    result = _result(tmp_path / "reports")
    assert code == 0, [v["summary"] for v in result["verdicts"] if not v["ok"]]  # type: ignore[union-attr]
    kept = _verdict(result, "start_state_kept")
    assert kept["ok"] and kept["evidence"]["resolved"] == 3, kept
    saved = yaml.safe_load(next((tmp_path / "reports").glob("*/scenarios/*.yaml")).read_text())
    assert saved["start_from"]["data_dir"] == str((CAPTURE / "data").resolve())  # replayable as saved
    assert _snapshot() == before
