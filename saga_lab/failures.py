"""Reading a Temporal failure: the innermost message, what the service or the server said.

An activity's failure reaches the workflow wrapped (``ActivityError("Activity task
failed")`` caused by the ``ApplicationError`` the activity raised), and the history
stores the same chain as protobuf ``Failure`` messages. Both read the same here.
"""

from __future__ import annotations

from typing import Any

from .saga import root_message

__all__ = ["failure_message", "root_message"]


def failure_message(failure: Any) -> str:
    """The innermost non-empty message of a history ``Failure`` (a protobuf message)."""
    message = failure.message
    while failure.HasField("cause"):
        failure = failure.cause
        message = failure.message or message
    return message
