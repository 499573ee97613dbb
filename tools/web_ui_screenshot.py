"""Take the Web UI screenshot notebook 09 shows: one saga's page in the Temporal Web UI.

    .venv/bin/python tools/web_ui_screenshot.py                      # writes notebooks/images/09_web_ui.png
    .venv/bin/python tools/web_ui_screenshot.py --out /tmp/ui.png    # somewhere else

It starts an embedded Temporal server of its own (free loopback ports, a temporary data
folder; ``TEMPORAL_*`` settings are ignored, so nothing else is touched), runs one saga
with the package's workers (the shipping service rejects the address, so the saga undoes
the charge and the order: the page shows failures and compensations), opens the saga's
page in headless Chromium through Playwright, waits until the page says how the run ended,
and saves a screenshot. The server and its folder are gone afterwards.

Chromium comes from the system (Debian's ``chromium`` at /usr/bin/chromium); Playwright
(the ``playwright`` package, in the venv) drives it, so no browser is downloaded.

Exit codes: 0 written, 1 something failed (one line on stderr says what).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from saga_lab import connection, server  # noqa: E402
from saga_lab.checkout import place_order  # noqa: E402
from saga_lab.faults import FaultPlan  # noqa: E402
from saga_lab.worker import BackgroundWorkers  # noqa: E402

OUT = ROOT / "notebooks" / "images" / "09_web_ui.png"
CHROMIUM = "/usr/bin/chromium"
#: The saga shown: its id is what the page's heading says.
ORDER_ID = "nb09-web-ui"
FAULTS = ["create_shipment=permanent"]
VIEWPORT = {"width": 1400, "height": 1000}
#: Real seconds the page may take to show how the run ended.
PAGE_TIMEOUT_MS = 30_000


async def run_saga(info: server.ServerInfo, home: Path) -> None:
    client = await connection.connect(info)
    async with BackgroundWorkers(client, home=home):
        await place_order(client, "nb09-warm-up", 4999)  # a fresh server's first saga waits for its pollers
        result = await place_order(client, ORDER_ID, 4999, FaultPlan.parse(FAULTS))
    if result.status != "COMPENSATED":
        raise RuntimeError(f"the saga ended {result.status}, not COMPENSATED: {result.error}")


def screenshot(url: str, out: Path, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url, wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)
            page.get_by_test_id("execution-status").filter(has_text="Completed").wait_for(timeout=PAGE_TIMEOUT_MS)
            page.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"the PNG to write (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"the Chromium binary (default {CHROMIUM})")
    args = parser.parse_args(argv)
    for name in ("temporalio", "temporalio.activity"):  # the rejected shipment is injected on purpose
        logging.getLogger(name).setLevel(logging.ERROR)
    if not os.access(args.chromium, os.X_OK):
        print(f"web_ui_screenshot: no Chromium at {args.chromium}: apt-get install -y chromium", file=sys.stderr)
        return 1
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_UI_URL"):
        os.environ.pop(name, None)
    home = Path(tempfile.mkdtemp(prefix="saga-lab-web-ui-"))
    os.environ["SAGA_LAB_HOME"] = str(home)  # the services' databases, and the server's own home
    settings = server.ServerSettings(home=home, port=server.free_port(), ui_port=server.free_port())
    try:
        info = server.start(settings)
        asyncio.run(run_saga(info, home))
        # This server is the lab's own (its home is SAGA_LAB_HOME), so the workflow id is the order id.
        url = info.workflow_url(ORDER_ID)
        screenshot(url, args.out, args.chromium)
    except Exception as err:  # one line, whatever failed
        print(
            f"web_ui_screenshot: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}", file=sys.stderr
        )
        return 1
    finally:
        server.stop(settings)
        shutil.rmtree(home, ignore_errors=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
