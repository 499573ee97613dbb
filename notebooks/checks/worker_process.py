"""A worker in a process of its own, for the checks whose lesson is that a retry may run somewhere else (07, 08, 11).

In production the retry of an activity often runs in another worker process, on another
machine: nothing the first attempt kept in memory, in a local file or in Python's
``hash()`` (seeded afresh by every interpreter) is there. These checks run the learner's
activity in a :class:`WorkerProcess`, kill it (SIGKILL) at the moment that matters, and
start another, with its own hash seed, working directory and temporary folder.

The process runs ``python -m checks.worker_process CHECK MODULE TASK_QUEUE HOME``: it
imports the check module ``CHECK`` and the learner's module ``MODULE`` and runs the worker
that ``CHECK.process_worker(module, client, task_queue, home)`` builds, until it is killed.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

NOTEBOOKS = Path(__file__).resolve().parent.parent


def module_root(module: ModuleType) -> Path:
    """The folder to put on ``sys.path`` to import ``module`` by its name (``notebooks/`` for ``exercises.x``)."""
    return Path(module.__file__).resolve().parents[module.__name__.count(".")]


class WorkerProcess:
    """``check``'s worker for ``module`` on ``task_queue``, in a new Python process (output in ``folder``).

    It starts in a working directory and a temporary folder of its own under ``folder``,
    with a hash seed of its own (``hash_seed``; random by default), as another machine would.
    """

    def __init__(
        self,
        check: str,
        module: ModuleType,
        task_queue: str,
        home: Path,
        folder: Path,
        name: str,
        hash_seed: int | None = None,
    ) -> None:
        self.hash_seed = random.randint(1, 2**31) if hash_seed is None else hash_seed
        place = folder / name
        (place / "tmp").mkdir(parents=True, exist_ok=True)
        self.output = place / "output.log"
        paths = [str(NOTEBOOKS), str(module_root(module)), os.environ.get("PYTHONPATH", "")]
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(filter(None, paths))),
            "PYTHONHASHSEED": str(self.hash_seed),
            "TMPDIR": str(place / "tmp"),
        }
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __spec__.name, check, module.__name__, task_queue, str(home)],
                cwd=place,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # an interrupt of the kernel does not reach it
            )

    def died(self) -> str | None:
        """None while it runs; else the last line it wrote."""
        if self.process.poll() is None:
            return None
        lines = self.output.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit code {self.process.returncode}"

    def kill(self) -> None:
        """SIGKILL, as a machine that loses power: no attempt of it says anything more."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()


async def _serve(check: str, module_name: str, task_queue: str, home: str) -> None:
    from saga_lab.connection import connect

    builder = importlib.import_module(check).process_worker
    module = importlib.import_module(module_name)
    client = await connect()  # the server this process's environment names, as the kernel's
    worker = builder(module, client, task_queue, Path(home))
    print(f"worker polling {task_queue}", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(_serve(*sys.argv[1:5]))
