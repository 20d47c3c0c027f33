"""Synthetic observations: a history, ledger file and broker record built in memory, consistent by default.

The checkers are only worth something if they fail on a violation; this builder makes a clean run, and each
unit test then plants exactly one violation (a lost ack, a duplicate order, a flipped byte) and expects the
matching checker to name it. Also used to render a sample report without Docker.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from chaos_lab.faults.registry import fault_class
from chaos_lab.ledger_reader import encode_record, scan_ledger
from chaos_lab.models import BrokerAttempt, BrokerOrder, KillSwitchState, Observation, Process
from chaos_lab.workload.history import History

NIL = UUID(int=0)


def inject_value(kind: str, **params: Any) -> dict[str, Any]:
    """What the nemesis records for an inject of this kind: kind, params and the kind's effects."""
    return {"kind": kind, "params": params, "effects": sorted(e.value for e in fault_class(kind).effects)}


class ObservationBuilder:
    def __init__(self, scenario: str = "synthetic", seed: int = 0) -> None:
        self.history = History(scenario, seed)
        self.records: list[dict[str, Any]] = []
        self.orders: list[BrokerOrder] = []
        self.attempts: list[BrokerAttempt] = []
        self.kill_switch_before: KillSwitchState | None = None
        self.kill_switch_after = KillSwitchState(active=False)
        self.last_heal_at: float | None = None
        self.recovered_at: float | None = None

    # -- ledger and broker
    def append(self, entry_type: str, intent_id: UUID, payload: dict[str, Any]) -> dict[str, Any]:
        rec = {
            "seq": len(self.records) + 1,
            "entry_type": entry_type,
            "intent_id": str(intent_id),
            "timestamp": datetime.now(UTC).isoformat(),
            "payload": payload,
        }
        self.records.append(rec)
        return rec

    def broker_order(self, coid: str, symbol: str, side: str, qty: float, duplicate: bool = False) -> None:
        if not duplicate:
            self.orders.append(
                BrokerOrder(
                    broker_order_id=f"B{len(self.orders) + 1}",
                    client_order_id=coid,
                    symbol=symbol,
                    side=side,
                    quantity=qty,
                    price=100.0,
                )
            )
        self.attempts.append(
            BrokerAttempt(
                seq=len(self.attempts) + 1,
                client_order_id=coid,
                received_at=datetime.now(UTC),
                duplicate=duplicate,
                body={"client_order_id": coid, "symbol": symbol, "side": side, "quantity": qty},
            )
        )

    # -- history
    def signal(
        self,
        outcome: str = "ok",
        symbol: str = "EURUSD",
        side: str = "BUY",
        qty: float = 1.0,
        status: int | None = None,
        ledger: bool = True,
        broker: bool = True,
        process: Process = "workload",
        intent_id: UUID | None = None,
    ) -> UUID:
        """One signal as the engine should handle it: ok = intent, submitted, fill, broker order."""
        intent_id = intent_id or uuid.uuid4()
        coid = "SOLAT-" + intent_id.hex
        body = {"symbol": symbol, "side": side, "quantity": qty, "intent_id": str(intent_id)}
        invoke = self.history.record(process, "invoke", "signal", intent_id=intent_id, value=body)
        if outcome in ("ok", "info") and ledger:
            self.append(
                "intent",
                intent_id,
                {"symbol": symbol, "side": side, "quantity": qty, "client_order_id": coid},
            )
        if outcome in ("ok", "info") and broker:
            self.broker_order(coid, symbol, side, qty)
            if ledger:
                self.append("submitted", intent_id, {"client_order_id": coid})
                self.append(
                    "fill",
                    intent_id,
                    {
                        "client_order_id": coid,
                        "broker_order_id": self.orders[-1].broker_order_id,
                        "symbol": symbol,
                        "side": side,
                        "quantity": qty,
                        "price": 100.0,
                    },
                )
        code = status or {"ok": 200, "fail": 409, "info": 202}[outcome]
        self.history.record(
            process,
            outcome,  # type: ignore[arg-type]
            "signal",
            intent_id=intent_id,
            status_code=code,
            value={"intent_id": str(intent_id)},
            latency=self.history.now() - invoke.time,
        )
        return intent_id

    def inject(self, name: str, kind: str, result: dict[str, Any] | None = None) -> None:
        value = inject_value(kind)
        self.history.record("nemesis", "invoke", "inject", fault=name, value=value)
        self.history.record("nemesis", "ok", "inject", fault=name, value={**value, "result": result or {}})

    def heal(self, name: str) -> None:
        self.history.record("nemesis", "invoke", "heal", fault=name)
        self.history.record("nemesis", "ok", "heal", fault=name)
        self.last_heal_at = self.history.now()

    def probe(self, answered: bool = True, status: str = "ready") -> None:
        self.history.record("probe", "invoke", "health")
        if answered:
            self.history.record("probe", "ok", "health", status_code=200, value={"status": status})
        else:
            self.history.record("probe", "info", "health", reason="ReadTimeout")

    def recovered(self) -> None:
        self.recovered_at = self.history.now()

    # -- result
    def ledger_bytes(self) -> bytes:
        return b"".join(encode_record(r) for r in self.records)

    def positions(self) -> dict[str, float]:
        pos: dict[str, float] = {}
        for o in self.orders:
            pos[o.symbol] = pos.get(o.symbol, 0.0) + (o.quantity if o.side == "BUY" else -o.quantity)
        return pos

    def build(self, ledger_bytes: bytes | None = None) -> Observation:
        data = self.ledger_bytes() if ledger_bytes is None else ledger_bytes
        positions = self.positions()
        return Observation(
            scenario=self.history.scenario,
            history=self.history.ops,
            ledger_api=[dict(r) for r in self.records],
            ledger_file=scan_ledger(data),
            broker_attempts=list(self.attempts),
            broker_orders=list(self.orders),
            broker_positions=dict(positions),
            engine_state={"positions": dict(positions), "kill_switch": self.kill_switch_after.model_dump()},
            kill_switch_before=self.kill_switch_before,
            kill_switch_after=self.kill_switch_after,
            recovered_at=self.recovered_at,
            last_heal_at=self.last_heal_at,
        )
