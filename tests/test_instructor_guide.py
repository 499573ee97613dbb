"""``docs/instructor.md`` against the notebooks it names: both paths can be followed as written.

The one-day timetable takes the series' notebooks in order and gives the rest as homework, so no notebook
is forgotten; every row names sections that notebook has (``## N. ...``) and exercises whose checks exist;
every section it leaves out is named too; no slot is longer than its notebook's stated time, and a notebook
taken whole gets all of it; its notebook time is about six hours; the README's "Two paths" paragraph says
which notebooks are whole, in part and a demo as the table does; and notebook 00, the README and the guide
give the same exercises for the day. The two-day table takes every notebook once, in order, with the
README's minutes, and its totals add up.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "instructor.md").read_text()
README = (ROOT / "README.md").read_text()
SERIES = sorted(path.stem for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ROW = re.compile(
    r"^\| (?P<time>\d\d:\d\d) \| `(?P<name>\d\d_\w+)` \| (?P<sections>[^|]*) \| (?P<exercise>[^|]*) \|", re.M
)
WRAP_UP = re.compile(r"^\| \d\d:\d\d \| wrap-up \|.*$", re.M)
TIME = re.compile(r"\*\*Time:\*\*\s*about (\d+) minutes\b")
README_ROW = re.compile(r"^\| `(?P<name>\d\d_\w+)` \| (?P<minutes>\d+) min \|", re.M)
DAY = re.compile(r"^\| (?P<day>\d) \| (?P<morning>[^|]*) \| (?P<afternoon>[^|]*) \|$", re.M)


def notebook(name: str) -> dict:
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())


def headings(name: str) -> set[int]:
    text = "\n".join("".join(c["source"]) for c in notebook(name)["cells"] if c["cell_type"] == "markdown")
    return {int(n) for n in re.findall(r"^## (\d+)\. ", text, re.M)}


def stated_minutes(name: str) -> int:
    return int(TIME.search("".join(notebook(name)["cells"][0]["source"])).group(1))


def numbers(spec: str) -> set[int]:
    found: set[int] = set()
    for part in re.findall(r"\d+(?:-\d+)?", spec):
        low, _, high = part.partition("-")
        found |= set(range(int(low), int(high or low) + 1))
    return found


def one_day_rows() -> list[dict]:
    return [match.groupdict() for match in ROW.finditer(GUIDE)]


def homework() -> list[str]:
    return re.findall(r"`(\d\d_\w+)`", WRAP_UP.search(GUIDE).group(0))


def minutes(clock: str) -> int:
    hours, _, mins = clock.partition(":")
    return int(hours) * 60 + int(mins)


def slots() -> list[tuple[int, str]]:
    """(start in minutes, what) for every row of the one-day timetable, breaks and the wrap-up included."""
    return [(minutes(clock), what) for clock, what in re.findall(r"^\| (\d\d:\d\d) \| (\S+) ", GUIDE, re.M)]


def test_the_one_day_path_takes_every_notebook_in_order_and_gives_the_rest_as_homework():
    taught = [row["name"] for row in one_day_rows()]
    assert taught + homework() == SERIES, "the day's notebooks, then the homework, are the series in order"
    assert homework(), "the capstone at least is homework"


def test_the_one_day_path_names_sections_and_exercises_there_are():
    for row in one_day_rows():
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
    for name in homework():
        exercise = f"e{name[:2]}"
        assert list((ROOT / "notebooks" / "checks").glob(f"{exercise}_*.py")), exercise
        assert exercise in WRAP_UP.search(GUIDE).group(0), f"the homework's exercise {exercise} is named"


def test_no_slot_is_longer_than_its_notebook_and_a_whole_notebook_gets_its_time():
    starts = slots()
    length = {what.strip("`"): end - start for (start, what), (end, _) in zip(starts, starts[1:])}
    for row in one_day_rows():
        stated = stated_minutes(row["name"])
        if row["sections"].startswith("all"):
            assert length[row["name"]] == stated, (row["name"], length[row["name"]], stated)
        else:
            assert 0 < length[row["name"]] < stated, (row["name"], length[row["name"]], stated)


def test_the_day_is_about_six_hours_of_notebooks():
    starts = slots()
    teaching = sum(end - start for (start, what), (end, _) in zip(starts, starts[1:]) if what.startswith("`"))
    assert 5 * 60 + 30 <= teaching <= 6 * 60 + 30, f"{teaching} minutes of notebooks"
    assert f"{teaching // 60} h {teaching % 60} min of notebooks" in GUIDE


def test_the_readme_says_what_the_day_takes_as_the_guide_does():
    paragraph = re.search(r"\*\*Two paths\.\*\*(.*?)\n\n", README, re.S).group(1)
    paragraph = " ".join(paragraph.split())
    whole = {int(row["name"][:2]) for row in one_day_rows() if row["sections"].startswith("all")}
    demo = {int(row["name"][:2]) for row in one_day_rows() if "demo" in row["sections"]}
    part = {int(row["name"][:2]) for row in one_day_rows()} - whole - demo
    said = re.search(
        r"keeps the core: (?P<whole>[^;]*) whole; (?P<part>[^;]*) in part; (?P<demo>[^;]*) as a demo", paragraph
    )
    assert said, paragraph
    assert numbers(said["whole"]) == whole, (said["whole"], sorted(whole))
    assert numbers(said["part"]) == part, (said["part"], sorted(part))
    assert numbers(said["demo"]) == demo, (said["demo"], sorted(demo))


def test_the_days_exercises_agree_in_the_guide_the_readme_and_00():
    guide = sorted(row["exercise"].strip() for row in one_day_rows() if row["exercise"].strip() != "none")
    assert guide == ["e00", "e01", "e03", "e04", "e05", "e07"]
    assert "exercises e00, e01, e03, e04, e05 and e07" in README
    setup = notebook("00_setup")
    text = "\n".join("".join(c["source"]) for c in setup["cells"] if c["cell_type"] == "markdown")
    assert "the exercises of 00, 01, 03, 04, 05 and 07" in text


def test_the_two_day_path_takes_every_notebook_once_with_the_readmes_minutes():
    readme_minutes = {match["name"][:2]: int(match["minutes"]) for match in README_ROW.finditer(README)}
    assert sorted(readme_minutes) == [name[:2] for name in SERIES], "the README's table lists every notebook"
    days = {}
    taken = []
    for day in DAY.finditer(GUIDE):
        parts = re.findall(r"\b(\d\d)\b[^,()]*\((\d+)\)", day["morning"] + ", " + day["afternoon"])
        for number, said in parts:
            assert int(said) == readme_minutes[number], (number, said, readme_minutes[number])
        taken += [number for number, _ in parts]
        days[int(day["day"])] = sum(int(said) for _, said in parts)
    assert taken == [name[:2] for name in SERIES], "every notebook once, in order"
    total = sum(readme_minutes.values())
    assert f"{total} minutes of notebooks (the README's table)" in GUIDE
    assert f"({total} minutes)" in README
    assert sorted(days) == [1, 2]
    first, second = (f"{days[day] // 60} h {days[day] % 60:02d} min" for day in (1, 2))
    assert f"Day 1 is {first} of notebooks, day 2 {second}" in GUIDE
