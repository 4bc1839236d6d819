"""What no job makes is never a job's to replace (issue 16, past its list):
the system's ``/dev``, ``/proc`` and ``/sys`` are refused as outputs and
logs (``--lint`` for a pattern, ``-n`` and the run for a value), and a
device, a named pipe or a socket found at an output's path anywhere makes
the job fail before it starts, with the thing left where it was. A ``log:``
at such a path is written to, and never taken away afterwards (a log left
empty is removed only when it is a file outflow made)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from aroundfiles import checksums, plant
from outflowtest import make_project, outflow

SYSTEM = """\
task quiet:
    output: o = "out/quiet.txt"
    log: "/dev/null"
    shell: "touch {output.o}"

task shout:
    output: o = "/dev/stdout"
    shell: "echo x"

workflow all:
    quiet | shout
"""

VALUED = """\
config:
    where: str = "/tmp"

task put(where: str):
    output: o = "{where}/x.txt"
    shell: "echo x > {output.o}"

workflow all:
    put
"""


def test_system_paths_are_no_jobs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", SYSTEM)
    of = project / "Outflowfile"
    system = "a system path (in /dev, /proc or /sys; /dev/shm/ excepted)"
    for args in (["--lint"], ["-n"], []):
        proc = outflow(project, *args, check=2)
        lines = proc.stderr.splitlines()
        assert (f"{of}:3:5: log pattern '/dev/null' of task 'quiet' names {system}, which no "
                "job may write") in lines, proc.stderr
        assert (f"{of}:7:13: output pattern '/dev/stdout' of task 'shout' names {system}, "
                "which no job may write") in lines, proc.stderr
    valued = make_project(tmp_path / "valued", VALUED)
    proc = outflow(valued, "-C", "where=/tmp/../sys/kernel", check=2)
    assert (f"{valued / 'Outflowfile'}:5:13: output 'o' of job put[where='/tmp/../sys/kernel'] is "
            f"/sys/kernel/x.txt, {system}") in proc.stderr.splitlines(), proc.stderr
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert not (project / "out").exists()


PIPE = """\
task feed:
    output: o = "PIPE"
    shell: "echo x > {output.o}"

workflow all:
    feed
"""


def test_a_named_pipe_at_an_output_is_left_alone(tmp_path: Path) -> None:
    """An absolute output (written elsewhere on purpose) where a named pipe
    is: the job fails before it starts; the pipe is not moved aside."""
    top = plant(tmp_path / "top", {"proj/data.txt": "data\n"})
    (top / "elsewhere").mkdir()
    pipe = top / "elsewhere" / "pipe"
    os.mkfifo(pipe)
    project = make_project(top / "proj", PIPE.replace("PIPE", str(pipe)))
    before = checksums(top / "proj", skip_state=True)
    proc = outflow(project, check=1)
    assert (f"error: feed: its output {pipe} is a named pipe, which outflow never "
            "moves, replaces or removes (it replaces only files, directories and symbolic "
            "links)") in proc.stderr.splitlines(), proc.stderr
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert os.listdir(top / "elsewhere") == ["pipe"]
    assert checksums(top / "proj", skip_state=True) == before


LOG_AT_DEVICE = """\
task quiet:
    output: o = "out/quiet.txt"
    log: "NULL"
    shell: "touch {output.o}"

task own:
    output: o = "out/own.txt"
    log: "NULL2"
    shell: "touch {output.o} 2> {log}"

workflow all:
    quiet | own
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node (mknod) needs root")
def test_a_log_at_a_device_is_never_taken_away(tmp_path: Path) -> None:
    """A character device like /dev/null at a log's path (outside /dev, where
    a test may make one): the jobs print nothing, and their empty "log" is
    not renamed away to be used again, nor removed."""
    devices = tmp_path / "devices"
    devices.mkdir()
    null, null2 = devices / "null", devices / "null2"
    for node in (null, null2):
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    text = LOG_AT_DEVICE.replace("NULL2", str(null2)).replace("NULL", str(null))
    project = make_project(tmp_path / "proj", text)
    for args in ([], ["-F"]):
        outflow(project, *args)
        assert sorted(os.listdir(devices)) == ["null", "null2"], args
        assert all(stat.S_ISCHR(os.lstat(node).st_mode) for node in (null, null2))
    assert (project / "out" / "quiet.txt").exists() and (project / "out" / "own.txt").exists()


HARD_LINKED = """\
task link:
    input: i = "data.txt"
    output: o = protected("out/linked.txt"), d = protected("outd")
    shell: "ln {input.i} {output.o}; mkdir {output.d}; ln {input.i} {output.d}/x; \\
        echo y > {output.d}/y"

workflow all:
    link
"""


def test_protecting_an_output_never_changes_a_hard_linked_input(tmp_path: Path) -> None:
    """A protected output that is a hard link of the user's input (no copy
    made) shares its mode: outflow leaves such a file as it is, and makes
    read-only only what is the job's alone."""
    project = make_project(tmp_path / "proj", HARD_LINKED, {"data.txt": "data\n"})
    data = project / "data.txt"
    mode = stat.S_IMODE(os.lstat(data).st_mode)
    for args in ([], ["-F", "--force-protected"], ["--clean", "--yes", "--force-protected"]):
        outflow(project, *args)
        assert stat.S_IMODE(os.lstat(data).st_mode) == mode, args
        assert data.read_text() == "data\n"
        if "--clean" not in args:
            assert stat.S_IMODE(os.lstat(project / "outd" / "y").st_mode) & 0o222 == 0
    assert not (project / "out" / "linked.txt").exists()
