"""Small helpers the faults share for acting on the engine's data volume through DockerLab (never Docker)."""

from __future__ import annotations

from typing import Any

from chaos_lab.faults.base import FaultError

ENGINE = "engine"
VOLUME = "engine-data"


def engine_running(lab: Any) -> bool:
    container = lab.container(ENGINE)
    container.reload()
    return bool(container.status == "running")


def run_on_data(lab: Any, cmd: list[str]) -> str:
    """Run `cmd` with the engine volume at /data, whether the engine runs or not (DockerLab.volume_exec)."""
    rc, out = lab.volume_exec(cmd, volume=VOLUME)
    if rc != 0:
        raise FaultError(f"{cmd[0]} on /data failed (rc={rc}): {out.strip()[:300]}")
    return out


def read_data_file(lab: Any, path: str) -> bytes:
    """Bytes of a file on the engine volume, read through DockerLab even when the engine is stopped."""
    return bytes(lab.read_file(VOLUME, path))
