"""N independent lab instances: one Compose project each (own project name, published ports, volumes and
network), so that scenario runs and explored schedules spread over them. Half of a run is waiting (fault
holds, readiness polls): a second lab works while the first one waits.

Instance i of a pool based on project P is `P<i>` (P=solat-lab-d gives solat-lab-d1, solat-lab-d2, ...) with
its three ports at LAB_PARALLEL_PORT_BASE + 10*(i-1) + 0/1/2 (default 19000), all on 127.0.0.1. A pool of one
is the base lab itself (its project and ports unchanged). Every instance is removed on success, failure,
Ctrl-C and SIGTERM: `LabPool` is a context manager whose exit takes every instance down, and the work runs in
worker threads while the main thread only collects results, so the interrupt lands where the cleanup is.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

from chaos_lab.lab.protocol import Lab
from chaos_lab.signals import signals_deferred
from chaos_lab.workload.waiting import WaitMeter

T = TypeVar("T")
R = TypeVar("R")
PORT_BASE = ("LAB_PARALLEL_PORT_BASE", 19000)
PORT_VARS = ("LAB_ENGINE_PORT", "LAB_TOXIPROXY_PORT", "LAB_BROKER_PORT")
MAX_INSTANCES = 8
WORKER_JOIN_S = 15.0  # after an interrupt: how long a worker may take to notice its lab is gone


def instance(base_project: str, env: Mapping[str, str], index: int, count: int) -> tuple[str, dict[str, str]]:
    """(project, env) of instance `index` (1-based) of `count`."""
    if count == 1:
        return base_project, dict(env)
    port0 = int(env.get(PORT_BASE[0]) or PORT_BASE[1]) + 10 * (index - 1)
    ports = {var: str(port0 + k) for k, var in enumerate(PORT_VARS)}
    return f"{base_project}{index}", {**env, **ports, "COMPOSE_PROJECT_NAME": f"{base_project}{index}"}


class LabPool:
    """`count` labs brought up together and taken down together (also on failure, Ctrl-C, SIGTERM)."""

    def __init__(
        self,
        count: int,
        base_project: str | None = None,
        env: Mapping[str, str] | None = None,
        lab_factory: Callable[..., Any] | None = None,
    ) -> None:
        if not 1 <= count <= MAX_INSTANCES:
            raise ValueError(f"parallel instances must be 1..{MAX_INSTANCES}, got {count}")
        if lab_factory is None:
            from chaos_lab.lab.docker import DockerLab

            lab_factory = DockerLab
        env = dict(os.environ if env is None else env)
        base = base_project or env.get("COMPOSE_PROJECT_NAME") or "solat-lab"
        self.labs = [
            lab_factory(project=project, env=lab_env)
            for project, lab_env in (instance(base, env, i, count) for i in range(1, count + 1))
        ]

    def _each(self, fn: Callable[[Any], None]) -> list[BaseException]:
        """fn on every lab at once (bringing N labs up one after another would waste the waiting we save)."""
        with ThreadPoolExecutor(max_workers=len(self.labs)) as pool:
            futures = [pool.submit(fn, lab) for lab in self.labs]
        return [exc for f in futures if (exc := f.exception()) is not None]

    def up(self) -> None:
        def fresh(lab: Lab) -> None:
            lab.down()  # whatever a killed run left under this name must not leak into this one
            lab.up()

        errors = self._each(fresh)
        if errors:
            self.down()
            raise errors[0]

    def down(self) -> None:
        with signals_deferred():
            errors = self._each(lambda lab: lab.down())
        if errors:
            raise errors[0]

    def __enter__(self) -> LabPool:
        self.up()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()


@dataclass
class Work(Generic[T]):
    """A thread-safe source of work items: `take()` returns None when there is no more (or on stop)."""

    next_item: Callable[[], T | None]
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> T | None:
        if self.stop.is_set():
            return None
        with self._lock:
            return self.next_item()

    @classmethod
    def of(cls, items: list[T]) -> Work[T]:
        it = iter(items)
        return cls(lambda: next(it, None))


class Workers(Generic[T, R]):
    """One worker thread per lab takes items and runs `do(lab, meter, item)`; `results()` yields in the
    calling (main) thread as they arrive, so Ctrl-C interrupts the caller. On any exit the caller takes the
    labs down first (a worker mid-scenario then fails fast) and only then `join()`s the workers."""

    def __init__(self, labs: list[Any], work: Work[T], do: Callable[[Any, WaitMeter, T], R]) -> None:
        self.work, self.do = work, do
        self.meters = [WaitMeter() for _ in labs]
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.threads = [
            threading.Thread(target=self._worker, args=(lab, meter), name=f"lab-worker-{i}", daemon=True)
            for i, (lab, meter) in enumerate(zip(labs, self.meters, strict=True))
        ]

    def _worker(self, lab: Lab, meter: WaitMeter) -> None:
        try:
            while (item := self.work.take()) is not None:
                self._queue.put(("result", self.do(lab, meter, item)))
        except BaseException as exc:
            self.work.stop.set()
            self._queue.put(("error", exc))
        finally:
            self._queue.put(("done", None))

    @property
    def waited(self) -> float:
        return sum(m.waited for m in self.meters)

    def results(self) -> Iterator[R]:
        """A worker's crash stops the others and is re-raised here."""
        for thread in self.threads:
            thread.start()
        running = len(self.threads)
        try:
            while running:
                try:
                    kind, value = self._queue.get(timeout=0.5)  # short: signals reach the main thread between
                except queue.Empty:
                    continue
                if kind == "done":
                    running -= 1
                elif kind == "error":
                    raise value
                else:
                    yield value
        finally:
            self.work.stop.set()

    def join(self, timeout: float = WORKER_JOIN_S) -> bool:
        end = time.monotonic() + timeout
        for thread in self.threads:
            if thread.is_alive():
                thread.join(max(0.0, end - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)
