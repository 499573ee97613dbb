"""Chaos at scale: many sagas, faults everywhere, worker processes and the server killed, every order checked.

:mod:`.checker` says the saga's promise for one order (read it first), :mod:`.runner` runs the
chaos (``await run_chaos(ChaosConfig(sagas=200, kill_workers=True))``, or ``saga-lab chaos``),
:mod:`.report` says what it found.
"""

from .checker import OrderFacts, check_order
from .report import LOST, ChaosResult, LineProgress, OrderRow
from .runner import DEFAULT_CONCURRENCY, EXIT_INCONSISTENT, ChaosConfig, ChaosConfigError, run_chaos, saga_plan

__all__ = ["DEFAULT_CONCURRENCY", "EXIT_INCONSISTENT", "LOST", "ChaosConfig", "ChaosConfigError", "ChaosResult"]
__all__ += ["LineProgress", "OrderFacts", "OrderRow", "check_order", "run_chaos", "saga_plan"]
