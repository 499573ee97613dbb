"""Small display helpers for the notebooks: evidence as tables, source as code, checks that say why.

Every helper shows plain text too, because nbval compares the text form of checked cells.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Iterable
from typing import Any


class Table:
    """Rows of dicts shown as an HTML table in JupyterLab and as aligned text elsewhere."""

    def __init__(self, rows: Iterable[dict], columns: list[str] | None = None, title: str | None = None) -> None:
        self.rows = [dict(row) for row in rows]
        self.columns = columns or list(dict.fromkeys(key for row in self.rows for key in row))
        self.title = title

    def _cells(self) -> list[list[str]]:
        return [["" if row.get(col) is None else str(row.get(col)) for col in self.columns] for row in self.rows]

    def __repr__(self) -> str:
        cells = self._cells()
        widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(self.columns)]
        line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()  # noqa: E731
        out = [self.title] if self.title else []
        out += [line(self.columns), line(["-" * w for w in widths])] + [line(r) for r in cells]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in self._cells())
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Source:
    """The source of a package object, shown highlighted (HTML) or as plain text."""

    def __init__(self, obj: Any) -> None:
        self.text = inspect.getsource(obj)

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            return f"<pre>{html.escape(self.text)}</pre>"
        return highlight(self.text, PythonLexer(), HtmlFormatter(noclasses=True))


def show_source(obj: Any) -> Source:
    return Source(obj)


def check(ok: bool, passed: str, failed: str) -> None:
    """An exercise's verdict in one line: what passed, or what is wrong and what to try."""
    print(f"PASS: {passed}" if ok else f"NOT YET: {failed}")
