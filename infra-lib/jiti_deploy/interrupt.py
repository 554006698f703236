"""Ctrl-C and SIGTERM (a CI job cancelled) during a deploy.

The first signal asks the run to stop: nothing new starts, no change set is executed after it,
and stacks already being updated are left to CloudFormation (they finish or roll back there;
the next run waits for them). The run then reports what it did and exits 130 (SIGINT) or 143
(SIGTERM). A second signal exits at once.
"""

from __future__ import annotations

import os
import signal
import threading

from jiti_deploy.errors import DeployError

_requested = threading.Event()
_signal: list[int] = []


class Interrupted(DeployError):
    """The run was asked to stop; the message says what state the stack was left in."""


def install(log=print) -> None:
    def handle(signum, _frame) -> None:
        if _requested.is_set():
            os._exit(128 + _signal[0])
        _signal.append(signum)
        _requested.set()
        log(
            f"\n{signal.Signals(signum).name}: starting nothing new; stack updates already running "
            "carry on in CloudFormation (interrupt again to exit at once)"
        )

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def requested() -> bool:
    return _requested.is_set()


def sleep(seconds: float) -> bool:
    """Sleep, waking at once when interrupted; True if interrupted."""
    return _requested.wait(seconds)


def check(message: str) -> None:
    """Raise Interrupted (with `message`) if the run was asked to stop."""
    if _requested.is_set():
        raise Interrupted(message)


def exit_code() -> int:
    return 128 + (_signal[0] if _signal else signal.SIGINT)


def reset() -> None:
    """Forget an interrupt (for tests)."""
    _requested.clear()
    _signal.clear()
