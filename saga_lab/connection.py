"""Which Temporal server to use, a client connected to it, and the names everything carries there.

Connection settings are Temporal's own, read by ``temporalio.envconfig`` as the ``temporal``
CLI reads them: ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``,
``TEMPORAL_TLS*``, ``TEMPORAL_GRPC_META_*``, and the profiles of a config file
(``TEMPORAL_PROFILE``, ``TEMPORAL_CONFIG_FILE``, default ``~/.config/temporalio/temporal.toml``).
When they name a server address, everything connects there (docker-compose, a workshop's
shared server, a company cluster, a cloud namespace) and no embedded server is started;
``TEMPORAL_UI_URL`` says where its Web UI is. Otherwise the embedded dev server
(:mod:`saga_lab.server`) is reused, or started.

Many learners may share one server. Everything a learner starts there carries their name:
every task queue and workflow id is named by :func:`task_queue` and :func:`workflow_id`,
which put ``"<learner>/"`` in front, so one learner's workers never take another's tasks.
On a learner's own embedded server nothing is put in front.

On every connect the saga's search attributes (``OrderStatus``, ``FailedStep``) are made
sure of: registered where the server allows it, and where it does not (or has them with
another type), the sagas run without them and one line says so.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import logging
import os
import re
import socket
import subprocess
import sys
import time
import weakref
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from . import config
from .models import SEARCH_ATTRIBUTES
from .server import (
    DEFAULT_NAMESPACE,
    ServerError,
    ServerInfo,
    SettingsError,
    recorded_address,
    settings_from_env,
    start,
    status,
    stop,
    temporal_cli_path,
    why_not_temporal,
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


# ---------------------------------------------------------------- the learner's name

LEARNER_ENV = "SAGA_LAB_LEARNER"
#: Where a hosted notebook keeps the person's own name: JupyterHub (and Binder) set the first for
#: every user's server, a GitHub Codespace the second (read only when ``CODESPACES=true``).
HUB_USER_ENV, CODESPACE_USER_ENV = "JUPYTERHUB_USER", "GITHUB_USER"
#: OS user names that hosted notebooks and containers give everyone (JupyterHub and Binder: jovyan;
#: devcontainers: vscode, node; Codespaces: codespace; Gitpod: gitpod; docker: root; CI: runner).
#: On a shared server they cannot tell two learners apart: the host name goes after them.
GENERIC_USERS = frozenset(
    {"root", "jovyan", "vscode", "codespace", "node", "gitpod", "coder", "runner", "ubuntu", "debian", "user"}
    | {"admin", "app", "jupyter", "student", "learner", "nobody", "dev", "developer", "ec2-user", "docker"}
)
#: A notebook whose demo needs workers of its own (a worker it kills, a service it swaps), and
#: ``saga-lab chaos`` from a shell, set this: their services' task queues then sit under "<scope>/",
#: and worker processes they start inherit the setting. Sagas of other notebooks never reach their
#: workers, nor they theirs.
SCOPE_ENV = "SAGA_LAB_QUEUE_SCOPE"
_NOT_IN_A_NAME = re.compile(r"[^a-z0-9_-]+")
_A_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
#: A task queue of the caller's own (``task_queue(client, "nb01-queue-3f2a9c")``): no "/", which separates prefixes.
_A_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_NAME_LENGTH = 32


class LearnerNameError(SettingsError, ValueError):
    """A learner name (or queue scope) that cannot name task queues and workflow ids: bad input, one line."""


def _as_name(text: str) -> str:
    return _NOT_IN_A_NAME.sub("-", text.strip().lower()).strip("-")


def with_host(user: str, host: str | None = None) -> str:
    """``jovyan-jupyter-ada``: a generic user with the host name (this machine's), unique per container, pod or VM.

    A host name too long for the name keeps its start and gets a short hash of the whole in place of the rest.
    """
    host = _as_name(socket.gethostname() if host is None else host) or "host"
    name = f"{user}-{host}"
    if len(name) > _NAME_LENGTH:
        digest = hashlib.sha1(host.encode()).hexdigest()[:6]
        name = f"{user}-{host[: _NAME_LENGTH - len(user) - 8]}-{digest}".replace("--", "-")
    return name[:_NAME_LENGTH]


def learner() -> str:
    """The learner's name on a shared server, in lower case.

    ``$SAGA_LAB_LEARNER``; else the name a hosted notebook gives the person (``$JUPYTERHUB_USER``, a
    Codespace's ``$GITHUB_USER``); else the OS user name. An OS user that every container of its kind
    has (``jovyan``, ``vscode``, ``root``: :data:`GENERIC_USERS`) gets the host name after it, so two
    learners in a room never share a name and nobody has to set one (``jovyan-jupyter-7f3c2a``).
    """
    raw = os.environ.get(LEARNER_ENV, "").strip()
    if raw:
        if not _A_NAME.fullmatch(raw):
            raise LearnerNameError(
                f"{LEARNER_ENV}={raw!r} cannot name task queues: use 1 to 32 letters, digits, '_' or '-', "
                "starting with a letter or digit (e.g. SAGA_LAB_LEARNER=ada)"
            )
        return raw.lower()
    hosted = os.environ.get(HUB_USER_ENV, "")
    if not hosted and os.environ.get("CODESPACES") == "true":
        hosted = os.environ.get(CODESPACE_USER_ENV, "")
    if _as_name(hosted):
        return _as_name(hosted)[:_NAME_LENGTH].strip("-")
    try:
        user = _as_name(getpass.getuser())[:_NAME_LENGTH].strip("-")
    except (KeyError, OSError):  # no user name (some containers)
        user = ""
    if not user or user in GENERIC_USERS:
        return with_host(user or "learner")
    return user


def shared_server(client: Client) -> bool:
    """True unless ``client`` talks to this data directory's own embedded server."""
    return client.service_client.config.target_host != recorded_address(settings_from_env())


def learner_prefix(client: Client) -> str:
    """``"<learner>/"`` on a shared server, ``""`` on the learner's own (the part the naming helpers put first)."""
    return f"{learner()}/" if shared_server(client) else ""


def queue_scope() -> str:
    """``"<scope>/"`` when ``SAGA_LAB_QUEUE_SCOPE`` is set (a notebook's own workers), else ``""``."""
    scope = os.environ.get(SCOPE_ENV, "").strip()
    if not scope:
        return ""
    if not _A_NAME.fullmatch(scope):
        raise LearnerNameError(f"{SCOPE_ENV}={scope!r} cannot name task queues: use letters, digits, '_' or '-'")
    return f"{scope}/"


# ---------------------------------------------------------------- names of task queues and workflow ids


def task_queue(client: Client, name: str, *, run: str = "") -> str:
    """The one way to name a task queue on ``client``'s server.

    ``name`` is a service of the lab (``"payment"``, ``"order"``, ``"shipping"``, ``"workflow"``: the
    queue its worker polls) or a fresh queue of the caller's own (a hello world's, a demo's, a check's:
    ``new_order_id("nb01-queue")``). ``run`` gives one run (a check) the services' queues of its own.
    In front goes the learner's name on a shared server (:func:`learner_prefix`), then ``run`` or, for
    the services' queues every notebook polls, the notebook's scope (:func:`queue_scope`):
    ``ada/nb08/payment-task-queue``, ``ada/ex11-3f2a9c/payment-task-queue``, ``ada/nb01-queue-3f2a9c``.
    """
    if name not in config.TASK_QUEUES and not _A_QUEUE.fullmatch(name):
        raise ValueError(
            f"{name!r} is neither a service ({', '.join(config.SERVICES)}) nor a task queue name "
            "(letters, digits, '.', '_' or '-')"
        )
    if run and not _A_QUEUE.fullmatch(run):
        raise ValueError(f"run {run!r} cannot name task queues: use letters, digits, '.', '_' or '-'")
    if name not in config.TASK_QUEUES:  # a fresh queue of one's own: nothing else polls it, no scope needed
        return learner_prefix(client) + (f"{run}/" if run else "") + name
    prefix = learner_prefix(client) + (f"{run}/" if run else queue_scope())
    return config.task_queue(name, prefix)


def workflow_id(client: Client, order_id: str) -> str:
    """The one way to name a workflow id on ``client``'s server: ``order_id`` (or a hello world's id),
    behind the learner's name on a shared server."""
    return learner_prefix(client) + order_id


# ---------------------------------------------------------------- which server


def _tls_switch() -> None:
    """``TEMPORAL_TLS`` as the ``temporal`` CLI takes it: anything but a yes or a no is refused, not read as a yes."""
    raw = os.environ.get("TEMPORAL_TLS")
    if raw is not None and raw.strip().lower() not in ("true", "false", "1", "0"):
        raise SettingsError(f"TEMPORAL_TLS={raw!r} is not a switch: use true or false")


def client_profile() -> ClientConfigProfile:
    """The Temporal client settings, read as the ``temporal`` CLI reads them: the profile
    ``$TEMPORAL_PROFILE`` (default ``default``) of ``$TEMPORAL_CONFIG_FILE`` (default
    ``~/.config/temporalio/temporal.toml``, if there is one), overridden by ``TEMPORAL_*`` variables."""
    _tls_switch()
    try:
        return ClientConfigProfile.load()
    except RuntimeError as err:  # envconfig's ConfigError: an unreadable file, a missing profile
        first = str(err).strip().splitlines()[0]
        where = os.environ.get("TEMPORAL_CONFIG_FILE") or "the `temporal` CLI's config file"
        raise SettingsError(
            f"the Temporal client settings cannot be read: {first} (profile "
            f"{os.environ.get('TEMPORAL_PROFILE') or 'default'}, in {where}): fix them, or unset TEMPORAL_PROFILE "
            "and TEMPORAL_CONFIG_FILE"
        ) from None


def _where(profile: ClientConfigProfile) -> str:
    """Which setting named the server, for a message: ``TEMPORAL_ADDRESS=…`` or the profile."""
    if os.environ.get("TEMPORAL_ADDRESS"):
        return f"TEMPORAL_ADDRESS={profile.address}"
    return f"{profile.address} (profile {os.environ.get('TEMPORAL_PROFILE') or 'default'})"


def external_server() -> ServerInfo | None:
    """The server the Temporal client settings name (:func:`client_profile`), or None when they name none."""
    profile = client_profile()
    if not profile.address:
        stray = [
            what
            for what, value in (
                ("namespace", profile.namespace),
                ("API key", profile.api_key),
                ("TLS", profile.tls and profile.tls.disabled is not True),
                ("gRPC metadata", profile.grpc_meta),
            )
            if value
        ]
        if stray:
            raise SettingsError(
                f"the Temporal client settings give a {' and '.join(stray)} but no server address: "
                "set TEMPORAL_ADDRESS (or the profile's address) too, or unset them to use the embedded server"
            )
        return None
    try:
        options = dict(profile.to_client_connect_config())  # reads the TLS files it names
    except OSError as err:
        raise SettingsError(
            f"the TLS file {err.filename} of the Temporal client settings cannot be read ({err.strerror})"
        ) from None
    options.pop("target_host", None)
    namespace = options.pop("namespace", None) or DEFAULT_NAMESPACE
    return ServerInfo(
        address=profile.address,
        namespace=namespace,
        ui_url=os.environ.get("TEMPORAL_UI_URL") or None,
        embedded=False,
        connect_options=options,
    )


def _reachable(info: ServerInfo) -> ServerInfo:
    """``info`` when a Temporal server answers there."""
    why = why_not_temporal(info.address, info.namespace, **info.connect_options)
    if why is not None:
        where = _where(client_profile())
        raise ServerError(
            f"no Temporal server answers at {where} with the namespace {info.namespace} ({why}): start it, "
            "or unset the Temporal client settings to use the embedded one"
        )
    learner()  # a bad SAGA_LAB_LEARNER is said now, in one line, not at the first task queue
    return info


def ensure_server() -> ServerInfo:
    """The server every notebook and command uses.

    The Temporal client settings win (:func:`external_server`); otherwise the embedded server is
    reused when running, or started.
    """
    external = external_server()
    if external is not None:
        return _reachable(external)
    return start(settings_from_env())


def current_server() -> ServerInfo:
    """The server to use, without starting one: the settings' server, or the running embedded server."""
    external = external_server()
    if external is not None:
        return _reachable(external)
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
            client = await Client.connect(**info.connect_config(), runtime=runtime(), retry_config=CLIENT_RETRY)
            break
        except Exception as err:  # the SDK raises RuntimeError with a long gRPC message
            if time.monotonic() >= deadline:
                first = str(err).splitlines()[0]
                raise ServerError(f"cannot reach the Temporal server at {info.address}: {first}") from None
            await asyncio.sleep(0.2)
    _ready[client] = await ensure_search_attributes(client)
    return client


async def reconnect(client: Client, runtime: Runtime) -> Client:
    """A second client to ``client``'s server and namespace, with its TLS, API key and metadata, on ``runtime``."""
    settings = client.service_client.config
    return await Client.connect(
        settings.target_host,
        namespace=client.namespace,
        api_key=settings.api_key,
        tls=settings.tls,
        rpc_metadata=settings.rpc_metadata,
        runtime=runtime,
    )


def search_attributes_ready(client: Client) -> bool:
    """Whether the saga may keep ``OrderStatus``/``FailedStep`` on this client's server."""
    return _ready.get(client, False)


def search_attributes_refused(client: Client, why: str) -> None:
    """The sagas of ``client`` go on without the search attributes: said once per client, in one line."""
    if _ready.get(client, True):
        print(
            f"saga-lab: {why}; sagas run without the search attributes {', '.join(SEARCH_ATTRIBUTES)}, "
            "and the filters by order status (notebook 09) find nothing",
            file=sys.stderr,
        )
    _ready[client] = False


def refused_for_search_attributes(client: Client, err: RPCError) -> bool:
    """Whether the server refused a start for its search attributes (they changed since connect: removed,
    re-typed); if so, the client's sagas go on without them from now on, and one line says so."""
    if err.status != RPCStatusCode.INVALID_ARGUMENT or "search attribute" not in err.message:
        return False
    search_attributes_refused(client, f"the server refused a start for its search attributes ({err.message})")
    return True


async def _listed(client: Client) -> dict[str, int]:
    """The namespace's custom search attributes and their types."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace), timeout=timedelta(seconds=5)
    )
    return dict(listed.custom_attributes)


def _kind(kind: str) -> int:
    return IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")


def _kind_name(value: int) -> str:
    """``Keyword``, ``Text``, ``KeywordList``...: as ``temporal operator search-attribute list`` says it."""
    return IndexedValueType.Name(value).removeprefix("INDEXED_VALUE_TYPE_").title().replace("_", "")


async def ensure_search_attributes(client: Client) -> bool:
    """Register the saga's search attributes if the server lacks them; False (and one line) if it cannot.

    Another learner may add them between our list and our add: a cluster then answers
    ALREADY_EXISTS (the dev server answers OK); either way the list is read again and what is
    there is accepted, if its types are the saga's.
    """
    where = f"the server at {client.service_client.config.target_host} (namespace {client.namespace})"
    try:
        listed = await _listed(client)
        missing = {name: _kind(kind) for name, kind in SEARCH_ATTRIBUTES.items() if name not in listed}
        if missing:
            try:
                await client.operator_service.add_search_attributes(
                    AddSearchAttributesRequest(search_attributes=missing, namespace=client.namespace),
                    timeout=timedelta(seconds=10),
                )
            except RPCError as err:
                if err.status != RPCStatusCode.ALREADY_EXISTS:
                    raise
            listed = await _listed(client)
    except RPCError as err:
        search_attributes_refused(
            client,
            f"{where} does not let this lab add its search attributes ({err.status.name}: "
            f"{err.message.splitlines()[0] if err.message else 'no message'})",
        )
        return False
    wanted = {name: _kind(kind) for name, kind in SEARCH_ATTRIBUTES.items()}
    wrong = {name: listed[name] for name, kind in wanted.items() if listed.get(name, kind) != kind}
    if wrong:
        has = ", ".join(f"{name} as {_kind_name(value)}" for name, value in wrong.items())
        want = ", ".join(f"{name} as {SEARCH_ATTRIBUTES[name]}" for name in wrong)
        search_attributes_refused(client, f"{where} has {has}, where this lab needs {want}")
        return False
    gone = [name for name in SEARCH_ATTRIBUTES if name not in listed]
    if gone:
        search_attributes_refused(client, f"{where} did not keep the search attributes {', '.join(gone)}")
        return False
    return True


def temporal_cli(args: list[str], info: ServerInfo | None = None, timeout: float = 20.0) -> str:
    """Run the ``temporal`` CLI against ``info`` (default: the current server); returns its output.

    Notebooks use it to show the same run the Web UI shows, as text.
    """
    info = info or current_server()
    # TLS and an API key reach the CLI as they reached us: it reads the same TEMPORAL_* settings and profile.
    command = [str(temporal_cli_path()), *args, "--address", info.address, "--namespace", info.namespace]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise ServerError(f"`temporal {' '.join(args)}` failed: {last}")
    return done.stdout
