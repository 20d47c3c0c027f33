"""A start from production's data (chaos_lab/experiment/start_state.py): the captured directory is inspected
before any lab work (only the engine's files, readable, fitting the volume), the broker is seeded from it, and
`start_state_kept` flags an engine that drops, rewrites or leaves open what the capture held."""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from pathlib import Path

import pytest

from chaos_lab.checkers import start_state_kept
from chaos_lab.experiment.start_state import CapturedDataError, StartFrom, inspect
from chaos_lab.ledger_reader import encode_record, scan_ledger
from chaos_lab.scenarios.file_format import ScenarioFileError, load_scenario
from chaos_lab.scenarios.model import Scenario
from chaos_lab.synthetic import ObservationBuilder

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "captured" / "disk-full-then-crash"


def _capture(tmp_path: Path, records: list[dict[str, object]] | None = None) -> Path:
    """A small data directory as the engine leaves it: a filled intent, an open one, a kill switch file."""
    root = tmp_path / "data"
    (root / "ledger").mkdir(parents=True)
    (root / "snapshots").mkdir()
    done, open_ = uuid.UUID(int=1), uuid.UUID(int=2)
    coid = "SOLAT-" + done.hex
    records = records if records is not None else [
        {"entry_type": "intent", "intent_id": str(done),
         "payload": {"symbol": "EURUSD", "side": "BUY", "quantity": 2.0, "client_order_id": coid}},
        {"entry_type": "fill", "intent_id": str(done),
         "payload": {"client_order_id": coid, "broker_order_id": "B-1", "symbol": "EURUSD", "side": "BUY",
                     "quantity": 2.0, "price": 100.0}},
        {"entry_type": "intent", "intent_id": str(open_),
         "payload": {"symbol": "GBPUSD", "side": "SELL", "quantity": 1.0,
                     "client_order_id": "SOLAT-" + open_.hex}},
    ]
    lines = b"".join(encode_record({"seq": i + 1, "timestamp": "2026-12-04T10:00:00+00:00", **r})
                     for i, r in enumerate(records))
    (root / "ledger" / "ledger.log").write_bytes(lines)
    off = {"active": False, "reason": None, "activated_at": None}
    (root / "kill_switch.json").write_text(json.dumps(off))
    (root / "snapshots" / "positions.json").write_text("{}")
    return root


def test_a_capture_is_inspected_and_seeds_the_broker_from_its_fills(tmp_path: Path) -> None:
    captured = inspect(StartFrom(data_dir=_capture(tmp_path)))
    assert sorted(f.path for f in captured.files) == ["kill_switch.json", "ledger/ledger.log",
                                                      "snapshots/positions.json"]
    assert [(o.client_order_id[-4:], o.quantity) for o in captured.orders] == [("0001", 2.0)]
    assert captured.open_intents() == [uuid.UUID(int=2)] and not captured.kill_switch_active
    with tarfile.open(fileobj=io.BytesIO(captured.archive())) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["ledger"].isdir() and members["ledger/ledger.log"].uid == 10001
    assert members["ledger/ledger.log"].size == (tmp_path / "data/ledger/ledger.log").stat().st_size


def test_the_captured_directory_is_never_written(tmp_path: Path) -> None:
    root = _capture(tmp_path)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}
    os.chmod(root / "ledger" / "ledger.log", 0o400)  # a read-only copy of production's data is enough
    captured = inspect(StartFrom(data_dir=root))
    captured.archive()
    captured.config({"snapshot_interval": 1.0})
    assert before == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("plant", "message"),
    [
        (lambda r: (r / "notes.txt").write_text("x"), "notes.txt: not a file the engine writes"),
        (lambda r: (r / "ledger" / "ledger.log.bak").write_text("x"), "ledger.log.bak: not a file the"),
        (lambda r: (r / "cache").mkdir(), "cache: not a directory the engine writes"),
        (lambda r: (r / "config.json").symlink_to("/etc/passwd"), "config.json: not a regular file"),
        (lambda r: (r / "config.json").write_text("[1, 2]"), "config.json: not a JSON object"),
        (lambda r: (r / "ledger" / "ledger.log").write_bytes(b"garbage\n" * 3), "no readable record"),
        (lambda r: (r / "bars" / "eurusd").mkdir(parents=True), "bars/eurusd: not a directory"),
    ],
)
def test_a_bad_capture_is_one_line_naming_the_file(tmp_path: Path, plant: object, message: str) -> None:
    root = _capture(tmp_path)
    plant(root)  # type: ignore[operator]
    with pytest.raises(CapturedDataError, match=message.replace(".", r"\.")) as err:
        inspect(StartFrom(data_dir=root))
    assert "\n" not in str(err.value)


def test_a_capture_that_does_not_fit_the_volume_is_refused(tmp_path: Path) -> None:
    root = _capture(tmp_path)
    (root / "config.json").write_text(json.dumps({"pad": "x" * (2 << 20)}))
    with pytest.raises(CapturedDataError, match="do not fit a volume of 1048576 bytes"):
        inspect(StartFrom(data_dir=root, volume_size="1m"))
    with pytest.raises(CapturedDataError, match="bytes left free do not fit"):
        inspect(StartFrom(data_dir=root, volume_size="4m", leave_bytes=3 << 20))
    assert inspect(StartFrom(data_dir=root, volume_size="4m", leave_bytes=4096)).volume_bytes == 4 << 20


def test_a_broker_file_gives_the_orders_and_a_bad_one_is_named(tmp_path: Path) -> None:
    root = _capture(tmp_path)
    orders = tmp_path / "broker.json"
    orders.write_text(json.dumps({"orders": [{"broker_order_id": "B-9", "client_order_id": "SOLAT-x",
                                              "symbol": "GBPUSD", "side": "SELL", "quantity": 1.0,
                                              "price": 1.3, "status": "filled", "seeded": False}]}))
    seeded = inspect(StartFrom(data_dir=root, broker_orders=orders)).orders
    assert [o.broker_order_id for o in seeded] == ["B-9"]
    orders.write_text(json.dumps({"orders": [{"broker_order_id": "B-9"}]}))
    with pytest.raises(CapturedDataError, match=r"broker\.json: orders\.0\.client_order_id: Field required"):
        inspect(StartFrom(data_dir=root, broker_orders=orders))


def test_a_file_names_its_capture_relative_to_itself_and_a_bad_one_is_exit_2_material(tmp_path: Path) -> None:
    _capture(tmp_path)
    file = tmp_path / "incident.yaml"
    body = ("name: from-prod\ntier: 2\ndescription: d\nstart_from: {data_dir: %s}\nmethod: []\n"
            "checkers: [{name: no_duplicates}]\n")
    file.write_text(body % "data")
    scenario = load_scenario(file)
    assert scenario.start_from is not None and scenario.start_from.data_dir == (tmp_path / "data").resolve()
    assert scenario.steady_state[-1] == "positions_agree"
    assert [c.name for c in scenario.checkers] == ["no_duplicates", "start_state_kept"]
    file.write_text(body % "nowhere")
    with pytest.raises(ScenarioFileError, match=r"line 4, column \d+: start_from\.data_dir: .*no such dir"):
        load_scenario(file)
    file.write_text(body % "data, volume_size: 9t")
    with pytest.raises(ScenarioFileError, match=r"start_from\.volume_size"):
        load_scenario(file)


def test_flat_positions_cannot_be_the_steady_state_of_a_captured_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flat_positions cannot hold"):
        Scenario(name="x", tier=1, description="d", method=(), checkers=(),
                 start_from=StartFrom(data_dir=tmp_path), steady_state=("engine_ready", "flat_positions"))


def _judged(tmp_path: Path, after: list[bytes], reconciled: bool = True) -> start_state_kept.Verdict:
    start = scan_ledger((_capture(tmp_path) / "ledger" / "ledger.log").read_bytes())
    obs = ObservationBuilder().build(ledger_bytes=b"".join(after))
    obs.start_ledger = start
    obs.engine_state = {"reconciled": reconciled}
    return start_state_kept.check(obs)


def _lines(tmp_path: Path) -> list[bytes]:
    return (_capture(tmp_path / "x") / "ledger" / "ledger.log").read_bytes().splitlines(keepends=True)


def test_start_state_kept_passes_when_the_capture_is_kept_and_open_intent_resolved(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    not_sent = encode_record({"seq": 4, "entry_type": "not_sent", "intent_id": str(uuid.UUID(int=2)),
                              "timestamp": "2026-12-04T10:01:00+00:00", "payload": {"client_order_id": "c"}})
    verdict = _judged(tmp_path, [*lines, not_sent])
    assert verdict.ok, verdict.summary
    assert verdict.summary == "all 3 captured records kept; 1 of 1 open intents resolved"


def test_start_state_kept_flags_an_open_intent_the_reconcile_skipped(tmp_path: Path) -> None:
    verdict = _judged(tmp_path, _lines(tmp_path))
    assert not verdict.ok and "still open after the start-up reconcile" in verdict.summary
    never = _judged(tmp_path / "b", _lines(tmp_path / "b"), reconciled=False)
    assert never.ok  # the engine never completed its reconcile: open intents are not judged


def test_start_state_kept_flags_lost_and_rewritten_history(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    verdict = _judged(tmp_path, lines[:1])
    assert not verdict.ok and "captured record lost: seq 2 (fill" in verdict.summary
    other = encode_record({"seq": 2, "entry_type": "reject", "intent_id": str(uuid.UUID(int=1)),
                           "timestamp": "2026-12-04T10:01:00+00:00",
                           "payload": {"reason": "x", "stage": "risk"}})
    verdict = _judged(tmp_path / "c", [lines[0], other, lines[2]])
    assert not verdict.ok and "rewritten: seq 2: fill" in verdict.summary


def test_start_state_kept_has_nothing_to_judge_without_a_capture() -> None:
    verdict = start_state_kept.check(ObservationBuilder().build())
    assert verdict.ok and "nothing to judge" in verdict.summary


def test_the_shipped_capture_is_a_valid_start_with_open_intents_the_broker_filled() -> None:
    captured = inspect(StartFrom(data_dir=EXAMPLE / "data", broker_orders=EXAMPLE / "broker-orders.json"))
    assert captured.ledger is not None and len(captured.ledger.records) == 21 and not captured.ledger.issues
    at_broker = {o.client_order_id for o in captured.orders}
    opened = captured.open_intents()
    assert len(opened) == 3 and all("SOLAT-" + i.hex in at_broker for i in opened)
    from_ledger = inspect(StartFrom(data_dir=EXAMPLE / "data")).orders  # without the broker file: its fills
    assert len(from_ledger) == 6 and not {o.client_order_id for o in from_ledger} - at_broker
