"""The status line: the installed ``outflow`` runs with a pseudo-terminal as
its stdout and stderr, and the tests read what the terminal received, then
replay it the way a terminal draws it. Without a terminal the output stays
plain lines."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import termios
from pathlib import Path

from outflowtest import make_project, outflow, outflow_command

ERASE = "\r\x1b[K"
STATUS = re.compile(r"outflow: (\d+)/(\d+) done, (\d+) running(?:, (\d+) failed)?, [0-9:]+ elapsed")

MAPPED = """
config:
    n: int = 5

task items(n: int) -> (xs: list):
    run:
        return list(range(n))

task slow(x: int):
    output: txt = "out/{x}.txt"
    shell: "sleep 0.3; echo {x} > {output.txt}"

workflow all:
    items | map(xs -> x) { slow }
"""

FAILING = """
task ok_one():
    output: one = "ok1.txt"
    shell: "sleep 0.3; echo 1 > {output.one}"

task bad():
    output: half = "bad.txt"
    shell: "echo going down; exit 3"

task ok_two():
    output: two = "ok2.txt"
    shell: "sleep 0.6; echo 2 > {output.two}"

workflow all:
    (ok_one, bad, ok_two)
"""


def on_terminal(project: Path, *args: str, width: int = 120) -> tuple[int, str]:
    """Run ``outflow ARGS`` with a pseudo-terminal of ``width`` columns as
    its stdout and stderr; its exit status and every character it wrote."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
    env = dict(os.environ, TERM="xterm")
    env.pop("OUTFLOW_DB", None)
    proc = subprocess.Popen(
        outflow_command() + list(args),
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    received = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(leader)
    status = proc.wait(timeout=120)
    return status, received.decode()


def screen(text: str) -> list[str]:
    """The lines a terminal shows after receiving ``text`` (carriage
    returns, erase-to-end-of-line and newlines; nothing else is expected)."""
    rows = [""]
    col = 0
    i = 0
    while i < len(text):
        if text.startswith("\x1b[K", i):
            rows[-1] = rows[-1][:col]
            i += 3
            continue
        ch = text[i]
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            rows.append("")
            col = 0
        else:
            assert ch != "\x1b", f"unexpected escape sequence in {text[i - 1 : i + 8]!r}"
            line = rows[-1]
            rows[-1] = line[:col] + ch + line[col + 1 :]
            col += 1
    return rows[:-1] if rows[-1] == "" else rows


def status_lines(text: str) -> list[str]:
    """Each status line drawn, in order (the pieces of text between line
    ends and erasures that read like one)."""
    return [part for part in re.split(r"\r\n|\r\x1b\[K|\r", text) if STATUS.match(part)]


def test_status_line_redraws_below_finished_jobs_and_is_erased(tmp_path: Path) -> None:
    p = make_project(tmp_path, MAPPED)
    status, text = on_terminal(p, "-j", "2")
    assert status == 0, text
    drawn = status_lines(text)
    assert drawn, text
    # The map's five jobs, then items: six in all once the map is sized.
    finals = [STATUS.match(d) for d in drawn]
    assert any(m and m.group(2) == "6" for m in finals), drawn
    assert any(m and int(m.group(3)) >= 1 for m in finals), drawn
    # Every finished job's line is printed above a redrawn status line.
    for x in range(5):
        assert re.search(rf"\r\x1b\[K\[\d/6\] slow x={x}  [0-9.]+s\r\noutflow: \d/6 done", text)
    # What the terminal shows at the end: the job lines and the summary,
    # no status line left over.
    shown = screen(text)
    assert not any(STATUS.match(line) for line in shown), shown
    assert shown[-1].startswith("outflow: 6 ran, 0 up to date in ")
    assert len(shown) == 7, shown
    assert shown[0].startswith("[1/1] items  ")
    for x in range(5):
        assert sum(bool(re.fullmatch(rf"\[\d/6\] slow x={x}  [0-9.]+s", ln)) for ln in shown) == 1


def test_eta_comes_from_the_cache_on_a_second_run(tmp_path: Path) -> None:
    p = make_project(tmp_path, MAPPED)
    status, first = on_terminal(p, "-j", "1")
    assert status == 0, first
    # Before anything finished the first time, there is nothing to estimate from.
    assert "ETA" not in status_lines(first)[0]
    status, second = on_terminal(p, "-j", "1", "-F")
    assert status == 0, second
    drawn = status_lines(second)
    assert "ETA" in drawn[0], drawn
    # Once the map is sized, what is left of its five jobs of 0.3 s each,
    # one at a time, is expected to take a second or more.
    sized = [d for d in drawn if re.match(r"outflow: [1-3]/6 done", d)]
    assert sized and re.search(r"ETA \d+:\d\d$", sized[0]), drawn
    assert "ETA 0:00" not in sized[0], drawn
    assert not any(STATUS.match(line) for line in screen(second))


def test_eta_with_a_postgresql_cache(tmp_path: Path, pg_url: str) -> None:
    p = make_project(tmp_path, MAPPED)
    status, first = on_terminal(p, "-j", "1", "--db", pg_url)
    assert status == 0, first
    status, second = on_terminal(p, "-j", "1", "-F", "--db", pg_url)
    assert status == 0, second
    assert "ETA" in status_lines(second)[0], second


def test_failures_are_counted_and_printed_above_the_status_line(tmp_path: Path) -> None:
    p = make_project(tmp_path, FAILING)
    status, text = on_terminal(p, "-j", "3", "-k")
    assert status == 1, text
    assert any(
        m and m.group(4) == "1" for m in (STATUS.match(d) for d in status_lines(text))
    ), text
    shown = screen(text)
    assert "error: job bad failed (exit status 3)" in shown
    assert "    going down" in shown
    assert not any(STATUS.match(line) for line in shown), shown
    assert shown[-1].startswith("outflow: 2 ran, 0 up to date, 1 failed in ")


def test_verbose_shows_commands_and_reasons_with_the_status_line(tmp_path: Path) -> None:
    p = make_project(tmp_path, MAPPED)
    status, text = on_terminal(p, "-j", "2", "-v")
    assert status == 0, text
    shown = screen(text)
    assert "start items: no cached result" in shown
    assert "start slow x=3: no cached result" in shown
    assert "    $ sleep 0.3; echo 3 > out/3.txt" in shown
    assert status_lines(text)
    assert not any(STATUS.match(line) for line in shown), shown


def test_quiet_draws_nothing(tmp_path: Path) -> None:
    p = make_project(tmp_path, MAPPED)
    status, text = on_terminal(p, "-j", "2", "-q")
    assert status == 0, text
    assert text == ""


def test_status_line_fits_a_narrow_terminal(tmp_path: Path) -> None:
    p = make_project(tmp_path, MAPPED)
    status, text = on_terminal(p, "-j", "2", width=30)
    assert status == 0, text
    parts = re.split(r"\r\n|\r\x1b\[K|\r", text)
    drawn = [part for part in parts if re.match(r"outflow: \d+/\d+ done", part)]
    assert drawn and all(len(d) <= 29 and d.endswith("...") for d in drawn), drawn
    assert not any(re.match(r"outflow: \d+/\d+ done", line) for line in screen(text))


def test_nothing_to_do_draws_nothing(tmp_path: Path) -> None:
    p = make_project(tmp_path, MAPPED)
    on_terminal(p, "-j", "2")
    status, text = on_terminal(p, "-j", "2")
    assert status == 0, text
    assert ERASE not in text
    assert screen(text) == ["outflow: 0 ran, 6 up to date in " + text.split(" in ")[1].strip()]


def test_without_a_terminal_lines_are_plain(tmp_path: Path) -> None:
    p = make_project(tmp_path, MAPPED)
    proc = outflow(p, "-j", "2", "-v")
    assert "\x1b" not in proc.stdout + proc.stderr
    assert "\r" not in proc.stdout + proc.stderr
    assert "start slow x=0: no cached result" in proc.stdout.splitlines()
    assert any(re.fullmatch(r"\[\d/6\] slow x=4  [0-9.]+s", ln) for ln in proc.stdout.splitlines())
    assert "running" not in proc.stdout
    failing = make_project(tmp_path / "failing", FAILING)
    proc = outflow(failing, "-k", check=1)
    assert "\x1b" not in proc.stdout + proc.stderr
    assert "error: job bad failed (exit status 3)" in proc.stderr
