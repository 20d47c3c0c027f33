"""HTTP clients: the engine (workload + probes, recorded in the history) and the fake broker's admin view.

The workload client picks the intent_id (a UUID) itself before sending, so even an op whose outcome is unknown
(`info`) can be traced in the ledger and at the broker afterwards. Short timeouts: a hung engine must turn
into an `info` op quickly, not stall the scenario.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import requests
from urllib3.exceptions import NewConnectionError

from chaos_lab.models import BrokerAttempt, BrokerOrder, KillSwitchState, OpType, Process
from chaos_lab.workload.history import History

CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 5.0  # above the engine's broker read timeout (3 s) so the engine, not we, decides "unknown"
PROBE_TIMEOUT = (0.5, 1.0)  # an answer within 1 s counts; the lab's own healthcheck allows 3 s


def fresh_connection_session() -> requests.Session:
    """A session that opens a new TCP connection for every request (`Connection: close`).

    Why: uvicorn closes a keep-alive connection after 5 s idle. Reusing a pooled connection at about that
    moment races the server's close: the request lands on a socket the server closes without reading it,
    and the client gets `RemoteDisconnected` / `ConnectionResetError` and no answer. For the broker admin's
    non-retried POSTs that was a lab error ("rollback: ConnectionError ... Remote end closed connection
    without response"), for a probe an unanswered probe, for a signal a spurious `info`. CPU load widens the
    window (the server's timer and docker-proxy's relay of its FIN run late). A connection opened for the
    request cannot have been idle; on loopback the extra handshake costs well under a millisecond.
    """
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


def outcome_for_status(status: int) -> OpType:
    """Map an engine status code to a history outcome (docs/interfaces.md, "Engine HTTP API").

    200 acknowledged; 409 (risk/broker reject), 507 (intent not durable), 422 (malformed) and other 4xx are
    definite rejections; 202 is the engine saying it does not know; anything else (5xx) is unknown too,
    because the engine may have acted before failing.
    """
    if status == 200:
        return "ok"
    if 400 <= status < 500 or status == 507:
        return "fail"
    return "info"


def _never_reached_server(exc: requests.RequestException) -> bool:
    """Connection refused / connect timeout: the request never reached the engine, so it is a definite `fail`.
    A reset or read timeout after sending may have been acted upon: `info`."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", None)
        return isinstance(inner, NewConnectionError) or "Connection refused" in str(exc)
    return False


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {"raw": resp.text[:500]}
    return body if isinstance(body, dict) else {"raw": body}


class EngineClient:
    def __init__(self, base_url: str, history: History, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.history = history
        self.session = session or fresh_connection_session()

    # -- recorded operations
    def _recorded(
        self,
        process: Process,
        f: str,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        intent_id: UUID | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> tuple[OpType, int | None, dict[str, Any]]:
        invoke = self.history.record(process, "invoke", f, intent_id=intent_id, value=body or {})
        try:
            resp = self.session.request(method, self.base_url + path, json=body, timeout=timeout)
        except requests.RequestException as exc:
            type_: OpType = "fail" if _never_reached_server(exc) else "info"
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            self.history.record(
                process,
                type_,
                f,
                intent_id=intent_id,
                reason=reason,
                latency=self.history.now() - invoke.time,
            )
            return type_, None, {"reason": reason}
        payload = _json(resp)
        type_ = outcome_for_status(resp.status_code)
        self.history.record(
            process,
            type_,
            f,
            intent_id=intent_id,
            value=payload,
            status_code=resp.status_code,
            reason=None if type_ == "ok" else str(payload.get("reason", payload.get("error", ""))),
            latency=self.history.now() - invoke.time,
        )
        return type_, resp.status_code, payload

    def submit(
        self,
        symbol: str,
        side: str,
        quantity: float,
        intent_id: UUID | None = None,
        process: Process = "workload",
    ) -> tuple[OpType, UUID, dict[str, Any]]:
        """Send one signal; returns (outcome, intent_id, body). Pass an intent_id to retry the same intent."""
        intent_id = intent_id or uuid.uuid4()
        body = {"symbol": symbol, "side": side, "quantity": quantity, "intent_id": str(intent_id)}
        type_, _, payload = self._recorded(
            process, "signal", "POST", "/execution/signals", body=body, intent_id=intent_id
        )
        return type_, intent_id, payload

    def probe_health(self) -> tuple[OpType, dict[str, Any]]:
        type_, _, payload = self._recorded("probe", "health", "GET", "/health", timeout=PROBE_TIMEOUT)
        return type_, payload

    def put_bars(
        self, symbol: str, timeframe: str, bars: list[dict[str, Any]]
    ) -> tuple[OpType, dict[str, Any]]:
        type_, _, payload = self._recorded(
            "setup", "bars_write", "PUT", f"/data/bars/{symbol}/{timeframe}", body={"bars": bars}
        )
        return type_, payload

    def read_bars(self, symbol: str, timeframe: str) -> tuple[OpType, int | None, dict[str, Any]]:
        return self._recorded("verify", "bars_read", "GET", f"/data/bars/{symbol}/{timeframe}")

    def activate_kill_switch(self, reason: str) -> tuple[OpType, dict[str, Any]]:
        type_, _, payload = self._recorded(
            "setup",
            "kill_switch_activate",
            "POST",
            "/execution/kill-switch/activate",
            body={"reason": reason},
        )
        return type_, payload

    def reset_kill_switch(self, token: str) -> tuple[OpType, dict[str, Any]]:
        type_, _, payload = self._recorded(
            "setup", "kill_switch_reset", "POST", "/execution/kill-switch/reset", body={"token": token}
        )
        return type_, payload

    # -- unrecorded reads for the checkers
    def get(self, path: str, timeout: float = 3.0) -> dict[str, Any]:
        resp = self.session.get(self.base_url + path, timeout=(CONNECT_TIMEOUT, timeout))
        resp.raise_for_status()
        return _json(resp)

    def health(self) -> dict[str, Any] | None:
        """The /health body, or None when the engine does not answer (used in polls, not recorded)."""
        try:
            return self.get("/health", timeout=1.0)
        except requests.RequestException:
            return None

    def state(self) -> dict[str, Any]:
        return self.get("/execution/state")

    def kill_switch(self) -> KillSwitchState:
        body = self.get("/execution/kill-switch")
        return KillSwitchState.model_validate(body.get("kill_switch", body))

    def ledger(self, page: int = 1000, max_pages: int = 100) -> list[dict[str, Any]]:
        """The whole ledger over the API, paged; bounded so a misbehaving engine cannot loop us forever."""
        entries: list[dict[str, Any]] = []
        after = 0
        for _ in range(max_pages):
            body = self.get(f"/execution/ledger?after_seq={after}&limit={page}")
            chunk = body.get("entries", [])
            entries.extend(chunk)
            if len(chunk) < page:
                return entries
            after = int(chunk[-1]["seq"])
        raise RuntimeError(f"ledger longer than {page * max_pages} entries")


class BrokerAdmin:
    """The fake broker's own record: what actually reached it. The checkers' ground truth."""

    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or fresh_connection_session()

    def _get(self, path: str) -> dict[str, Any]:
        resp = self.session.get(self.base_url + path, timeout=(CONNECT_TIMEOUT, 5.0))
        resp.raise_for_status()
        return _json(resp)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.session.post(self.base_url + path, json=body or {}, timeout=(CONNECT_TIMEOUT, 5.0))
        resp.raise_for_status()
        return _json(resp)

    def healthy(self) -> bool:
        try:
            return bool(self._get("/health").get("ok"))
        except requests.RequestException:
            return False

    def attempts(self) -> list[BrokerAttempt]:
        return [BrokerAttempt.model_validate(a) for a in self._get("/admin/attempts")["attempts"]]

    def orders(self) -> list[BrokerOrder]:
        return [BrokerOrder.model_validate(o) for o in self._get("/admin/orders")["orders"]]

    def positions(self) -> dict[str, float]:
        return {k: float(v) for k, v in self._get("/positions")["positions"].items()}

    def configure(self, order_delay_s: float = 0.0, fail_next: int = 0) -> None:
        self._post("/admin/config", {"order_delay_s": order_delay_s, "fail_next": fail_next})

    def reset(self) -> None:
        self._post("/admin/reset")

    def seed(self, orders: list[dict[str, Any]]) -> None:
        """Orders the broker held before the run (a start from captured data): in the book, no attempts."""
        self._post("/admin/seed", {"orders": orders})

    def knob_hits(self) -> list[dict[str, Any]]:
        """Orders the broker's ambiguity knob hit (committed, then a 5xx / drop / late answer / partial)."""
        return list(self._get("/admin/knobs")["knobs"])

    def account_reads(self) -> list[datetime]:
        """When the engine read its balance (GET /account), by the broker's true clock."""
        return [datetime.fromisoformat(t) for t in self._get("/admin/account-reads")["reads"]]
