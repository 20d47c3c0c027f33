"""History: ordered, thread-safe, monotonic; fault windows pair inject/heal; JSONL round-trips and a bad line
is reported with its byte offset. And the client that records it: which engine answers are definite
rejections and which are unknown."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chaos_lab.workload.client import EngineClient, outcome_for_status
from chaos_lab.workload.history import History, HistoryFileError, fault_windows, read_jsonl, write_jsonl


def test_ops_are_indexed_and_time_never_goes_back() -> None:
    h = History("s", seed=7)
    h.phase = "method"
    for _ in range(5):
        h.record("workload", "invoke", "signal")
    ops = h.ops
    assert [op.index for op in ops] == [0, 1, 2, 3, 4]
    assert all(a.time <= b.time for a, b in itertools.pairwise(ops))
    assert {(op.scenario, op.seed, op.phase) for op in ops} == {("s", 7, "method")}


def test_concurrent_records_keep_unique_indexes() -> None:
    h = History()

    def work() -> None:
        for _ in range(200):
            h.record("probe", "invoke", "health")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(op.index for op in h.ops) == list(range(800))
    assert h.count("probe", ["invoke"]) == 800


def test_fault_windows_pair_inject_and_heal() -> None:
    h = History()
    h.record(
        "nemesis", "ok", "inject", fault="a", value={"kind": "disk_fill", "result": {"written_bytes": 5}}
    )
    h.record("nemesis", "ok", "inject", fault="b", value={"kind": "kill"})
    h.record("nemesis", "ok", "heal", fault="a")
    windows = fault_windows(h.ops)
    assert [(w.name, w.kind, w.end is None) for w in windows] == [
        ("a", "disk_fill", False),
        ("b", "kill", True),
    ]
    assert windows[0].result == {"written_bytes": 5}


def test_jsonl_round_trip(tmp_path: Path) -> None:
    h = History("s")
    h.record("workload", "ok", "signal", status_code=200, latency=0.01, value={"outcome": "filled"})
    path = tmp_path / "history.jsonl"
    write_jsonl(h.ops, path)
    write_jsonl(h.ops, path)  # appends: one file holds every scenario of a run
    assert read_jsonl(path) == h.ops * 2


def test_bad_line_names_file_and_offset(tmp_path: Path) -> None:
    h = History()
    h.record("workload", "invoke", "signal")
    path = tmp_path / "history.jsonl"
    write_jsonl(h.ops, path)
    first = path.stat().st_size
    with open(path, "a") as fh:
        fh.write('{"index": "x"}\n')
    with pytest.raises(HistoryFileError, match=f"byte offset {first}"):
        read_jsonl(path)


def test_a_window_starts_at_the_inject_invoke() -> None:
    """A SIGKILL bites while inject() runs: the window must cover the time before its `ok` is recorded."""
    h = History()
    invoke = h.record("nemesis", "invoke", "inject", fault="k", value={"kind": "kill"})
    h.record("probe", "fail", "health", reason="connection refused")
    h.record("nemesis", "ok", "inject", fault="k", value={"kind": "kill"})
    [window] = fault_windows(h.ops)
    assert window.start == invoke.time


# -- the client that writes the history
@pytest.mark.parametrize(
    "status,outcome",
    [
        (200, "ok"),
        (409, "fail"),
        (507, "fail"),
        (422, "fail"),
        (403, "fail"),
        (202, "info"),
        (500, "info"),
        (503, "info"),
    ],
)
def test_status_to_outcome(status: int, outcome: str) -> None:
    assert outcome_for_status(status) == outcome


class Engine(BaseHTTPRequestHandler):
    status = 200

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Engine.status == 0:  # hang up without answering: the request was sent, the outcome is unknown
            self.connection.close()
            return
        self.send_response(Engine.status)
        payload = body.replace(b'"symbol"', b'"echo_symbol"')
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def engine_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Engine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_submit_records_invoke_then_completion_with_the_client_intent_id(engine_url: str) -> None:
    history = History()
    client = EngineClient(engine_url, history)
    Engine.status = 507
    outcome, intent_id, body = client.submit("EURUSD", "BUY", 2.0)
    assert outcome == "fail" and body["intent_id"] == str(intent_id)
    invoke, done = history.ops
    assert (invoke.type, done.type, done.status_code) == ("invoke", "fail", 507)
    assert invoke.intent_id == done.intent_id == intent_id
    assert done.latency is not None and done.latency >= 0


def test_retry_reuses_the_intent_id_and_a_hangup_is_unknown(engine_url: str) -> None:
    history = History()
    client = EngineClient(engine_url, history)
    Engine.status = 0
    first = uuid.uuid4()
    outcome, intent_id, _ = client.submit("EURUSD", "SELL", 1.0, intent_id=first)
    assert outcome == "info" and intent_id == first


def test_connection_refused_is_a_definite_fail() -> None:
    history = History()
    outcome, _, body = EngineClient("http://127.0.0.1:9", history).submit("EURUSD", "BUY", 1.0)
    assert outcome == "fail" and "ConnectionError" in body["reason"]


# -- the wait accounting of the runner
def test_wait_meter_counts_sleeps_polls_and_bounds_them() -> None:
    from chaos_lab.workload.waiting import WaitMeter, WaitTimeout

    meter = WaitMeter()
    meter.sleep(0.01)
    calls = iter([None, None, "ready"])
    assert meter.until(lambda: next(calls), timeout=5, interval=0.001) == "ready"
    with meter.waiting():
        pass
    assert meter.waited >= 0.01
    with pytest.raises(WaitTimeout, match="engine ready"):
        meter.until(lambda: None, timeout=0.02, interval=0.005, what="engine ready")
