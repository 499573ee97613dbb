"""A sequence diagram drawn in Python as SVG, from the PlantUML text :mod:`saga_lab.diagrams` writes.

PlantUML draws the real diagram, but every picture costs a Java start (about a second),
too slow to redraw a saga while it runs. This module draws the same text, in the same
colors, in about a millisecond: the playground (:mod:`saga_lab.playground`) redraws a run
as its history grows, and hands over to PlantUML once the run has ended. It reads only
the small part of PlantUML that :func:`saga_lab.diagrams.history_to_plantuml` writes:
participants, arrows (``->``, ``-->``, ``->x``, ``->o``, from or to the left edge ``[``,
with a color), ``note over`` / ``note right of`` / ``hnote over``, ``== divider ==`` and
the title. A line it does not know is shown as plain text, never an error: the history is
still the truth, the picture is a view of it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

#: The left edge of the picture: where requests from outside (a start, a cancel) come from.
EDGE = "["

_PARTICIPANT = re.compile(r'^participant "(?P<label>[^"]*)" as (?P<alias>\S+)$')
_COLOR = r"#[0-9A-Fa-f]{6}"
_ARROW = re.compile(
    rf"^(?P<src>\[|[\w.]+) ?(?P<body><?-(?:\[(?P<color>{_COLOR})\])?-?>?[xo]?) (?P<dst>[\w.]+) : (?P<label>.*)$"
)
_NOTE = re.compile(
    rf"^(?P<kind>h?note) (?P<where>over|right of|left of) (?P<who>[\w.]+)(?: (?P<color>{_COLOR}))? : (?P<text>.*)$"
)
_DIVIDER = re.compile(r"^== (?P<text>.*) ==$")
_IGNORED = re.compile(r"^(@startuml|@enduml|skinparam\b.*|\s*)$")
_ESCAPED = re.compile(r"~(\*\*|//|__|--|\"\"|<|\[\[)")


def _lines(label: str) -> list[str]:
    """PlantUML's ``\\n`` line breaks, and its ``~`` escapes of creole markup, read back."""
    return [_ESCAPED.sub(r"\1", part) for part in label.split("\\n")]


@dataclass
class Message:
    src: str
    dst: str
    lines: list[str]
    color: str | None = None
    dashed: bool = False
    #: ``>`` an arrow head, ``x`` a lost message (a failed attempt), ``o`` a cancel request.
    end: str = ">"


@dataclass
class Note:
    who: str
    lines: list[str]
    where: str = "over"
    hexagon: bool = False
    color: str | None = None


@dataclass
class Divider:
    text: str


@dataclass
class Sequence:
    """What a PlantUML sequence text says: its title, participants and items, top to bottom."""

    title: str = ""
    participants: dict[str, list[str]] = field(default_factory=dict)  # alias -> label lines
    items: list[Message | Note | Divider] = field(default_factory=list)
    #: Lines not understood (drawn as plain text).
    unknown: list[str] = field(default_factory=list)


def parse(text: str) -> Sequence:
    """Read the PlantUML that :func:`saga_lab.diagrams.history_to_plantuml` writes."""
    seq = Sequence()
    for raw in text.splitlines():
        line = raw.strip()
        if _IGNORED.match(line):
            continue
        if line.startswith("title "):
            seq.title = " ".join(_lines(line[6:]))
        elif match := _PARTICIPANT.match(line):
            label = re.sub(r"</?size(:\d+)?>", "", match["label"])
            seq.participants[match["alias"]] = _lines(label)
        elif match := _ARROW.match(line):
            body = match["body"]
            src, dst = match["src"], match["dst"]
            if body.startswith("<"):  # "[<-- Workflow": the message goes from Workflow to the edge
                src, dst = dst, src
            end = body[-1] if body[-1] in "xo" else ">"
            dashed = body.replace(f"[{match['color']}]", "").count("-") == 2
            seq.items.append(Message(src, dst, _lines(match["label"]), match["color"], dashed, end))
        elif match := _NOTE.match(line):
            seq.items.append(
                Note(match["who"], _lines(match["text"]), match["where"], match["kind"] == "hnote", match["color"])
            )
        elif match := _DIVIDER.match(line):
            seq.items.append(Divider(match["text"]))
        else:
            seq.unknown.append(line)
            seq.items.append(Note(next(iter(seq.participants), EDGE), [line], color="#EEEEEE"))
    return seq


# ------------------------------------------------------------------ drawing

FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"
CHAR_W = 6.3  # average width of an 11 px character
LINE_H = 13
COLUMN_GAP = 190
LEFT = 110
TOP = 50
INK = "#333333"
NOTE_FILL = "#FFF8E1"
HNOTE_FILL = "#ECEFF1"


def _width(lines: list[str]) -> float:
    return max((len(line) for line in lines), default=0) * CHAR_W


def _text(x: float, y: float, lines: list[str], color: str = INK, anchor: str = "start", size: int = 11) -> str:
    spans = "".join(
        f'<tspan x="{x:.0f}" dy="{0 if i == 0 else LINE_H}">{html.escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" fill="{color}" text-anchor="{anchor}" '
        f'paint-order="stroke" stroke="#FFFFFF" stroke-width="3" stroke-linejoin="round">{spans}</text>'
    )


def to_svg(text: str, width: int = 780) -> str:
    """The PlantUML sequence ``text`` as one self-contained ``<svg>`` element (white background)."""
    seq = parse(text)
    x = {alias: LEFT + i * COLUMN_GAP for i, alias in enumerate(seq.participants)}
    x[EDGE] = 12
    width = max(width, int(max(x.values(), default=0) + 110))
    parts: list[str] = []
    y = TOP + 34
    for item in seq.items:
        if isinstance(item, Message):
            x1, x2 = x.get(item.src, 12), x.get(item.dst, 12)
            color = item.color or INK
            label_y = y + LINE_H - 2
            parts.append(_text(min(x1, x2) + 6, label_y, item.lines, color))
            line_y = y + len(item.lines) * LINE_H + 4
            direction = 1 if x2 >= x1 else -1
            tip = x2 - direction * (10 if item.end == "x" else 1)
            dash = ' stroke-dasharray="5,3"' if item.dashed else ""
            parts.append(
                f'<line x1="{x1}" y1="{line_y}" x2="{tip}" y2="{line_y}" stroke="{color}" stroke-width="1.4"{dash}/>'
            )
            if item.end == "x":
                parts.append(
                    f'<path d="M{tip - 5},{line_y - 5} l10,10 M{tip - 5},{line_y + 5} l10,-10" '
                    f'stroke="{color}" stroke-width="2"/>'
                )
            elif item.end == "o":
                parts.append(
                    f'<circle cx="{tip - direction * 4}" cy="{line_y}" r="4" fill="#FFFFFF" stroke="{color}"/>'
                )
            else:
                back = tip - direction * 8
                parts.append(f'<path d="M{tip},{line_y} L{back},{line_y - 4} L{back},{line_y + 4} Z" fill="{color}"/>')
            y = line_y + 10
        elif isinstance(item, Note):
            w = _width(item.lines) + 14
            h = len(item.lines) * LINE_H + 8
            center = x.get(item.who, LEFT)
            left = (
                center + 12
                if item.where == "right of"
                else center - w - 12
                if item.where == "left of"
                else center - w / 2
            )
            left = max(4, left)
            fill = item.color or (HNOTE_FILL if item.hexagon else NOTE_FILL)
            radius = 8 if item.hexagon else 2
            parts.append(
                f'<rect x="{left:.0f}" y="{y}" width="{w:.0f}" height="{h}" rx="{radius}" fill="{fill}" '
                f'stroke="#B0A070" stroke-width="0.8"/>'
            )
            parts.append(_text(left + 7, y + LINE_H, item.lines))
            y += h + 8
        else:
            mid = y + 10
            parts.append(f'<line x1="4" y1="{mid}" x2="{width - 4}" y2="{mid}" stroke="#999999" stroke-width="2"/>')
            w = len(item.text) * CHAR_W + 16
            parts.append(
                f'<rect x="{width / 2 - w / 2:.0f}" y="{mid - 9}" width="{w:.0f}" height="18" fill="#F5F5F5" '
                f'stroke="#999999"/>'
            )
            parts.append(_text(width / 2, mid + 4, [item.text], anchor="middle"))
            y += 26
    height = y + 10
    heads = []
    for alias, label in seq.participants.items():
        cx = x[alias]
        w = max(_width(label[:1]) + 20, _width(label[1:]) * 0.8 + 12, 90)
        heads.append(
            f'<line x1="{cx}" y1="{TOP + 30}" x2="{cx}" y2="{height}" stroke="#BBBBBB" stroke-dasharray="4,4"/>'
        )
        heads.append(
            f'<rect x="{cx - w / 2:.0f}" y="{TOP - 6}" width="{w:.0f}" height="34" rx="3" fill="#F3F6FA" '
            f'stroke="#8FA3BF"/>'
        )
        heads.append(_text(cx, TOP + 8, label[:1], anchor="middle", size=12))
        if len(label) > 1:
            heads.append(_text(cx, TOP + 22, [" ".join(label[1:])], "#666666", anchor="middle", size=9))
    title = _text(8, 20, [seq.title], anchor="start", size=13) if seq.title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="saga-sequence" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{FONT};max-width:100%;height:auto">'
        f'<rect width="{width}" height="{height}" fill="#FFFFFF"/>{title}{"".join(heads)}{"".join(parts)}</svg>'
    )
