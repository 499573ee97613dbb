"""JupyterLab in headless Chromium, driven the way a person drives it (Playwright, async API).

``running_jupyterlab(repo, workdir)`` starts what ``make lab`` starts, but on a copy: it copies
``notebooks/`` and ``diagrams/`` into ``workdir`` (same relative layout, so ``../diagrams/x.puml``
resolves and the browser never writes into the repository), starts an embedded Temporal server
with its own home on free ports (no ``TEMPORAL_*`` variables), then ``python -m jupyterlab`` with
the flags ``saga-lab lab`` passes, its root on the copy, a random token, and JupyterLab's own
settings, workspaces, config and runtime folders in ``workdir`` (no news feed, no update check,
no extension manager on PyPI: nothing reaches the network). On exit it shuts every kernel down,
stops JupyterLab and the server, and kills what they left behind, by pid.

``NotebookTab`` is one browser context (a tab of its own, in a JupyterLab workspace of its own)
with one notebook open; it refuses (and lists in ``blocked``) any request the page makes beyond
127.0.0.1, e.g. a remote image in a markdown cell. ``restart_and_run_all()`` opens the menu bar's *Kernel* menu, clicks
*Restart Kernel and Run All Cells…* and confirms *Restart* in the dialog. ``wait_for_run()``
watches the input prompts (``[*]`` while queued or running, ``[n]`` once run, ``[ ]`` when the
run stopped before the cell) and the toolbar's kernel indicator until the run has ended, then
waits a little longer for output that arrives after its cell finished. ``cells()`` reads what
the page shows: per cell its prompt and every output's MIME type and text; ``dialog()`` the text of
a dialog left open (a kernel that died).

``NotebookTab.open()`` closes the tab's notebook and opens another in the same page (*File → Close
Tab*, *File → Open from Path…*). ``NotebookTab.save()`` saves the notebook as a person does
(Ctrl+S), and ``execution_windows()`` reads from the saved file when each cell ran: JupyterLab
records each cell's start and end (kernel time) because its settings here say ``recordTiming``.
``JupyterLab.write_notebook()`` adds a notebook beside the copies (e.g. one with the solutions
in), ``shutdown_kernels()`` shuts down the kernels of one notebook, and ``running_jupyterlab(...,
kernels=...)`` adds kernels whose environment carries extra variables (a notebook picks one by its
``kernelspec`` metadata).

``problems()`` turns what was read into one line per thing a learner should not see: an error
in a cell not tagged ``raises-exception``, a ``Traceback`` on stderr anywhere, a cell the run
never reached. JupyterLab renders error outputs and stderr with one MIME type; an error output is
told apart by IPython's default rendering (a rule, then ``Name   Traceback (most recent call last)``;
the notebooks keep IPython's default ``%xmode``), and an untagged error also stops the run there.
``verdicts()`` picks the ``PASS``/``NOT YET`` lines check cells print.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from saga_lab import server

try:  # tests/ may or may not become a package
    from .helpers import CHROMIUM_FLAGS, find_chromium, http_status
except ImportError:
    from helpers import CHROMIUM_FLAGS, find_chromium, http_status

#: The Chromium the tests drive (``$CHROMIUM``, else the first of chromium, chromium-browser, google-chrome on PATH).
CHROMIUM = find_chromium()
#: Playwright adds its own headless switch.
CHROMIUM_ARGS = [flag for flag in CHROMIUM_FLAGS if flag != "--headless"]
VIEWPORT = {"width": 1400, "height": 1000}
#: Seconds JupyterLab may take to answer on its port.
LAB_START_S = 90
#: Seconds a page may take to show its notebook, and its fresh kernel to become idle.
OPEN_S = 120
#: Seconds for one click or one dialog to appear.
CLICK_S = 30
#: Seconds after the click by which the run must have visibly started (restart, then ``[*]``).
RUN_START_S = 60
#: Seconds to keep watching after the last cell ended: output can arrive after its cell finished.
SETTLE_S = 6
POLL_S = 0.5
ERROR_MIME = "application/vnd.jupyter.stderr"  # JupyterLab renders errors and stderr alike
STDOUT_MIME = "application/vnd.jupyter.stdout"
RAISES = "raises-exception"
#: What a check cell prints: ``PASS: ...`` or ``NOT YET: ...`` (a table's ``PASS`` column is not a verdict).
VERDICT = re.compile(r"^(PASS|NOT YET):.*$", re.MULTILINE)
#: IPython's default traceback rendering of an error output: a rule, then "Name   Traceback (...)".
_IPYTHON_ERROR = re.compile(r"\A\s*-{20,}\n\S+\s+Traceback \(most recent call last\)")
_PROMPT = re.compile(r"^\[(\*|\d*| )\]:?$")


class DriverError(AssertionError):
    """The page did not do what a person would have seen it do, in time (the message says what)."""

    def __init__(self, message: str, cell_index: int | None = None) -> None:
        super().__init__(message)
        self.cell_index = cell_index


# ---------------------------------------------------------------- the notebook files


@dataclass
class NotebookFile:
    """What the ``.ipynb`` says: per cell its type, first source line, tags; the stored check lines."""

    path: Path
    kinds: list[str]
    heads: list[str]
    tags: list[list[str]]
    stored_verdicts: dict[int, list[str]]

    @classmethod
    def read(cls, path: Path) -> NotebookFile:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        kinds, heads, tags, stored = [], [], [], {}
        for index, cell in enumerate(cells):
            source = "".join(cell.get("source", ""))
            kinds.append(cell["cell_type"])
            heads.append(next((line for line in source.splitlines() if line.strip()), "")[:80])
            tags.append(list(cell.get("metadata", {}).get("tags", [])))
            text = "".join(
                "".join(output.get("text", ""))
                for output in cell.get("outputs", [])
                if output.get("output_type") == "stream" and output.get("name") == "stdout"
            )
            if found := [m.group(0) for m in VERDICT.finditer(text)]:
                stored[index] = found
        return cls(path, kinds, heads, tags, stored)

    @property
    def name(self) -> str:
        return self.path.name

    def cell(self, index: int) -> str:
        head = self.heads[index] if 0 <= index < len(self.heads) else "?"
        return f"cell {index} (`{head}`)"


# ---------------------------------------------------------------- what the page shows


@dataclass
class Output:
    mime: str
    text: str

    @property
    def is_error(self) -> bool:
        """An error output (IPython's rendering; JupyterLab gives errors and stderr one MIME type)."""
        return self.mime == ERROR_MIME and bool(_IPYTHON_ERROR.match(self.text))

    @property
    def is_stderr(self) -> bool:
        return self.mime == ERROR_MIME and not self.is_error


@dataclass
class Cell:
    index: int
    code: bool
    prompt: str
    outputs: list[Output] = field(default_factory=list)

    @property
    def count(self) -> int | None:
        match = re.match(r"^\[(\d+)\]", self.prompt)
        return int(match.group(1)) if match else None


_READ_CELLS = """
() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell'), (cell, position) => ({
  index: Number(cell.dataset.windowedListIndex ?? position),
  code: cell.classList.contains('jp-CodeCell'),
  prompt: (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim(),
  outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output'), (output) => ({
    mime: output.dataset.mimeType ?? '',
    text: output.textContent ?? '',
  })),
}))
"""


def _off_this_machine(url: str) -> bool:
    return urlsplit(url).hostname not in {"127.0.0.1", "localhost", None}


_COUNT_CELLS = "() => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell').length"

_KERNEL_NAME = """
() => (document.querySelector('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelName')?.textContent ?? '').trim()
"""

_READ_STATE = """
() => ({
  status: document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator')?.dataset.status ?? '',
  prompts: Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-CodeCell'),
    (cell) => [Number(cell.dataset.windowedListIndex ?? -1),
               (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim()]),
})
"""


class NotebookTab:
    """One notebook open in JupyterLab in a browser context of its own (its own JupyterLab workspace)."""

    def __init__(self, browser, lab: JupyterLab, notebook: NotebookFile) -> None:
        self.browser, self.lab, self.notebook = browser, lab, notebook
        self.context = None
        self.page = None
        self.blocked: list[str] = []  # what the page asked for beyond 127.0.0.1 (refused)

    async def __aenter__(self) -> NotebookTab:
        self.context = await self.browser.new_context(viewport=VIEWPORT)
        await self.context.route(_off_this_machine, self._refuse)
        self.page = await self.context.new_page()
        self.page.set_default_timeout(CLICK_S * 1000)
        workspace = f"{re.sub(r'[^A-Za-z0-9_-]', '-', self.notebook.path.stem)}-{secrets.token_hex(3)}"  # a URL part
        url = f"{self.lab.url}/lab/workspaces/{workspace}/tree/{self.notebook.name}?token={self.lab.token}"
        await self.page.goto(url, timeout=OPEN_S * 1000)
        await self._shown()
        return self

    async def open(self, notebook: NotebookFile) -> None:
        """Close this tab's notebook and open ``notebook`` in the same page, as a person does it from the menu bar:
        *File → Close Tab*, then *File → Open from Path…* (its kernel is started as for any notebook)."""
        page = self.page
        await page.get_by_role("menuitem", name="File", exact=True).click()
        await page.get_by_role("menuitem", name=re.compile(r"^Close Tab\b")).click()  # its name ends with its shortcut
        with contextlib.suppress(Exception):  # unsaved output arrived after the save: no need to keep it
            await page.locator(".jp-Dialog button", has_text="Discard").click(timeout=1000)
        await page.locator(".jp-NotebookPanel").first.wait_for(state="detached", timeout=CLICK_S * 1000)
        await page.get_by_role("menuitem", name="File", exact=True).click()
        await page.get_by_role("menuitem", name="Open from Path…", exact=True).click()
        dialog = page.locator(".jp-Dialog")
        await dialog.locator("input").fill(notebook.name)
        await dialog.locator("button.jp-mod-accept").click()
        self.notebook = notebook
        await self._shown()

    async def _shown(self) -> None:
        """Until the notebook's every cell is on the page and its kernel is idle."""
        try:
            await self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=OPEN_S * 1000)
        except Exception as err:
            raise DriverError(f"{self.notebook.name}: JupyterLab did not show the notebook within {OPEN_S} s") from err
        await self._wait_for_kernel()
        deadline = time.monotonic() + OPEN_S
        while (shown := await self.page.evaluate(_COUNT_CELLS)) != len(self.notebook.kinds):
            if time.monotonic() > deadline:  # cells are attached a few at a time; all must come
                raise DriverError(
                    f"{self.notebook.name}: after {OPEN_S} s the page shows {shown} cells, "
                    f"the file has {len(self.notebook.kinds)}"
                )
            await self.page.wait_for_timeout(POLL_S * 1000)

    async def __aexit__(self, *exc) -> None:
        if self.context is not None:
            await self.context.close()

    async def _refuse(self, route) -> None:
        self.blocked.append(route.request.url)
        await route.abort("blockedbyclient")

    async def dialog(self) -> str:
        """The text of a dialog JupyterLab shows (a kernel that died, an error), or ``""``."""
        dialogs = self.page.locator(".jp-Dialog")
        if not await dialogs.count():
            return ""
        return " ".join((await dialogs.first.inner_text()).split())

    async def _state(self) -> tuple[str, list[tuple[int, str]]]:
        state = await self.page.evaluate(_READ_STATE)
        return state["status"], [(int(i), p) for i, p in state["prompts"]]

    async def _wait_for_kernel(self) -> None:
        """Until the toolbar names the kernel and says it is idle (a person clicks *Select* if JupyterLab asks)."""
        deadline = time.monotonic() + OPEN_S
        name = status = ""
        while time.monotonic() < deadline:
            name = await self.page.evaluate(_KERNEL_NAME)
            status, _ = await self._state()
            if name and name != "No Kernel" and status == "idle":
                return
            choose = self.page.locator(".jp-Dialog", has_text="Select Kernel")
            if await choose.count():  # JupyterLab asks when its kernel list came late; the default is right
                await choose.locator("button.jp-mod-accept").click()
            await self.page.wait_for_timeout(POLL_S * 1000)
        raise DriverError(
            f"{self.notebook.name}: no idle kernel after {OPEN_S} s; the toolbar says {name!r}, {status!r}"
        )

    async def restart_and_run_all(self) -> None:
        """Kernel → Restart Kernel and Run All Cells… → Restart, as a person clicks them."""
        page = self.page
        await page.get_by_role("menuitem", name="Kernel", exact=True).click()
        await page.get_by_role("menuitem", name="Restart Kernel and Run All Cells…", exact=True).click()
        dialog = page.locator(".jp-Dialog")
        try:
            await dialog.get_by_text("Restart Kernel?").wait_for(timeout=CLICK_S * 1000)
        except Exception as err:
            raise DriverError(f"{self.notebook.name}: no 'Restart Kernel?' dialog after the menu click") from err
        await dialog.locator("button.jp-mod-accept", has_text="Restart").click()
        await dialog.wait_for(state="detached", timeout=CLICK_S * 1000)

    async def wait_for_run(self, seconds: float) -> float:
        """Seconds from now until the run has ended: no ``[*]`` prompt, the kernel idle; then ``SETTLE_S`` more.

        Raises ``DriverError`` naming the notebook and the cell still running at the deadline.
        """
        start = time.monotonic()
        deadline = start + seconds
        started = False
        while not started:  # the prompts still show the last run until the restart is under way
            status, prompts = await self._state()
            started = status != "idle" or any(prompt.startswith("[*]") for _, prompt in prompts)
            if not started:
                if time.monotonic() > start + RUN_START_S:
                    raise DriverError(f"{self.notebook.name}: the run did not start within {RUN_START_S} s")
                await self.page.wait_for_timeout(100)
        quiet_since = None
        ended = None
        while True:
            now = time.monotonic()
            status, prompts = await self._state()
            running = [index for index, prompt in prompts if prompt.startswith("[*]")]
            if running or status != "idle":
                quiet_since = ended = None
            elif quiet_since is None:
                quiet_since = now
            elif ended is None and now - quiet_since >= 1:
                ended = quiet_since
            if ended is not None and now - ended >= SETTLE_S:
                return ended - start
            if now > deadline:
                where = self.notebook.cell(running[0]) if running else f"no cell (the kernel says {status!r})"
                raise DriverError(
                    f"{self.notebook.name}: the run did not end within {seconds:.0f} s; still running: {where}",
                    running[0] if running else None,
                )
            await self.page.wait_for_timeout(POLL_S * 1000)

    async def save(self) -> Path:
        """File → Save, as Ctrl+S does it; returns the file once JupyterLab has written it."""
        path = self.notebook.path
        before = path.stat().st_mtime_ns if path.exists() else 0
        await self.page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        await self.page.keyboard.press("Control+s")
        deadline = time.monotonic() + CLICK_S
        while not _written(path, before):  # the server truncates the file, then writes it
            if time.monotonic() > deadline:
                raise DriverError(f"{self.notebook.name}: Ctrl+S did not save the notebook within {CLICK_S} s")
            await self.page.wait_for_timeout(100)
        return path

    async def cells(self) -> list[Cell]:
        return [
            Cell(c["index"], c["code"], c["prompt"], [Output(o["mime"], o["text"]) for o in c["outputs"]])
            for c in await self.page.evaluate(_READ_CELLS)
        ]

    async def screenshot(self, path: Path, cell_index: int | None = None) -> Path:
        """The JupyterLab window, scrolled to ``cell_index`` when given."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if cell_index is not None:
            cell = self.page.locator(f".jp-Notebook .jp-Cell[data-windowed-list-index='{cell_index}']")
            with contextlib.suppress(Exception):
                await cell.scroll_into_view_if_needed(timeout=5000)
        await self.page.screenshot(path=str(path), timeout=CLICK_S * 1000)
        return path


# ---------------------------------------------------------------- judging what was shown


def problems(notebook: NotebookFile, cells: list[Cell], run: int) -> list[tuple[int | None, str]]:
    """(cell index, one line) per thing a learner should not see after Restart Kernel and Run All."""
    found: list[tuple[int | None, str]] = []
    where = f"{notebook.name} run {run}"
    for cell in cells:
        if not cell.code:
            continue
        if cell.count is None:
            found.append((cell.index, f"{where}: {notebook.cell(cell.index)} never ran (prompt {cell.prompt!r})"))
            break  # the run stopped here; every later cell shows the same
        tagged = RAISES in (notebook.tags[cell.index] if cell.index < len(notebook.tags) else [])
        for output in cell.outputs:
            if output.is_error and not tagged:
                last = _last_line(output.text)
                found.append((cell.index, f"{where}: {notebook.cell(cell.index)} raised {last!r}"))
            elif output.is_stderr and "Traceback" in output.text:
                excerpt = _around(output.text, "Traceback")
                found.append(
                    (cell.index, f"{where}: {notebook.cell(cell.index)} shows a traceback on stderr: {excerpt}")
                )
    return found


def verdicts(cells: list[Cell], sanitize) -> dict[int, list[str]]:
    """Per cell, the ``PASS ...``/``NOT YET ...`` lines it printed on stdout, sanitized."""
    found: dict[int, list[str]] = {}
    for cell in cells:
        text = "".join(output.text for output in cell.outputs if output.mime == STDOUT_MIME)
        if lines := [sanitize(m.group(0).strip()) for m in VERDICT.finditer(text)]:
            found[cell.index] = lines
    return found


def _written(path: Path, before: int) -> bool:
    """Whether ``path`` was written since ``before`` (its mtime) and holds a whole notebook."""
    try:
        if path.stat().st_mtime_ns == before:
            return False
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def execution_windows(path: Path) -> dict[int, tuple[float, float]]:
    """Per code cell of a saved notebook, when it ran (epoch seconds), from the timing JupyterLab recorded."""
    windows = {}
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        timing = cell.get("metadata", {}).get("execution", {})
        began, ended = (
            timing.get("iopub.status.busy"),
            timing.get("iopub.status.idle") or timing.get("shell.execute_reply"),
        )
        if began and ended and "iopub.execute_input" in timing:  # a cell aborted after an error has no input
            windows[index] = (_epoch(began), _epoch(ended))
    return windows


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def verdict_words(lines: dict[int, list[str]]) -> dict[int, list[str]]:
    return {index: [VERDICT.match(line).group(1) for line in found] for index, found in lines.items()}


def sanitizer(cfg: Path):
    """nbval's sanitizing regexes from ``notebooks/sanitize.cfg``, as one function."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(cfg, encoding="utf-8")
    rules = [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]

    def sanitize(text: str) -> str:
        for pattern, replace in rules:
            text = pattern.sub(replace, text)
        return text

    return sanitize


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _around(text: str, word: str) -> str:
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if word in line)
    picked = lines[max(0, at - 1) : at + 2] + ["…", *lines[-1:]]
    return " | ".join(line.strip()[:160] for line in picked if line.strip())


# ---------------------------------------------------------------- JupyterLab and its server


@dataclass
class JupyterLab:
    url: str
    token: str
    root: Path
    log: Path
    settings: server.ServerSettings
    process: subprocess.Popen
    #: The copied notebooks as copied (JupyterLab autosaves outputs into the copies later).
    files: dict[str, NotebookFile] = field(default_factory=dict)

    def notebook(self, name: str) -> NotebookFile:
        """The notebook as copied, or as it is now if it was written after the copy."""
        if name in self.files:
            return self.files[name]
        path = self.root / name
        if not path.exists():
            raise DriverError(f"{name} is not in the copied notebooks/ (renamed while the test ran?)")
        return NotebookFile.read(path)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def write_notebook(self, name: str, notebook: dict) -> NotebookFile:
        """Write ``notebook`` (nbformat JSON) as ``name`` beside the copies (the kernel's working directory)."""
        path = self.root / name
        path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
        self.files[name] = NotebookFile.read(path)
        return self.files[name]

    def shutdown_kernels(self, name: str) -> None:
        """Shut down the kernels of the sessions open on notebook ``name`` (closing its tab leaves them running)."""
        for session in _api(self, "GET", "/api/sessions") or []:
            if session.get("path") == name and session.get("kernel"):
                with contextlib.suppress(OSError):
                    _api(self, "DELETE", f"/api/kernels/{session['kernel']['id']}")


def _api(lab: JupyterLab, method: str, path: str) -> object:
    request = urllib.request.Request(f"{lab.url}{path}", method=method, headers={"Authorization": f"token {lab.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """Caches, checkpoints, and sockets (a running kernel's ``kernel-ipc-N``): only files and folders."""
    skipped = {".ipynb_checkpoints", "__pycache__"}
    return {n for n in names if n in skipped or not (os.path.isfile(Path(folder, n)) or os.path.isdir(Path(folder, n)))}


def _lab_settings(folder: Path) -> None:
    """User settings a learner could click: never fetch news, never check for updates; record each cell's timing."""
    for setting, values in (
        ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
        ("notebook-extension/tracker", {"recordTiming": True}),
    ):
        path = folder / "@jupyterlab" / f"{setting}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _kernelspecs(folder: Path, kernels: dict[str, dict[str, str]]) -> None:
    """``kernels``: name -> extra environment; each a kernel of this interpreter (as ``python3``) with that env."""
    for name, env in kernels.items():
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python 3 ({name})",
            "language": "python",
            "env": env,
        }
        (folder / "kernels" / name).mkdir(parents=True)
        (folder / "kernels" / name / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


@contextlib.asynccontextmanager
async def launched_chromium():
    """Headless Chromium under Playwright, as every browser test starts it (``async with launched_chromium() as b``).

    Without Chromium it fails with the preflight's line on how to install it.
    """
    from playwright.async_api import async_playwright

    if CHROMIUM is None:
        raise DriverError("no Chromium: `python tests/preflight.py` says how to install it (.ci/run installs it in CI)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            await chromium.close()


@contextlib.contextmanager
def running_jupyterlab(
    repo: Path, workdir: Path, kernels: dict[str, dict[str, str]] | None = None
) -> Iterator[JupyterLab]:
    """JupyterLab on a copy of ``notebooks/`` with its own embedded Temporal server (see the module doc).

    ``kernels``: extra kernels, name -> environment variables they add (``{"solutions": {"SAGA_LAB_SOLUTIONS": "1"}}``).
    """
    root = workdir / "notebooks"
    shutil.copytree(repo / "notebooks", root, ignore=_not_copied)
    shutil.copytree(repo / "diagrams", workdir / "diagrams", ignore=_not_copied)
    files = {path.name: NotebookFile.read(path) for path in sorted(root.glob("*.ipynb"))}
    jupyter = workdir / "jupyter"
    for sub in ("settings", "workspaces", "config", "data", "runtime", "ipython"):
        (jupyter / sub).mkdir(parents=True)
    _lab_settings(jupyter / "settings")
    _kernelspecs(jupyter / "data", kernels or {})

    home = workdir / "saga-lab-home"
    settings = server.ServerSettings(home=home, port=server.free_port(), ui_port=server.free_port())
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TEMPORAL_") and k not in {"SAGA_LAB_LEARNER", "SAGA_LAB_SOLUTIONS"}
    }
    bindir = str(Path(sys.executable).parent)
    env.update(
        SAGA_LAB_HOME=str(home),
        SAGA_LAB_PORT=str(settings.port),
        SAGA_LAB_UI_PORT=str(settings.ui_port),
        PYTHONHASHSEED="0",
        PATH=bindir + os.pathsep + env.get("PATH", ""),  # as `saga-lab lab`: `!temporal`, `!saga-lab`
        JUPYTERLAB_SETTINGS_DIR=str(jupyter / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"),
        JUPYTER_CONFIG_DIR=str(jupyter / "config"),
        JUPYTER_DATA_DIR=str(jupyter / "data"),
        JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
        IPYTHONDIR=str(jupyter / "ipython"),
    )
    token = secrets.token_hex(16)
    port = server.free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.root_dir={root}",
        "--no-browser",
        f"--IdentityProvider.token={token}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = workdir / "jupyterlab.log"
    server.start(settings)  # what `saga-lab lab` does first (ensure_server), with the same settings
    lab = None
    try:
        with log.open("w", encoding="utf-8") as sink:
            process = subprocess.Popen(
                command,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        lab = JupyterLab(f"http://127.0.0.1:{port}", token, root, log, settings, process, files)
        deadline = time.monotonic() + LAB_START_S
        while http_status(f"{lab.url}/api/status?token={token}") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise DriverError(f"JupyterLab did not answer within {LAB_START_S} s; its log ends:\n{lab.log_tail()}")
            time.sleep(0.2)
        yield lab
    finally:
        try:
            if lab is not None:
                _stop_jupyterlab(lab)
        finally:
            server.stop(settings)


def _stop_jupyterlab(lab: JupyterLab) -> None:
    """Shut every kernel down, stop JupyterLab, then kill (by pid) whatever they started and left."""
    try:
        left = psutil.Process(lab.process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        left = []
    with contextlib.suppress(OSError, ValueError):
        for kernel in _api(lab, "GET", "/api/kernels") or []:
            with contextlib.suppress(OSError):
                _api(lab, "DELETE", f"/api/kernels/{kernel['id']}")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(lab.process.pid, signal.SIGTERM)
    try:
        lab.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(lab.process.pid, signal.SIGKILL)
        lab.process.wait(timeout=10)
    _gone, alive = psutil.wait_procs(left, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=5)
