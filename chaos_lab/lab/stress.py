"""Load for the lab's own trials (`make soak`, `corpus admit`): a bounded stress-ng keeping every core busy.
A lab that cries wolf under load is worse than none, so what must never fail is tried under load."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

MISSING = "stress-ng is not installed (apt-get install stress-ng; make soak installs it)"


class Stress:
    """stress-ng keeping `workers` CPUs busy, for at most `timeout_s`; ended (by its own session) when the
    block ends."""

    def __init__(self, workers: int, timeout_s: float) -> None:
        self.workers, self.timeout_s = workers, timeout_s
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("stress-ng") is not None

    def __enter__(self) -> Stress:
        if not self.available():
            raise SystemExit(f"chaos-lab: {MISSING}")
        self.proc = subprocess.Popen(
            ["stress-ng", "--cpu", str(self.workers), "--cpu-load", "100",
             "--timeout", f"{int(self.timeout_s)}s", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: stress-ng and its workers only
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)
