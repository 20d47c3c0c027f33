"""The lab stack itself, against real containers: hardening, the engine -> Toxiproxy -> broker path, the tmpfs
volume's size and real ENOSPC, a SIGKILLed engine coming back with its ledger, and clean tear-down."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from chaos_lab.lab.docker import PORTS, SERVICES, DockerLab, LabError

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = (2.0, 10.0)
FILLER = "/data/.stack-test-fill"
EMPTY: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}

# Runs inside the engine container: how big /data is, then write from an empty file until the kernel says no.
_FILL = r"""
import errno, os, sys
st = os.statvfs('/data'); size = st.f_blocks * st.f_frsize
written, err = 0, 0
with open(sys.argv[1], 'wb', buffering=0) as f:
    chunk = b'x' * (1 << 20)
    while written <= 2 * size:
        try:
            written += f.write(chunk)
        except OSError as e:
            err = e.errno
            break
print(size, written, err)
"""


def _signal(lab: DockerLab, intent_id: uuid.UUID) -> requests.Response:
    body = {"symbol": "EURUSD", "side": "BUY", "quantity": 1.0, "intent_id": str(intent_id)}
    return requests.post(f"{lab.urls()['engine']}/execution/signals", json=body, timeout=TIMEOUT)


def _broker_coids(lab: DockerLab) -> list[str]:
    resp = requests.get(f"{lab.urls()['broker']}/admin/attempts", timeout=TIMEOUT)
    resp.raise_for_status()
    return [a["client_order_id"] for a in resp.json()["attempts"]]


def _coid(intent_id: uuid.UUID) -> str:
    return "SOLAT-" + intent_id.hex


def _set_proxy(lab: DockerLab, enabled: bool) -> None:
    resp = requests.post(
        f"{lab.urls()['toxiproxy']}/proxies/broker", json={"enabled": enabled}, timeout=TIMEOUT
    )
    resp.raise_for_status()
    assert resp.json()["enabled"] is enabled


def _free_ports() -> dict[str, str]:
    """Ports nobody listens on now, for a second project beside the session's lab (and anyone else's)."""
    ports: dict[str, str] = {}
    for var, _default in PORTS.values():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports[var] = str(sock.getsockname()[1])
    return ports


def _ledger(lab: DockerLab) -> list[dict[str, Any]]:
    resp = requests.get(f"{lab.urls()['engine']}/execution/ledger", params={"after_seq": 0}, timeout=TIMEOUT)
    resp.raise_for_status()
    return list(resp.json()["entries"])


def _docker_health(lab: DockerLab, timeout: float = 40) -> dict[str, str]:
    """Docker's own healthcheck status of every service, once all say healthy or after `timeout` (the checks
    run every 10 s: compose/lab.yml)."""
    deadline = time.monotonic() + timeout
    while True:
        states = {s: lab.container(s).attrs["State"] for s in SERVICES}
        health = {s: state.get("Health", {}).get("Status", "none") for s, state in states.items()}
        if set(health.values()) == {"healthy"} or time.monotonic() >= deadline:
            return health
        time.sleep(0.5)


def test_stack_is_healthy_and_hardened(lab: DockerLab) -> None:
    lab.wait_healthy(timeout=30)
    assert _docker_health(lab) == dict.fromkeys(SERVICES, "healthy")  # the compose healthchecks work too
    for service in SERVICES:
        attrs = lab.container(service).attrs
        host = attrs["HostConfig"]
        assert attrs["Config"]["User"] == "10001:10001", service
        assert host["CapDrop"] == ["ALL"], service
        assert host["ReadonlyRootfs"] is True, service
        assert "no-new-privileges:true" in host["SecurityOpt"], service
        assert not any("docker.sock" in m.get("Source", "") for m in attrs["Mounts"]), service
        for bindings in (host.get("PortBindings") or {}).values():
            assert all(b["HostIp"] == "127.0.0.1" for b in bindings), (service, bindings)
    assert lab.container("datavol").attrs["HostConfig"]["NetworkMode"] == "none"
    env = dict(e.split("=", 1) for e in lab.container("engine").attrs["Config"]["Env"])
    assert env["SOLAT_BROKER_URL"] == "http://toxiproxy:8666"
    assert env["SOLAT_KILL_SWITCH_TOKEN"]
    proxy = requests.get(f"{lab.urls()['toxiproxy']}/proxies/broker", timeout=TIMEOUT).json()
    assert proxy["upstream"] == "broker:8700" and proxy["listen"].endswith(":8666")
    for service in PORTS:
        assert (
            requests.get(
                f"{lab.urls()[service]}/" + ("proxies" if service == "toxiproxy" else "health"),
                timeout=TIMEOUT,
            ).status_code
            == 200
        ), service


def test_orders_pass_through_toxiproxy(clean_lab: DockerLab) -> None:
    lab = clean_lab
    first = uuid.uuid4()
    resp = _signal(lab, first)
    assert resp.status_code == 200, resp.text
    assert resp.json()["outcome"] in ("filled", "acked")
    assert _coid(first) in _broker_coids(lab)

    blocked = uuid.uuid4()
    _set_proxy(lab, enabled=False)  # Toxiproxy stops listening: the engine's only way to the broker is gone
    try:
        resp = _signal(lab, blocked)
        assert resp.status_code != 200 and resp.json()["ok"] is False, resp.text
        assert _coid(blocked) not in _broker_coids(lab)
    finally:
        _set_proxy(lab, enabled=True)

    healed = uuid.uuid4()
    resp = _signal(lab, healed)
    assert resp.status_code == 200, resp.text
    coids = _broker_coids(lab)
    assert _coid(healed) in coids and _coid(blocked) not in coids


def test_data_volume_is_sized_and_fills_to_enospc(lab: DockerLab) -> None:
    try:
        # the file is rewritten from empty until ENOSPC: a run whose output Docker lost can be redone
        code, out = lab.exec("engine", ["python3", "-c", _FILL, FILLER], idempotent=True)
        assert code == 0 and out is not None, out
        size, written, err = (int(x) for x in out.split()[-3:])
        assert size == lab.data_size_bytes()
        assert err == errno.ENOSPC, out
        assert 0 < written <= size
    finally:
        code, out = lab.exec("engine", ["rm", "-f", FILLER])
        assert code == 0, out


def test_killed_engine_restarts_with_its_ledger(clean_lab: DockerLab) -> None:
    lab = clean_lab
    for _ in range(2):
        resp = _signal(lab, uuid.uuid4())
        assert resp.status_code == 200, resp.text
    before = _ledger(lab)
    assert len(before) >= 6  # intent, submitted, fill for each signal

    lab.kill("engine")  # SIGKILL: no shutdown code runs
    state = lab.container("engine").attrs["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137
    assert lab.container("datavol").attrs["State"]["Status"] == "running"

    lab.start("engine")
    lab.wait_healthy("engine", timeout=60)
    after = _ledger(lab)
    assert after[: len(before)] == before


def test_failed_up_removes_what_it_created(lab: DockerLab) -> None:
    """A second project whose engine port is taken: compose fails after creating the other services, and up()
    must leave nothing of that project behind."""
    lab.wait_healthy("engine", timeout=60)  # so its published port is really taken
    env = _free_ports()
    env["LAB_ENGINE_PORT"] = lab.urls()["engine"].rsplit(":", 1)[1]
    broken = DockerLab(project="solat-lab-failtest", env=env)
    try:
        with pytest.raises(LabError):
            broken.up(timeout=60)
        left = broken.resources()
    finally:
        broken.down()  # only matters when the test fails
    assert left == EMPTY


def test_sigterm_during_up_takes_the_project_down(lab: DockerLab) -> None:
    project = "solat-lab-sigterm"
    env = {**os.environ, "COMPOSE_PROJECT_NAME": project, **_free_ports()}
    observer = DockerLab(project=project, env=env)
    proc = subprocess.Popen([sys.executable, "-m", "chaos_lab.lab.docker", "up"], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 60
        while not observer.resources()["containers"]:
            assert proc.poll() is None, "up ended before creating anything"
            assert time.monotonic() < deadline, "up created no container within 60s"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 130
        left = observer.resources()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        observer.down()  # only matters when the test fails
    assert left == EMPTY


def test_make_down_leaves_no_project_resources(lab: DockerLab) -> None:
    assert all(lab.resources().values())
    try:
        # -o: treat the venv stamp as up to date; this test is about the down recipe, not reinstalling.
        done = subprocess.run(
            ["make", "-o", ".venv/.installed", "down"], cwd=REPO, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert lab.resources() == EMPTY
        lab.check_images()  # the images are not the project's to remove
    finally:
        lab.up()  # later tests in this session share the lab
