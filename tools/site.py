"""Build the workshop as a static site: every notebook (with its stored outputs) and the
Markdown docs in ``diagrams/``, with a table of contents and links between the pages.

    .venv/bin/python tools/site.py --out site        # what `make site` runs

- Notebooks are exported with nbconvert's HTML exporter as they are stored (nothing is
  executed). A ```plantuml fence in a markdown cell is drawn as an inline SVG.
- ``diagrams/*.md`` go through Python-Markdown with ``plantuml_markdown`` (``svg_inline``),
  which runs the *local* PlantUML jar (``plantuml_cmd``), never a server.
- Every diagram of the site (fences and ``diagrams/*.puml``) is drawn with ONE Java start:
  they are drawn first in one batch and handed to ``plantuml_markdown`` through its cache
  directory, so it finds each picture ready (a fence it did not foresee still works; it
  just costs plantuml_markdown one Java start of its own).
- Links between pages (``*.ipynb``, ``*.md``, ``*.puml``) are rewritten to the site's pages,
  and scripts from CDNs are left out, so the site works offline from ``file://``.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from zlib import adler32

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from saga_lab import plantuml  # noqa: E402

FENCE = re.compile(
    r"^(?P<indent>[ ]*)(?P<fence>```|~~~)[ ]*\{?\.?plantuml\}?[ ]*\n(?P<code>.*?)\n(?P=indent)(?P=fence)[ ]*$",
    re.M | re.S,
)
EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>\s*", re.I)
PLACEHOLDER = "SAGA-LAB-DIAGRAM-"
HREF = re.compile(r"(href|src)=\"(?!https?:|mailto:|#|data:)([^\"#?]+)([#?][^\"]*)?\"")

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 0 auto;
       padding: 0 1.5rem 3rem; color: #222; line-height: 1.5; }
nav.saga-lab { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: .6rem 0;
               margin-bottom: 1rem; z-index: 10; font-size: .95rem; }
nav.saga-lab a { margin-right: 1rem; text-decoration: none; color: #1F5FA8; }
nav.saga-lab .here { font-weight: 600; margin-right: 1rem; }
table { border-collapse: collapse; } th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; } code { font-size: .92em; }
svg.uml, div.plantuml svg { max-width: 100%; height: auto; display: block; margin: 1rem 0; }
"""

NAV_STYLE = (
    "<style>nav.saga-lab{font-family:system-ui,sans-serif;padding:.6rem 1rem;border-bottom:1px solid #ddd;"
    "background:#fff;position:sticky;top:0;z-index:100}"
    "nav.saga-lab a{margin-right:1rem;text-decoration:none;color:#1F5FA8}"
    "nav.saga-lab .here{font-weight:600;margin-right:1rem}</style>"
)


@dataclass
class Page:
    source: Path
    output: str  # file name inside the site
    title: str
    kind: str  # "notebook" or "doc"
    body: str = ""
    fences: list[str] = field(default_factory=list)


def _title_of_markdown(text: str, fallback: str) -> str:
    match = re.search(r"^#\s+(.+)$", text, re.M)
    return match.group(1).strip() if match else fallback


def _notebook_pages(folder: Path) -> list[Page]:
    pages = []
    for path in sorted(folder.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        text = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown")
        pages.append(Page(path, f"{path.stem}.html", _title_of_markdown(text, path.stem), "notebook"))
    return pages


def _doc_pages(folder: Path) -> list[Page]:
    pages = []
    for path in sorted(folder.glob("*.md")):
        name = f"{folder.name}.html" if path.name.lower() == "readme.md" else f"{folder.name}-{path.stem}.html"
        pages.append(Page(path, name, _title_of_markdown(path.read_text(encoding="utf-8"), path.stem), "doc"))
    return pages


def _plantuml_markdown_codes(text: str, base_dir: Path) -> list[str]:
    """The code plantuml_markdown will draw for each fence (file given by ``source=`` first)."""
    from plantuml_markdown.plantuml_markdown import PlantUMLPreprocessor

    codes = []
    for match in PlantUMLPreprocessor.FENCED_BLOCK_RE.finditer(text):
        code = ""
        if match.group("source"):
            source = base_dir / match.group("source")
            if source.is_file():
                code = source.read_text(encoding="utf-8")
        codes.append(code + match.group("code"))
    return codes


def _nav(pages: list[Page], here: Page | None) -> str:
    links = ['<a href="index.html">Contents</a>' if here is not None else '<span class="here">Contents</span>']
    if here is not None:
        i = pages.index(here)
        if i > 0:
            links.append(f'<a href="{pages[i - 1].output}">&larr; {html.escape(pages[i - 1].title)}</a>')
        links.append(f'<span class="here">{html.escape(here.title)}</span>')
        if i + 1 < len(pages):
            links.append(f'<a href="{pages[i + 1].output}">{html.escape(pages[i + 1].title)} &rarr;</a>')
    return f'<nav class="saga-lab">{"".join(links)}</nav>'


def _rewrite_links(markup: str, page: Page, targets: dict[Path, str]) -> str:
    """Point relative links at the site's pages (a notebook's ``../diagrams/README.md`` too)."""

    def replace(match: re.Match) -> str:
        attr, link, rest = match.group(1), match.group(2), match.group(3) or ""
        resolved = (page.source.parent / link).resolve()
        if resolved in targets:
            return f'{attr}="{targets[resolved]}{rest}"'
        return match.group(0)

    return HREF.sub(replace, markup)


def _svg_only(svg: str) -> str:
    """The ``<svg>`` element alone (no XML prolog), to sit inside an HTML page."""
    return svg[svg.find("<svg") :]


def build(out: Path, notebooks: Path, docs: Path) -> list[Page]:
    import markdown
    from nbconvert import HTMLExporter
    from nbformat import reads

    out.mkdir(parents=True, exist_ok=True)
    (out / "diagrams").mkdir(exist_ok=True)
    pages = _notebook_pages(notebooks) + _doc_pages(docs)
    puml_files = sorted(docs.glob("*.puml"))

    # 1. Every diagram of the site, drawn with one Java start, in a thread while nbconvert works.
    notebook_fences: dict[Path, list[str]] = {}
    for page in pages:
        if page.kind == "notebook":
            cells = json.loads(page.source.read_text(encoding="utf-8")).get("cells", [])
            notebook_fences[page.source] = [
                m.group("code")
                for c in cells
                if c.get("cell_type") == "markdown"
                for m in FENCE.finditer("".join(c.get("source", "")))
            ]
    doc_codes = {
        p.source: _plantuml_markdown_codes(p.source.read_text(encoding="utf-8"), docs) for p in pages if p.kind == "doc"
    }
    everything = [f.read_text(encoding="utf-8") for f in puml_files]
    everything += [c for codes in notebook_fences.values() for c in codes]
    everything += [c for codes in doc_codes.values() for c in codes]
    everything = list(dict.fromkeys(everything))
    drawn: dict = {}

    def draw() -> None:
        try:
            drawn["pictures"] = dict(zip(everything, plantuml.render_svg(everything))) if everything else {}
        except Exception as err:  # re-raised in the main thread
            drawn["error"] = err

    drawing = threading.Thread(target=draw, name="plantuml")
    drawing.start()

    targets = {p.source.resolve(): p.output for p in pages}
    targets.update({f.resolve(): f"diagrams/{f.stem}.svg" for f in puml_files})

    # 2. Notebooks, as stored; each plantuml fence becomes a placeholder, filled in below.
    exporter = HTMLExporter(template_name="lab")
    for page in pages:
        if page.kind != "notebook":
            continue
        nb = reads(page.source.read_text(encoding="utf-8"), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = FENCE.sub(
                    lambda m: f'\n<div class="plantuml">{PLACEHOLDER}{everything.index(m.group("code"))}.</div>\n',
                    cell.source,
                )
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": page.title}})
        body = EXTERNAL_SCRIPT.sub("", body)
        body = re.sub(r"(<body[^>]*>)", lambda m, page=page: m.group(1) + NAV_STYLE + _nav(pages, page), body, count=1)
        page.body = _rewrite_links(body, page, targets)

    drawing.join()
    if "error" in drawn:
        raise drawn["error"]
    pictures = drawn["pictures"]
    for page in pages:
        page.body = re.sub(
            re.escape(PLACEHOLDER) + r"(\d+)\.", lambda m: _svg_only(pictures[everything[int(m.group(1))]]), page.body
        )
    for path in puml_files:
        (out / "diagrams" / f"{path.stem}.svg").write_text(pictures[path.read_text(encoding="utf-8")], encoding="utf-8")
        shutil.copyfile(path, out / "diagrams" / path.name)

    # 3. Markdown docs, through plantuml_markdown with the local jar (pictures already in its cache).
    with tempfile.TemporaryDirectory(prefix="saga-lab-site-") as cache:
        for codes in doc_codes.values():
            for code in codes:
                name = "%08x.svg" % (adler32(code.encode("UTF-8")) & 0xFFFFFFFF)
                Path(cache, name).write_text(pictures[code], encoding="utf-8")
        command = " ".join(plantuml.plantuml_command())
        for page in pages:
            if page.kind != "doc":
                continue
            converter = markdown.Markdown(
                extensions=["fenced_code", "tables", "toc", "plantuml_markdown"],
                extension_configs={
                    "plantuml_markdown": {
                        "format": "svg_inline",
                        "plantuml_cmd": command,
                        "server": "",
                        "servers": [],
                        "base_dir": str(docs),
                        "cachedir": cache,
                        "classes": "uml",
                        "remove_inline_svg_size": False,
                    }
                },
            )
            content = converter.convert(page.source.read_text(encoding="utf-8"))
            page.body = _rewrite_links(_document(page.title, _nav(pages, page) + content), page, targets)

    for page in pages:
        (out / page.output).write_text(page.body, encoding="utf-8")
    (out / "index.html").write_text(_index(pages, puml_files), encoding="utf-8")
    return pages


def _document(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} · Saga Lab</title>'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def _index(pages: list[Page], puml_files: list[Path]) -> str:
    def items(kind: str) -> str:
        return "".join(f'<li><a href="{p.output}">{html.escape(p.title)}</a></li>' for p in pages if p.kind == kind)

    files = "".join(
        f'<li><a href="diagrams/{f.stem}.svg">{f.stem}</a> (<a href="diagrams/{f.name}">source</a>)</li>'
        for f in puml_files
    )
    body = (
        _nav(pages, None)
        + "<h1>Saga Lab</h1><p>The saga pattern on Temporal, step by step: payment &rarr; order &rarr; shipping. "
        "The notebooks are shown with their stored outputs; run them yourself with <code>make lab</code>.</p>"
        + f"<h2>Notebooks</h2><ol>{items('notebook')}</ol>"
        + f"<h2>Diagrams</h2><ul>{items('doc')}</ul>"
        + (f"<h3>Diagram files</h3><ul>{files}</ul>" if files else "")
    )
    return _document("Contents", body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the static site (notebooks + diagram docs).")
    parser.add_argument("--out", type=Path, default=ROOT / "site")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--docs", type=Path, default=ROOT / "diagrams")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        pages = build(args.out, args.notebooks.resolve(), args.docs.resolve())
    except (plantuml.DiagramToolMissing, plantuml.DiagramRenderError) as err:
        print(f"cannot build the site: {err}", file=sys.stderr)
        return 1
    print(f"site: {len(pages)} pages + index.html in {args.out} ({time.perf_counter() - began:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
