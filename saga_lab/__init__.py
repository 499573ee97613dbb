"""Saga Lab: the helper package behind the workshop notebooks.

Layers, lowest first (a module imports only from layers below it):

- ``saga``: the compensation helper, workflow-side and generic (only ``temporalio``: copy it);
- ``config``: the saga's step names, task queue names, the data directory, limits;
- ``services``: payment, orders, shipping — plain Python + SQLite, idempotent by key;
- ``faults``: the fault plan (data in the saga's input) and how an activity applies it;
- ``models``: what travels: activity inputs, the saga's input and result, statuses;
- ``failures``: the innermost message of a Temporal failure;
- ``activities``: thin Temporal activities over the services;
- ``codec``: payload encryption, and the codec server that decodes for the Web UI and the CLI;
- ``workflows``: ``OrderSagaWorkflow``, ``NaiveOrderWorkflow``, ``HelloWorkflow`` and their policies,
  ``RoomWorkflow`` (a workshop room);
- ``server``: the embedded Temporal dev server's lifecycle;
- ``connection``: which server, a client for it, search attributes, the learner prefix;
- ``worker``, ``supervisor``: workers in a kernel, in processes, restarted when killed;
- ``room``: the room's client side: a check's verdict sent to the room, the instructor's table;
- ``verdicts``: each exercise's last verdict (PASS / NOT YET), kept in the data directory, sent to
  the room when one runs;
- ``checkout``: placing an order and reading it back across Temporal and the services;
- ``notebook``: ``Lab`` and display helpers (the tables the chaos report prints too);
- ``history``, ``diagrams`` (``plantuml``, ``sequence_view``), ``plots``: evidence from a run's event history;
- ``playground``: a widget to pick faults per step, run a saga and watch it unfold;
- ``chaos``: many sagas under faults and kills, and the invariant checker;
- ``doctor``: is this laptop ready for the workshop (the check at the door);
- ``cli``: the ``saga-lab`` command.

``tests/test_package_shape.py`` holds the package to this list.
"""

__version__ = "0.1.0"
