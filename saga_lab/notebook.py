"""What a notebook cell needs in one line: the lab started, evidence as tables, source as code, checks that say why.

Every helper shows plain text too, because nbval compares the text form of checked cells.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import connection
from .config import SERVICES
from .server import ServerInfo
from .worker import BackgroundWorkers, tidy_activity_logs

#: Paths under the repository are shown relative to it, so a stored output reads the same on every machine.
REPO = Path(__file__).resolve().parent.parent


class Table:
    """Rows of dicts shown as an HTML table in JupyterLab and as aligned text elsewhere."""

    def __init__(self, rows: Iterable[dict], columns: list[str] | None = None, title: str | None = None) -> None:
        self.rows = [dict(row) for row in rows]
        self.columns = columns or list(dict.fromkeys(key for row in self.rows for key in row))
        self.title = title

    def _cells(self) -> list[list[str]]:
        return [["" if row.get(col) is None else str(row.get(col)) for col in self.columns] for row in self.rows]

    def __repr__(self) -> str:
        cells = self._cells()
        widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(self.columns)]

        def line(values: list[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

        out = [self.title] if self.title else []
        out += [line(self.columns), line(["-" * w for w in widths])] + [line(r) for r in cells]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in self._cells())
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Source:
    """The source of a package object, under a comment that says where it lives.

    The first line, ``# saga_lab/workflows/order_saga.py: OrderSagaWorkflow._step``, tells
    a learner which file to open, and lets a test check a stored listing against today's code.
    """

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        target = inspect.unwrap(obj)
        self.path = shown_path(inspect.getsourcefile(target) or "?")
        self.qualname = getattr(target, "__qualname__", getattr(target, "__name__", ""))
        self.code = inspect.getsource(target)
        self.text = f"# {self.path}: {self.qualname}\n{self.code}"

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            return f"<pre>{html.escape(self.text)}</pre>"
        return highlight(self.text, PythonLexer(), HtmlFormatter(noclasses=True))


def show_source(obj: Any) -> Source:
    return Source(obj)


def shown_path(path: str | os.PathLike) -> str:
    """``path`` relative to the repository when it is inside it (``.saga-lab/payment.db``), else as it is."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO))
    except ValueError:
        return str(path)


def check(ok: bool, passed: str, failed: str) -> bool:
    """An exercise's verdict in one line: PASS, or NOT YET and what is wrong (never what to type)."""
    print(f"PASS: {passed}" if ok else f"NOT YET: {failed}")
    return ok


# ---------------------------------------------------------------- logs a learner reads


class _OneLine(logging.Formatter):
    """``WARNING order nb05-x-3f2a9c: compensation refund failed: ...``, one line, no traceback."""

    def format(self, record: logging.LogRecord) -> str:
        order = getattr(record, "order_id", None)
        where = f" order {order}" if order else ""
        return f"{record.levelname}{where}: {record.getMessage()}"


#: The SDK core's warnings a learner meets in this lab, said in their words (the core's own
#: line carries a task token and a struct dump). Matched by the start of the core's message.
CORE_WARNINGS = {
    "Activity not found on completion": (
        "Activity not found on completion: a timed-out attempt finished late;"
        " Temporal had already given up on it and dropped its reply"
    ),
    "Temporal Server 1.16.0 or newer is required": None,  # the time-skipping server's age: nothing to act on
}


class _CoreInPlainWords(logging.Filter):
    """Rewrites (or drops) the core warnings of :data:`CORE_WARNINGS`; others keep their first line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for start, said in CORE_WARNINGS.items():
            if start in message:
                if said is None:
                    return False
                record.msg, record.args = f"Temporal core: {said}", ()
                return True
        record.msg, record.args = f"Temporal core: {message.splitlines()[0][:200]}", ()
        return True


def tidy_logs(level: int = logging.WARNING) -> None:
    """Log lines in a notebook: one line each, with the order id, at ``level`` and above.

    The SDK's workflow and activity loggers otherwise append their whole context (run
    id, attempt, task queue...) to every message, and a failed attempt prints a traceback:
    here a failure is injected on purpose, and its one line says all there is to say.
    """
    import temporalio.activity
    import temporalio.workflow

    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    tidy_activity_logs(level)
    core = connection.CORE_LOGGER
    if not any(isinstance(f, _CoreInPlainWords) for f in core.filters):
        core.addFilter(_CoreInPlainWords())
    for name in ("temporalio", "saga_lab"):
        logger = logging.getLogger(name)
        if not any(isinstance(h.formatter, _OneLine) for h in logger.handlers):
            handler = logging.StreamHandler()
            handler.setFormatter(_OneLine())
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


# ---------------------------------------------------------------- the lab in one call


class Lab:
    """The server, a client and this kernel's workers: what every notebook starts with.

    ``lab = await Lab.start()`` finds (or starts) the server, connects a client and
    starts the workers of ``services`` in this kernel; ``await lab.stop()`` stops the
    workers, and the server only if this call started it. Notebooks 00 and 01 show
    the few lines of plain ``temporalio`` it stands for.
    """

    def __init__(self, info: ServerInfo, client: Any, workers: BackgroundWorkers | None) -> None:
        self.info = info
        self.client = client
        self.workers = workers

    @classmethod
    async def start(
        cls, services: tuple[str, ...] = SERVICES, *, own_queues: str | None = None, **worker_options: Any
    ) -> Lab:
        """``own_queues="nb08"``: this notebook's workers poll task queues of their own (``nb08/...``),
        for demos that kill a worker or swap a service; other kernels' workers never take its tasks."""
        if own_queues:
            os.environ[connection.SCOPE_ENV] = own_queues
        tidy_logs()
        info = await asyncio.to_thread(connection.ensure_server)
        client = await connection.connect(info)
        workers = await BackgroundWorkers(client, services, **worker_options).start() if services else None
        return cls(info, client, workers)

    async def stop(self) -> str:
        """Stop this notebook's workers, and the server if this notebook started it; say what was done."""
        if self.workers is not None:
            await self.workers.stop()
        return connection.stop_if_started(self.info)

    def web_ui(self, order_id: str) -> str | None:
        """The Web UI page of an order's saga (None when the UI's address is unknown)."""
        return self.info.workflow_url(connection.workflow_id(self.client, order_id))

    def __repr__(self) -> str:
        services = ", ".join(self.workers.services) if self.workers else "none"
        ui = self.info.ui_url or "set TEMPORAL_UI_URL to link to it"
        # On a shared server, the name in front of this learner's task queues and ids (to filter by in the Web UI).
        prefix = connection.learner_prefix(self.client)
        yours = f", your runs under {prefix}" if prefix else ""
        return (
            f"Temporal server {self.info.address} (namespace {self.info.namespace}){yours}, Web UI {ui}, "
            f"workers: {services}"
        )
