"""Recover: materialize each distinct crash state and hand it to warm workers that start the real engine on
it (worker.py). Identical inputs (same files, same broker orders) are recovered once and judged per state."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from chaos_lab.crashstates.models import CrashState, RecoveryJob, RecoveryResult, TraceOp
from chaos_lab.crashstates.record import engine_pythonpath

JOB_TIMEOUT = 90.0
START_TIMEOUT = 60.0


class RecoverError(RuntimeError):
    """A worker could not be started (one line)."""


def scratch_root() -> Path:
    """tmpfs when there is one: the recovering engine fsyncs, and nothing here needs to survive."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def materialize(state: CrashState, blobs: dict[str, bytes], root: Path) -> None:
    """Write the state's files under `root` (its data dir is root/data)."""
    root.mkdir(parents=True)
    for path, digest in sorted(state.files.items()):
        target = root / path
        if digest is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blobs[digest])


def orders_at(ops: list[TraceOp], point: int) -> list[dict[str, Any]]:
    """The POST /orders bodies the broker had received when the engine crashed just after op `point`."""
    return [op.order for op in ops[: point + 1] if op.kind == "broker_send" and op.order is not None]


class _Worker:
    def __init__(self, env: dict[str, str], log: IO[bytes]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chaos_lab.crashstates.worker"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
        )
        ready = self._readline(START_TIMEOUT)
        if ready is None:
            self.close()
            raise RecoverError("recovery worker did not start (see worker.log)")
        self.engine = json.loads(ready)["engine"]

    def _readline(self, timeout: float) -> str | None:
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            line = self.proc.stdout.readline() if self.proc.stdout else ""
        finally:
            timer.cancel()
        return line or None

    def run(self, job: RecoveryJob) -> RecoveryResult:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(job.model_dump_json() + "\n")
            self.proc.stdin.flush()
        except OSError:  # killed after a hung state: that state is reported, the next ones need a worker
            return RecoveryResult(
                key=job.key, crash="recovery worker was not running (an earlier state hung)"
            )
        line = self._readline(JOB_TIMEOUT)
        if line is None:
            return RecoveryResult(
                key=job.key,
                crash=f"recovery worker died or hung >{JOB_TIMEOUT:.0f}s on "
                f"this state (exit {self.proc.poll()})",
            )
        return RecoveryResult.model_validate_json(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


class WorkerPool:
    """N warm workers (default 2: this machine has two cores)."""

    def __init__(self, workers: int, engine_src: Path | None, env: dict[str, str], log_path: Path) -> None:
        self.size = workers
        self.env = {**os.environ, **engine_pythonpath(engine_src), "PYTHONDONTWRITEBYTECODE": "1"}
        self.job_env = env
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        self.scratch = Path(tempfile.mkdtemp(prefix="crashstates-", dir=scratch_root()))
        self.workers: list[_Worker] = []
        try:
            self.workers = [_Worker(self.env, self.log) for _ in range(workers)]
        except BaseException:
            self.close()
            raise

    @property
    def engine_path(self) -> str:
        return self.workers[0].engine if self.workers else ""

    def recover_all(
        self,
        jobs: Iterable[tuple[CrashState, list[dict[str, Any]]]],
        blobs: dict[str, bytes],
        verify_intent: Callable[[str], str],
        done: Callable[[RecoveryResult], None] | None = None,
    ) -> dict[str, RecoveryResult]:
        work: queue.Queue[tuple[CrashState, list[dict[str, Any]]] | None] = queue.Queue()
        for item in jobs:
            work.put(item)
        results: dict[str, RecoveryResult] = {}
        lock = threading.Lock()

        def loop(worker: _Worker) -> None:
            while True:
                try:
                    item = work.get_nowait()
                except queue.Empty:
                    return
                if item is None:
                    return
                state, orders = item
                root = self.scratch / state.key
                materialize(state, blobs, root)
                job = RecoveryJob(
                    key=state.key,
                    root=str(root),
                    orders=orders,
                    env=self.job_env,
                    verify_intent=verify_intent(state.key),
                )
                result = worker.run(job)
                if worker.proc.poll() is not None:  # died or was killed on a hung state: start a fresh one
                    worker.close()
                    worker = _Worker(self.env, self.log)
                    self.workers.append(worker)
                shutil.rmtree(root, ignore_errors=True)
                with lock:
                    results[state.key] = result
                if done:
                    done(result)

        threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in self.workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def close(self) -> None:
        for w in self.workers:
            w.close()
        self.log.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
