"""``docs/instructor.md`` against the notebooks it names: the one-day path can be followed as written.

Every row of the one-day timetable names a notebook there is, sections that notebook has (``## N. ...``),
and exercises whose checks exist; every section it leaves out is named too; its notebook time is about six
hours; and notebook 00 and the README give the same exercises for the day.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "instructor.md").read_text()
ROW = re.compile(
    r"^\| (?P<time>\d\d:\d\d) \| `(?P<name>\d\d_\w+)` \| (?P<sections>[^|]*) \| (?P<exercise>[^|]*) \|", re.M
)


def headings(name: str) -> set[int]:
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return {int(n) for n in re.findall(r"^## (\d+)\. ", text, re.M)}


def numbers(spec: str) -> set[int]:
    found: set[int] = set()
    for part in re.findall(r"\d+(?:-\d+)?", spec):
        low, _, high = part.partition("-")
        found |= set(range(int(low), int(high or low) + 1))
    return found


def one_day_rows() -> list[dict]:
    return [match.groupdict() for match in ROW.finditer(GUIDE)]


def test_the_one_day_path_names_sections_and_exercises_there_are():
    rows = one_day_rows()
    assert [row["name"][:2] for row in rows] == [f"{n:02d}" for n in range(12)], "00 to 11 in order"
    for row in rows:
        have = headings(row["name"])
        sections = have if row["sections"].startswith("all") else numbers(row["sections"])
        assert sections and sections <= have, (row["name"], sections - have)
        if not row["sections"].startswith("all"):
            left = have - sections
            line = next(line for line in GUIDE.splitlines() if f"`{row['name']}`" in line and "|" in line)
            named = numbers(" ".join(re.findall(r"§(\d+(?:-\d+)?)", line)))
            assert left <= named, f"{row['name']}: sections {sorted(left - named)} are left out but not named"
        exercise = row["exercise"].strip()
        if exercise != "none":
            assert list((ROOT / "notebooks" / "checks").glob(f"{exercise}_*.py")), exercise


def test_the_days_exercises_agree_in_the_guide_the_readme_and_00():
    guide = sorted(row["exercise"].strip() for row in one_day_rows() if row["exercise"].strip() != "none")
    assert guide == ["e00", "e01", "e03", "e04", "e05", "e07"]
    readme = (ROOT / "README.md").read_text()
    assert "exercises e00, e01, e03, e04, e05 and e07" in readme
    setup = json.loads((ROOT / "notebooks" / "00_setup.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in setup["cells"] if c["cell_type"] == "markdown")
    assert "the exercises of 00, 01, 03, 04, 05 and 07" in text


def test_the_day_is_about_six_hours_of_notebooks():
    slots = re.findall(r"^\| (\d\d):(\d\d) \| (\S+) ", GUIDE, re.M)
    starts = [int(h) * 60 + int(m) for h, m, _ in slots]
    teaching = sum(end - start for start, end, (_, _, what) in zip(starts, starts[1:], slots) if what.startswith("`"))
    assert 5 * 60 + 30 <= teaching <= 6 * 60 + 30, f"{teaching} minutes of notebooks"
    assert f"{teaching // 60} h {teaching % 60} min of notebooks" in GUIDE
