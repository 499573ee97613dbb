"""The ``saga-lab`` command: argument parsing and output only.

Every error a user can cause is one line on stderr: exit 2 for bad input (nothing
is started or written), exit 1 when the Temporal server cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import re
import signal
import sys
from dataclasses import asdict

from . import config, connection, server

EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 2
#: The queue scope of ``saga-lab chaos`` run from a shell (unless ``SAGA_LAB_QUEUE_SCOPE`` says another).
CHAOS_SCOPE = "chaos"
#: ``saga-lab exercises check``: the check said NOT YET.
EXIT_NOT_YET = 1


class UsageError(Exception):
    """Bad input, reported in one line with exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage and more; we print one line
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _amount(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text.strip()):
        raise argparse.ArgumentTypeError(f"amount must be a whole number of cents (e.g. 4999 for 49.99), got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="saga-lab", description="Saga Lab: the payment saga on Temporal, from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    srv = commands.add_parser("server", help="start, stop or inspect the embedded Temporal dev server")
    srv_commands = srv.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = srv_commands.add_parser("start", help="start it detached (or reuse the running one)")
    start.add_argument("--port", type=int, help=f"frontend port (default $SAGA_LAB_PORT or {server.DEFAULT_PORT})")
    start.add_argument(
        "--ui-port", type=int, help=f"Web UI port (default $SAGA_LAB_UI_PORT or {server.DEFAULT_UI_PORT})"
    )
    srv_commands.add_parser("stop", help="stop it; its SQLite file keeps the histories")
    status = srv_commands.add_parser("status", help="say whether it runs, where, and where its data is")
    status.add_argument("--json", action="store_true", help="print one JSON object")

    place = commands.add_parser("place", help="place one order and print its end state as JSON")
    place.add_argument("order_id", metavar="ORDER_ID")
    place.add_argument("--amount", type=_amount, required=True, help="in cents, 1 to 1000000")
    place.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="STEP=KIND[:N]",
        help=f"inject a fault: STEP is one of {', '.join(config.STEPS)}; KIND is transient, permanent, "
        "timeout or late (N: how many attempts, default 1) or slow (N: seconds)",
    )
    place.add_argument("--naive", action="store_true", help="run the workflow without compensation")

    show = commands.add_parser("show", help="print an order's state in Temporal and the three services as JSON")
    show.add_argument("order_id", metavar="ORDER_ID")

    worker = commands.add_parser("worker", help="run workers until interrupted")
    worker.add_argument("--service", choices=["payment", "order", "shipping", "workflow", "all"], default="all")

    chaos = commands.add_parser(
        "chaos",
        help="run many sagas with random faults, worker kills and a server restart; check every order",
        epilog="exit status: 0 every order consistent and none lost; 3 an order is inconsistent or lost "
        "(or money is not conserved); 2 bad input; 1 the server cannot be reached",
    )
    chaos.add_argument("--sagas", type=int, required=True, metavar="N", help="how many sagas to run, 1 or more")
    chaos.add_argument(
        "--fault-rate",
        type=float,
        default=0.3,
        metavar="R",
        help="chance that a step gets a fault, 0 to 1 (default 0.3)",
    )
    chaos.add_argument("--seed", type=int, default=1, metavar="S", help="seeds faults, amounts and kills (default 1)")
    chaos.add_argument("--kill-workers", action="store_true", help="SIGKILL a random worker process every ~2 s")
    chaos.add_argument(
        "--restart-server",
        action="store_true",
        help="stop and restart the embedded server once (skipped when TEMPORAL_ADDRESS is set)",
    )
    chaos.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="a saga not ended by then is lost (default 120 + 0.5 per saga)",
    )
    chaos.add_argument("--run-id", metavar="ID", help="check an earlier run's orders again (default: a new run)")
    chaos.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    room = commands.add_parser(
        "room",
        help="a workshop room: every learner's exercise verdicts in one table (the instructor's view)",
        epilog="learners report to the room on TEMPORAL_ADDRESS (one server for the room) or on "
        "SAGA_LAB_ROOM=HOST:PORT (each learner on their own server)",
    )
    room.add_argument(
        "action",
        nargs="?",
        choices=["show", "start", "close"],
        default="show",
        help="show the table (default); start the room and run its worker until Ctrl-C; close the room",
    )
    room.add_argument("--name", default="room", help="another room than the one learners report to (a rehearsal)")
    room.add_argument("--watch", type=float, metavar="SECONDS", help="show: print the table again every SECONDS")
    room.add_argument("--json", action="store_true", help="show: print the room's state as one JSON object")

    commands.add_parser(
        "doctor",
        help="is this laptop ready for the workshop? one line per need (exit 1 when something is missing)",
    )
    exercises = commands.add_parser(
        "exercises",
        help="every exercise with its notebook and your last verdict; `exercises check NN` runs one check",
        epilog="exit status of `check`: 0 PASS, 1 NOT YET (or the server cannot be reached), 2 bad input",
    )
    exercise_commands = exercises.add_subparsers(dest="action", metavar="ACTION")
    check = exercise_commands.add_parser("check", help="run exercise NN's check, with the same output as its cell")
    check.add_argument("number", metavar="NN", help="the exercise's number, 01 to 12 (its notebook's)")

    lab = commands.add_parser("lab", help="ensure the server and open JupyterLab on notebooks/ (what `make lab` runs)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    return parser


# ---------------------------------------------------------------- commands


def _server(args) -> int:
    settings = server.settings_from_env()
    if args.action == "start":
        settings = server.ServerSettings(
            home=settings.home,
            port=settings.port if args.port is None else args.port,
            ui_port=settings.ui_port if args.ui_port is None else args.ui_port,
        )
        for name, port in (("--port", settings.port), ("--ui-port", settings.ui_port)):
            if not 1 <= port <= 65535:
                raise UsageError(f"{name} {port} is not a port number: use 1 to 65535")
        info = server.start(settings)
        if not info.started and info.address != settings.address and args.port is not None:
            raise server.ServerError(
                f"the server is already running on {info.address}: stop it first (saga-lab server stop) "
                f"to start it on port {settings.port}"
            )
        verb = "started" if info.started else "already running"
        print(f"Temporal server {verb}: {info.address} (pid {info.pid})")
        print(f"Web UI: {info.ui_url}")
        print(f"Database: {info.db_path}")
        return EXIT_OK
    if args.action == "stop":
        print(server.stop(settings))
        return EXIT_OK
    info, line = server.status(settings)
    if args.json:
        shown = {k: v for k, v in asdict(info).items() if k != "connect_options"} if info else {}
        print(json.dumps({"running": info is not None, "state": line, **shown}))
    elif info is None:
        print(f"Temporal server: {line}")
    else:
        print(f"Temporal server: {line} at {info.address} (pid {info.pid})")
        print(f"Web UI: {info.ui_url}")
        print(f"Database: {info.db_path}")
    return EXIT_OK


async def _place(args) -> int:
    from .checkout import place_order, validate_order, workflow_status
    from .faults import FaultPlan, InvalidFaultSpec
    from .services import IdempotencyConflict, InvalidRequest
    from .worker import BackgroundWorkers, tidy_activity_logs

    try:
        validate_order(args.order_id, args.amount)
        plan = FaultPlan.parse(args.fail)
    except (InvalidRequest, InvalidFaultSpec) as err:
        raise UsageError(str(err)) from None
    client = await connection.connect(connection.ensure_server())
    # stdout carries one JSON object; every attempt and compensation is in the history.
    # Warnings of our own (late work landing) go to stderr, one line each.
    logging.basicConfig(format="saga-lab: %(message)s", level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    tidy_activity_logs(logging.ERROR)
    # Own workers every time: a task queue's poller list still names workers that died a
    # minute ago, so "is anyone polling?" cannot be answered reliably. Extra workers on the
    # same databases are harmless: the steps are idempotent.
    workers = BackgroundWorkers(client)
    async with workers:
        try:
            result = await place_order(client, args.order_id, args.amount, plan, naive=args.naive)
        except IdempotencyConflict as err:
            raise UsageError(str(err)) from None
    # "run": Temporal's status of the run; "status": how the saga ended (README: "How a saga ends").
    run = await workflow_status(client, args.order_id)
    keys = ("status", "payment_id", "shipment_id", "compensations", "error")
    placed = {"order_id": result.order_id, "run": run} | {key: getattr(result, key) for key in keys}
    print(json.dumps(placed), flush=True)
    if workers.faults.late_work_in_flight:  # a late fault's work is still on its way: let it land
        print(f"saga-lab: waiting for {workers.faults.late_work_in_flight} late step(s) to land", file=sys.stderr)
        await asyncio.to_thread(workers.faults.wait_for_late_work)
    return EXIT_OK


async def _show(args) -> int:
    from .checkout import show_order
    from .services import InvalidRequest
    from .services.store import validate_order_id

    try:
        validate_order_id(args.order_id)
    except InvalidRequest as err:
        raise UsageError(str(err)) from None
    client = await connection.connect(connection.current_server())
    print(json.dumps(await show_order(client, args.order_id)))
    return EXIT_OK


async def _worker(args) -> int:
    from .worker import BackgroundWorkers

    services = config.SERVICES if args.service == "all" else (args.service,)
    info = connection.current_server()
    client = await connection.connect(info)
    interrupted = _on_interrupt(asyncio.get_running_loop())
    queues = ", ".join(connection.task_queue(client, name) for name in services)
    print(f"workers polling {queues} on {info.address} (Ctrl-C stops them)", flush=True)
    async with BackgroundWorkers(client, services) as workers:
        running = asyncio.ensure_future(workers.wait())
        await asyncio.wait({running, asyncio.ensure_future(interrupted.wait())}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # the workers stopped by themselves: say why
    return EXIT_OK


def _on_interrupt(loop: asyncio.AbstractEventLoop) -> asyncio.Event:
    """An event set by the first Ctrl-C (SIGINT); a second one leaves at once.

    The kernel may hand a process's SIGINT to any of its threads, and the SDK runs threads of its
    own: ``asyncio.run``'s handler then runs only once the main thread wakes for another reason,
    which for an idle worker is a minute later. A handler added to the loop is written to the
    loop's wake-up pipe by whichever thread took the signal, so it runs at once.
    """
    interrupted = asyncio.Event()

    def handler() -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()

    loop.add_signal_handler(signal.SIGINT, handler)
    return interrupted


async def _chaos(args) -> int:
    from .chaos import EXIT_INCONSISTENT, ChaosConfig, ChaosConfigError, LineProgress, run_chaos

    chaos_config = ChaosConfig(
        sagas=args.sagas,
        fault_rate=args.fault_rate,
        seed=args.seed,
        kill_workers=args.kill_workers,
        restart_server=args.restart_server,
        deadline_s=args.deadline,
        run_id=args.run_id,
    )
    try:
        chaos_config.validate()
    except ChaosConfigError as err:
        raise UsageError(str(err)) from None
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    # Task queues of its own ("chaos/..."), inherited by its worker processes: the workers of a notebook
    # open beside it (same learner, same server) never take its tasks, nor it theirs.
    scoped = connection.SCOPE_ENV not in os.environ
    if scoped:
        os.environ[connection.SCOPE_ENV] = CHAOS_SCOPE
    try:
        result = await run_chaos(chaos_config, LineProgress(sys.stderr))
    finally:
        if scoped:  # `main` may run in a process that goes on (a test, a notebook)
            os.environ.pop(connection.SCOPE_ENV, None)
    print(json.dumps(result.to_dict()) if args.json else result.report())
    return EXIT_OK if result.ok else EXIT_INCONSISTENT


def _room_server(start: bool) -> server.ServerInfo:
    from .room import room_server

    if os.environ.get("SAGA_LAB_ROOM"):
        return room_server()
    return connection.ensure_server() if start else connection.current_server()


async def _room(args) -> int:
    from .notebook import Table
    from .room import close_room, progress, run_room, stuck_rows, summary_line, table_rows

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", args.name):
        raise UsageError(f"--name {args.name!r}: use 1 to 32 letters, digits, '_' or '-'")
    if args.watch is not None and (args.action != "show" or args.watch < 1):
        raise UsageError("--watch takes a number of seconds, 1 or more, and only with `saga-lab room` (show)")
    info = _room_server(start=args.action == "start")
    client = await connection.connect(info)
    if args.action == "start":
        print(
            f"room {args.name!r} open on {info.address} (namespace {info.namespace}). Learners report here with "
            f"TEMPORAL_ADDRESS={info.address} (this server for everyone) or SAGA_LAB_ROOM={info.address} (their "
            "own servers). `saga-lab room` shows the table. Ctrl-C stops this worker; the room stays open.",
            flush=True,
        )
        if info.address.startswith(("127.", "localhost")):
            print(
                f"{info.address} is reachable from this machine only: for learners on other laptops, run the room "
                "on a server they can reach (docs/instructor.md, 'The room')",
                flush=True,
            )
        try:
            await run_room(client, args.name)
        except asyncio.CancelledError:
            pass
        return EXIT_OK
    if args.action == "close":
        state = await close_room(client, args.name)
        print(f"closed: {summary_line(state)}")
        return EXIT_OK
    while True:
        state = await progress(client, args.name)
        if args.json:
            print(json.dumps(asdict(state)), flush=True)
        else:
            if args.watch:
                print("\033[H\033[2J", end="")  # a terminal's clear screen
            print(f"{summary_line(state)}, on {info.address}\n")
            print(Table(table_rows(state)) if state.learners else "no verdict yet")
            if state.learners:
                print("(- not tried)\n")
                print(Table(stuck_rows(state)))
            sys.stdout.flush()
        if not args.watch:
            return EXIT_OK
        await asyncio.sleep(args.watch)


def _doctor(args) -> int:
    from .doctor import check, ready

    needs = check()
    for need in needs:
        print(need.line())
    print("ready for the workshop" if ready(needs) else "NOT READY: fix the MISSING lines above, then run this again")
    return EXIT_OK if ready(needs) else 1


#: A room-ready JupyterLab: it opens 00 (the file browser on notebooks/), and asks nothing on first start:
#: no news feed, no update check (jupyterlab-settings/overrides.json says the same to its settings).
LAB_SETTINGS = (
    "--LabApp.default_url=/lab/tree/00_setup.ipynb",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
)


def _notebooks() -> str:
    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")
    if not os.path.isdir(os.path.join(folder, "checks")):
        raise UsageError(f"no notebooks/ beside the package (looked in {folder}): run this from a Saga Lab checkout")
    return folder


def _exercise_list(folder: str) -> list[tuple[str, str, str | None]]:
    """(exercise, notebook, check module) for every notebook ``NN_*.ipynb``, in order."""
    found = []
    for notebook in sorted(name for name in os.listdir(folder) if re.fullmatch(r"\d\d_\w+\.ipynb", name)):
        exercise = f"e{notebook[:2]}"
        checks = sorted(n for n in os.listdir(os.path.join(folder, "checks")) if n.startswith(f"{exercise}_"))
        found.append((exercise, notebook, checks[0].removesuffix(".py") if checks else None))
    return found


async def _exercises(args) -> int:
    import inspect

    from . import verdicts

    folder = _notebooks()
    listed = _exercise_list(folder)
    if args.action is None:
        kept = verdicts.load()
        print(f"{'exercise':<9} {'notebook':<36} last verdict")
        for exercise, notebook, _ in listed:
            verdict = kept.get(exercise)
            if verdict is None:
                said = "not tried"
            else:
                line = verdict.message.split(": ", 1)[-1]
                detail = "" if verdict.passed else f": {line[:70]}{'...' if len(line) > 70 else ''}"
                said = f"{verdict.word} ({verdict.at[:16].replace('T', ' ')} UTC){detail}"
            print(f"{exercise:<9} {notebook:<36} {said}")
        return EXIT_OK
    number = args.number.strip().removeprefix("e").zfill(2)
    module_name = next((module for exercise, _, module in listed if exercise == f"e{number}"), None)
    if module_name is None:
        known = ", ".join(exercise[1:] for exercise, _, module in listed if module)
        raise UsageError(f"there is no exercise {args.number!r}: use one of {known}")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    check = importlib.import_module(f"checks.{module_name}").check
    needs = [p for p in list(inspect.signature(check).parameters.values())[1:] if p.default is inspect.Parameter.empty]
    if needs:
        notebook = next(nb for exercise, nb, _ in listed if exercise == f"e{number}")
        raise UsageError(
            f"exercise {number} is checked in its notebook, from the cell's {', '.join(p.name for p in needs)}: "
            f"run the check cell of {notebook}"
        )
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    if "client" in inspect.signature(check).parameters:
        outcome = check(await connection.connect(connection.ensure_server()))
    else:
        outcome = check()
    passed = await outcome if inspect.isawaitable(outcome) else outcome
    return EXIT_OK if passed else EXIT_NOT_YET


def _lab(args) -> int:
    info = connection.ensure_server()
    print(f"Temporal server: {info.address} (namespace {info.namespace})")
    print(f"Temporal Web UI: {info.ui_url or 'set TEMPORAL_UI_URL to show it here'}")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip=127.0.0.1",
        f"--port={args.port}",
        f"--ServerApp.root_dir={os.path.join(repo, 'notebooks')}",
        *LAB_SETTINGS,
        f"--LabApp.app_settings_dir={os.path.join(repo, 'jupyterlab-settings')}",
    ]
    if args.no_browser:
        command.append("--no-browser")
    if os.geteuid() == 0:  # containers and CI machines often run as root
        command.append("--allow-root")
    # Kernels inherit PATH: put the venv's `temporal` and `saga-lab` on it for `!` commands.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    print("JupyterLab: starting on http://127.0.0.1 (the link with its token follows); Ctrl-C stops it", flush=True)
    os.execv(sys.executable, command)
    return EXIT_OK  # not reached


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "server":
            return _server(args)
        if args.command == "lab":
            return _lab(args)
        if args.command == "doctor":
            return _doctor(args)
        commands = {"place": _place, "show": _show, "worker": _worker, "chaos": _chaos, "room": _room}
        handler = {**commands, "exercises": _exercises}[args.command]
        return asyncio.run(handler(args))
    except (UsageError, server.SettingsError, connection.LearnerNameError) as err:
        print(f"saga-lab: {err}", file=sys.stderr)
        return EXIT_USAGE
    except server.ServerError as err:
        print(f"saga-lab: {err}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `saga-lab show X | head`: the reader left, nothing to say
        return EXIT_OK


def run() -> None:
    """The console script: ``main``, then leave at once.

    A process that used a temporalio client can crash in interpreter shutdown
    (SIGABRT in PyGILState_Release, temporalio sdk-python#300) after its output was
    printed: flush and ``os._exit`` so the exit code is the command's, every time.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
