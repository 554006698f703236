"""The runtime's output, written by a thread of its own: when nobody reads it any more (a
cancelled `pants` client leaves the pipe full), deploys carry on, end well and write their
report, instead of blocking on a print."""

from __future__ import annotations

import queue
import sys
import threading

from jiti_deploy import masking

_lines: queue.Queue = queue.Queue()
_broken = threading.Event()


def _write_lines() -> None:
    while True:
        stream, text = _lines.get()
        try:
            if not _broken.is_set():
                print(text, file=sys.stderr if stream == "err" else sys.stdout, flush=True)
        except OSError:
            _broken.set()  # the reader is gone: drop the rest
        finally:
            _lines.task_done()


threading.Thread(target=_write_lines, name="jiti-output", daemon=True).start()


def log(message: str) -> None:
    _lines.put(("out", masking.mask(message)))


def err(message: str) -> None:
    _lines.put(("err", masking.mask(message)))


def flushed(timeout_s: float) -> bool:
    """Wait until every line is written; False if that took longer (the reader is stuck)."""
    done = threading.Event()
    threading.Thread(target=lambda: (_lines.join(), done.set()), daemon=True).start()
    return done.wait(timeout_s) and not _broken.is_set()
