"""Run a few real sagas once and store their event histories as JSON for the golden tests.

The stored histories make ``tests/test_diagrams.py`` fast and deterministic: it turns
them into PlantUML text and compares with ``tests/golden/*.puml``, with no server.
Run this again only when the workflow changes on purpose, then review and regenerate
the golden files:

    .venv/bin/python tests/histories/make_histories.py            # a throw-away server
    .venv/bin/python tests/test_diagrams.py --update-golden         # rewrite tests/golden/

It starts its own embedded Temporal dev server on free ports with a temporary data
directory (services' databases included), so the fixed workflow ids below never meet
an earlier run. It takes about 15 s (the timeout case waits out one 2 s timeout). The recording itself is
``tests/record_histories.py``'s, shared with the replay histories.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from record_histories import Case, record_all  # noqa: E402

CASES = [
    Case("golden-happy"),
    Case("golden-shipment-permanent", ("create_shipment=permanent",)),
    Case("golden-charge-transient-2", ("charge=transient:2",)),
    Case("golden-charge-transient-4", ("charge=transient:4",)),
    Case("golden-order-timeout-1", ("create_order=timeout:1",)),
    Case("golden-refund-permanent", ("create_shipment=permanent", "refund=permanent"), ends="FAILED"),
    Case("golden-parallel-compensation", ("create_shipment=permanent",), parallel_compensation=True),
    Case("golden-cancel-update-during-hold", hold_seconds=30, cancel="update"),
    Case("golden-cancel-request-during-hold", hold_seconds=30, cancel="cancel", ends="CANCELED"),
]


if __name__ == "__main__":
    sys.exit(asyncio.run(record_all(CASES, Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)))
