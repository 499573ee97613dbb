"""Exercise 12's check, the capstone's fault matrix (notebooks/checks/e12_trip_saga.py), on the real dev server.

The skeleton must be told, case by case, what was left booked; the solution must pass
every case; and a saga that registers each undo only once its booking succeeded (the
obvious first try) must be told about the bookings whose replies were lost.
"""

from __future__ import annotations

import importlib
import textwrap

from checks import e12_trip_saga as check_module
from saga_lab import connection, server

#: What the skeleton is told, case by case (it undoes nothing).
SKELETON = """\
PASS     all booked
PASS     flight refused
NOT YET  hotel refused: undone: nothing, expected cancel_flight; still booked: flight, expected nothing
NOT YET  car refused: undone: nothing, expected cancel_hotel then cancel_flight; still booked: flight, hotel, \
expected nothing
PASS     hotel busy twice, then booked
PASS     hotel's reply lost once, then booked
NOT YET  car busy on every attempt (never booked): undone: nothing, expected cancel_hotel then cancel_flight; \
still booked: flight, hotel, expected nothing
NOT YET  hotel booked, its reply lost on every attempt: undone: nothing, expected cancel_hotel then cancel_flight; \
still booked: flight, hotel, expected nothing
NOT YET  car booked, its reply lost on every attempt: undone: nothing, expected cancel_car then cancel_hotel then \
cancel_flight; still booked: flight, hotel, car, expected nothing
NOT YET  car refused, cancel_hotel busy twice: undone: nothing, expected cancel_hotel then cancel_flight; \
still booked: flight, hotel, expected nothing
NOT YET  car refused, cancel_hotel refused: undone: nothing, expected cancel_flight; still booked: flight, hotel, \
expected hotel; the run ended FAILED: ActivityError, expected FAILED: CompensationFailed
NOT YET  cancelled while waiting for the car: undone: nothing, expected cancel_hotel then cancel_flight; \
still booked: flight, hotel, expected nothing
NOT YET: 8 of 12 cases are not right yet (the lines above say what happened in each).
"""

#: The obvious first try: each undo registered right after its booking returned, none for the car.
AFTER_SUCCESS = """
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import TripInput, TripResult, book, cancel
    from saga_lab.saga import Saga


@workflow.defn
class TripSagaWorkflow:
    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        result = TripResult(trip.trip_id)
        saga = Saga()
        async with saga:
            result.flight = await book("book_flight", trip)
            saga.add_compensation("cancel_flight", cancel, "cancel_flight", trip)
            result.hotel = await book("book_hotel", trip)
            saga.add_compensation("cancel_hotel", cancel, "cancel_hotel", trip)
            if trip.wait_seconds > 0:
                await workflow.sleep(trip.wait_seconds)
            result.car = await book("book_car", trip)
        return result
"""


async def test_the_skeleton_is_told_what_is_wrong_in_each_case(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await check_module.check(client) is False
    assert capsys.readouterr().out == SKELETON


async def test_the_solution_passes_every_case(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await check_module.check(client) is True
    lines = capsys.readouterr().out.splitlines()
    assert lines[:-1] == [f"PASS     {case.name}" for case in check_module.CASES]
    assert lines[-1].startswith("PASS: all 12 cases")


async def test_undos_registered_only_after_success_miss_the_lost_replies(
    session_server: server.ServerInfo, tmp_path, monkeypatch, capsys
):
    (tmp_path / "e12_after_success.py").write_text(textwrap.dedent(AFTER_SUCCESS), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))  # the worker's sandbox re-imports the workflow from its file
    module = importlib.import_module("e12_after_success")
    client = await connection.connect(session_server)
    assert await check_module.check(client, module) is False
    not_yet = [line for line in capsys.readouterr().out.splitlines() if line.startswith("NOT YET")]
    assert not_yet == [
        "NOT YET  hotel booked, its reply lost on every attempt: undone: cancel_flight, expected cancel_hotel then "
        "cancel_flight; still booked: hotel, expected nothing",
        "NOT YET  car booked, its reply lost on every attempt: undone: cancel_hotel then cancel_flight, expected "
        "cancel_car then cancel_hotel then cancel_flight; still booked: car, expected nothing",
        "NOT YET: 2 of 12 cases are not right yet (the lines above say what happened in each).",
    ]
