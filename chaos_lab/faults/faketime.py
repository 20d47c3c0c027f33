"""Move the engine's wall clock: libfaketime reads /tmp/faketime on every call (FAKETIME_NO_CACHE=1).

The engine runs with libfaketimeMT preloaded (compose/lab.yml, lab-preload), FAKETIME_DONT_FAKE_MONOTONIC=1:
time.time(), datetime.now() move; time.monotonic() does not, as on a host whose NTP steps the clock.
The file is written through DockerLab.exec as the engine's own uid, on its tmpfs /tmp (a restarted engine
starts with an empty /tmp, i.e. the true time).

Known limit (libfaketime 0.9.10, Debian bookworm; upstream issue #426): with monotonic left alone,
clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which Python 3.11's time.sleep uses, fails with EINVAL. The
engine never calls time.sleep (its waits are Event/Condition waits, which work); faking monotonic as well
hangs those waits, so the lab only moves the wall clock.
"""

from __future__ import annotations

from chaos_lab.faults.base import FaultError
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE, engine_running

TIMESTAMP_FILE = "/tmp/faketime"
TRUE_TIME = "+0"


def set_clock(lab: Lab, spec: str) -> None:
    """Write a libfaketime spec ("+301s", "-400s", "+0 x10") for the engine's next clock read."""
    # Atomically (rename): libfaketime re-reads the file on every clock call and exits the process when it
    # reads a half-written spec ("failed to parse FAKETIME timestamp": seen when rewritten in place).
    script = f'printf "%s\\n" "$1" > {TIMESTAMP_FILE}.new && mv -f {TIMESTAMP_FILE}.new {TIMESTAMP_FILE}'
    rc, out = lab.exec(ENGINE, ["sh", "-c", script, "faketime", spec], idempotent=True)
    if rc != 0:
        detail = (out or "").strip()[:300]
        raise FaultError(f"writing {TIMESTAMP_FILE} in {ENGINE} failed (rc={rc}): {detail}")


def _read_in_engine(lab: Lab, cmd: list[str], what: str) -> str:
    """The output of a read run in the engine's container (a lost output is asked for again)."""
    rc, out = lab.exec(ENGINE, cmd, idempotent=True)
    if rc != 0 or out is None:
        detail = "its output was lost" if out is None else out.strip()[:300]
        raise FaultError(f"reading {what} in {ENGINE} failed (rc={rc}): {detail}")
    return out.strip()


def read_clock_spec(lab: Lab) -> str:
    return _read_in_engine(lab, ["cat", TIMESTAMP_FILE], TIMESTAMP_FILE)


def engine_wall_clock(lab: Lab) -> float:
    """time.time() as the engine sees it after an offset step: a python in the engine's container with the
    same library and spec file (docker exec inherits the container's FAKETIME_* environment)."""
    code = "import time; print(repr(time.time()))"
    cmd = ["env", "LD_PRELOAD=/usr/local/lib/libfaketimeMT.so.1", "python3", "-c", code]
    return float(_read_in_engine(lab, cmd, "the engine's clock").splitlines()[-1])


def reset_clock(lab: Lab) -> None:
    if engine_running(lab):
        set_clock(lab, TRUE_TIME)
