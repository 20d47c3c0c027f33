"""The only module that talks to Docker: the Compose lab (compose/lab.yml) as one Python object.

The compose CLI (`docker compose` v2 when present, else `docker-compose` v1) creates and removes the project;
everything else goes through the Docker SDK, so each fault is one API call on one real container. `down()`
removes exactly the project's containers, networks and volumes (found by Compose's project label) and nothing
else, and runs on success, failure, Ctrl-C and SIGTERM when the lab is used as a context manager.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import docker
import docker.errors
import requests
from docker.models.containers import Container

from chaos_lab.lab.volume_size import VOLUME_SIZE_DEFAULT, VOLUME_SIZE_VAR, parse_size
from chaos_lab.signals import interrupts_as_keyboard_interrupt, signals_deferred

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose" / "lab.yml"
PROJECT = "solat-lab"

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
VOLUME_LABEL = "com.docker.compose.volume"
ONEOFF_LABEL = "com.docker.compose.oneoff"
LAB_LABEL = "io.solat-lab.project"
PAUSE_ATTEMPTS = 4  # runc's freeze of a busy cgroup can time out under host load (see DockerLab.pause)

SERVICES = ("datavol", "broker", "toxiproxy", "engine")
SIDECAR = "datavol"  # keeps the tmpfs volume mounted; file faults run in it
ENGINE_VOLUME = "engine-data"
VOLUME_MOUNT = "/data"
LAB_UID = "10001:10001"
# Our images' tag (LAB_IMAGE_TAG, as in compose/lab.yml and build-images.sh): a second checkout, or a mutant
# engine build, runs beside the default images under its own tag.
IMAGE_TAG = ("LAB_IMAGE_TAG", "dev")
TOXIPROXY_IMAGE = "solat-lab/toxiproxy:2.12.0"
# Published ports on 127.0.0.1: (variable, default), as in compose/lab.yml.
PORTS = {
    "engine": ("LAB_ENGINE_PORT", 18080),
    "toxiproxy": ("LAB_TOXIPROXY_PORT", 18474),
    "broker": ("LAB_BROKER_PORT", 18700),
}
# What says a service is up, asked from the host over its published port (HTTP 200), as its healthcheck in
# compose/lab.yml asks from inside. Not Docker's health status: checks run every `interval`, and each is an
# exec costing ~0.1 s of CPU, so a 1 s interval (needed for a fast up) kept 0.4 of a core busy per idle lab.
READY_PATHS = {"engine": "/health", "broker": "/health", "toxiproxy": "/proxies/broker"}
# `up` starts the services in this order, each stage answering before the next: the engine's start-up
# reconcile asks the broker through the proxy.
UP_STAGES = (("datavol", "toxiproxy", "broker"), ("engine",))
DATA_SIZE = (VOLUME_SIZE_VAR, VOLUME_SIZE_DEFAULT)
POLL_S = 0.1
HTTP_TIMEOUT = (1.0, 5.0)


class LabError(RuntimeError):
    """The lab itself failed (Docker missing, an image missing, a service unhealthy): one line says which."""


@cache
def compose_command() -> tuple[str, ...]:
    """`docker compose` (v2 plugin) when it works, else the standalone `docker-compose` (v1)."""
    with suppress(OSError):
        if subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20).returncode == 0:
            return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise LabError("no compose CLI (neither `docker compose` nor `docker-compose`): run `make host`")


# A guard against a lab that never comes up, not a speed check: at a load average of 36 on 2 cores (four labs
# and a stress-ng on one host) `compose up` alone took 33 s and the engine's start as long again.
UP_TIMEOUT_S = 180.0

class DockerLab:
    """The lab stack of one Compose project. Use it as a context manager to get up() on entry and down() on
    any exit, including Ctrl-C and SIGTERM."""

    def __init__(
        self, project: str = PROJECT, compose_file: Path = COMPOSE_FILE, env: dict[str, str] | None = None
    ) -> None:
        self.project = project
        self.compose_file = Path(compose_file)
        self.env: dict[str, str] = {**os.environ, **(env or {}), "COMPOSE_PROJECT_NAME": project}
        self._client: docker.DockerClient | None = None
        self._interrupts: Any = None

    # -- plumbing ------------------------------------------------------------------------------------------
    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = docker.from_env(timeout=60)
            except docker.errors.DockerException as exc:
                raise LabError(f"Docker does not answer ({exc}): run `make host`") from exc
        return self._client

    def _compose(self, *args: str, timeout: float = 120) -> str:
        cmd = [*compose_command(), "-p", self.project, "-f", str(self.compose_file), *args]
        try:
            done = subprocess.run(
                cmd,
                env=self.env,
                cwd=self.compose_file.parent,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"`{' '.join(cmd[-len(args) :])}` took more than {timeout:.0f}s") from exc
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
            raise LabError(f"compose {args[0]} failed: {lines[-1] if lines else f'exit {done.returncode}'}")
        return done.stdout

    def _project_filter(self, **labels: str) -> dict[str, list[str]]:
        return {"label": [f"{PROJECT_LABEL}={self.project}", *(f"{k}={v}" for k, v in labels.items())]}

    def _containers(self, filters: dict[str, list[str]]) -> list[Container]:
        """Every container the filter matches, running or not. One removed between Docker's list and its
        inspect (a take-down running alongside, `--rm` helpers) is gone, not an error: without
        `ignore_removed` that 404 aborted a SIGTERM's take-down and left the rest of the project behind."""
        return list(self.client.containers.list(all=True, filters=filters, ignore_removed=True))

    def _labels(self, service: str) -> dict[str, str]:
        return {
            PROJECT_LABEL: self.project,
            SERVICE_LABEL: service,
            ONEOFF_LABEL: "True",
            LAB_LABEL: self.project,
        }

    def _answers(self, service: str) -> bool:
        try:
            url = f"http://127.0.0.1:{self._port(service)}{READY_PATHS[service]}"
            return requests.get(url, timeout=(0.5, 2.0)).status_code == 200
        except requests.RequestException:
            return False

    def _port(self, service: str) -> int:
        var, default = PORTS[service]
        return int(self.env.get(var) or default)

    @property
    def image_tag(self) -> str:
        var, default = IMAGE_TAG
        return self.env.get(var) or default

    @property
    def engine_image(self) -> str:
        return f"solat-lab/engine:{self.image_tag}"

    def images(self) -> tuple[str, ...]:
        return (self.engine_image, f"solat-lab/broker:{self.image_tag}", TOXIPROXY_IMAGE)

    def check_images(self) -> None:
        """Fail fast, naming the image, rather than let Compose try to pull it (no registry is reachable)."""
        missing = []
        for image in self.images():
            try:
                self.client.images.get(image)
            except docker.errors.ImageNotFound:
                missing.append(image)
        if missing:
            raise LabError(f"image(s) {', '.join(missing)} missing: run `make images`")

    # -- lifecycle -----------------------------------------------------------------------------------------
    def up(self, timeout: float = UP_TIMEOUT_S) -> None:
        """compose up -d stage by stage (UP_STAGES), each healthy before the next; on any failure the project
        is removed. `--no-deps`: the order is kept here, so compose waits out no healthcheck interval."""
        deadline = time.monotonic() + timeout
        try:
            self.check_images()
            for stage in UP_STAGES:
                left = max(1.0, deadline - time.monotonic())
                self._compose("up", "-d", "--no-deps", "--remove-orphans", *stage, timeout=left)
                for service in stage:
                    self.wait_healthy(service, timeout=max(1.0, deadline - time.monotonic()))
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        """Remove the project's containers, networks and volumes: compose down, then a sweep by project label
        for anything compose did not know about (volume helpers, a changed compose file). Images stay."""
        with signals_deferred():
            compose_error: LabError | None = None
            try:
                self._compose("down", "--volumes", "--remove-orphans", "--timeout", "5")
            except LabError as exc:
                compose_error = exc
            flt = self._project_filter()
            for container in self._containers(flt):
                with suppress(docker.errors.NotFound):
                    container.remove(force=True, v=True)
            for network in self.client.networks.list(filters=flt):
                with suppress(docker.errors.NotFound):
                    network.remove()
            for volume in self.client.volumes.list(filters=flt):
                with suppress(docker.errors.NotFound):
                    volume.remove(force=True)
            left = {kind: names for kind, names in self.resources().items() if names}
            if left:
                raise LabError(f"down left {left}" + (f" ({compose_error})" if compose_error else ""))

    def wait_healthy(self, service: str | None = None, timeout: float = 60) -> None:
        """Until the service (or every service) is running and answers its READY_PATHS request with 200. A
        container that exits while we wait fails at once with its last log line."""
        services = [service] if service else list(SERVICES)
        deadline = time.monotonic() + timeout
        while True:
            pending: dict[str, str] = {}
            for name in services:
                state = self.container(name).attrs["State"]
                if state["Status"] in ("exited", "dead"):
                    tail = self.logs(name).strip().splitlines()[-1:] or ["(no output)"]
                    raise LabError(f"{name} exited with code {state.get('ExitCode')}: {tail[0]}")
                if state["Status"] != "running":
                    pending[name] = state["Status"]
                elif name in READY_PATHS and not self._answers(name):
                    pending[name] = f"not answering {READY_PATHS[name]}"
            if not pending:
                return
            if time.monotonic() >= deadline:
                raise LabError(f"not healthy after {timeout:.0f}s: {pending}")
            time.sleep(POLL_S)

    def __enter__(self) -> DockerLab:
        self._interrupts = interrupts_as_keyboard_interrupt()
        self._interrupts.__enter__()
        try:
            self.down()  # a lab left behind by a killed run must not leak its state into this one
            self.up()
        except BaseException:
            self._interrupts.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.down()
        finally:
            self._interrupts.__exit__(None, None, None)

    # -- containers ----------------------------------------------------------------------------------------
    def container(self, service: str) -> Container:
        """The service's container (fresh attributes), running or not."""
        found = self._containers(self._project_filter(**{SERVICE_LABEL: service}))
        found = [c for c in found if c.labels.get(ONEOFF_LABEL) != "True"]
        if not found:
            raise LabError(f"no {service!r} container in project {self.project}: is the lab up?")
        return sorted(found, key=lambda c: c.name)[0]

    def service_status(self, service: str) -> str:
        """The container's state now (running, exited, paused): each process fault checks it happened."""
        container = self.container(service)
        container.reload()
        return str(container.status)

    def kill(self, service: str, signal: str = "SIGKILL") -> None:
        """Send a real signal to the service's main process. After SIGKILL, returns once the container is
        down, so a start() that follows cannot race the dying process."""
        container = self.container(service)
        container.kill(signal=signal)
        if signal in ("SIGKILL", "KILL", "9"):
            container.wait(condition="not-running", timeout=30)

    def kill_if_running(self, service: str) -> None:
        """SIGKILL the service unless it is already down; returns once it is. The resets use it before wiping
        the engine's volume: a graceful stop saves state the wipe then deletes, and took 0.49 s of a 1.67 s
        reset (median of 8). An engine that exits by itself meanwhile (Docker's 409) is down too."""
        if self.service_status(service) != "running":
            return
        with suppress(docker.errors.APIError):
            self.kill(service)
        if not self.wait_stopped(service):
            raise LabError(f"{service} still runs after SIGKILL")

    def wait_stopped(self, service: str, timeout: float = 15) -> bool:
        """Until the service's container is not running (a SIGTERM takes a moment); False if it still is."""
        try:
            self.container(service).wait(condition="not-running", timeout=timeout)
        except (requests.RequestException, docker.errors.APIError):
            return False
        return True

    def stop(self, service: str, timeout: int = 10) -> None:
        self.container(service).stop(timeout=timeout)

    def start(self, service: str) -> None:
        """Start without waiting for health: a scenario may expect the engine to come up degraded or fail."""
        self.container(service).start()

    def restart(self, service: str) -> None:
        self.container(service).restart(timeout=10)

    def pause(self, service: str) -> None:
        """runc gives up freezing a busy cgroup after a short wait ("unable to freeze", container left
        running): seen twice in three runs on a 2-core host at load 30. A few bounded retries, then raise."""
        container = self.container(service)
        for attempt in range(1, PAUSE_ATTEMPTS + 1):
            try:
                container.pause()
                return
            except docker.errors.APIError as exc:
                if "unable to freeze" not in str(exc) or attempt == PAUSE_ATTEMPTS:
                    raise
                time.sleep(0.2)

    def unpause(self, service: str) -> None:
        self.container(service).unpause()

    def remove_images(self, tag: str) -> list[str]:
        """Remove the lab's engine and broker images of one tag (a self-test's mutant build); never the
        shared base or Toxiproxy images. Returns what was removed."""
        if tag in ("", "dev") or ":" in tag or "/" in tag:
            raise LabError(f"refusing to remove images of tag {tag!r}")
        removed = []
        for image in (f"solat-lab/engine:{tag}", f"solat-lab/broker:{tag}"):
            try:
                self.client.images.remove(image, force=True)
                removed.append(image)
            except docker.errors.ImageNotFound:
                continue
        return removed

    def update_resources(self, service: str, **limits: Any) -> None:
        """Change a running container's cgroup limits (cpu_period, cpu_quota, mem_limit, memswap_limit), as
        `docker update` does: the resource faults' starvation and memory cap."""
        try:
            self.container(service).update(**limits)
        except docker.errors.APIError as exc:
            raise LabError(f"update of {service} failed: {exc.explanation or exc}") from exc

    def memory_usage(self, service: str) -> int:
        """Bytes the service's cgroup charges now (one stats sample)."""
        stats = self.container(service).stats(stream=False)
        return int(stats["memory_stats"]["usage"])

    def cpu_throttling(self, service: str) -> tuple[int, float]:
        """The kernel's own count for the service's cgroup since it started: CFS periods in which it was
        throttled, and for how long (s, summed over the host's CPUs in cgroup v1). One sample (`one_shot`)."""
        stats = self.container(service).stats(stream=False, one_shot=True)
        throttling = stats["cpu_stats"].get("throttling_data", {})
        return int(throttling.get("throttled_periods", 0)), int(throttling.get("throttled_time", 0)) / 1e9

    def state(self, service: str) -> dict[str, Any]:
        """The container's State (Status, ExitCode, OOMKilled, ...), fresh."""
        container = self.container(service)
        container.reload()
        return dict(container.attrs["State"])

    def exec(
        self, service: str, cmd: list[str], user: str | None = None, *, idempotent: bool = False
    ) -> tuple[int, str | None]:
        """Run cmd in the running service container: (exit code, stdout and stderr together).

        Docker now and then delivers a short command's exit code but drops its output (docker/docker-py#2042;
        the soak saw a disk fill's two numbers vanish). The command's output ends with an end marker, so a
        loss is seen, never mistaken for silence: an idempotent command is run again (at most 3 times), any
        other gets None for its output and must find out what it did some other way."""
        for _attempt in range(3 if idempotent else 1):
            try:
                result = self.container(service).exec_run(with_end_marker(cmd), user=user or "")
            except docker.errors.APIError as exc:
                raise LabError(f"exec in {service} failed: {exc.explanation or exc}") from exc
            out = without_end_marker(result.output.decode("utf-8", "replace"))
            if out is not None:
                break
        if out is None and idempotent:
            raise LabError(f"exec in {service}: Docker lost the output of {cmd[0]} three times")
        return int(result.exit_code), out

    # -- volumes -------------------------------------------------------------------------------------------
    def _volume(self, volume: str) -> Any:
        found = self.client.volumes.list(filters=self._project_filter(**{VOLUME_LABEL: volume}))
        if not found:
            raise LabError(f"no volume {volume!r} in project {self.project}: is the lab up?")
        return found[0]

    @contextmanager
    def _helper(self, volume: str, cmd: list[str] | None = None) -> Iterator[Container]:
        """A short-lived container on `volume` at /data: engine image, non-root, no capabilities, no network,
        labelled with the project so down() finds it even if we die. Created, not started."""
        container = self.client.containers.create(
            self.engine_image,
            command=cmd or ["true"],
            volumes={self._volume(volume).name: {"bind": VOLUME_MOUNT, "mode": "rw"}},
            user=LAB_UID,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            network_mode="none",
            read_only=True,
            labels=self._labels("volume-helper"),
        )
        try:
            yield container
        finally:
            with suppress(docker.errors.NotFound):
                container.remove(force=True)

    def volume_exec(
        self, cmd: list[str], volume: str = ENGINE_VOLUME, *, idempotent: bool = False
    ) -> tuple[int, str | None]:
        """Run cmd with the volume at /data while its service may be stopped. The engine volume: in the
        datavol sidecar (a second mount of a tmpfs volume would be a new, empty filesystem; see `exec` for
        a lost output). Others: in a helper container, whose output is its log."""
        if volume == ENGINE_VOLUME:
            return self.exec(SIDECAR, cmd, idempotent=idempotent)
        with self._helper(volume, cmd) as container:
            container.start()
            code = int(container.wait(timeout=120)["StatusCode"])
            return code, container.logs().decode("utf-8", "replace")

    def read_file(self, service_or_volume: str, path: str) -> bytes:
        """The bytes of `path` inside a service container (running or stopped) or on a project volume (at
        /data). FileNotFoundError when it does not exist."""
        if service_or_volume in SERVICES:
            return _read_archive(self.container(service_or_volume), path)
        if service_or_volume == ENGINE_VOLUME:
            return _read_archive(self.container(SIDECAR), path)
        with self._helper(service_or_volume) as container:
            return _read_archive(container, path)

    def put_files(self, archive: bytes, volume: str = ENGINE_VOLUME) -> None:
        """Extract a tar onto the engine volume at /data, owners and modes as the archive gives them: through
        the datavol sidecar, which holds the tmpfs mounted (its root is read-only, /data is the volume)."""
        if volume != ENGINE_VOLUME:
            raise LabError(f"put_files writes only the engine volume, not {volume!r}")
        try:
            done = self.container(SIDECAR).put_archive(VOLUME_MOUNT, archive)
        except docker.errors.APIError as exc:
            raise LabError(f"copying files onto {VOLUME_MOUNT} failed: {exc.explanation or exc}") from exc
        if not done:
            raise LabError(f"copying files onto {VOLUME_MOUNT} failed")

    def get_files(self, path: str = VOLUME_MOUNT) -> bytes:
        """A tar of `path` on the engine volume (the whole /data by default), read through the sidecar
        whether the engine runs or not: what a capture of the engine's data directory holds."""
        try:
            stream, _stat = self.container(SIDECAR).get_archive(path)
        except docker.errors.NotFound as exc:
            raise FileNotFoundError(f"{path} (on {ENGINE_VOLUME})") from exc
        return b"".join(stream)

    def data_size_bytes(self) -> int:
        """The engine volume's configured size (LAB_DATA_SIZE), in bytes."""
        var, default = DATA_SIZE
        return parse_size(self.env.get(var) or default)

    # -- observation ---------------------------------------------------------------------------------------
    def logs(self, service: str, since: datetime | None = None) -> str:
        """The service's log, each line stamped by Docker; from `since` on (to the second before it: Docker
        takes whole seconds, so a reader that needs the exact start filters by the stamps)."""
        after = None if since is None else int(since.timestamp()) - 1
        return self.container(service).logs(timestamps=True, since=after).decode("utf-8", "replace")

    def urls(self) -> dict[str, str]:
        return {service: f"http://127.0.0.1:{self._port(service)}" for service in PORTS}

    def resources(self) -> dict[str, list[str]]:
        """Names of the containers, networks and volumes that carry the project's label."""
        flt = self._project_filter()
        return {
            "containers": sorted(c.name for c in self._containers(flt)),
            "networks": sorted(n.name for n in self.client.networks.list(filters=flt)),
            "volumes": sorted(v.name for v in self.client.volumes.list(filters=flt)),
        }

    # -- between tests -------------------------------------------------------------------------------------
    def clear(self) -> None:
        """The state every run starts from, without recreating the lab: the engine not running (SIGKILLed
        first, so no order of the last run reaches the broker after its reset), its volume empty, the broker's
        record empty, every toxic dropped and the proxy enabled. The runner then puts the run's start on the
        volume and starts the engine."""
        urls = self.urls()
        self.kill_if_running("engine")
        code, out = self.volume_exec(["find", VOLUME_MOUNT, "-mindepth", "1", "-delete"], idempotent=True)
        if code != 0:
            raise LabError(f"wiping {VOLUME_MOUNT} failed: {(out or '').strip()[:300]}")
        for url in (f"{urls['broker']}/admin/reset", f"{urls['toxiproxy']}/reset"):
            requests.post(url, timeout=HTTP_TIMEOUT).raise_for_status()

    def reset(self, timeout: float = 60) -> None:
        """`clear`, then the engine started on its empty volume and healthy (the tests' clean lab)."""
        self.clear()
        self.start("engine")
        self.wait_healthy("engine", timeout=timeout)


END_MARKER = "@@solat-lab-exec-end@@"


def with_end_marker(cmd: list[str]) -> list[str]:
    """cmd run by sh, which prints END_MARKER on a line of its own once cmd has exited (same exit code)."""
    script = f'"$@"; rc=$?; printf "\\n%s\\n" {END_MARKER}; exit $rc'
    return ["sh", "-c", script, "sh", *cmd]


def without_end_marker(raw: str) -> str | None:
    """The command's own output, or None when the end marker did not arrive (Docker lost the output)."""
    tail = f"\n{END_MARKER}\n"
    return raw[: -len(tail)] if raw.endswith(tail) else None


def _read_archive(container: Container, path: str) -> bytes:
    try:
        stream, _stat = container.get_archive(path)
    except docker.errors.NotFound as exc:
        raise FileNotFoundError(f"{path} (in {container.name})") from exc
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        handle = tar.extractfile(member) if member is not None else None
        if handle is None:
            raise IsADirectoryError(f"{path} (in {container.name}) is not a regular file")
        return handle.read()


# -- `python -m chaos_lab.lab.docker up|down|logs` (make up / down / logs)
class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"docker_lab: {message} (usage: python -m chaos_lab.lab.docker up|down|logs)\n")


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = _OneLineParser(prog="docker_lab", description="The chaos lab's Compose stack.")
    parser.add_argument("command", choices=["up", "down", "logs"])
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for `up` to become healthy")
    args = parser.parse_args(argv)
    env = dict(os.environ if environ is None else environ)
    lab = DockerLab(project=env.get("COMPOSE_PROJECT_NAME") or PROJECT, env=env)
    try:
        if args.command == "up":
            started = time.monotonic()
            with interrupts_as_keyboard_interrupt():
                lab.up(timeout=args.timeout)
            print(f"lab {lab.project} healthy in {time.monotonic() - started:.1f}s")
            for service, url in lab.urls().items():
                print(f"  {service:<10} {url}")
        elif args.command == "down":
            lab.down()
            print(f"lab {lab.project} down: no container, network or volume of the project left")
        else:
            for service in SERVICES:
                print(f"===== {service} =====")
                print(lab.logs(service), end="")
    except KeyboardInterrupt:
        print("docker_lab: interrupted; the lab was taken down", file=sys.stderr)
        return 130
    except LabError as exc:
        print(f"docker_lab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
