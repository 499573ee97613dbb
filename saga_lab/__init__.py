"""Saga Lab: the helper package behind the workshop notebooks.

Layers, lowest first (a module imports only from layers below it):

- ``config``: task queue names, the data directory, limits;
- ``services``: payment, orders, shipping — plain Python + SQLite, idempotent by key;
- ``faults``: the fault plan (data in the saga's input) and how an activity applies it;
- ``activities``: thin Temporal activities over the services;
- ``saga``: the cancellation-safe compensation helper (workflow-side, generic);
- ``workflows``: ``OrderSagaWorkflow``, ``NaiveOrderWorkflow``, ``HelloWorkflow``;
- ``worker``, ``supervisor``: workers in a kernel, in processes, restarted when killed;
- ``server``: the embedded Temporal dev server, or ``TEMPORAL_ADDRESS``;
- ``checkout``: placing an order and reading it back across Temporal and the services;
- ``history``, ``diagrams``, ``plots``: evidence from a run's event history;
- ``chaos``: many sagas under faults and kills, and the invariant checker;
- ``notebook``: small display helpers; ``cli``: the ``saga-lab`` command.
"""

__version__ = "0.1.0"
