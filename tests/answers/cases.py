"""The answers of one exercise, read from their first lines (see the package's docstring)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
_FIRST = re.compile(r'^# (?P<verdict>PASS|NOT YET)(?: naming (?P<words>(?:"[^"]+"(?:, )?)+))?: (?P<why>.+)$')


@dataclass(frozen=True)
class Answer:
    """One answer file: its module name, what the check must say, and why."""

    exercise: str
    name: str
    passes: bool
    words: tuple[str, ...]
    why: str

    @property
    def module(self) -> str:
        return f"answers.{self.exercise}.{self.name}"

    @property
    def path(self) -> Path:
        return HERE / self.exercise / f"{self.name}.py"

    def judge(self, printed: str) -> list[str]:
        """What is wrong with the check's output for this answer (empty: it said the right thing)."""
        lines = printed.strip().splitlines()
        if len(lines) != 1:
            return [f"the check printed {len(lines)} lines, not one: {printed!r}"]
        word = "PASS: " if self.passes else "NOT YET: "
        if not lines[0].startswith(word):
            return [f"{self.name} ({self.why}) must get {word.strip()} but got: {lines[0]}"]
        return [f"the NOT YET line does not name {w!r}: {lines[0]}" for w in self.words if w not in lines[0]]


def cases(exercise: str) -> list[Answer]:
    """Every answer of ``exercise`` (``"e05"``), wrong ones first."""
    found = []
    for path in sorted((HERE / exercise).glob("*.py")):
        if path.name == "__init__.py":
            continue
        first = path.read_text(encoding="utf-8").splitlines()[0]
        match = _FIRST.match(first)
        if not match:
            raise ValueError(f'{path}: the first line must be `# PASS: why` or `# NOT YET naming "words": why`')
        words = tuple(re.findall(r'"([^"]+)"', match.group("words") or ""))
        passes = match.group("verdict") == "PASS"
        if not passes and not words:
            raise ValueError(f"{path}: a wrong answer must name the words its NOT YET line has to say")
        found.append(Answer(exercise, path.stem, passes, words, match.group("why")))
    return sorted(found, key=lambda a: (a.passes, a.name))
