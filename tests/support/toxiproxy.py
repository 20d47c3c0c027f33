"""The real Toxiproxy server on loopback, for tests: the project never tests against a stand-in of it.

The binary is the one compose/build-images.sh caches for the lab image (same pinned version, same cache dir);
when it is missing it is built here with the same `go install`, so a unit run needs no Docker. The server's
own API is read with plain HTTP, independently of the toxiproxy-python client the code under test uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chaos_lab.faults.toxiproxy_api import toxiproxy
from support.processes import REPO_ROOT, ServerProcess, free_port

# The one place Python names the version; compose/build-images.sh pins the same one for the lab image.
TOXIPROXY_VERSION = "v2.12.0"
TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2"
BINARIES = ("server", "cli")
BUILD_TIMEOUT = 900.0  # a cold module download and build on 2 shared cores; warm it takes seconds
START_TIMEOUT = 10.0
API_TIMEOUT = 5.0


def cache_dir() -> Path:
    """The lab's cache (build-images.sh honours the same LAB_CACHE_DIR)."""
    return Path(os.environ.get("LAB_CACHE_DIR", str(REPO_ROOT / ".cache")))


def binary_dir(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "toxiproxy" / TOXIPROXY_VERSION


def ensure_binaries(cache: Path | None = None) -> Path:
    """The directory holding `server` and `cli`, built with build-images.sh's pinned `go install` if missing.

    No skip when it cannot be built: a network-fault test without the real server has tested nothing.
    """
    cache = cache or cache_dir()
    target = binary_dir(cache)
    if all(os.access(target / name, os.X_OK) for name in BINARIES):
        return target
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(f"Toxiproxy {TOXIPROXY_VERSION} is not in {target}; `go` is needed to build it")
    target.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CGO_ENABLED": "0",
        "GOBIN": str(target),
        "GOMODCACHE": str(cache / "go" / "mod"),
        "GOCACHE": str(cache / "go" / "build"),
        "GOFLAGS": "-modcacherw -buildvcs=false",
    }
    cmd = [go, "install", "-trimpath", "-ldflags=-s -w"]
    cmd += [f"{TOXIPROXY_MODULE}/cmd/{name}@{TOXIPROXY_VERSION}" for name in BINARIES]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"go install of Toxiproxy {TOXIPROXY_VERSION} failed:\n{proc.stderr[-2000:]}")
    return target


def reset_through_client(api_url: str) -> None:
    """toxiproxy-python's reset (every proxy enabled, every toxic dropped), under the lab's client lock: the
    same `POST /reset` DockerLab.clear sends before each run, driven through the code under test's client."""
    with toxiproxy(api_url) as server:
        server.reset()


class ToxiproxyServer(ServerProcess):
    """`server -host 127.0.0.1 -port <free>`; ready when its API answers `/version` (it has no /health)."""

    def __init__(self, binary: Path, log_dir: Path) -> None:
        port = free_port()
        cmd = [str(binary), "-host", "127.0.0.1", "-port", str(port)]
        super().__init__("toxiproxy", cmd, {"__PORT": str(port)}, log_dir)

    def wait_http(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"toxiproxy exited early:\n{self.log_tail()}")
            try:
                if self.get("/version", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"toxiproxy API not answering after {timeout}s:\n{self.log_tail()}")

    # -- the server's own account of its state, for assertions
    def create_proxy(self, name: str, upstream: str) -> dict[str, Any]:
        """A proxy listening on a loopback port the server picks (kept across disable/enable)."""
        body = {"name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": True}
        resp = self.post("/proxies", json=body, timeout=API_TIMEOUT)
        resp.raise_for_status()
        return dict(resp.json())

    def delete_proxy(self, name: str) -> None:
        resp = requests.delete(f"{self.url}/proxies/{name}", timeout=API_TIMEOUT)
        if resp.status_code not in (204, 404):
            resp.raise_for_status()

    def proxy(self, name: str) -> dict[str, Any]:
        resp = self.get(f"/proxies/{name}", timeout=API_TIMEOUT)
        resp.raise_for_status()
        return dict(resp.json())

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        resp = self.get(f"/proxies/{proxy}/toxics", timeout=API_TIMEOUT)
        resp.raise_for_status()
        return list(resp.json())


@pytest.fixture(scope="session")
def toxiproxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToxiproxyServer]:
    """One real Toxiproxy for the session (starts in well under a second); killed at the end."""
    server = ToxiproxyServer(ensure_binaries() / "server", tmp_path_factory.mktemp("toxiproxy"))
    server.start(START_TIMEOUT)
    try:
        yield server
    finally:
        server.stop()
