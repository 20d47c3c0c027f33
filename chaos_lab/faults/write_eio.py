"""write(2) fails with EIO in the engine for a short window: a disk that returns errors on write.

Scope: libfiu's `posix/io/rw/write` point cannot be limited to one file descriptor from fiu-ctrl (the
fd-aware `enable_external` needs code inside the process), so every write(2) of the engine fails, stdout
included; sockets are unaffected (uvicorn sends with send(2), a different point). Python's logging swallows
its own write errors, so the engine survives; scenarios hold this fault for 1-2 s only and the availability
and health_truth checkers prove the engine kept answering and told the truth meanwhile.
"""

from __future__ import annotations

from typing import Any

from chaos_lab.faults import fiu
from chaos_lab.faults.base import Fault
from chaos_lab.faults.lab_ops import engine_running

WRITE = "posix/io/rw/write"


class WriteEIO(Fault):
    kind = "write_eio"

    def __init__(self, lab: Any, errno: int = fiu.EIO) -> None:
        super().__init__(errno=errno)
        self.lab, self.errno = lab, errno

    def inject(self) -> dict[str, Any]:
        return fiu.enable(self.lab, WRITE, self.errno)

    def heal(self) -> None:
        if engine_running(self.lab):
            fiu.disable(self.lab, WRITE, strict=False)
