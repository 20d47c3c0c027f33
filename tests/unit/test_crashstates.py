"""Crash-state pieces without strace: the trace parser, the disk models, the new checkers, the CLI checks,
and the proof that the warm worker starts the engine through the app's lifespan like uvicorn does."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chaos_lab.cli.main import main as cli_main
from chaos_lab.crashstates import record
from chaos_lab.crashstates.checkers import acks_durable, recovery_explained, whole_file_versions
from chaos_lab.crashstates.models import CrashObservation, RecoveryResult, TraceOp
from chaos_lab.crashstates.states import (
    enumerate_points,
    power_state,
    power_vectors,
    rebuild_state,
    select_states,
)
from chaos_lab.crashstates.trace import calls, parse_trace
from chaos_lab.ledger_reader import encode_record, scan_ledger

ROOT = "/r"


def hx(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return "".join(f"\\x{b:02x}" for b in raw)


def fd(n: int, path: str) -> str:
    return f"{n}<{hx(path)}>"


def tcp(n: int, local: int, remote: int) -> str:
    return f"{n}<TCP:[127.0.0.1:{local}->127.0.0.1:{remote}]>"


def sample_trace(tmp_path: Path) -> Path:
    answer = json.dumps({"ok": True, "intent_id": "i-1", "outcome": "filled"}).encode()
    order = json.dumps(
        {"client_order_id": "SOLAT-1", "symbol": "EURUSD", "side": "BUY", "quantity": 1.0}
    ).encode()
    head = b"POST /orders HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(order)
    status = hx(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(answer))
    n_status = len(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(answer))
    lines = [
        f'9 1.0 mkdir("{hx("/r/data")}", 0777) = 0',
        f'9 1.1 openat(AT_FDCWD<{hx("/")}>, "{hx("/r/data/a.log")}", O_RDWR|O_CREAT|O_APPEND, 0644) = '
        f"{fd(5, '/r/data/a.log')}",
        f'9 1.2 write({fd(5, "/r/data/a.log")}, "{hx(b"x" * 600)}", 600 <unfinished ...>',
        f'10 1.25 sendto({tcp(7, 40000, 8700)}, "{hx(head)}", {len(head)}, 0, NULL, 0) = {len(head)}',
        "9 1.3 <... write resumed>) = 600",
        f'10 1.35 sendto({tcp(7, 40000, 8700)}, "{hx(order)}", {len(order)}, 0, NULL, 0) = {len(order)}',
        f"9 1.4 fsync({fd(5, '/r/data/a.log')}) = 0",
        f'9 1.5 openat(AT_FDCWD, "{hx("/tmp/other")}", O_WRONLY|O_CREAT, 0644) = {fd(6, "/tmp/other")}',
        f'9 1.6 write({fd(6, "/tmp/other")}, "{hx("zz")}", 2) = 2',
        f'9 1.7 sendto({tcp(8, 8080, 50000)}, "{status}", {n_status}, 0, NULL, 0) = {n_status}',
        f'9 1.8 sendto({tcp(8, 8080, 50000)}, "{hx(answer)}", {len(answer)}, 0, NULL, 0) = {len(answer)}',
        f'9 1.9 rename("{hx("/r/data/a.log")}", "{hx("/r/data/b.log")}") = 0',
        f'9 2.0 unlink("{hx("/r/data/missing")}") = -1 ENOENT (No such file or directory)',
    ]
    path = tmp_path / "trace.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_parser_keeps_root_file_ops_broker_orders_and_acks_in_completion_order(tmp_path: Path) -> None:
    ops = parse_trace(sample_trace(tmp_path), ROOT, engine_port=8080, broker_port=8700)
    assert [(o.kind, o.path) for o in ops] == [
        ("mkdir", "data"),
        ("create", "data/a.log"),
        ("write", "data/a.log"),
        ("broker_send", None),
        ("fsync", "data/a.log"),
        ("ack", None),
        ("rename", "data/a.log"),
    ]
    write = ops[2]
    assert (write.offset, write.size, bytes.fromhex(write.data or "")) == (0, 600, b"x" * 600)
    assert ops[3].client_order_id == "SOLAT-1" and ops[3].order == {
        "client_order_id": "SOLAT-1",
        "symbol": "EURUSD",
        "side": "BUY",
        "quantity": 1.0,
    }
    assert (ops[5].request, ops[5].intent_id, ops[5].status) == ("signal", "i-1", 200)
    assert ops[6].dest == "data/b.log" and ops[6].inode == ops[1].inode
    assert [o.index for o in ops] == list(range(len(ops)))


def test_unfinished_calls_are_stitched_to_their_resumption() -> None:
    got = calls(
        ["3 1.0 fsync(4<\\x2f> <unfinished ...>", "5 1.1 close(6) = 0", "3 1.2 <... fsync resumed>) = 0"]
    )
    assert [(c.name, c.tid, c.time, c.ret) for c in got] == [("close", 5, 1.1, "0"), ("fsync", 3, 1.2, "0")]


def _ops(tmp_path: Path) -> list[TraceOp]:
    return parse_trace(sample_trace(tmp_path), ROOT, 8080, 8700)


def test_power_loss_tears_an_unsynced_write_at_a_sector_boundary(tmp_path: Path) -> None:
    enum = enumerate_points(_ops(tmp_path), seed=1)
    after_write = enum.points[2]
    (item,) = after_write.data_items
    contents = [enum.blobs[d] for _, d in item.options]
    assert contents == [b"", b"x" * 512, b"x" * 600]  # dropped, torn at 512 B, kept
    assert "torn at a 512 B sector boundary in #2" in item.options[1][0]
    after_fsync = enum.points[4]
    assert after_fsync.data_items == []  # fsync made the bytes durable
    # The create (and the mkdir) are not covered by a directory fsync: they may be undone.
    assert [o.kind for o in after_fsync.dir_ops] == ["mkdir", "create"]
    states = [power_state(after_fsync, v) for v in power_vectors(after_fsync)]
    assert {tuple(sorted(s.files)) for s in states} == {(), ("data",), ("data", "data/a.log")}
    # A create that needs its undone mkdir is never done alone.
    assert after_fsync.dir_assignments == [(False, False), (True, False), (True, True)]


def test_process_crash_keeps_every_completed_call_and_ids_rebuild_states(tmp_path: Path) -> None:
    enum = enumerate_points(_ops(tmp_path), seed=1)
    possible, chosen = select_states(enum.points, ["process", "power"], 10_000, seed=1)
    assert possible["process"] == len(enum.points)
    assert (
        possible["power"]
        == sum(p.power_possible for p in enum.points)
        == sum(1 for s in chosen if s.model == "power")
    )
    last = enum.points[-1]
    assert set(last.current) == {"data", "data/b.log"}
    for state in chosen:
        assert rebuild_state(enum.points, state.id) == state
    assert [s.orders for s in chosen if s.id == "process:3"] == [["SOLAT-1"]]
    assert [s.orders for s in chosen if s.id == "process:2"] == [[]]
    with pytest.raises(ValueError, match="state id"):
        rebuild_state(enum.points, "power:99:0")
    _, sampled = select_states(enum.points, ["process", "power"], 9, seed=1)
    assert len(sampled) == 9


def _ledger(*records: tuple[str, str]) -> bytes:
    return b"".join(
        encode_record(
            {
                "seq": i + 1,
                "entry_type": t,
                "intent_id": iid,
                "timestamp": "2026-01-01T00:00:00Z",
                "payload": {},
            }
        )
        for i, (t, iid) in enumerate(records)
    )


def test_acks_durable_fails_when_an_acked_intent_has_no_durable_outcome() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    scan = scan_ledger(_ledger(("intent", a), ("fill", a), ("intent", b)))
    ok = acks_durable.check(CrashObservation(scenario="t", crash_ledger=scan, acked_signals=[a]))
    bad = acks_durable.check(CrashObservation(scenario="t", crash_ledger=scan, acked_signals=[a, b]))
    assert ok.ok and not bad.ok
    assert b in str(bad.evidence["missing"]) and a not in str(bad.evidence["missing"])


def test_whole_file_versions_fails_on_a_torn_replaced_file_only() -> None:
    obs = CrashObservation(
        scenario="t",
        crash_files={
            "data/kill_switch.json": "v1",
            "data/ledger/ledger.log": "x",
            "data/.kill_switch.json.1.tmp": "y",
            "data": None,
        },
        file_versions={"data/kill_switch.json": ["v0", "v1"]},
    )
    assert whole_file_versions.check(obs).ok
    torn = obs.model_copy(update={"crash_files": {**obs.crash_files, "data/kill_switch.json": "half"}})
    verdict = whole_file_versions.check(torn)
    assert not verdict.ok and "data/kill_switch.json" in verdict.summary


def test_recovery_explained_needs_no_crash_and_a_reason_naming_a_file() -> None:
    base = CrashObservation(scenario="t", data_dir="/r/data", kill_switch_reasons=["drill"])

    def with_rec(**kw: object) -> CrashObservation:
        return base.model_copy(update={"recovery": RecoveryResult(key="k", started=True, **kw)})

    assert recovery_explained.check(with_rec(verify_status=200)).ok
    assert recovery_explained.check(
        with_rec(verify_status=409, verify_body={"reason": "kill switch active: drill"})
    ).ok
    named = "ledger /r/data/ledger/ledger.log is corrupt at byte offset 12"
    assert recovery_explained.check(with_rec(verify_status=409, verify_body={"reason": named})).ok
    assert not recovery_explained.check(with_rec(verify_status=409, verify_body={"reason": "no"})).ok
    assert not recovery_explained.check(
        with_rec(verify_status=409, verify_body={"reason": "ledger /r/data/ledger/ledger.log corrupt"})
    ).ok  # no offset
    assert not recovery_explained.check(with_rec(crash="ValueError: boom")).ok
    assert not recovery_explained.check(with_rec(verify_status=200, server_errors=["GET /x: 500"])).ok
    assert not recovery_explained.check(base).ok  # nothing recovered is not a pass


@pytest.mark.parametrize(
    "argv",
    [
        ["--signals", "0"],
        ["--signals", "x"],
        ["--model", "disk"],
        ["--max-states", "-1"],
        ["--seed", "1.5"],
        ["--state", "process:1"],
        ["--trace", "/nonexistent"],
        ["--engine-src", "/nonexistent"],
        ["--workers", "0"],
        ["--signals"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = cli_main(["crashstates", *argv])
    except SystemExit as exc:  # argparse's own checks (a missing value) exit from inside parse_args
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("chaos-lab crashstates: error:")


def test_rebuild_refuses_a_bad_state_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chaos_lab.crashstates.models import RecordMeta
    from chaos_lab.crashstates.record import save_ops

    (tmp_path / "meta.json").write_text(RecordMeta(seed=1, signals=1, root=ROOT).model_dump_json())
    save_ops(tmp_path / "ops.json", _ops(tmp_path))
    assert (
        cli_main(
            ["crashstates", "--trace", str(tmp_path), "--state", "power:1:9", "--out", str(tmp_path / "out")]
        )
        == 2
    )
    assert "not a valid choice vector" in capsys.readouterr().err
    assert (
        cli_main(
            ["crashstates", "--trace", str(tmp_path), "--state", "process:4", "--out", str(tmp_path / "out")]
        )
        == 0
    )
    assert (tmp_path / "out" / "data" / "a.log").read_bytes() == b"x" * 600
    assert (tmp_path / "out" / "broker.sqlite3").is_file()


def test_the_worker_start_up_path_is_the_lifespan_that_starts_the_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """worker.py builds the app with create_app() and enters TestClient: that runs the lifespan, which must
    call Engine.start() - the same call uvicorn's lifespan makes in the lab."""
    from solat_engine.api import app as app_module
    from solat_engine.engine import Engine

    started: list[Engine] = []
    monkeypatch.setattr(Engine, "start", lambda self: started.append(self))
    monkeypatch.setattr(Engine, "stop", lambda self: None)
    monkeypatch.setenv("SOLAT_DATA_DIR", str(tmp_path / "data"))
    app = app_module.create_app()
    assert started == []
    with TestClient(app):
        assert started == [app.state.engine]


def test_the_recorder_waits_for_a_snapshot_of_the_ledgers_last_record(tmp_path: Path) -> None:
    """The recording waits on the state a snapshot stands for (its last_seq covers the ledger), not on a
    clock; an engine whose snapshot never catches up is recorded anyway, with what it lacked."""
    data, intent = tmp_path / "data", str(uuid.uuid4())
    (data / "ledger").mkdir(parents=True)
    (data / "snapshots").mkdir()
    assert record._snapshot_behind(data) == "no ledger yet"
    (data / "ledger" / "ledger.log").write_bytes(_ledger(("intent", intent), ("filled", intent)))
    assert record._snapshot_behind(data) == "no readable snapshot, the ledger at seq 2"
    snapshot = data / "snapshots" / "positions.json"
    snapshot.write_text(json.dumps({"positions": {}, "last_seq": 1}))
    assert record._snapshot_behind(data) == "the snapshot at seq 1, the ledger at seq 2"
    behind: list[str] = []
    record._wait_snapshot(data, behind, timeout=0.1)
    assert behind == ["the snapshot at seq 1, the ledger at seq 2"]
    snapshot.write_text(json.dumps({"positions": {"EURUSD": 1.0}, "last_seq": 2}))
    record._wait_snapshot(data, behind, timeout=0.1)
    assert record._snapshot_behind(data) is None and len(behind) == 1
