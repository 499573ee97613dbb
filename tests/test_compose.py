"""docker-compose.yml: the larger setup (PostgreSQL, Temporal, Web UI, admin tools), checked statically."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from saga_lab import server

REPO = Path(__file__).resolve().parent.parent
SERVICES = ("postgresql", "temporal", "temporal-ui", "temporal-admin-tools")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _ports(service: dict) -> list[str]:
    published = []
    for port in service.get("ports", []):
        assert isinstance(port, str), f"write published ports as strings, got {port!r}"
        published.append(port)
    return published


def test_services_exist(compose):
    assert set(SERVICES) <= set(compose["services"]), sorted(compose["services"])


@pytest.mark.parametrize("name", SERVICES)
def test_image_tag_is_pinned(compose, name):
    image = compose["services"][name]["image"]
    repository, _, tag = image.rpartition("/")[2].partition(":")
    assert repository and tag, f"{name}: image {image!r} has no tag"
    assert tag != "latest", f"{name}: image {image!r} uses latest"


def test_every_published_port_is_loopback(compose):
    for name, service in compose["services"].items():
        for port in _ports(service):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port!r} on every interface"


def test_ui_on_8080_and_frontend_on_7233(compose):
    ui = [p.split(":") for p in _ports(compose["services"]["temporal-ui"])]
    assert ["127.0.0.1", "8080", "8080"] in ui, ui
    frontend = [p.split(":") for p in _ports(compose["services"]["temporal"])]
    assert ["127.0.0.1", "7233", "7233"] in frontend, frontend


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_has_a_healthcheck(compose, name):
    check = compose["services"][name].get("healthcheck")
    assert check and check.get("test"), f"{name} has no healthcheck"


def test_temporal_waits_for_a_healthy_database(compose):
    depends = compose["services"]["temporal"]["depends_on"]
    assert isinstance(depends, dict), "use the long depends_on form with a condition"
    assert depends["postgresql"]["condition"] == "service_healthy"


def test_admin_tools_register_the_search_attributes_the_embedded_server_does(compose):
    command = compose["services"]["temporal-admin-tools"]["command"]
    text = " ".join(command) if isinstance(command, list) else command
    for name, kind in server.SEARCH_ATTRIBUTES.items():
        assert f"--name {name} --type {kind}" in text, (name, kind)
