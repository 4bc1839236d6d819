"""The mistaken Outflowfiles of issue 16 ("Outputs are owned"), shared by
``tests/language/test_ownership.py`` (the checker) and
``tests/cli/test_cli_ownership.py`` (the installed command).

``tests/language/owned/*.outflow`` each start with
``# expect: LINE:COL: message``: the first problem must be that one,
exactly, there. ``@PROJECT@`` in a file stands for the project directory
it is copied into.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

OWNED = Path(__file__).parent / "language" / "owned"
EXPECT = re.compile(r"# expect: (\d+):(\d+): (.+?)\s*\Z")


def corpus() -> list[Path]:
    return sorted(OWNED.glob("*.outflow"))


def install(source: Path, project: Path) -> tuple[Path, int, int, str]:
    """Copy a corpus file into ``project`` as its Outflowfile; its expectation."""
    project.mkdir(parents=True, exist_ok=True)
    real = os.path.realpath(project)
    text = source.read_text(encoding="utf-8").replace("@PROJECT@", real)
    path = project / "Outflowfile"
    path.write_text(text, encoding="utf-8")
    match = EXPECT.match(text.splitlines()[0])
    assert match, f"{source.name}: the first line must be '# expect: LINE:COL: message'"
    return path, int(match.group(1)), int(match.group(2)), match.group(3)


def interrupted_run(project: Path, delay: float = 0.3) -> int:
    """Start ``outflow`` in ``project``, send Ctrl-C (SIGINT to its whole
    process group, as a terminal does) after ``delay`` seconds, and wait for
    every process of it to end; its exit status. A Ctrl-C that lands while
    Python itself is still starting (before outflow's handler is in place)
    ends it with status 1 and a KeyboardInterrupt traceback: that counts as
    stopped at start-up, -2."""
    import signal
    import subprocess
    import time

    from outflowtest import outflow_command

    env = {k: v for k, v in os.environ.items() if k != "OUTFLOW_DB"}
    proc = subprocess.Popen(outflow_command(), cwd=project, env=env, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    time.sleep(delay)
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        pass  # it had ended already
    _, err = proc.communicate(timeout=60)
    status = proc.returncode
    if status == 1 and err.rstrip().endswith(b"KeyboardInterrupt"):
        status = -2
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    return status
