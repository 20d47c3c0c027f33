"""Warm recovery worker: one interpreter that starts the real engine on crash state after crash state.

Runs in the engine's interpreter (`python -m chaos_lab.crashstates.worker`, PYTHONPATH may point at a
mutant copy); chaos_lab modules never import it. Jobs arrive as JSON lines on stdin, results leave as JSON
lines on the original stdout (everything else the engine prints goes to stderr).

Same start-up path as the lab: `solat_engine.api.app.create_app()` with no arguments builds the Engine from
SOLAT_* and config.json exactly as `uvicorn --factory` does, and Starlette's TestClient runs the app's
lifespan,
which calls `Engine.start()` (tests/unit/test_crashstates.py checks that lifespan really is what starts it).
The broker is the real fake broker app on a fresh SQLite store per state, served over loopback HTTP by one
uvicorn kept running; a dispatcher hands each request to the current state's app.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

RECONCILE_WAIT = 20.0
VERIFY_ORDER = {"symbol": "EURUSD", "side": "BUY", "quantity": 1.0}


class Dispatch:
    """ASGI app that forwards to the current state's broker app (swapped between states)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def serve_broker(dispatch: Dispatch) -> str:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(dispatch, lifespan="off", log_level="warning", access_log=False))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="broker").start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}"


def _json(resp: Any) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {"raw": resp.text[:500]}
    return body if isinstance(body, dict) else {"raw": body}


def recover(job: dict[str, Any], dispatch: Dispatch, broker_url: str) -> dict[str, Any]:
    from fastapi.testclient import TestClient
    from solat_engine.api.app import create_app
    from solat_engine.config import ConfigError

    from chaos_lab.broker.app import OrderRequest
    from chaos_lab.broker.app import create_app as broker_app
    from chaos_lab.ledger_reader import LEDGER_PATH, SNAPSHOT_PATH, read_snapshot, scan_ledger

    t0 = time.monotonic()
    root = Path(job["root"])
    data_dir = root / "data"
    result: dict[str, Any] = {"key": job["key"], "server_errors": []}
    broker = broker_app(db_path=root / "broker.sqlite3", balance=1_000_000.0)
    store = broker.state.store
    for order in job["orders"]:
        store.place(OrderRequest.model_validate(order))
    dispatch.app = broker
    os.environ.update({**job["env"], "SOLAT_DATA_DIR": str(data_dir), "SOLAT_BROKER_URL": broker_url})
    try:
        try:
            app = create_app()
        except ConfigError as exc:
            result["refused_start"] = str(exc)
            return result
        with TestClient(app, raise_server_exceptions=False) as client:
            result["started"] = True
            engine = app.state.engine
            deadline = time.monotonic() + RECONCILE_WAIT
            while (
                engine.router is not None and not engine.reconciled.is_set() and time.monotonic() < deadline
            ):
                time.sleep(0.005)
            result["reconciled"] = engine.reconciled.is_set()

            def get(path: str) -> dict[str, Any]:
                resp = client.get(path)
                if resp.status_code >= 500:
                    result["server_errors"].append(f"GET {path}: {resp.status_code} {resp.text[:300]}")
                return _json(resp)

            resp = client.post("/execution/signals", json={**VERIFY_ORDER, "intent_id": job["verify_intent"]})
            result["verify_status"], result["verify_body"] = resp.status_code, _json(resp)
            if resp.status_code >= 500 and resp.status_code != 507:
                result["server_errors"].append(
                    f"POST /execution/signals: {resp.status_code} {resp.text[:300]}"
                )
            result["health"] = get("/health")
            result["engine_state"] = get("/execution/state")
            result["kill_switch"] = get("/execution/kill-switch")
            ledger = client.get("/execution/ledger", params={"limit": 10_000})
            result["ledger_api"] = ledger.json()["entries"] if ledger.status_code == 200 else None
        result["snapshot"] = read_snapshot((data_dir / SNAPSHOT_PATH).read_bytes)
        ledger_path = data_dir / LEDGER_PATH
        if ledger_path.exists():
            result["ledger_file"] = scan_ledger(ledger_path.read_bytes(), str(ledger_path)).model_dump(
                mode="json"
            )
    except Exception as exc:  # the engine crashed: that is the finding, with its traceback
        result["crash"] = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=8))[-3000:]
    finally:
        result["broker_orders"] = [o.model_dump() for o in store.orders()]
        result["broker_attempts"] = [a.model_dump() for a in store.attempts()]
        result["broker_positions"] = store.positions()
        store._db.close()
        result["seconds"] = round(time.monotonic() - t0, 4)
        shutil.rmtree(root, ignore_errors=True)
    return result


def main() -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the result stream
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import solat_engine

    dispatch = Dispatch()
    broker_url = serve_broker(dispatch)
    out.write(json.dumps({"ready": True, "engine": str(Path(solat_engine.__file__).parent)}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        out.write(json.dumps(recover(job, dispatch, broker_url), default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
