"""Drive libfiu in the running engine: `fiu-ctrl` (Debian fiu-utils) through DockerLab.exec.

The engine runs under `fiu-run -x` (compose/lab.yml), which preloads libfiu's POSIX wrappers and opens the
control FIFOs /tmp/fiu-ctrl-<pid>.in/.out (the engine's /tmp is a tmpfs). The engine is the container's pid 1,
and `docker exec` runs as the same uid 10001, so no capability is needed to reach it. A failure point then
makes the real libc call return -1 with errno = failinfo inside the engine: Python sees a genuine OSError.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from chaos_lab.bounds import Between
from chaos_lab.faults.base import Fault, FaultError
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE, engine_running

ENGINE_PID = "1"
EIO = 5


def fiu_ctrl(lab: Lab, command: str, strict: bool = True) -> str:
    """Send one libfiu remote-control command to the engine. fiu-ctrl exits 0 even when the process is not
    under fiu-run or the command failed (it prints why), so its output is the verdict."""
    # a onetime point re-armed by a second run could fail a second call: only the others are run again
    rc, out = lab.exec(ENGINE, ["fiu-ctrl", "-c", command, ENGINE_PID], idempotent="onetime" not in command)
    if out is None:
        raise FaultError(f"fiu-ctrl {command!r} in {ENGINE}: Docker lost its answer, the outcome is unknown")
    text = out.strip()
    if strict and (rc != 0 or text):
        raise FaultError(f"fiu-ctrl {command!r} in {ENGINE} failed (rc={rc}): {text[:300]}")
    return text


def enable(lab: Lab, point: str, errno: int = EIO, onetime: bool = False) -> dict[str, Any]:
    command = f"enable name={point},failinfo={errno}" + (",onetime" if onetime else "")
    fiu_ctrl(lab, command)
    return {"point": point, "errno": errno, "onetime": onetime}


def disable(lab: Lab, point: str, strict: bool = True) -> None:
    """A onetime point that already fired is disabled already: libfiu then answers an error, harmless."""
    fiu_ctrl(lab, f"disable name={point}", strict=strict)


class FailurePoint(Fault):
    """A libfiu failure point made to fail with `errno` until healed (`onetime`: only its next call). The
    syscall faults differ only in their point: each is this class with `kind`, `point` and `onetime` set."""

    point: ClassVar[str]
    onetime: ClassVar[bool] = False

    class Params(FaultParams):
        errno: Annotated[int, Between(1, 133, integer=True)] = EIO  # Linux errno values (EIO 5, ENOSPC 28)

    def __init__(self, lab: Lab, errno: int = EIO) -> None:
        super().__init__(errno=errno)
        self.lab, self.errno = lab, errno

    def inject(self) -> dict[str, Any]:
        return enable(self.lab, self.point, self.errno, onetime=self.onetime)

    def heal(self) -> None:
        # A restarted engine starts with every point disabled; a onetime point that fired is disabled already.
        if engine_running(self.lab):
            disable(self.lab, self.point, strict=False)
