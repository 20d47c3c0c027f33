"""Record: the real engine under Debian's strace on this host, against a real fake-broker process.

Why the host and not a container from the engine image: ptrace inside a container needs CAP_SYS_PTRACE and
a seccomp profile that allows it, i.e. weakening the one container the lab hardens most; on the host the
recorder needs no capability, and it runs the same package the image installs (engine/ is pip-installed -e
in .venv; a mutant copy is put first on PYTHONPATH). The data directory is a temp dir on the host: crash
states are built from the trace, not from that directory, so its filesystem does not matter.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from chaos_lab.crashstates.models import RecordMeta, TraceOp
from chaos_lab.crashstates.recorded_workload import TOKEN, kill_switch_reason, run_workload
from chaos_lab.crashstates.trace import STRACE_CALLS, parse_trace
from chaos_lab.ledger_reader import LEDGER_PATH, SNAPSHOT_PATH, read_snapshot, scan_ledger
from chaos_lab.workload.history import write_jsonl

START_TIMEOUT = 60.0
SNAPSHOT_WAIT_S = 5.0  # ten snapshot intervals
STOP_TIMEOUT = 30.0
STRING_LIMIT = (
    1 << 24
)  # -s: whole write payloads (a bar file is a few KB; strace prints only what was written)
ENGINE_ENV = {
    "SOLAT_KILL_SWITCH_TOKEN": TOKEN,
    "SOLAT_SNAPSHOT_INTERVAL": "0.5",
    "SOLAT_BROKER_CONNECT_TIMEOUT": "2.0",
    "SOLAT_BROKER_READ_TIMEOUT": "10.0",  # strace slows the engine; the broker answers at once
}


class RecordError(RuntimeError):
    """The recording could not be made (strace missing, a server did not start): one line."""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
            raise RecordError(
                f"{url} exited before serving (status {proc.returncode}): {tail.strip()[-300:]}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RecordError(f"{url} not serving after {timeout:.0f}s (log {log})")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


def _traced_child(strace: subprocess.Popen[bytes]) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        children = Path(f"/proc/{strace.pid}/task/{strace.pid}/children").read_text().split()
        return int(children[0]) if children else None
    return None


def engine_pythonpath(engine_src: Path | None) -> dict[str, str]:
    if engine_src is None:
        return {}
    return {
        "PYTHONPATH": os.pathsep.join([str(engine_src), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    }


def record(
    workdir: Path, seed: int, signals: int, engine_src: Path | None = None
) -> tuple[RecordMeta, list[TraceOp]]:
    """Run the workload under strace; writes trace.txt, ops.json, history.jsonl, meta.json in `workdir`."""
    strace = shutil.which("strace")
    if strace is None:
        raise RecordError("strace not found: install Debian's strace (make host does)")
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "root"
    root.mkdir()
    broker_port, engine_port = free_port(), free_port()
    broker_log, engine_log = workdir / "broker.log", workdir / "engine.log"
    trace_file = workdir / "trace.txt"
    broker_env = {**os.environ, "BROKER_DB": str(workdir / "broker.sqlite3")}
    cmd = [
        strace,
        "-f",
        "--seccomp-bpf",
        "-ttt",
        "-y",
        "-yy",
        "-xx",
        "-s",
        str(STRING_LIMIT),
        "-e",
        f"trace={STRACE_CALLS}",
        "-o",
        str(trace_file),
        sys.executable,
        "-m",
        "chaos_lab.crashstates.launch",
    ]
    engine_env = {
        **os.environ,
        **ENGINE_ENV,
        **engine_pythonpath(engine_src),
        "SOLAT_DATA_DIR": str(root / "data"),
        "SOLAT_PORT": str(engine_port),
        "SOLAT_BROKER_URL": f"http://127.0.0.1:{broker_port}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    t0 = time.monotonic()
    with open(broker_log, "wb") as blog:
        broker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "chaos_lab.broker.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(broker_port),
                "--log-level",
                "warning",
            ],
            env=broker_env,
            stdout=blog,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_http(f"http://127.0.0.1:{broker_port}", broker, broker_log)
        with open(engine_log, "wb") as elog:
            traced = subprocess.Popen(cmd, env=engine_env, stdout=elog, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{engine_port}"
            _wait_http(url, traced, engine_log)
            _wait_reconciled(url)
            data = root / "data"
            behind: list[str] = []  # what a snapshot wait found still missing
            history = run_workload(url, seed, signals, between_batches=lambda: _wait_snapshot(data, behind))
            _wait_snapshot(data, behind)  # the last records' snapshot is in the trace too
            child = _traced_child(traced)
            if child is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)  # graceful: the engine's own shutdown is traced too
            traced.wait(timeout=STOP_TIMEOUT)
        finally:
            _stop(traced, signal.SIGKILL)
    finally:
        _stop(broker)
    write_jsonl(history.ops, workdir / "history.jsonl")
    meta = RecordMeta(
        seed=seed,
        signals=signals,
        root=str(root),
        engine_src=str(engine_src) if engine_src else None,
        engine_env=dict(ENGINE_ENV),
        kill_switch_reasons=[kill_switch_reason(seed)],
        strace=" ".join(cmd[:13]),
        record_s=round(time.monotonic() - t0, 3),
        trace_lines=trace_file.read_bytes().count(b"\n"),
        snapshot_behind=behind,
    )
    ops = parse_trace(trace_file, str(root), engine_port, broker_port)
    (workdir / "meta.json").write_text(meta.model_dump_json(indent=2) + "\n")
    save_ops(workdir / "ops.json", ops)
    return meta, ops


def _snapshot_behind(data_dir: Path) -> str | None:
    """What the position snapshot still lacks of the ledger, or None once it covers the last record."""
    try:
        records = scan_ledger((data_dir / LEDGER_PATH).read_bytes()).records
    except OSError:
        return "no ledger yet"
    last = records[-1].seq if records else 0
    snapshot = read_snapshot((data_dir / SNAPSHOT_PATH).read_bytes)
    seen = snapshot.get("last_seq") if snapshot else None
    if not isinstance(seen, int):
        return f"no readable snapshot, the ledger at seq {last}"
    return None if seen >= last else f"the snapshot at seq {seen}, the ledger at seq {last}"


def _wait_snapshot(data_dir: Path, behind: list[str], timeout: float = SNAPSHOT_WAIT_S) -> None:
    """Until the engine's snapshotter has written the ledger's last record (every 0.5 s here), so that the
    trace holds a snapshot write after each batch on a loaded host too (a fixed sleep of two intervals only
    hoped so, and cost 1 s a batch). An engine whose snapshot never catches up is recorded as it is, for the
    judges: what it lacked goes into `behind`."""
    deadline = time.monotonic() + timeout
    while (lack := _snapshot_behind(data_dir)) is not None:
        if time.monotonic() >= deadline:
            behind.append(lack)
            return
        time.sleep(0.02)


def _wait_reconciled(url: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException, ValueError):
            if requests.get(url + "/execution/state", timeout=5).json().get("reconciled"):
                return
        time.sleep(0.1)
    raise RecordError(f"engine at {url} did not finish its start-up reconcile within {timeout:.0f}s")


def save_ops(path: Path, ops: list[TraceOp]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for op in ops:
            fh.write(op.model_dump_json() + "\n")


def load_recording(workdir: Path) -> tuple[RecordMeta, list[TraceOp]]:
    """A saved recording (meta.json + ops.json): ValueError naming the file if it is not one."""
    try:
        meta = RecordMeta.model_validate_json((workdir / "meta.json").read_text())
        ops = [
            TraceOp.model_validate_json(line)
            for line in (workdir / "ops.json").read_text().splitlines()
            if line.strip()
        ]
    except (OSError, ValueError) as exc:
        raise ValueError(f"{workdir}: not a crashstates recording ({str(exc).splitlines()[0]})") from exc
    return meta, ops
