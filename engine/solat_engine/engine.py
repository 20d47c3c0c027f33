"""Engine lifecycle: restore, replay, reconcile with the broker, then trade; plus health and snapshots.

Startup order matters: the kill switch first (a stopped engine must come back stopped), then the ledger (a
corrupt ledger trips the kill switch, the engine keeps serving /health but never trades), then reconcile
every open intent with the broker by client_order_id before accepting a new order.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from solat_engine import reach
from solat_engine.broker_client import BrokerClient, BrokerError
from solat_engine.broker_probe import BrokerProbe
from solat_engine.config import EngineConfig
from solat_engine.durable import ensure_dir
from solat_engine.execution.kill_switch import KillSwitch, printable
from solat_engine.execution.ledger import ExecutionLedger, LedgerCorruption, LedgerError, ReplayState
from solat_engine.execution.models import NIL_UUID, EntryType, Intent
from solat_engine.execution.router import (
    ExecutionRouter,
    Outcome,
    RouterConfig,
    RouteResult,
    describe_drift,
)
from solat_engine.execution.snapshots import PositionSnapshotter

log = logging.getLogger(__name__)

MIN_FREE_DISK_BYTES = 64 * 1024
RECONCILE_BACKOFF = (0.2, 5.0)  # first retry delay, cap (seconds)
OUTCOME_RETRY_S = 0.5  # how often unrecorded broker outcomes are retried once the ledger writes again


class HealthReport(BaseModel):
    status: str
    reasons: list[str]
    checks: dict[str, bool]


class Engine:
    """Owns the ledger, kill switch, router and the background threads (reconcile retry, snapshots)."""

    def __init__(
        self,
        config: EngineConfig,
        broker: BrokerClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.data_dir = Path(config.data_dir)
        self.broker = broker or BrokerClient(
            config.broker_url, config.broker_connect_timeout, config.broker_read_timeout
        )
        self.clock = clock
        self.broker_probe = BrokerProbe(self.broker.health, self.broker.base_url)
        self.kill_switch = KillSwitch(self.data_dir / "kill_switch.json")
        self.ledger: ExecutionLedger | None = None
        self.router: ExecutionRouter | None = None
        self.ledger_problem: str | None = None
        self.reconcile_error: str | None = None
        self.reconciled = threading.Event()
        self.snapshotter: PositionSnapshotter | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Restore, open the ledger, start reconcile + snapshot threads. Never raises for bad data."""
        try:
            ensure_dir(self.data_dir)
        except OSError as exc:
            log.error("data dir %s unusable: %s", self.data_dir, exc)
        self.broker_probe.start()
        self.kill_switch.restore_state()
        try:
            self.ledger = ExecutionLedger(self.data_dir / "ledger")
        except LedgerCorruption as exc:
            self.ledger_problem = str(exc)
            self.trip(f"ledger corrupt: file {exc.path} offset {exc.offset} seq {exc.seq}: {exc.reason}",
                      cause="ledger_corrupt")
            return
        except LedgerError as exc:
            self.ledger_problem = str(exc)
            log.error("ledger cannot be opened: %s", exc)
            return
        router_config = RouterConfig(
            max_order_qty=self.config.max_order_qty, balance_max_age=self.config.balance_max_age
        )
        self.snapshotter = PositionSnapshotter(self.data_dir / "snapshots" / "positions.json")
        # Positions and last_seq only: `replay()` would copy every intent's state just to be thrown away.
        ledger_now = ReplayState(positions=self.ledger.positions(), last_seq=self.ledger.last_seq)
        recovered = self.snapshotter.recover(ledger_now)
        if recovered.note:
            log.warning(recovered.note)
        self.router = ExecutionRouter(self.ledger, self.kill_switch, self.broker, router_config, self.clock,
                                      on_record=self.snapshotter.record)
        self.snapshotter.start(self.config.snapshot_interval)
        self._spawn("reconcile", self._reconcile_loop)

    def stop(self) -> None:
        self._stop.set()
        self.broker_probe.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        if self.snapshotter is not None:
            self.snapshotter.stop()
        if self.ledger is not None:
            self.ledger.close()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"engine-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    # ---- kill switch --------------------------------------------------------------------------------
    def trip(self, reason: str, cause: str = "operator") -> str | None:
        """Activate the kill switch (in memory first). Returns why it could not be saved, or None."""
        log.error("kill switch: %s", printable(reason))
        reach.emit("kill_switch_tripped", cause=cause)  # the cause, never the reason text
        problem = None
        try:
            self.kill_switch.activate(reason)
        except OSError as exc:
            problem = f"kill switch active in memory but not saved to {self.kill_switch.state_file}: {exc}"
            log.error(problem)
        self._audit(active=True, reason=reason)
        return problem

    def _audit(self, **payload: Any) -> None:
        """Best-effort audit record in the ledger: the kill-switch file is the authority, not this."""
        if self.ledger is None:
            return
        try:
            self.ledger.append(EntryType.KILL_SWITCH, NIL_UUID, payload)
        except LedgerError as exc:
            log.warning("kill-switch audit record not written: %s", exc)

    def reset_kill_switch(self, token: str) -> None:
        """Raises PermissionError on a bad token, OSError if the reset cannot be saved (stays active)."""
        self.kill_switch.reset(token, self.config.kill_switch_token)
        self._audit(active=False, reason="reset")

    # ---- background work -----------------------------------------------------------------------------
    def _reconcile_loop(self) -> None:
        """Until it succeeds once: balance, open intents, position comparison. Bounded backoff."""
        assert self.router is not None
        delay, cap = RECONCILE_BACKOFF
        while not self._stop.is_set():
            try:
                self.router.refresh_balance()
                resolved = self.router.reconcile_open_intents()
                drift = self.router.position_drift()
            except (BrokerError, LedgerError) as exc:
                reach.emit("startup_reconcile_failed", error=type(exc).__name__)
                self.reconcile_error = f"startup reconcile pending: {exc}"
                self.router.block(self.reconcile_error)
                log.warning("%s (retry in %.1fs)", self.reconcile_error, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, cap)
                continue
            log.info("startup reconcile resolved %d open intent(s)", resolved)
            reach.emit("startup_reconciled", resolved=resolved, drift=len(drift))
            if drift:
                self.trip(describe_drift(drift), cause="position_drift")
            self.reconcile_error = None
            self.router.unblock()
            self.reconciled.set()
            self._spawn("outcomes", self._outcome_loop)
            return

    def _outcome_loop(self) -> None:
        """Record broker outcomes the ledger could not take when they came (a failed fsync after the broker
        filled): as soon as the ledger writes again, not at the next client retry or restart (found by the
        lab's fsync-EIO faults: the fill was at the broker, the engine's positions lacked it)."""
        assert self.router is not None and self.ledger is not None
        while not self._stop.wait(OUTCOME_RETRY_S):
            if not self.router.undurable_count() or not self.ledger.probe():
                continue
            try:
                resolved = self.router.resolve_undurable()
            except (BrokerError, LedgerError) as exc:
                log.warning("unrecorded broker outcomes still pending: %s", exc)
                continue
            log.info("recorded %d broker outcome(s) the ledger could not take earlier", resolved)

    # ---- API facade -------------------------------------------------------------------------------
    def route(self, intent: Intent) -> RouteResult:
        if self.router is None:
            reason = self.kill_switch.reason if self.kill_switch.is_active else self.ledger_problem
            return RouteResult(outcome=Outcome.REJECTED, intent_id=intent.intent_id,
                               client_order_id=intent.client_order_id, stage="risk",
                               reason=f"engine cannot trade: {reason}")
        return self.router.route_intent(intent)

    def _disk_ok(self) -> tuple[bool, str]:
        try:
            st = os.statvfs(self.data_dir)
        except OSError as exc:
            return False, f"disk: statvfs {self.data_dir} failed: {exc}"
        free = st.f_bavail * st.f_frsize
        if free < MIN_FREE_DISK_BYTES:
            return False, f"disk: only {free} bytes free in {self.data_dir}"
        if not os.access(self.data_dir, os.W_OK):
            return False, f"disk: {self.data_dir} is not writable"
        return True, ""

    def health(self) -> HealthReport:
        reasons: list[str] = []
        ledger_ok = self.ledger is not None and self.ledger.probe()
        if not ledger_ok:
            reasons.append(f"ledger: {self.ledger_problem or (self.ledger and self.ledger.last_error)}")
        unrecorded = self.router.undurable_count() if self.router is not None else 0
        if unrecorded and ledger_ok:  # positions lack fills the broker holds until the resolver records them
            ledger_ok = False
            reasons.append(f"ledger: {unrecorded} broker outcome(s) not recorded yet")
        disk_ok, disk_reason = self._disk_ok()
        if not disk_ok:
            reasons.append(disk_reason)
        broker = self.broker_probe.current()  # never waits on the broker link: /health must answer
        broker_ok = broker.ok
        if broker.reason:
            reasons.append(broker.reason)
        if self.router is not None and not self.reconciled.is_set():
            broker_ok = False
            reasons.append(f"broker: {self.reconcile_error or 'startup reconcile in progress'}")
        ks_ok = not self.kill_switch.is_active
        if not ks_ok:
            reasons.append(f"kill switch: {self.kill_switch.reason}")
        # Degraded, not down: the ledger still holds every position; a restart would read it from there.
        snapshot_error = self.snapshotter.last_error if self.snapshotter is not None else None
        if snapshot_error:
            reasons.append(f"snapshot: {snapshot_error}")
        checks = {"ledger": ledger_ok, "disk": disk_ok, "broker": broker_ok, "kill_switch": ks_ok,
                  "snapshot": not snapshot_error}
        return HealthReport(status="ready" if all(checks.values()) else "degraded", reasons=reasons,
                            checks=checks)

    def state(self) -> dict[str, Any]:
        ks = self.kill_switch.state()
        router = self.router
        return {
            "positions": router.positions_copy() if router else {},
            "open_intents": [str(i) for i in router.open_intents()] if router else [],
            "last_seq": self.ledger.last_seq if self.ledger else 0,
            "kill_switch": ks.model_dump(mode="json"),
            "balance": router.balance.model_dump(mode="json") if router and router.balance else None,
            "reconciled": self.reconciled.is_set(),
        }
