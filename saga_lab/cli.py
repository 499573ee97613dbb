"""The ``saga-lab`` command: argument parsing and output only.

Every error a user can cause is one line on stderr: exit 2 for bad input (nothing
is started or written), exit 1 when the Temporal server cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
from dataclasses import asdict

from . import config, connection, server

EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 2


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
        print(json.dumps({"running": info is not None, "state": line, **(asdict(info) if info else {})}))
    elif info is None:
        print(f"Temporal server: {line}")
    else:
        print(f"Temporal server: {line} at {info.address} (pid {info.pid})")
        print(f"Web UI: {info.ui_url}")
        print(f"Database: {info.db_path}")
    return EXIT_OK


async def _place(args) -> int:
    from .checkout import place_order, validate_order
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
    keys = ("order_id", "status", "payment_id", "shipment_id", "compensations", "error")
    print(json.dumps({key: getattr(result, key) for key in keys}), flush=True)
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
    result = await run_chaos(chaos_config, LineProgress(sys.stderr))
    print(json.dumps(result.to_dict()) if args.json else result.report())
    return EXIT_OK if result.ok else EXIT_INCONSISTENT


def _lab(args) -> int:
    info = connection.ensure_server()
    print(f"Temporal server: {info.address} (namespace {info.namespace})")
    print(f"Temporal Web UI: {info.ui_url or 'set TEMPORAL_UI_URL to show it here'}")
    notebooks = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip=127.0.0.1",
        f"--port={args.port}",
        f"--ServerApp.root_dir={notebooks}",
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
        handler = {"place": _place, "show": _show, "worker": _worker, "chaos": _chaos}[args.command]
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
