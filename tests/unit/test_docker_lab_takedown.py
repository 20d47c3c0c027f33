"""A container that vanishes between Docker's list and its inspect (a take-down racing a SIGTERM, a `--rm`
helper) is gone, not an error: the take-down goes on and removes the rest of the project.

The client is docker-py's own; only the HTTP calls under it are replaced, so the list-then-inspect path that
answered 404 in a clean-clone run is the one exercised here."""

from __future__ import annotations

from typing import Any

import docker
import docker.errors
import pytest

from chaos_lab.lab.docker import PROJECT_LABEL, DockerLab

PROJECT = "solat-lab-unit"


class _Api:
    """Three containers; a `vanishing` one is listed once and gone by the time it is inspected."""

    def __init__(self, vanishing: set[str]) -> None:
        self.alive = {"broker", "datavol", "toxiproxy"}
        self.vanishing = set(vanishing)
        self.removed: list[str] = []

    def containers(self, **_: Any) -> list[dict[str, str]]:
        return [{"Id": name} for name in sorted(self.alive)]

    def inspect_container(self, name: str) -> dict[str, Any]:
        if name in self.vanishing:
            self.alive.discard(name)
            self.vanishing.discard(name)
        if name not in self.alive:
            raise docker.errors.NotFound(f"404 Client Error: Not Found (containers/{name}/json)")
        return {"Id": name, "Name": f"/{PROJECT}-{name}-1", "Config": {"Labels": {PROJECT_LABEL: PROJECT}}}

    def remove_container(self, name: str, **_: Any) -> None:
        self.alive.discard(name)
        self.removed.append(name)

    def networks(self, **_: Any) -> list[dict[str, str]]:
        return []

    def volumes(self, **_: Any) -> dict[str, list[dict[str, str]]]:
        return {"Volumes": []}


def _lab(monkeypatch: pytest.MonkeyPatch, api: _Api) -> DockerLab:
    client = docker.DockerClient(base_url="unix:///nonexistent.sock", version="1.43")
    for call in ("containers", "inspect_container", "remove_container", "networks", "volumes"):
        monkeypatch.setattr(client.api, call, getattr(api, call))
    lab = DockerLab(project=PROJECT)
    lab._client = client
    monkeypatch.setattr(lab, "_compose", lambda *args, **kwargs: "")
    return lab


def test_down_removes_the_rest_when_one_vanishes_mid_inspection(monkeypatch: pytest.MonkeyPatch) -> None:
    api = _Api(vanishing={"broker"})
    _lab(monkeypatch, api).down()
    assert api.alive == set()
    assert api.removed == ["datavol", "toxiproxy"]


def test_resources_lists_what_is_still_there(monkeypatch: pytest.MonkeyPatch) -> None:
    api = _Api(vanishing={"datavol"})
    left = _lab(monkeypatch, api).resources()
    assert left["containers"] == [f"{PROJECT}-broker-1", f"{PROJECT}-toxiproxy-1"]


def test_the_plain_list_would_have_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    """The race is real in this set-up: docker-py's default list raises on the vanished container."""
    api = _Api(vanishing={"broker"})
    lab = _lab(monkeypatch, api)
    with pytest.raises(docker.errors.NotFound):
        lab.client.containers.list(all=True)
