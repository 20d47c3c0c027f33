"""Real server subprocesses (fake broker, engine) on 127.0.0.1 with free ports and bounded waits.

Faults must be real: a SIGKILL here kills a real uvicorn process mid-request, so these helpers own the
process lifecycle, the log file (shown when a wait fails) and the HTTP helpers the tests need.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
HTTP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One uvicorn-based server. `start()` waits until `health_path` answers 200 (bounded)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.cmd = cmd
        self.env = env
        self.port = int(env["__PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}-{uuid.uuid4().hex[:8]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        env = {k: v for k, v in {**os.environ, **self.env}.items() if k != "__PORT"}
        self.log_path = self.log_path.with_name(f"{self.name}-{uuid.uuid4().hex[:8]}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
        self.wait_http(timeout)
        return self

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "<no log>"

    def wait_http(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} not answering /health after {timeout}s:\n{self.log_tail()}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` and reap the process (bounded)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=kw.pop("timeout", HTTP_TIMEOUT), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return requests.post(self.url + path, json=json, timeout=kw.pop("timeout", HTTP_TIMEOUT), **kw)


class BrokerProcess(ServerProcess):
    def __init__(self, db_path: Path, log_dir: Path, balance: float = 1_000_000.0) -> None:
        port = free_port()
        cmd = [sys.executable, "-m", "uvicorn", "chaos_lab.broker.app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        env = {"BROKER_DB": str(db_path), "BROKER_BALANCE": str(balance), "__PORT": str(port)}
        super().__init__("broker", cmd, env, log_dir)

    def attempts(self) -> list[dict[str, Any]]:
        return self.get("/admin/attempts").json()["attempts"]

    def orders(self) -> list[dict[str, Any]]:
        return self.get("/admin/orders").json()["orders"]

    def positions(self) -> dict[str, float]:
        return self.get("/positions").json()["positions"]

    def configure(self, **cfg: Any) -> None:
        resp = self.post("/admin/config", json=cfg)
        resp.raise_for_status()

    def place(self, client_order_id: str, symbol: str, side: str, quantity: float) -> dict[str, Any]:
        body = {"client_order_id": client_order_id, "symbol": symbol, "side": side, "quantity": quantity}
        resp = self.post("/orders", json=body)
        resp.raise_for_status()
        return resp.json()


class EngineProcess(ServerProcess):
    """`python -m solat_engine`; the same data dir and port survive `restart()` like a real redeploy."""

    def __init__(self, data_dir: Path, broker_url: str, log_dir: Path, **env: str) -> None:
        port = free_port()
        base = {
            "SOLAT_HOST": "127.0.0.1",
            "SOLAT_PORT": str(port),
            "SOLAT_DATA_DIR": str(data_dir),
            "SOLAT_BROKER_URL": broker_url,
            "SOLAT_BROKER_CONNECT_TIMEOUT": "0.5",
            "SOLAT_BROKER_READ_TIMEOUT": "0.5",
            "SOLAT_SNAPSHOT_INTERVAL": "0.5",
            "SOLAT_KILL_SWITCH_TOKEN": "test-token",
            "__PORT": str(port),
        }
        super().__init__("engine", [sys.executable, "-m", "solat_engine"], {**base, **env}, log_dir)
        self.data_dir = data_dir

    def health(self) -> dict[str, Any]:
        return self.get("/health").json()

    def state(self) -> dict[str, Any]:
        return self.get("/execution/state").json()

    def ledger(self) -> list[dict[str, Any]]:
        return self.get("/execution/ledger", params={"limit": 10_000}).json()["entries"]

    def wait_reconciled(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Wait until the startup reconcile has finished (new orders are accepted from then on)."""
        deadline = time.monotonic() + timeout
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = self.state()
            if state.get("reconciled"):
                return state
            time.sleep(0.05)
        raise TimeoutError(f"engine did not reconcile within {timeout}s: {state}\n{self.log_tail()}")

    def signal(self, symbol: str = "EURUSD", side: str = "BUY", quantity: float = 1.0,
               intent_id: str | None = None, timeout: float = HTTP_TIMEOUT) -> requests.Response:
        body: dict[str, Any] = {"symbol": symbol, "side": side, "quantity": quantity}
        if intent_id is not None:
            body["intent_id"] = intent_id
        return self.post("/execution/signals", json=body, timeout=timeout)

    def restart(self, timeout: float = START_TIMEOUT) -> EngineProcess:
        self.stop()
        return self.start(timeout)  # type: ignore[return-value]
