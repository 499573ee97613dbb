"""Store every notebook's outputs as a learner's first run: ``make notebooks``.

    .venv/bin/python tools/notebooks.py                 # every notebook, in order, in place
    .venv/bin/python tools/notebooks.py --only 04 05    # some of them
    .venv/bin/python tools/notebooks.py --out /tmp/nb   # write the executed copies there instead
    .venv/bin/python tools/notebooks.py --diff          # each notebook against git's HEAD, sanitized
    .venv/bin/python tools/notebooks.py --diff A.ipynb B.ipynb   # two versions (files or folders)

A run goes the way a learner's first run goes (``make lab``, then each notebook top to
bottom): a fresh embedded Temporal server on the default ports 7233/8233 with its data in
the repository's ``.saga-lab/`` (so stored outputs show ``.saga-lab/...``), no
``TEMPORAL_*``/``SAGA_LAB_*`` settings, ``PYTHONHASHSEED=0``, one fresh ``python3`` kernel
of this venv per notebook with ``notebooks/`` as its working directory. A ``.saga-lab/``
found there is moved aside first and put back afterwards, whatever happens.

What stays volatile is kept out: per-cell ``execution`` timestamps are not recorded, and
``--diff`` compares text outputs after ``notebooks/sanitize.cfg`` (timestamps, ports, ids,
durations), pictures left out. Each notebook's ``metadata.saga_lab.sources`` records the
sha256 of every package file whose source it shows (``show_source``), so a test can tell
when stored listings are older than the code (``tests/test_notebook_shape.py``).

Exit codes: 0 done, 1 a notebook failed (it is left as it was) or ``--diff`` found
differences, 2 bad input or the default ports are taken (nothing changed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DATA = ROOT / ".saga-lab"
#: Where an existing ``.saga-lab/`` waits while the notebooks run (put back at the end).
ASIDE = ROOT / ".saga-lab.aside"
SANITIZE_CFG = NOTEBOOKS / "sanitize.cfg"

#: Generous: the chaos notebook runs hundreds of sagas in one cell.
CELL_TIMEOUT_S = 900
KERNEL_NAME = "python3"

#: ``# saga_lab/workflows/order_saga.py: OrderSagaWorkflow._step``: the first line of a ``show_source`` listing.
LISTING = re.compile(r"^# ((?:saga_lab|notebooks)/[\w./-]+\.py): ([\w.<>]+)$")
NOTEBOOK_NAME = re.compile(r"^(\d\d)_\w+\.ipynb$")
#: Cell metadata that changes on every run and says nothing to a learner.
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime")
#: A live widget's output (its model lives in the kernel that made it).
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Outputs never compared by ``--diff`` (pictures; nbval skips them too).
PICTURES = ("image/png", "image/svg+xml", "image/jpeg", "image/gif", "application/pdf")
#: Signals that stop a run (it still stops the server and puts .saga-lab/ back); the ones received go here.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_STOPPING: list[int] = []


# ---------------------------------------------------------------- reading notebooks


def notebook_paths(only: list[str] | None = None, folder: Path = NOTEBOOKS) -> list[Path]:
    """``folder/NN_*.ipynb`` in numbered order; ``only`` keeps those whose number (``04``) or name is listed."""
    paths = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if NOTEBOOK_NAME.match(p.name))
    if not only:
        return paths
    wanted = {item.strip() for entry in only for item in entry.split(",") if item.strip()}
    unknown = {w for w in wanted if not any(p.name[:2] == w.zfill(2) or p.stem == w or p.name == w for p in paths)}
    if unknown:
        names = ", ".join(p.name[:2] for p in paths)
        raise SystemExit(f"--only {' '.join(sorted(unknown))}: no such notebook in {folder} (there are {names})")
    return [p for p in paths if any(p.name[:2] == w.zfill(2) or p.stem == w or p.name == w for w in wanted)]


def text_of(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def text_outputs(cell: dict) -> Iterator[tuple[str, str]]:
    """Every text a code cell's stored outputs show, as (kind, text): ``stdout``, ``stderr``, a MIME type, ``error``."""
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            yield output.get("name", "stdout"), text_of(output.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str | list) and mime not in ("image/png", "image/jpeg", "image/gif"):
                    yield mime, text_of(value)
                elif isinstance(value, dict):
                    yield mime, json.dumps(value, sort_keys=True)
        elif kind == "error":
            yield "error", f"{output.get('ename')}: {output.get('evalue')}\n" + "\n".join(output.get("traceback", []))


def cell_tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


@dataclass(frozen=True)
class Listing:
    """A stored ``show_source`` output: which cell, which file and object, and the text shown."""

    cell: int
    path: str
    qualname: str
    text: str
    kind: str


def listings(nb: dict) -> list[Listing]:
    """The ``show_source`` listings among a notebook's stored text outputs (plain text and stdout)."""
    found = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        for kind, text in text_outputs(cell):
            if kind not in ("text/plain", "stdout"):
                continue
            match = LISTING.match(text.split("\n", 1)[0])
            if match:
                found.append(Listing(index, match.group(1), match.group(2), text, kind))
    return found


def file_sha256(relative: str, root: Path = ROOT) -> str | None:
    path = root / relative
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def displayed_sources(nb: dict, root: Path = ROOT) -> dict[str, str]:
    """{file: sha256} of every package file whose source the notebook's stored outputs show."""
    hashes = {}
    for listing in listings(nb):
        digest = file_sha256(listing.path, root)
        if digest is not None:
            hashes[listing.path] = digest
    return dict(sorted(hashes.items()))


def verdicts(cell: dict) -> list[str]:
    """The ``PASS: ...`` / ``NOT YET: ...`` lines an exercise check cell printed."""
    lines = []
    for kind, text in text_outputs(cell):
        if kind in ("stdout", "text/plain"):
            lines += [line for line in text.splitlines() if line.startswith(("PASS:", "NOT YET:"))]
    return lines


# ---------------------------------------------------------------- sanitizing and comparing


def sanitizer(cfg: Path = SANITIZE_CFG) -> Callable[[str], str]:
    """What nbval does with ``--nbval-sanitize-with cfg``: every ``regex:``/``replace:`` pair, in file order."""
    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", cfg.read_text(), flags=re.MULTILINE)
    patterns = [(re.compile(regex), replace) for regex, replace in dict(pairs).items()]

    def sanitize(text: str) -> str:
        for regex, replace in patterns:
            text = regex.sub(replace, text)
        return text

    return sanitize


def _comparable(cell: dict, sanitize: Callable[[str], str]) -> dict[str, str]:
    """What nbval compares of a cell: neither pictures nor stderr (log lines come and go with timing)."""
    shown: dict[str, list[str]] = {}
    for kind, text in text_outputs(cell):
        if kind in PICTURES or kind == "stderr" or (kind == "text/html" and re.search(r"<svg|<img", text)):
            continue
        shown.setdefault(kind, []).append(sanitize(text))
    return {kind: "\n".join(texts) for kind, texts in shown.items()}


def _first_line(cell: dict) -> str:
    lines = [line for line in text_of(cell.get("source", "")).splitlines() if line.strip()]
    line = lines[0] if lines else "(empty)"
    return line if len(line) <= 60 else line[:57] + "..."


def diff_notebooks(old: dict, new: dict, name: str, sanitize: Callable[[str], str]) -> list[str]:
    """Which cells of two versions of a notebook differ, once sanitized (pictures and stderr not compared).

    Cells are matched by type and source, so an added or removed cell is one line, not a cascade.
    """
    problems = []
    old_cells, new_cells = old.get("cells", []), new.get("cells", [])
    keys = [[(c.get("cell_type"), text_of(c.get("source", ""))) for c in cells] for cells in (old_cells, new_cells)]
    matcher = difflib.SequenceMatcher(None, keys[0], keys[1], autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            for a, b, index in zip(old_cells[a0:a1], new_cells[b0:b1], range(b0, b1)):
                problems += _diff_outputs(a, b, f"{name} cell {index} ({_first_line(b)})", sanitize)
            continue
        for index in range(a0, a1):
            problems.append(
                f"{name} cell {index} of the old version ({_first_line(old_cells[index])}): removed or edited"
            )
        for index in range(b0, b1):
            problems.append(f"{name} cell {index} ({_first_line(new_cells[index])}): new or edited")
    sources_a = old.get("metadata", {}).get("saga_lab", {}).get("sources")
    sources_b = new.get("metadata", {}).get("saga_lab", {}).get("sources")
    if sources_a != sources_b:
        problems.append(f"{name}: metadata.saga_lab.sources differ ({sources_a} before, {sources_b} now)")
    return problems


def _diff_outputs(a: dict, b: dict, where: str, sanitize: Callable[[str], str]) -> list[str]:
    if b.get("cell_type") != "code":
        return []
    problems = []
    if a.get("execution_count") != b.get("execution_count"):
        problems.append(f"{where}: execution count {a.get('execution_count')} before, {b.get('execution_count')} now")
    shown_a, shown_b = _comparable(a, sanitize), _comparable(b, sanitize)
    for kind in sorted(set(shown_a) | set(shown_b)):
        before, after = shown_a.get(kind, ""), shown_b.get(kind, "")
        if before != after:
            lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))[2:]
            detail = " | ".join(line for line in lines if not line.startswith("@@"))[:300]
            problems.append(f"{where}: {kind} differs: {detail}")
    return problems


def _read_head(path: Path) -> dict:
    relative = path.resolve().relative_to(ROOT)
    shown = subprocess.run(
        ["git", "show", f"HEAD:{relative.as_posix()}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if shown.returncode != 0:
        raise SystemExit(f"{relative} is not in git's HEAD: name the two versions to compare (--diff OLD NEW)")
    return json.loads(shown.stdout)


def run_diff(targets: list[str]) -> int:
    """``--diff``: print which cells differ; 0 when none do."""
    sanitize = sanitizer()
    pairs: list[tuple[dict, dict, str]] = []
    if len(targets) == 2:
        old, new = Path(targets[0]), Path(targets[1])
        for path in (old, new):
            if not path.exists():
                raise SystemExit(f"--diff: {path} does not exist")
        if old.is_dir() != new.is_dir():
            raise SystemExit("--diff OLD NEW: give two notebooks, or two folders of notebooks")
        if old.is_dir():
            names = sorted({p.name for p in notebook_paths(folder=old)} | {p.name for p in notebook_paths(folder=new)})
            for name in names:
                if not (old / name).exists() or not (new / name).exists():
                    print(f"{name}: only in {old if (old / name).exists() else new}")
                    continue
                pairs.append((_load(old / name), _load(new / name), name))
        else:
            pairs.append((_load(old), _load(new), new.name))
    elif len(targets) <= 1:
        paths = [Path(targets[0])] if targets else notebook_paths()
        pairs = [(_read_head(p), _load(p), p.name) for p in paths]
    else:
        raise SystemExit("--diff takes nothing (every notebook against HEAD), one notebook, or OLD NEW")
    problems = [line for old, new, name in pairs for line in diff_notebooks(old, new, name, sanitize)]
    for line in problems:
        print(line)
    print(f"{len(pairs)} notebook(s) compared: " + (f"{len(problems)} difference(s)" if problems else "no difference"))
    return 1 if problems else 0


def _load(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"{path}: no such notebook")
    return json.loads(path.read_text())


# ---------------------------------------------------------------- executing


@dataclass
class Run:
    """One execution of a notebook: its outputs, how long it took, and the error that stopped it (or None)."""

    nb: nbformat.NotebookNode
    seconds: float
    error: str | None = None
    cell: int | None = None
    #: cell index -> (wall-clock start, end) of its execution, to tell which cell started what on a server.
    windows: dict[int, tuple[float, float]] = field(default_factory=dict)


def kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without any Temporal or Saga Lab setting, with ``PYTHONHASHSEED=0``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAGA_LAB_"))}
    env["PYTHONHASHSEED"] = "0"
    env.update(extra or {})
    return env


def _kernel_manager(sockets: Path):
    """A manager of this venv's ``python3`` kernel (its kernelspec's ``python`` is this interpreter).

    Kernel and client talk over local (IPC) sockets in ``sockets``: no TCP port, and no warning about one.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    specs = KernelSpecManager(kernel_dirs=[str(Path(sys.prefix) / "share" / "jupyter" / "kernels")])
    return AsyncKernelManager(
        kernel_name=KERNEL_NAME, kernel_spec_manager=specs, transport="ipc", ip=str(sockets / "kernel")
    )


def execute(
    nb: nbformat.NotebookNode, env: dict[str, str], *, cwd: Path = NOTEBOOKS, timeout: int = CELL_TIMEOUT_S
) -> Run:
    """Run ``nb`` top to bottom in a fresh kernel (in place); a cell tagged ``raises-exception`` may raise."""
    from nbclient.exceptions import CellExecutionError

    current: dict[str, float | int] = {}
    windows: dict[int, tuple[float, float]] = {}
    sockets = Path(tempfile.mkdtemp(prefix="saga-lab-kernel-"))
    km = _kernel_manager(sockets)

    def started(cell, cell_index, **_):
        current.update(index=cell_index, since=time.time())

    def finished(cell, cell_index, **_):
        windows[cell_index] = (float(current.get("since", time.time())), time.time())

    client = _client_class()(
        nb,
        km=km,
        timeout=timeout,
        startup_timeout=120,
        allow_errors=False,
        record_timing=False,
        store_widget_state=False,  # a stored widget shows its static HTML on GitHub and the site, not a dead widget
        resources={"metadata": {"path": str(cwd)}},
        on_cell_start=started,
        on_cell_executed=finished,
    )
    client.owns_km = True  # so it shuts the kernel down at the end, as with a manager of its own
    main = threading.current_thread() is threading.main_thread()
    handlers = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS} if main else {}
    began = time.monotonic()
    error = None
    try:
        client.execute(env=env)
    except asyncio.CancelledError:  # a signal: see _client_class
        error = "stopped by a signal"
    except Exception as exc:  # a cell's error, a timeout, a dead kernel, a kernel that never started
        index = int(current.get("index", -1))
        cell = nb.cells[index] if 0 <= index < len(nb.cells) else {}
        what = _error_line(cell) if isinstance(exc, CellExecutionError) else _first_words(exc)
        where = f"cell {index} ({_first_line(cell)})" if index >= 0 else "starting the kernel"
        error = f"{where}: {what}"
    finally:
        _kill_kernel(km)
        shutil.rmtree(sockets, ignore_errors=True)
        loop = getattr(client, "stop_loop", None)
        for signum, handler in handlers.items():  # as they were (nbclient leaves SIG_DFL behind)
            if loop is not None:
                with contextlib.suppress(RuntimeError, ValueError):
                    loop.remove_signal_handler(signum)
            signal.signal(signum, handler)
    if error and "index" in current:
        windows.setdefault(int(current["index"]), (float(current["since"]), time.time()))
    return Run(nb, time.monotonic() - began, error, int(current.get("index", -1)) if error else None, windows)


def _client_class():
    """nbclient's NotebookClient, whose run a signal (Ctrl-C, SIGTERM, SIGHUP) stops, not only its kernel.

    nbclient's own handlers shut the kernel down and let the run go on as a failed cell; these cancel the
    run too (execute returns, ``_STOPPING`` says why). Signals reach the main thread only.
    """
    from nbclient import NotebookClient

    class Client(NotebookClient):
        async def async_start_new_kernel(self, **kwargs) -> None:
            if threading.current_thread() is threading.main_thread():
                loop, task = asyncio.get_running_loop(), asyncio.current_task()

                def interrupted(signum: int) -> None:
                    _STOPPING.append(signum)
                    task.cancel()

                for signum in STOP_SIGNALS:
                    loop.add_signal_handler(signum, interrupted, signum)
                self.stop_loop = loop
            await super().async_start_new_kernel(**kwargs)

    return Client


def _kill_kernel(km) -> None:
    """Make sure the kernel process is gone (nbclient shuts it down, unless a signal cut that short)."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def _first_words(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


def _error_line(cell: dict) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            if not output.get("evalue"):
                return f"{output.get('ename')} (no message: see the cell's traceback)"
            return f"{output.get('ename')}: {output.get('evalue')}"[:300]
    return "the cell raised"


def strip_volatile(nb: dict) -> None:
    """Drop what changes on every run and tells a learner nothing (per-cell execution timestamps), and
    a widget's view: without its kernel it shows "model not found", while the output's HTML (the saga
    playground's snapshot) shows in JupyterLab, on GitHub and on the site."""
    for cell in nb.get("cells", []):
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]


# ---------------------------------------------------------------- the data directory and the server


def _who_listens(port: int) -> str:
    import psutil

    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                process = psutil.Process(conn.pid)
                cmdline = re.sub(r"\s+", " ", " ".join(process.cmdline()))
                if "start-dev" in cmdline and str(DATA) in cmdline:
                    return f"the workshop's own Temporal server (pid {conn.pid}): stop it with `make server-stop`"
                return f"{process.name()} (pid {conn.pid}: {cmdline[:100]}): stop it"
    return "another program: stop it"


def refuse_reason() -> str | None:
    """One line saying what to stop before a run, or None when the default ports and ``.saga-lab/`` are free."""
    from saga_lab import server

    if ASIDE.exists():
        return (
            f"{ASIDE.name}/ holds the data of an earlier run that was interrupted: put it back with "
            f"`rm -rf .saga-lab && mv {ASIDE.name} .saga-lab`, then run `make notebooks` again"
        )
    if DATA.exists():
        info, _ = server.status(server.ServerSettings(home=DATA))
        if info is not None:
            return (
                f"the workshop's Temporal server (pid {info.pid}, {info.address}) runs from .saga-lab/: "
                "stop it with `make server-stop`, then run `make notebooks` again"
            )
    for port in (server.DEFAULT_PORT, server.DEFAULT_UI_PORT):
        if server.port_in_use(port):
            return f"port {port} on 127.0.0.1 is taken by {_who_listens(port)}, then run `make notebooks` again"
    return None


@contextlib.contextmanager
def fresh_data_directory() -> Iterator[None]:
    """An empty ``.saga-lab/`` for the run; the one found there is put back afterwards, whatever happens."""
    moved = False
    if DATA.exists():
        DATA.rename(ASIDE)
        moved = True
        print(f"moved your .saga-lab/ aside to {ASIDE.name}/ (it comes back at the end)")
    try:
        yield
    finally:
        if DATA.exists():
            shutil.rmtree(DATA, ignore_errors=True)
        if moved:
            ASIDE.rename(DATA)
            print("put your .saga-lab/ back")


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM and SIGHUP end the run through ``finally`` blocks, like Ctrl-C does."""

    def leave(signum, _frame):
        _STOPPING.append(signum)
        raise SystemExit(f"stopped by a signal ({signal.Signals(signum).name})")

    previous = {sig: signal.signal(sig, leave) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def store(paths: list[Path], out: Path | None) -> int:
    """Execute ``paths`` in order on a fresh server; write each one that ran without error."""
    from saga_lab import server

    reason = refuse_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    settings = server.ServerSettings(home=DATA)
    failures: list[str] = []
    timings: list[tuple[str, float]] = []
    env = kernel_env()
    with _terminate_as_exit(), fresh_data_directory():
        try:
            info = server.start(settings)
        except server.ServerError as err:
            print(f"the Temporal server did not start: {err}", file=sys.stderr)
            return 1
        print(f"Temporal server {info.address}, Web UI {info.ui_url}, data in .saga-lab/ (fresh)")
        try:
            for path in paths:
                nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
                run = execute(nb, env)
                if _STOPPING:  # a signal stopped the run (see _client_class)
                    raise SystemExit(f"stopped by a signal while running {path.name}; it was left as it was")
                timings.append((path.name, run.seconds))
                if run.error:
                    failures.append(f"{path.name} {run.error}")
                    print(f"{path.name}: FAILED after {run.seconds:.0f} s at {run.error}; left as it was")
                    continue
                strip_volatile(nb)
                nb.metadata.setdefault("saga_lab", {})["sources"] = displayed_sources(nb)
                target = (out / path.name) if out else path
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, target)
                print(f"{path.name}: {run.seconds:.0f} s" + (f" -> {target}" if out else ""))
        finally:
            server.stop(settings)
            print("stopped the Temporal server this run started")
            if failures and (DATA / "temporal.log").exists():
                kept = Path(tempfile.mkdtemp(prefix="saga-lab-notebooks-"))
                shutil.copy2(DATA / "temporal.log", kept / "temporal.log")
                print(f"the server's log of this run: {kept / 'temporal.log'}")
    total = sum(seconds for _, seconds in timings)
    print(f"{len(timings)} notebook(s) in {total:.0f} s; " + (f"{len(failures)} failed:" if failures else "all ran"))
    for line in failures:
        print(f"  {line}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="tools/notebooks.py")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks (04, 04_failures..., 4,5)")
    parser.add_argument("--out", type=Path, help="write the executed notebooks to this folder instead of in place")
    parser.add_argument(
        "--diff",
        nargs="*",
        metavar="PATH",
        help="compare sanitized text outputs, nothing executed: no PATH = every notebook against git's HEAD; "
        "one notebook against HEAD; or OLD NEW (two notebooks or two folders)",
    )
    args = parser.parse_args(argv)
    try:
        if args.diff is not None:
            return run_diff(args.diff)
        return store(notebook_paths(args.only), args.out)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
