"""Is this laptop ready for the workshop? The check an instructor runs at the door: ``saga-lab doctor``.

One :class:`Need` per thing the workshop needs, each said in one line: ``ready`` and what was found,
or ``MISSING`` and what to do. Optional ones (Java for diagrams, a room to report to) say ``note``:
the workshop runs without them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from . import connection, room, server
from .plantuml import DiagramToolMissing, find_java

READY, MISSING, NOTE = "ready", "MISSING", "note"
#: What JupyterLab needs besides the runtime packages (the ``[lab]`` extra).
LAB_PACKAGES = ("jupyterlab", "ipykernel", "matplotlib")
JUPYTERLAB_PORT = 8888


@dataclass(frozen=True)
class Need:
    name: str
    state: str  # READY, MISSING or NOTE
    detail: str

    def line(self) -> str:
        return f"{self.state:<7}  {self.name}: {self.detail}"


def _packages() -> Need:
    missing = []
    for name in ("temporalio", *LAB_PACKAGES):
        try:
            version(name)
        except PackageNotFoundError:
            missing.append(name)
    if missing:
        return Need("packages", MISSING, f"{', '.join(missing)} not installed: run `make install`")
    return Need("packages", READY, f"temporalio {version('temporalio')}, jupyterlab {version('jupyterlab')}")


def _tools() -> list[Need]:
    return [Need(name, READY if ok else MISSING, found) for name, found, ok in server.check_tools()]


def _server() -> Need:
    """The server the notebooks will use: reachable (TEMPORAL_ADDRESS), running, or free ports to start it on."""
    external = connection.external_server()
    if external is not None:
        if server.is_temporal(external.address, external.namespace):
            return Need("Temporal server", READY, f"{external.address} answers (TEMPORAL_ADDRESS)")
        return Need(
            "Temporal server",
            MISSING,
            f"nothing answers at TEMPORAL_ADDRESS={external.address}: ask the instructor, or unset it to run your own",
        )
    try:
        settings = server.settings_from_env()
    except server.SettingsError as err:
        return Need("Temporal server", MISSING, str(err))
    info, line = server.status(settings)
    if info is not None:
        return Need("Temporal server", READY, f"running at {info.address}, Web UI {info.ui_url}")
    taken = [port for port in (settings.port, settings.ui_port) if server.port_in_use(port)]
    if settings.port in taken and server.is_temporal(settings.address):
        return Need(
            "Temporal server",
            NOTE,
            f"a Temporal server that saga-lab did not start answers on {settings.address}: "
            f"use it with `export TEMPORAL_ADDRESS={settings.address}`, or stop it",
        )
    if taken:
        return Need(
            "Temporal server",
            MISSING,
            f"port {taken[0]} is taken by another program: stop it, or set SAGA_LAB_PORT/SAGA_LAB_UI_PORT",
        )
    return Need("Temporal server", READY, f"not running yet; `make lab` starts it on {settings.address}")


def _jupyterlab_port() -> Need:
    if server.port_in_use(JUPYTERLAB_PORT):
        return Need(
            "JupyterLab port",
            NOTE,
            f"{JUPYTERLAB_PORT} is taken (a JupyterLab already running?); `make lab LAB_ARGS=--port=8899` uses another",
        )
    return Need("JupyterLab port", READY, f"{JUPYTERLAB_PORT} is free")


def _learner() -> Need:
    try:
        name = connection.learner()
    except connection.LearnerNameError as err:
        return Need("learner name", MISSING, str(err))
    return Need("learner name", READY, f"{name} (on a shared server your runs start with {name}/)")


def _java() -> Need:
    try:
        return Need("Java (diagrams)", READY, find_java())
    except DiagramToolMissing as err:
        return Need("Java (diagrams)", NOTE, str(err))


#: The room's column for this check: the instructor sees who is ready, and what the others miss.
SETUP = "setup"


def _room(needs: list[Need]) -> Need:
    """Tell the room (when one runs) whether this laptop is ready: its ``setup`` column."""
    info = room.room_server()
    if info is None:
        return Need("room", NOTE, "none: your checks report to no one (self-study, or one server per laptop)")
    where = "SAGA_LAB_ROOM" if os.environ.get(room.ROOM_ENV) else "TEMPORAL_ADDRESS"
    missing = [need for need in needs if need.state == MISSING]
    message = f"{missing[0].name}: {missing[0].detail}" if missing else "ready"
    if room.report_verdict(SETUP, not missing, message):
        return Need("room", READY, f"the room on {info.address} ({where}) now knows this laptop is {message}")
    return Need("room", NOTE, f"no room answers on {info.address} ({where}) yet: your checks report once it opens")


def check() -> list[Need]:
    """Every need, in the order a person fixes them; the room (if any) is told the outcome."""
    needs = [_packages(), *_tools(), _server(), _jupyterlab_port(), _learner(), _java()]
    return [*needs, _room(needs)]


def ready(needs: list[Need]) -> bool:
    return all(need.state != MISSING for need in needs)
