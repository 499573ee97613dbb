"""Which Temporal server to use, and a client connected to it.

Connection settings follow Temporal's own conventions: when ``TEMPORAL_ADDRESS``
(and optionally ``TEMPORAL_NAMESPACE``, ``TEMPORAL_UI_URL``) are set, everything
connects there (docker-compose, a workshop's shared server, a company cluster) and
no embedded server is started. Otherwise the embedded dev server
(:mod:`saga_lab.server`) is reused, or started.

Many learners may share one server (a workshop's, a company cluster). Everything a
learner starts there carries their name: task queues and workflow ids begin with
``"<learner>/"`` (:func:`learner_prefix`), so one learner's workers never take
another's tasks. On a learner's own embedded server nothing changes.

On every connect the saga's search attributes (``OrderStatus``, ``FailedStep``) are
made sure of: registered where the server allows it, and where it does not, the
sagas run without them and one line says so.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import re
import subprocess
import sys
import time
import weakref
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RetryConfig, RPCError

from . import config
from .models import SEARCH_ATTRIBUTES
from .server import (
    DEFAULT_NAMESPACE,
    ServerError,
    ServerInfo,
    is_temporal,
    recorded_address,
    settings_from_env,
    start,
    status,
    stop,
    temporal_cli_path,
)

#: Client calls ride out a short outage (a server restart): retried for up to 30 s.
CLIENT_RETRY = RetryConfig(initial_interval_millis=100, max_interval_millis=1000, max_elapsed_time_millis=30_000)
#: Connecting rides it out too when the server is this home's embedded one: a restart (notebook 11's
#: chaos, or ``saga-lab server stop`` then ``start``) keeps its port closed for about a second. Any
#: other address fails at once, with one line.
EMBEDDED_RECONNECT_S = 10.0

#: Where the SDK core's own log lines go (a timed-out attempt that replies late, a
#: worker that loses its server): this Python logger, at WARNING, so they read like
#: every other log line and can be shown or hidden like them.
CORE_LOGGER = logging.getLogger("temporalio.core")

_ready: weakref.WeakKeyDictionary[Client, bool] = weakref.WeakKeyDictionary()
_runtime: Runtime | None = None
_quiet_runtime: Runtime | None = None


LEARNER_ENV = "SAGA_LAB_LEARNER"
#: A notebook whose demo needs workers of its own (a worker it kills, a service it swaps)
#: sets this: its task queues then sit under "<scope>/", and worker processes it starts
#: inherit the setting. Sagas of other notebooks never reach its workers, nor it theirs.
SCOPE_ENV = "SAGA_LAB_QUEUE_SCOPE"
_NOT_IN_A_NAME = re.compile(r"[^a-z0-9_-]+")


class LearnerNameError(ValueError):
    """A ``SAGA_LAB_LEARNER`` that cannot name task queues and workflow ids."""


def learner() -> str:
    """The learner's name: ``$SAGA_LAB_LEARNER``, else the OS user name, in lower case."""
    raw = os.environ.get(LEARNER_ENV, "").strip()
    if not raw:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no user name (some containers)
            user = ""
        return _NOT_IN_A_NAME.sub("-", user.lower()).strip("-")[:32] or "learner"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", raw):
        raise LearnerNameError(
            f"{LEARNER_ENV}={raw!r} cannot name task queues: use 1 to 32 letters, digits, '_' or '-', "
            "starting with a letter or digit (e.g. SAGA_LAB_LEARNER=ada)"
        )
    return raw.lower()


def shared_server(client: Client) -> bool:
    """True unless ``client`` talks to this data directory's own embedded server."""
    return client.service_client.config.target_host != recorded_address(settings_from_env())


def learner_prefix(client: Client) -> str:
    """``"<learner>/"`` on a shared server, ``""`` on the learner's own."""
    return f"{learner()}/" if shared_server(client) else ""


def queue_scope() -> str:
    """``"<scope>/"`` when ``SAGA_LAB_QUEUE_SCOPE`` is set (a notebook's own workers), else ``""``."""
    scope = os.environ.get(SCOPE_ENV, "").strip()
    if not scope:
        return ""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", scope):
        raise LearnerNameError(f"{SCOPE_ENV}={scope!r} cannot name task queues: use letters, digits, '_' or '-'")
    return f"{scope}/"


def task_queue(client: Client, service: str) -> str:
    """The task queue this learner's worker of ``service`` polls on ``client``'s server."""
    return config.task_queue(service, learner_prefix(client) + queue_scope())


def workflow_id(client: Client, order_id: str) -> str:
    """The id of this learner's saga for ``order_id``: the order id, behind the learner prefix."""
    return learner_prefix(client) + order_id


def external_server() -> ServerInfo | None:
    """The server named by ``TEMPORAL_ADDRESS``, when it is set."""
    address = os.environ.get("TEMPORAL_ADDRESS")
    if not address:
        return None
    return ServerInfo(
        address=address,
        namespace=os.environ.get("TEMPORAL_NAMESPACE") or DEFAULT_NAMESPACE,
        ui_url=os.environ.get("TEMPORAL_UI_URL") or None,
        embedded=False,
    )


def ensure_server() -> ServerInfo:
    """The server every notebook and command uses.

    ``TEMPORAL_ADDRESS`` wins; otherwise the embedded server is reused when running, or started.
    """
    external = external_server()
    if external is not None:
        if not is_temporal(external.address, external.namespace):
            raise ServerError(
                f"no Temporal server answers at TEMPORAL_ADDRESS={external.address} "
                f"(namespace {external.namespace}): start it, or unset TEMPORAL_ADDRESS to use the embedded one"
            )
        return external
    return start(settings_from_env())


def current_server() -> ServerInfo:
    """The server to use, without starting one: ``TEMPORAL_ADDRESS`` or the running embedded server."""
    external = external_server()
    if external is not None:
        return external
    info, line = status()
    if info is None:
        raise ServerError(f"no Temporal server is running ({line}): start one with `saga-lab server start`")
    return info


def stop_if_started(info: ServerInfo) -> str:
    """Stop the server only when ``info`` says this process started it."""
    settings = info.settings()
    if not info.started or settings is None:
        return f"the Temporal server at {info.address} keeps running"
    return stop(settings)


def runtime() -> Runtime:
    """One SDK runtime for the process, its core's warnings forwarded to :data:`CORE_LOGGER`."""
    global _runtime
    if _runtime is None:
        logging_config = LoggingConfig(
            filter=TelemetryFilter(core_level="WARN", other_level="WARN"),
            forwarding=LogForwardingConfig(logger=CORE_LOGGER, append_target_to_name=False),
        )
        _runtime = Runtime(telemetry=TelemetryConfig(logging=logging_config))
    return _runtime


def quiet_runtime() -> Runtime:
    """A runtime whose core logs errors only: for replaying histories that fail on purpose
    (a non-determinism demo), where the core's warnings would only repeat the lesson."""
    global _quiet_runtime
    if _quiet_runtime is None:
        quiet = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        _quiet_runtime = Runtime(telemetry=TelemetryConfig(logging=quiet))
    return _quiet_runtime


async def connect(info: ServerInfo | None = None) -> Client:
    """A ``temporalio`` client for ``info`` (default: :func:`current_server`), search attributes made sure of.

    Raises :class:`ServerError` with one line when the server cannot be reached (for the embedded
    server, after :data:`EMBEDDED_RECONNECT_S`).
    """
    info = info or current_server()
    deadline = time.monotonic() + (EMBEDDED_RECONNECT_S if info.embedded else 0.0)
    while True:
        try:
            client = await Client.connect(
                info.address, namespace=info.namespace, runtime=runtime(), retry_config=CLIENT_RETRY
            )
            break
        except Exception as err:  # the SDK raises RuntimeError with a long gRPC message
            if time.monotonic() >= deadline:
                first = str(err).splitlines()[0]
                raise ServerError(f"cannot reach the Temporal server at {info.address}: {first}") from None
            await asyncio.sleep(0.2)
    _ready[client] = await ensure_search_attributes(client)
    return client


def search_attributes_ready(client: Client) -> bool:
    """Whether the saga may keep ``OrderStatus``/``FailedStep`` on this client's server."""
    return _ready.get(client, False)


async def ensure_search_attributes(client: Client) -> bool:
    """Register the saga's search attributes if the server lacks them; False (and one line) if it cannot."""
    namespace = client.namespace
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace), timeout=timedelta(seconds=5)
        )
        missing = {name: kind for name, kind in SEARCH_ATTRIBUTES.items() if name not in listed.custom_attributes}
        if missing:
            kinds = {
                name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}") for name, kind in missing.items()
            }
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(search_attributes=kinds, namespace=namespace), timeout=timedelta(seconds=10)
            )
    except RPCError as err:
        print(
            f"saga-lab: the server at {client.service_client.config.target_host} does not let this lab add the "
            f"search attributes {', '.join(SEARCH_ATTRIBUTES)} ({err.status.name}: {err.message.splitlines()[0]}); "
            "sagas run without them, and the filters by order status (notebook 08) find nothing",
            file=sys.stderr,
        )
        return False
    return True


def temporal_cli(args: list[str], info: ServerInfo | None = None, timeout: float = 20.0) -> str:
    """Run the ``temporal`` CLI against ``info`` (default: the current server); returns its output.

    Notebooks use it to show the same run the Web UI shows, as text.
    """
    info = info or current_server()
    command = [str(temporal_cli_path()), *args, "--address", info.address, "--namespace", info.namespace]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise ServerError(f"`temporal {' '.join(args)}` failed: {last}")
    return done.stdout
