"""The static site (``make site``): built into a temporary folder, checked as files, then
opened in headless Chromium (its DOM and a screenshot in ``test-artifacts/``).

Only the browser checks need Chromium; without a ``chromium`` binary they fail, saying
how to install it (``.ci/run`` installs it).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from saga_lab import plantuml

try:  # tests/ may or may not become a package
    from .helpers import CHROMIUM_FLAGS as BASE_FLAGS
    from .helpers import find_chromium
except ImportError:
    from helpers import CHROMIUM_FLAGS as BASE_FLAGS
    from helpers import find_chromium

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM_FLAGS = [*BASE_FLAGS, "--window-size=1200,900"]


def _site_module():
    spec = importlib.util.spec_from_file_location("saga_lab_site_tool", ROOT / "tools" / "site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built once; every diagram must come from ONE Java start."""
    from plantuml_markdown.plantuml_markdown import PlantUMLPreprocessor

    out = tmp_path_factory.mktemp("site")
    runs = []
    real_run = subprocess.run

    def counting_run(command, *args, **kwargs):
        if any(str(part).endswith(".jar") for part in command):
            runs.append(command)
        return real_run(command, *args, **kwargs)

    def no_second_java(self, code, img_format):
        raise AssertionError("plantuml_markdown started its own Java: the pre-drawn picture was not found in its cache")

    patcher = pytest.MonkeyPatch()
    patcher.setattr(plantuml, "_cache", {})
    patcher.setattr(plantuml.subprocess, "run", counting_run)
    patcher.setattr(PlantUMLPreprocessor, "_render_local_uml_image", no_second_java)
    try:
        _site_module().build(out, ROOT / "notebooks", ROOT / "diagrams")
    finally:
        patcher.undo()
    assert len(runs) == 1, f"expected one Java start for the whole site, got {len(runs)}"
    return out


def test_index_links_every_page(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)"', index)
    for notebook in NOTEBOOKS:
        assert f"{notebook.stem}.html" in links
    assert "diagrams.html" in links
    for link in links:
        assert (site / link).is_file(), link


def test_pages_link_back_to_the_contents_and_to_each_other(site):
    pages = [site / f"{nb.stem}.html" for nb in NOTEBOOKS] + [site / "diagrams.html"]
    for i, page in enumerate(pages):
        text = page.read_text(encoding="utf-8")
        assert '<nav class="saga-lab"><a href="index.html">Contents</a>' in text, page.name
        if i + 1 < len(pages):
            assert f'href="{pages[i + 1].name}"' in text, f"{page.name} should link to {pages[i + 1].name}"
        assert not re.search(r'<script[^>]+src="https?://', text), f"{page.name} loads a script from the network"


def test_diagrams_page_has_every_diagram_inline(site):
    text = (site / "diagrams.html").read_text(encoding="utf-8")
    design = sorted((ROOT / "diagrams").glob("*.puml"))
    assert text.count("<svg") >= len(design) + 1  # every .puml plus the inline fence
    assert "Syntax Error?" not in text
    for puml in design:
        assert f'href="diagrams/{puml.stem}.svg"' in text  # the link to the source became the picture
        assert (site / "diagrams" / f"{puml.stem}.svg").is_file()


def test_notebook_plantuml_fences_become_pictures(site):
    fenced = [nb for nb in NOTEBOOKS if "```plantuml" in nb.read_text(encoding="utf-8")]
    assert fenced, "no notebook has a ```plantuml fence: this test would check nothing"
    for nb in fenced:
        text = (site / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert '<div class="plantuml"><svg' in text
        assert "SAGA-LAB-DIAGRAM-" not in text


def test_the_command_line_builds_the_site(tmp_path):
    """What `make site` runs; it reuses nothing from the fixture (a fresh process)."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "site.py"),
            "--out",
            str(tmp_path / "site"),
            "--notebooks",
            str(tmp_path / "no-notebooks"),
            "--docs",
            str(ROOT / "diagrams"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "pages + index.html" in done.stdout
    assert (tmp_path / "site" / "diagrams.html").is_file()


# ------------------------------------------------------------------ in a real browser


def _chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.fail("no Chromium (see `python tests/preflight.py`): apt-get install chromium (.ci/run installs it)")
    return found


def _open(page: Path, screenshot: Path, profile: Path) -> str:
    """Load ``page`` headless: return its DOM after scripts ran, and save a screenshot."""
    ARTIFACTS.mkdir(exist_ok=True)
    done = subprocess.run(
        [
            _chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--dump-dom",
            f"--screenshot={screenshot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_diagrams_page_in_chromium(site, tmp_path):
    shot = ARTIFACTS / "site-diagrams.png"
    dom = _open(site / "diagrams.html", shot, tmp_path / "profile")
    assert "<svg" in dom and "The saga in pictures" in dom
    assert shot.stat().st_size > 10_000


def test_a_notebook_page_in_chromium(site, tmp_path):
    assert NOTEBOOKS, "no notebooks found"
    notebook = next((nb for nb in NOTEBOOKS if "```plantuml" in nb.read_text(encoding="utf-8")), NOTEBOOKS[0])
    shot = ARTIFACTS / "site-notebook.png"
    dom = _open(site / f"{notebook.stem}.html", shot, tmp_path / "profile")
    assert '<nav class="saga-lab">' in dom and "jp-Notebook" in dom
    assert shot.stat().st_size > 10_000
