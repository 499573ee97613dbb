"""Saga Lab: the helper package behind the workshop notebooks.

Layers, lowest first: ``services`` (plain Python + SQLite), ``activities`` and
``faults`` (Temporal activities over the services), ``saga`` (the compensation
helper), ``workflows``, ``worker``, ``server`` (the embedded Temporal dev
server), ``cli``.
"""

__version__ = "0.1.0"
