"""Connecting as Temporal's own tools do: ``temporalio.envconfig`` reads the settings the ``temporal`` CLI reads.

* A **profile** of a config file (``TEMPORAL_CONFIG_FILE`` + ``TEMPORAL_PROFILE``) selects the server and
  a non-default namespace: a real dev server on a free port, started with ``--namespace room``.
* An **API key** and **gRPC metadata** reach the client that talks to that real server (a dev server
  accepts and ignores them; ``TEMPORAL_TLS=false`` since it speaks no TLS).
* **TLS** settings (CA, client certificate and key, server name) reach the connect config: checked on
  the config object, since no TLS server runs here.
* **Bad settings** (an unknown profile, a broken file, a TLS switch that is neither yes nor no, a
  missing certificate, a namespace or key without an address, a namespace the server lacks) are one
  line each, never a traceback.
* **Nothing set**: no server named, so the embedded server is used, as before.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from saga_lab import connection, server

try:  # tests/ may or may not become a package
    from .helpers import dev_server, saga_lab_command
except ImportError:
    from helpers import dev_server, saga_lab_command

SAGA_LAB = saga_lab_command()
SETTINGS = ("TEMPORAL_", "SAGA_LAB_", "JUPYTERHUB_USER", "CODESPACES", "GITHUB_USER")


@pytest.fixture(scope="module")
def room_server(tmp_path_factory) -> str:
    """A dev server with the namespace ``room`` besides ``default``."""
    with dev_server(tmp_path_factory.mktemp("room"), "--namespace", "room", namespace="room") as address:
        yield address


@pytest.fixture
def clean_env(monkeypatch, tmp_path) -> Path:
    """No Temporal settings at all, and a HOME without a ``temporal`` config file; returns that HOME."""
    for name in list(os.environ):
        if name.startswith(("TEMPORAL_", "JUPYTERHUB_USER", "CODESPACES", "GITHUB_USER", "SAGA_LAB_LEARNER")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return tmp_path


def env_with(home: Path, **settings: str) -> dict:
    """A subprocess environment with no Temporal or saga-lab settings but ``settings`` (and an empty HOME)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS) and k != "XDG_CONFIG_HOME"}
    env.update(HOME=str(home), SAGA_LAB_HOME=str(home / "saga-lab"), **settings)
    return env


def cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SAGA_LAB), *args], capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL
    )


def described(address: str, namespace: str, workflow_id: str) -> subprocess.CompletedProcess:
    command = [str(server.temporal_cli_path()), "workflow", "describe", "--workflow-id", workflow_id]
    command += ["--address", address, "--namespace", namespace, "--output", "json"]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


# ---------------------------------------------------------------- a profile selects server and namespace


def test_a_profile_selects_the_server_and_its_namespace(room_server, tmp_path):
    config = tmp_path / "temporal.toml"
    config.write_text(
        "[profile.default]\n"
        f'address = "127.0.0.1:{server.free_port()}"  # nothing listens: the profile must be the one chosen\n'
        "[profile.room]\n"
        f'address = "{room_server}"\nnamespace = "room"\n'
    )
    env = env_with(tmp_path, TEMPORAL_CONFIG_FILE=str(config), TEMPORAL_PROFILE="room", SAGA_LAB_LEARNER="ada")

    placed = cli("place", "ORD-P", "--amount", "4250", env=env)
    assert placed.returncode == 0, placed.stderr
    assert json.loads(placed.stdout)["status"] == "COMPLETED"
    assert "Traceback" not in placed.stderr

    in_room = described(room_server, "room", "ada/ORD-P")
    assert in_room.returncode == 0, in_room.stderr
    assert json.loads(in_room.stdout)["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
    assert described(room_server, "default", "ada/ORD-P").returncode != 0  # not in the default namespace

    shown = cli("show", "ORD-P", env=env)
    assert json.loads(shown.stdout)["workflow"]["status"] == "COMPLETED", shown.stderr

    env["TEMPORAL_NAMESPACE"] = "default"  # an environment variable overrides the profile, as in the CLI
    assert json.loads(cli("show", "ORD-P", env=env).stdout)["workflow"]["status"] is None


# ---------------------------------------------------------------- an API key and metadata reach the client


async def test_an_api_key_and_grpc_metadata_reach_the_client(room_server, clean_env, monkeypatch):
    monkeypatch.setenv("TEMPORAL_ADDRESS", room_server)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "room")
    monkeypatch.setenv("TEMPORAL_API_KEY", "room-7-key")
    monkeypatch.setenv("TEMPORAL_TLS", "false")  # the dev server speaks no TLS; an API key alone would turn it on
    monkeypatch.setenv("TEMPORAL_GRPC_META_X_WORKSHOP", "room-7")
    monkeypatch.setenv("SAGA_LAB_LEARNER", "ada")

    info = connection.ensure_server()
    assert (info.address, info.namespace, info.embedded) == (room_server, "room", False)
    client = await connection.connect(info)
    sent = client.service_client.config
    assert (sent.api_key, sent.tls, dict(sent.rpc_metadata)) == ("room-7-key", False, {"x-workshop": "room-7"})
    assert client.namespace == "room"

    again = await connection.reconnect(client, connection.quiet_runtime())  # the exercise checks' second client
    kept = again.service_client.config
    assert (kept.api_key, kept.tls, dict(kept.rpc_metadata)) == ("room-7-key", False, {"x-workshop": "room-7"})
    assert "room-7-key" not in repr(info)  # a secret is never printed


# ---------------------------------------------------------------- TLS reaches the connect config


def test_tls_settings_reach_the_connect_config(clean_env, monkeypatch, tmp_path):
    pem = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    for name, path in pem.items():
        path.write_text(f"-----BEGIN {name.upper()}-----\n{name}\n-----END {name.upper()}-----\n")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "ns.acct.tmprl.cloud:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "ns.acct")
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(pem["ca"]))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(pem["cert"]))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(pem["key"]))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "ns.acct.tmprl.cloud")

    assert connection.external_server().connect_config() == {
        "target_host": "ns.acct.tmprl.cloud:7233",
        "namespace": "ns.acct",
        "tls": TLSConfig(
            domain="ns.acct.tmprl.cloud",
            server_root_ca_cert=pem["ca"].read_bytes(),
            client_cert=pem["cert"].read_bytes(),
            client_private_key=pem["key"].read_bytes(),
        ),
    }

    for name in ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"):
        monkeypatch.delenv(name)
    monkeypatch.delenv("TEMPORAL_TLS_SERVER_NAME")
    monkeypatch.setenv("TEMPORAL_API_KEY", "cloud-key")
    options = connection.external_server().connect_options
    assert options == {"api_key": "cloud-key", "tls": True}  # an API key turns TLS on, as in the CLI


def test_a_profile_file_gives_tls_and_an_api_key(clean_env, monkeypatch, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n")
    config = tmp_path / "temporal.toml"
    config.write_text(
        '[profile.cloud]\naddress = "ns.acct.tmprl.cloud:7233"\nnamespace = "ns.acct"\napi_key = "cloud-key"\n'
        f'[profile.cloud.tls]\nserver_ca_cert_path = "{ca}"\n'
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    info = connection.external_server()
    assert info.connect_config() == {
        "target_host": "ns.acct.tmprl.cloud:7233",
        "namespace": "ns.acct",
        "api_key": "cloud-key",
        "tls": TLSConfig(server_root_ca_cert=ca.read_bytes()),
    }


def test_nothing_set_means_the_embedded_server(clean_env):
    assert connection.external_server() is None


# ---------------------------------------------------------------- bad settings: one line


BAD = {
    "unknown profile": ({"TEMPORAL_PROFILE": "nope"}, "nope"),
    "broken file": ({"TEMPORAL_CONFIG_FILE": "{broken}"}, "TOML"),
    "TLS neither yes nor no": ({"TEMPORAL_ADDRESS": "127.0.0.1:7999", "TEMPORAL_TLS": "yes"}, "TEMPORAL_TLS"),
    "missing certificate": (
        {"TEMPORAL_ADDRESS": "127.0.0.1:7999", "TEMPORAL_TLS_CLIENT_CERT_PATH": "/nowhere/cert.pem"},
        "/nowhere/cert.pem",
    ),
    "namespace without an address": ({"TEMPORAL_NAMESPACE": "room"}, "TEMPORAL_ADDRESS"),
    "API key without an address": ({"TEMPORAL_API_KEY": "k"}, "TEMPORAL_ADDRESS"),
}


@pytest.mark.parametrize("settings, named", BAD.values(), ids=BAD.keys())
def test_bad_settings_say_so_in_one_line(tmp_path, settings, named):
    broken = tmp_path / "broken.toml"
    broken.write_text("[profile.default\naddress = ")
    env = env_with(tmp_path, **{k: v.format(broken=broken) for k, v in settings.items()})
    for argv in (["place", "ORD-X", "--amount", "100"], ["show", "ORD-X"], ["lab", "--no-browser"]):
        done = cli(*argv, env=env, timeout=60)
        assert done.returncode == 2, (argv, done.returncode, done.stderr)
        assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("saga-lab: ") and named in done.stderr, done.stderr
    assert not (tmp_path / "saga-lab" / "temporal.pid").exists()  # no embedded server was started instead


def test_a_namespace_the_server_lacks_is_one_line(room_server, tmp_path):
    env = env_with(tmp_path, TEMPORAL_ADDRESS=room_server, TEMPORAL_NAMESPACE="lobby", SAGA_LAB_LEARNER="ada")
    done = cli("show", "ORD-X", env=env, timeout=60)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "lobby" in done.stderr and room_server in done.stderr and "Traceback" not in done.stderr
