"""Position snapshots: an optimisation, never the source of truth.

Positions are tracked in memory from ledger records and written out periodically with the ledger seq they
reflect. The ledger always wins: a snapshot older than the ledger, or a corrupt one, is ignored (and said
so), and a failed snapshot write loses nothing because every position is recoverable from the ledger.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from solat_engine import reach
from solat_engine.durable import atomic_write_json, fsync_dir
from solat_engine.execution.ledger import ReplayState
from solat_engine.execution.models import LedgerEntry, UtcDatetime, position_delta, utc_now

log = logging.getLogger(__name__)


class SnapshotError(Exception):
    """A snapshot could not be written or read; `path` names the file."""

    def __init__(self, path: Path, message: str, errno: int | None = None) -> None:
        super().__init__(f"position snapshot {path}: {message}")
        self.path = path
        self.errno = errno


class PositionSnapshot(BaseModel):
    """File format of `snapshots/positions.json`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    positions: dict[str, float]
    last_seq: int = Field(ge=0)
    written_at: UtcDatetime


@dataclass(frozen=True, slots=True)
class RecoveredPositions:
    positions: dict[str, float]
    last_seq: int
    source: str  # "snapshot" or "ledger"
    note: str | None  # why the snapshot was not used, if it was not


class PositionSnapshotter:
    """Tracks positions in memory and writes them out; `start()` runs the periodic flush in a thread."""

    def __init__(self, path: Path, positions: dict[str, float] | None = None, last_seq: int = 0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._positions: dict[str, float] = dict(positions or {})
        self._last_seq = last_seq
        # Updates since the last flush. Only a count: the positions themselves are already folded in, so the
        # buffer is cleared by every flush (success or not) and never grows with the run.
        self._pending = 0
        self.last_error: str | None = None
        self.last_written_at: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, entry: LedgerEntry) -> None:
        """Fold one durable ledger record into the tracked positions."""
        delta = position_delta(entry.entry_type, entry.payload)
        with self._lock:
            if delta is not None:
                symbol, qty = delta
                self._positions[symbol] = self._positions.get(symbol, 0.0) + qty
            self._last_seq = max(self._last_seq, entry.seq)
            self._pending += 1

    @property
    def positions(self) -> dict[str, float]:
        with self._lock:
            return dict(self._positions)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def pending_updates(self) -> int:
        return self._pending

    def flush(self, force: bool = False) -> bool:
        """Write a snapshot if anything changed (or `force`). Returns whether one was written.

        Raises SnapshotError on a failed write; the in-memory positions are unaffected, and the updates stay
        pending so the next flush writes them (a failure that cleared them left the last error, and a stale
        snapshot, in place until the next ledger record: the lab's disk-full-on-snapshot scenario).
        """
        with self._lock:
            if not self._pending and not force:
                return False
            snapshot = PositionSnapshot(
                positions=dict(self._positions), last_seq=self._last_seq, written_at=utc_now()
            )
            taken, self._pending = self._pending, 0
        try:
            atomic_write_json(self.path, snapshot)
        except OSError as exc:
            with self._lock:
                self._pending += taken
            self.last_error = f"position snapshot {self.path}: write failed: {exc}"
            log.error("%s", self.last_error)
            reach.emit("snapshot_write_failed", errno=exc.errno)
            raise SnapshotError(self.path, f"write failed: {exc}", exc.errno) from exc
        if self.last_error is not None:
            log.info("position snapshot %s written again", self.path)
        self.last_error = None
        self.last_written_at = snapshot.written_at
        reach.emit("snapshot_written", seq=snapshot.last_seq)
        return True

    def load(self) -> PositionSnapshot | None:
        """The snapshot on disk, None if there is none; SnapshotError (naming the file) if it is corrupt."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SnapshotError(self.path, f"unreadable: {exc}", exc.errno) from exc
        try:
            return PositionSnapshot.model_validate_json(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise SnapshotError(self.path, f"corrupt: {err['msg']}") from exc

    def recover(self, ledger_state: ReplayState) -> RecoveredPositions:
        """Pick the starting positions and track them: the snapshot only if it is as new as the ledger."""
        note: str | None = None
        try:
            snapshot = self.load()
        except SnapshotError as exc:
            snapshot, note = None, f"{exc}; ignored, positions rebuilt from the ledger"
            reach.emit("snapshot_ignored", why="unreadable")
        if (
            snapshot is not None
            and snapshot.last_seq == ledger_state.last_seq
            and _same(snapshot.positions, ledger_state.positions)
        ):
            result = RecoveredPositions(dict(snapshot.positions), snapshot.last_seq, "snapshot", None)
        else:
            if snapshot is not None:
                # At or past the ledger's seq yet not its positions: the ledger's tail was cut after the
                # snapshot was written (a torn tail repaired, its seq reused by the recovery record). Found by
                # the lab (snapshot_consistent on torn-ledger-tail): such a file was trusted, and outlived it.
                stale = snapshot.last_seq >= ledger_state.last_seq
                why = "disagrees with the ledger" if stale else "behind the ledger"
                reach.emit("snapshot_ignored", why=why)
                note = (
                    f"position snapshot {self.path} is at seq {snapshot.last_seq}, ledger at "
                    f"{ledger_state.last_seq}: {why}, the ledger wins"
                )
                if stale:
                    note += "; " + self._discard()
            result = RecoveredPositions(dict(ledger_state.positions), ledger_state.last_seq, "ledger", note)
        with self._lock:
            self._positions = dict(result.positions)
            self._last_seq = result.last_seq
            self._pending = 0
        return result

    def start(self, interval: float) -> None:
        """Flush every `interval` seconds in a daemon thread; errors are kept in `last_error`, not raised."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="position-snapshots", daemon=True
        )
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            # A failure is kept in last_error; the ledger still holds every position.
            with contextlib.suppress(SnapshotError):
                self.flush()

    def _discard(self) -> str:
        """Remove the snapshot file durably (an unlink needs no free space); says what happened."""
        try:
            self.path.unlink(missing_ok=True)
            fsync_dir(self.path.parent)
        except OSError as exc:
            log.error("position snapshot %s could not be removed: %s", self.path, exc)
            return f"it could not be removed: {exc}"
        return "removed"

    def stop(self, final_flush: bool = True) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None
        if final_flush:
            with contextlib.suppress(SnapshotError):
                self.flush()


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    """The same positions (a symbol at 0 counts as absent)."""
    return all(abs(a.get(k, 0.0) - b.get(k, 0.0)) <= 1e-9 for k in set(a) | set(b))
