"""The filesystem refusing writes, through the ``outflow`` command: output
directories on a read-only mount, a full disk, a project whose ``.outflow``
cannot be written, output paths escaping the project. As root, file
permissions stop nothing, so read-only bind mounts and tiny tmpfs mounts
are made inside each test's tmp dir (and unmounted after)."""

from __future__ import annotations

from pathlib import Path

from faults import mount, read_only_dir
from outflowtest import lines, make_project, outflow

READ_ONLY = """
task direct():
    output: a = "ro/a.txt"
    shell: "echo a > {output.a}"

task deeper():
    output: b = "ro/sub/b.txt"
    shell: "echo b > {output.b}"

task stale():
    output: c = "ro/old/c.txt"
    shell: "echo c > {output.c}"

task python():
    output: d = "ro/d.txt"
    run:
        open(output.d, "w").write("d")

task fine():
    output: e = "fine.txt"
    shell: "echo e > {output.e}"

workflow all:
    (direct, deeper, stale, python, fine)
"""


def test_outputs_on_a_read_only_filesystem(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", READ_ONLY, files={"ro/old/c.txt": "old\n"})
    with read_only_dir(p / "ro"):
        proc = outflow(p, "-j", "1", "-k", check=1)
        assert (p / "ro" / "old" / "c.txt").read_text() == "old\n"
    err = proc.stderr
    assert "Traceback (most recent call last):\n  File \"/" not in err.split("job python")[0]
    # The command's own error names the file...
    assert "error: job direct failed" in err and "ro/a.txt: Read-only file system" in err
    assert "error: job python failed" in err
    assert "Read-only file system: 'ro/d.txt'" in err
    # ...and what outflow must do before a job starts fails that job, named.
    assert "error: deeper: cannot make the directory ro/sub for ro/sub/b.txt: " \
           "Read-only file system" in err
    # (the old output is kept aside while the job runs: here it cannot be moved)
    assert "error: stale: cannot set aside ro/old/c.txt: Read-only file system (an old output)" \
        in err
    assert lines(p / "fine.txt") == ["e"]
    assert "1 ran, 0 up to date, 4 failed" in err
    assert "outflow.py" not in err and "scheduler.py" not in err


FULL = """
config:
    items: list = [1, 2]

task big():
    output: big = "full/big.bin"
    shell: "head -c 1000000 /dev/zero > {output.big}"

task pybig():
    output: pybig = "full/pybig.bin"
    run:
        with open(output.pybig, "wb") as f:
            f.write(bytes(1000000))

task small(item: int):
    output: small = "full/small-{item}.txt"
    shell: "echo {item} > {output.small}"

workflow all:
    (big, pybig, map(items -> item) { small })
"""


def test_a_full_disk_fails_the_jobs_that_fill_it(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", FULL)
    with mount(p / "full", "-t", "tmpfs", "-o", "size=64k", "tmpfs"):
        proc = outflow(p, "-j", "1", "-k", check=1)
        left = sorted(f.name for f in (p / "full").iterdir())
    err = proc.stderr
    assert "error: job big failed" in err and "No space left on device" in err
    assert "error: job pybig failed" in err and "OSError: [Errno 28] No space left" in err
    # The partial outputs were removed: the small jobs (run after) had room.
    assert left == ["small-1.txt", "small-2.txt"]
    assert "2 ran, 0 up to date, 2 failed" in err


def test_a_full_disk_under_the_cache_is_a_clear_error(tmp_path: Path) -> None:
    # The whole project on a 1 MiB tmpfs: a job fills it with a file that is
    # not an output, so nothing frees the space and the cache cannot record.
    p = tmp_path / "p"
    with mount(p, "-t", "tmpfs", "-o", "size=1m", "tmpfs"):
        make_project(p, """
            config:
                items: list = [1, 2, 3]
            task filler():
                output: done = "filled.txt"
                shell: '''if [ ! -e once ]; then
                              touch once; head -c 2000000 /dev/zero > filler.bin || true
                          fi
                          echo > {output.done}'''
            task small(item: int):
                input: filled = "filled.txt"
                output: small = "small/{item}.txt"
                shell: "echo {item} > {output.small}"
            workflow all:
                filler | map(items -> item) { small }
        """)
        proc = outflow(p, "-j", "1", check=None)
        assert proc.returncode == 2, proc.stderr
        assert "cannot write to the cache database" in proc.stderr
        assert "database or disk is full" in proc.stderr
        assert "free some space on the disk that holds it" in proc.stderr
        assert "Traceback" not in proc.stderr
        (p / "filler.bin").unlink()
        proc = outflow(p, "-j", "1")
        assert "left incomplete by an interrupted run" in proc.stdout
        assert [lines(p / "small" / f"{i}.txt") for i in (1, 2, 3)] == [["1"], ["2"], ["3"]]


SMALL = """
config:
    items: list = [1, 2]
task small(item: int):
    output: small = "small/{item}.txt"
    shell: "echo {item} > {output.small}"
workflow all:
    map(items -> item) { small }
"""


def test_a_read_only_state_directory(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", SMALL)
    outflow(p)
    (p / "small" / "1.txt").unlink()
    with read_only_dir(p / ".outflow"):
        # Planning only reads: it works on a read-only cache.
        proc = outflow(p, "-n")
        assert "small item=1  output file small/1.txt is missing" in proc.stdout
        proc = outflow(p, check=2)
    assert "error: cannot use " in proc.stderr and ".outflow/lock: Read-only file system" \
        in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (p / "small" / "1.txt").exists()
    outflow(p)
    assert lines(p / "small" / "1.txt") == ["1"]


def test_an_output_outside_the_project_is_refused(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", """
        task escape():
            output: x = "../elsewhere.txt"
            shell: "echo x > {output.x}"
        task deep(name: str = "a"):
            output: y = "out/{name}/../../../y.txt"
            shell: "echo y > {output.y}"
        workflow all:
            (escape, deep)
    """)
    proc = outflow(p, check=2)
    err = proc.stderr
    assert f"{p / 'Outflowfile'}:2:" in err
    assert "output pattern '../elsewhere.txt' of task 'escape' writes outside the project" in err
    assert "output pattern 'out/{name}/../../../y.txt' of task 'deep' writes outside" in err
    assert "write it as an absolute path" in err
    assert not (tmp_path / "elsewhere.txt").exists() and not (tmp_path / "y.txt").exists()
    # An absolute path says it on purpose.
    target = tmp_path / "elsewhere.txt"
    (p / "Outflowfile").write_text(f"""
task escape():
    output: x = "{target}"
    shell: "echo x > {{output.x}}"
workflow all:
    escape
""")
    outflow(p)
    assert lines(target) == ["x"]
