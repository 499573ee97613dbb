"""The capstone's trip services (notebook 12): given and complete, you do not need to change them.

- ``trip_activities.py``: the three bookings and their undos, as activities, over a tiny
  in-memory store with a journal; ``book()`` and ``cancel()`` for the workflow.
- ``trips.py``: run one trip from a notebook cell (a worker, the trip, how it ended).

Your workflow is ``exercises/e12_trip_saga.py``; its check is ``checks/e12_trip_saga.py``.
"""
