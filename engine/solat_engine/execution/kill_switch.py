"""Kill switch: once active, no order leaves the engine until someone with the token resets it.

The state lives in a small JSON file replaced atomically, and activation is saved before `activate()`
returns, so a crash right after "kill switch on" cannot come back with trading enabled. When the file cannot
be read the switch comes up *active* (fail safe): not knowing whether trading was stopped means it must be.
"""

from __future__ import annotations

import hmac
import threading
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from solat_engine import reach
from solat_engine.durable import atomic_write_json
from solat_engine.execution.models import UtcDatetime, utc_now

# A reason is one line of readable text: no C0/C1 control characters (newline, ESC, ...) and no line or
# paragraph separators, so an operator's reason cannot forge log lines or repaint a terminal.
REASON_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$"


def printable(text: str) -> str:
    """`text` with every non-printable character escaped (`\\n`, `\\x1b`, ...): internal reasons quote file
    names and exception texts, which may hold anything, and each log record must stay one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in text)


class KillSwitchState(BaseModel):
    """The file format (and the HTTP view) of the kill switch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    active: bool = False
    reason: str | None = None
    activated_at: UtcDatetime | None = None


class KillSwitch:
    def __init__(self, state_file: Path) -> None:
        self.state_file = Path(state_file)
        self._lock = threading.RLock()
        self._state = KillSwitchState()
        self.restore_state()

    @property
    def is_active(self) -> bool:
        return self._state.active

    @property
    def reason(self) -> str | None:
        return self._state.reason

    @property
    def activated_at(self) -> datetime | None:
        return self._state.activated_at

    def state(self) -> KillSwitchState:
        return self._state

    def activate(self, reason: str) -> None:
        """Active in memory first (stop trading now), then durable; a failed save propagates."""
        with self._lock:
            self._state = KillSwitchState(active=True, reason=reason, activated_at=utc_now())
            self.save_state()

    def reset(self, token: str, expected_token: str | None) -> None:
        """Deactivate; PermissionError unless a token is configured and matches (constant-time compare).

        The inactive state is saved first and only then applied: if it cannot be saved the switch stays on.
        """
        if expected_token is None:
            raise PermissionError("kill switch reset is disabled: no token configured")
        if not hmac.compare_digest(token.encode(), expected_token.encode()):
            raise PermissionError("wrong kill switch token")
        with self._lock:
            new_state = KillSwitchState()
            self._write(new_state)
            self._state = new_state

    def save_state(self) -> None:
        with self._lock:
            self._write(self._state)

    def _write(self, state: KillSwitchState) -> None:
        try:
            atomic_write_json(self.state_file, state)
        except OSError as exc:
            reach.emit("kill_switch_save_failed", errno=exc.errno, active=state.active)
            raise

    def restore_state(self) -> None:
        """Missing file: inactive (first start). Unreadable or corrupt: active, naming the file."""
        with self._lock:
            try:
                raw = self.state_file.read_bytes()
            except FileNotFoundError:
                self._state = KillSwitchState()
                return
            except OSError as exc:
                self._fail_safe(f"kill switch file {self.state_file} unreadable: {exc}")
                return
            try:
                self._state = KillSwitchState.model_validate_json(raw)
            except ValidationError as exc:
                err = exc.errors()[0]
                self._fail_safe(f"kill switch file {self.state_file} corrupt: {err['msg']}")
                return
            reach.emit("kill_switch_restored", active=self._state.active)

    def _fail_safe(self, reason: str) -> None:
        reach.emit("kill_switch_unreadable")
        self._state = KillSwitchState(active=True, reason=reason, activated_at=utc_now())
