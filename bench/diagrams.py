"""How long drawing takes: all design diagrams (one Java start) and history -> diagram text per saga.

Targets: every ``diagrams/*.puml`` drawn in 5 s or less; one saga's history turned into
PlantUML text in 100 ms or less (no Java involved). Uses the stored histories of
``tests/histories/``, so no server is needed.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from _common import print_table
from temporalio.client import WorkflowHistory

from saga_lab import diagrams, plantuml

ROOT = Path(__file__).resolve().parent.parent
RENDER_RUNS = 3
TEXT_RUNS = 50
RENDER_TARGET_S = 5.0
TEXT_TARGET_MS = 100.0


def main() -> int:
    design = sorted((ROOT / "diagrams").glob("*.puml"))
    sources = [p.read_text(encoding="utf-8") for p in design]
    try:
        plantuml.plantuml_command()
    except plantuml.DiagramToolMissing as err:
        print(err)
        return 1

    renders = []
    for _ in range(RENDER_RUNS):
        plantuml._cache.clear()  # draw for real every run
        began = time.perf_counter()
        plantuml.render_svg(sources)
        renders.append(time.perf_counter() - began)
    one = []
    for _ in range(RENDER_RUNS):
        plantuml._cache.clear()
        began = time.perf_counter()
        plantuml.render_svg(sources[:1])
        one.append(time.perf_counter() - began)
    print(f"drawing diagrams/*.puml to SVG, one Java start per call, {RENDER_RUNS} runs (median)")
    print_table(
        [
            {
                "case": f"all {len(design)} design diagrams",
                "s": f"{statistics.median(renders):.2f}",
                "max s": f"{max(renders):.2f}",
                "target s": f"<= {RENDER_TARGET_S:g}",
                "ok": "yes" if statistics.median(renders) <= RENDER_TARGET_S else "SLOW",
            },
            {
                "case": f"one diagram ({design[0].stem})",
                "s": f"{statistics.median(one):.2f}",
                "max s": f"{max(one):.2f}",
                "target s": "",
                "ok": "",
            },
        ]
    )
    print()

    rows = []
    for path in sorted((ROOT / "tests" / "histories").glob("golden-*.json")):
        history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
        samples = []
        for _ in range(TEXT_RUNS):
            began = time.perf_counter()
            text = diagrams.history_to_plantuml(history)
            samples.append(time.perf_counter() - began)
        median_ms = statistics.median(samples) * 1000
        rows.append(
            {
                "saga (stored history)": path.stem.removeprefix("golden-"),
                "events": len(history.events),
                "lines": text.count("\n"),
                "ms": f"{median_ms:.2f}",
                "max ms": f"{max(samples) * 1000:.2f}",
                "target ms": f"<= {TEXT_TARGET_MS:g}",
                "ok": "yes" if median_ms <= TEXT_TARGET_MS else "SLOW",
            }
        )
    print(f"history -> PlantUML text per saga, {TEXT_RUNS} runs (median)")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
