"""Replay and restart-to-ready with a 100k-record ledger."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from solat_engine.execution.ledger import ExecutionLedger, scan_ledger

from bench.workload import order_records


def write_ledger(directory: Path, records: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ledger.log"
    path.write_bytes(b"".join(order_records(1, records // 4)))
    return path


def replay_rate(path: Path, records: int, rounds: int = 3) -> float:
    """Entries/s of a full read + checksum + validation + replay of the file (what every start does)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        scan = scan_ledger(path)
        best = min(best, time.perf_counter() - start)
        assert scan.state.last_seq == records
    return records / best


def ledger_open_seconds(directory: Path, records: int, rounds: int = 3) -> float:
    """Seconds to open (verify every record) and replay: the ledger's share of a restart."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        ledger = ExecutionLedger(directory)
        state = ledger.replay()
        best = min(best, time.perf_counter() - start)
        ledger.close()
        assert state.last_seq == records
    return best


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def engine_cold_start_seconds(data_dir: Path, timeout: float = 20.0) -> tuple[float | None, str]:
    """Spawn `python -m solat_engine` on the data dir and time until GET /health answers 200.

    Returns (seconds or None, note). The broker is not running: the engine must still come up (degraded).
    """
    if importlib.util.find_spec("solat_engine.api.app") is None:
        return None, "solat_engine.api.app not present: ledger part only"
    port = _free_port()
    env = {
        **os.environ,
        "SOLAT_DATA_DIR": str(data_dir),
        "SOLAT_HOST": "127.0.0.1",
        "SOLAT_PORT": str(port),
        "SOLAT_BROKER_URL": f"http://127.0.0.1:{_free_port()}",
        "SOLAT_BROKER_CONNECT_TIMEOUT": "0.2",
        "SOLAT_BROKER_READ_TIMEOUT": "0.2",
    }
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "solat_engine"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                err = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace").strip()
                last = err.splitlines()[-1] if err else ""
                return None, f"engine exited with {proc.returncode}: {last}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=0.5) as resp:
                    if resp.status == 200:
                        return (
                            time.perf_counter() - start,
                            "spawn `python -m solat_engine` until /health is 200",
                        )
            except OSError:
                time.sleep(0.02)
        return None, f"engine not ready within {timeout:.0f}s"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def measure(root: Path, records: int = 100_000) -> dict[str, object]:
    data_dir = root / "data"
    path = write_ledger(data_dir / "ledger", records)
    result: dict[str, object] = {
        "records": records,
        "ledger_bytes": path.stat().st_size,
        "replay_rate": replay_rate(path, records),
        "ledger_open_s": ledger_open_seconds(data_dir / "ledger", records),
    }
    cold, note = engine_cold_start_seconds(data_dir)
    result["engine_cold_start_s"] = cold
    result["engine_cold_start_note"] = note
    return result
