"""The ``outflow`` command's first moments: a Ctrl-C (or SIGTERM) while
Python is still loading outflow and reading the command line ends it as
one does later, with one line and status 130 (143), not a traceback or
click's "Aborted!". Nothing has been touched yet, so there is nothing to
clean up; the command installs its own handlers (``cli.StopSignals``) before
it does anything.
"""

from __future__ import annotations

import os
import signal
from typing import Any

_SAID = {signal.SIGINT: (b"outflow: interrupted (Ctrl-C)\n", 130),
         signal.SIGTERM: (b"outflow: terminated (SIGTERM)\n", 143)}


def main() -> None:
    for signum in _SAID:
        signal.signal(signum, _stop_at_start)
    from outflowfile.cli import main as command

    command()


def _stop_at_start(signum: int, _frame: Any) -> None:
    line, status = _SAID[signal.Signals(signum)]
    os.write(2, line)
    os._exit(status)
