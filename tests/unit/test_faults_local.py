"""Disk and file faults run their real commands against a real filesystem: DockerLab's exec/volume_exec are
replaced by a stand-in that runs the same argv on this machine with /data mapped to a directory (for the disk
fault, a real 4 MiB tmpfs from the `small_disk` fixture, so ENOSPC is the kernel's)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from chaos_lab.faults.corrupt_kill_switch import CorruptKillSwitch
from chaos_lab.faults.disk_fill import DiskFill
from chaos_lab.faults.flip_ledger_byte import FlipLedgerByte
from chaos_lab.faults.kill import Kill
from chaos_lab.faults.pause import Pause
from chaos_lab.faults.stop import Stop
from chaos_lab.faults.tear_ledger_tail import TearLedgerTail
from chaos_lab.faults.truncate_parquet import TruncateParquet
from chaos_lab.ledger_reader import encode_record, record_bounds, scan_ledger


class LocalLab:
    """The subset of DockerLab the faults use, acting on this machine. Records every call."""

    def __init__(self, root: Path, running: bool = True) -> None:
        self.root, self.calls = root, []
        self.status = "running" if running else "exited"

    def _map(self, arg: str) -> str:
        return arg.replace("/data", str(self.root))

    def _run(self, cmd: list[str]) -> tuple[int, str]:
        argv = [sys.executable if c == "python3" else self._map(c) for c in cmd]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return proc.returncode, proc.stdout + proc.stderr

    def exec(
        self, service: str, cmd: list[str], user: str | None = None, *, idempotent: bool = False
    ) -> tuple[int, str | None]:
        self.calls.append(("exec", service, cmd[0]))
        return self._run(cmd)

    def volume_exec(
        self, cmd: list[str], volume: str = "engine-data", *, idempotent: bool = False
    ) -> tuple[int, str | None]:
        self.calls.append(("volume_exec", volume, cmd[0]))
        return self._run(cmd)

    def read_file(self, service_or_volume: str, path: str) -> bytes:
        self.calls.append(("read_file", service_or_volume, path))
        return Path(self._map(path)).read_bytes()

    def service_status(self, service: str) -> str:
        return self.status

    def wait_stopped(self, service: str, timeout: float = 15) -> bool:
        return self.status != "running"

    def kill(self, service: str, signal: str = "SIGKILL") -> None:
        self.calls.append(("kill", service, signal))
        self.status = "exited"

    def stop(self, service: str, timeout: int = 10) -> None:
        self.calls.append(("stop", service))
        self.status = "exited"

    def start(self, service: str) -> None:
        self.calls.append(("start", service))
        self.status = "running"

    def pause(self, service: str) -> None:
        self.calls.append(("pause", service))
        self.status = "paused"

    def unpause(self, service: str) -> None:
        self.calls.append(("unpause", service))
        self.status = "running"


class LossyLab(LocalLab):
    """Docker's exec race (docker/docker-py#2042): the command runs, exits 0, and its output never arrives."""

    def volume_exec(
        self, cmd: list[str], volume: str = "engine-data", *, idempotent: bool = False
    ) -> tuple[int, str | None]:
        rc, out = super().volume_exec(cmd, volume, idempotent=idempotent)
        return rc, out if idempotent else None


def _write_probe(root: Path, size: int = 4096) -> OSError | None:
    try:
        with open(root / f"probe-{uuid.uuid4().hex}", "wb") as fh:
            fh.write(os.urandom(size))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        return exc
    return None


@pytest.mark.parametrize("lab_type", [LocalLab, LossyLab])
def test_disk_fill_to_the_last_byte_gives_real_enospc(small_disk, lab_type: type[LocalLab]) -> None:
    """LossyLab: the soak's one runner error, a fill that worked reported as "disk fill printed ''"."""
    lab = lab_type(small_disk.root)
    fault = DiskFill(lab, leave_bytes=0)
    result = fault.inject()
    assert result["free_bytes_after"] == 0 == small_disk.available()
    assert result["written_bytes"] > 3 * 1024 * 1024
    err = _write_probe(small_disk.root)
    assert err is not None and err.errno == errno.ENOSPC
    fault.heal()
    assert _write_probe(small_disk.root) is None
    assert ("volume_exec", "engine-data", "python3") in lab.calls


def test_disk_fill_exact_bytes_and_percent(small_disk) -> None:
    lab = LocalLab(small_disk.root)
    before = small_disk.available()
    fill = DiskFill(lab, bytes=1024 * 1024)
    assert fill.inject()["written_bytes"] == 1024 * 1024
    assert before - small_disk.available() == 1024 * 1024
    fill.heal()
    half = DiskFill(lab, percent=50)
    half.inject()
    used = small_disk.size_bytes - small_disk.available()
    assert abs(used - small_disk.size_bytes // 2) <= 8192
    half.heal()
    assert small_disk.available() == before


def test_disk_fill_heals_with_the_engine_down(small_disk) -> None:
    lab = LocalLab(small_disk.root)
    fault = DiskFill(lab, leave_bytes=0)
    fault.inject()
    lab.status = "exited"
    fault.heal()
    assert lab.calls[-1] == ("volume_exec", "engine-data", "rm")
    assert small_disk.available() > 3 * 1024 * 1024


def test_disk_fill_needs_exactly_one_amount() -> None:
    with pytest.raises(ValueError):
        DiskFill(object(), bytes=1, percent=2)
    with pytest.raises(ValueError):
        DiskFill(object())


def _ledger(root: Path, n: int = 6) -> Path:
    path = root / "ledger" / "ledger.log"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        b"".join(
            encode_record(
                {
                    "seq": i,
                    "entry_type": "intent",
                    "intent_id": str(uuid.uuid4()),
                    "timestamp": "2026-11-24T16:00:00+00:00",
                    "payload": {"client_order_id": f"c{i}"},
                }
            )
            for i in range(1, n + 1)
        )
    )
    return path


def test_tear_ledger_tail_cuts_the_last_record(tmp_path: Path) -> None:
    path = _ledger(tmp_path)
    offset, length = record_bounds(path.read_bytes())[-1]
    lab = LocalLab(tmp_path, running=False)
    result = TearLedgerTail(lab, fraction=0.5).inject()
    assert result["record_offset"] == offset
    assert 1 <= result["dropped_bytes"] < length
    scan = scan_ledger(path.read_bytes())
    assert scan.torn_tail is not None and scan.torn_tail.offset == offset
    assert path.stat().st_size == offset + result["dropped_bytes"]
    assert [c[:2] for c in lab.calls] == [("read_file", "engine-data"), ("volume_exec", "engine-data")]


def test_flip_ledger_byte_breaks_one_middle_record(tmp_path: Path) -> None:
    path = _ledger(tmp_path)
    result = FlipLedgerByte(
        LocalLab(tmp_path, running=False), record_fraction=0.5, byte_fraction=0.3
    ).inject()
    scan = scan_ledger(path.read_bytes())
    assert [(i.kind, i.offset) for i in scan.issues] == [("bad_checksum", result["record_offset"])]
    assert 0 < result["record_index"] < 5
    assert len(scan.records) == 5


def test_flip_needs_three_records(tmp_path: Path) -> None:
    _ledger(tmp_path, n=2)
    with pytest.raises(RuntimeError, match="need 3"):
        FlipLedgerByte(LocalLab(tmp_path, running=False)).inject()


def test_truncate_parquet_and_corrupt_kill_switch(tmp_path: Path) -> None:
    bars = tmp_path / "bars" / "EURUSD" / "M1.parquet"
    bars.parent.mkdir(parents=True)
    bars.write_bytes(b"PAR1" + os.urandom(992) + b"PAR1")
    lab = LocalLab(tmp_path, running=False)
    result = TruncateParquet(lab, "EURUSD", "M1", fraction=0.5).inject()
    assert bars.stat().st_size == result["size_after"] < 1000
    assert not bars.read_bytes().endswith(b"PAR1")
    ks = tmp_path / "kill_switch.json"
    ks.write_text(json.dumps({"active": True, "reason": "halt"}))
    CorruptKillSwitch(lab).inject()
    with pytest.raises(ValueError):
        json.loads(ks.read_text())


def test_process_faults_signal_and_heal(tmp_path: Path) -> None:
    lab = LocalLab(tmp_path)
    kill = Kill(lab, signal="SIGKILL")
    kill.inject()
    kill.heal()
    assert lab.calls == [("kill", "engine", "SIGKILL"), ("start", "engine")]
    lab.calls.clear()
    stop = Stop(lab)
    stop.inject()
    stop.heal()
    assert lab.calls == [("stop", "engine"), ("start", "engine")]
    lab.calls.clear()
    pause = Pause(lab)
    pause.inject()
    pause.heal()
    pause.heal()  # healing twice is harmless
    assert lab.calls == [("pause", "engine"), ("unpause", "engine")]
    assert kill.stops_engine() and stop.stops_engine() and pause.stops_engine()


class DudLab(LocalLab):
    """A lab whose faults silently do nothing: the faults must notice instead of claiming success."""

    def kill(self, service: str, signal: str = "SIGKILL") -> None:
        self.calls.append(("kill", service, signal))

    def pause(self, service: str) -> None:
        self.calls.append(("pause", service))

    def volume_exec(
        self, cmd: list[str], volume: str = "engine-data", *, idempotent: bool = False
    ) -> tuple[int, str | None]:
        return 0, "0 1048576\n"  # wrote nothing, 1 MiB still free


def test_a_fault_that_did_not_happen_is_an_error(tmp_path: Path) -> None:
    lab = DudLab(tmp_path)
    with pytest.raises(RuntimeError, match="still running after SIGKILL"):
        Kill(lab).inject()
    with pytest.raises(RuntimeError, match="not paused"):
        Pause(lab).inject()
    with pytest.raises(RuntimeError, match="still has 1048576 bytes free"):
        DiskFill(lab, leave_bytes=0).inject()
