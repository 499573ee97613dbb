"""The capstone of Saga Lab (notebook 11): a trip-booking saga you write yourself.

- ``trip_activities.py``: given, complete: the three bookings, their undos, and a tiny store.
- ``trip_saga.py``: **yours to edit**: ``TripSagaWorkflow``, a skeleton with TODOs.
- ``check.py``: the fault matrix that tells you what works and what does not yet.
"""
