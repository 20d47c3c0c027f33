"""Small helpers the faults share for acting on the engine's data volume through DockerLab (never Docker)."""

from __future__ import annotations

from chaos_lab.faults.base import FaultError
from chaos_lab.lab.protocol import Lab

ENGINE = "engine"
VOLUME = "engine-data"
LEDGER = "/data/ledger/ledger.log"
KILL_SWITCH = "/data/kill_switch.json"
SNAPSHOT = "/data/snapshots/positions.json"


def engine_running(lab: Lab) -> bool:
    return lab.service_status(ENGINE) == "running"


def run_on_data(lab: Lab, cmd: list[str], *, idempotent: bool = False) -> str | None:
    """Run `cmd` with the engine volume at /data, whether the engine runs or not (DockerLab.volume_exec).
    None: it ran, but Docker lost its output (an idempotent command is run again instead)."""
    rc, out = lab.volume_exec(cmd, volume=VOLUME, idempotent=idempotent)
    if rc != 0:
        raise FaultError(f"{cmd[0]} on /data failed (rc={rc}): {(out or '').strip()[:300]}")
    return out


def query_data(lab: Lab, cmd: list[str]) -> str:
    """The output of an idempotent command run on /data (a lost output is asked for again)."""
    out = run_on_data(lab, cmd, idempotent=True)
    if out is None:  # a lab that does not retry (a test double) and lost it
        raise FaultError(f"{cmd[0]} on /data: its output was lost")
    return out


def read_data_file(lab: Lab, path: str) -> bytes:
    """Bytes of a file on the engine volume, read through DockerLab even when the engine is stopped."""
    return bytes(lab.read_file(VOLUME, path))
