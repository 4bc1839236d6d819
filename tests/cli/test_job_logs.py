"""Logs (issue 17): one ``log:`` path per job, and a command that writes its
own ``{log}`` keeps every line it wrote, with no NUL bytes, outflow's copy of
its stdout and stderr coming after."""

from __future__ import annotations

from pathlib import Path

from outflowtest import make_project, outflow

OWN_LOG = '''
config:
    names: list = ["a", "b"]

task step(name: str):
    output: o = "out/{name}.txt"
    log: "logs/{name}.log"
    shell: "echo to-stdout-1; echo to-stderr >&2; (echo own-1; echo own-2) 2> {log} >&2; \\
            echo to-stdout-2 >> {log}; echo done > {output.o}"

workflow all:
    map(names -> name) { step }
'''


def test_a_command_writing_its_log_keeps_its_lines(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", OWN_LOG)
    proc = outflow(p, "-j", "2")
    for name in ("a", "b"):
        data = (p / "logs" / f"{name}.log").read_bytes()
        assert b"\0" not in data
        assert data.decode().splitlines() == [
            "own-1", "own-2", "to-stdout-2", "to-stdout-1", "to-stderr"]
    assert "own-1" in proc.stdout
    assert sorted(f.name for f in (p / "logs").iterdir()) == ["a.log", "b.log"]


def test_a_rerun_starts_the_commands_log_afresh(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", OWN_LOG)
    outflow(p)
    (p / "out" / "a.txt").unlink()
    outflow(p)
    lines = (p / "logs" / "a.log").read_text().splitlines()
    assert lines == ["own-1", "own-2", "to-stdout-2", "to-stdout-1", "to-stderr"]


def test_the_docs_example_2_to_log(tmp_path: Path) -> None:
    """docs/language.md's ``> {output.bam} 2> {log}``, and a line printed
    after it: the command's first line is not overwritten by outflow's copy
    of what was printed after."""
    p = make_project(tmp_path / "p", '''
        task align():
            output: bam = "out.bam"
            log: "logs/align.log"
            shell: "(echo bam; echo warning-1 >&2; echo warning-2 >&2) > {output.bam} \\
                    2> {log}; echo finished"

        workflow all:
            align
        ''')
    outflow(p)
    assert (p / "logs" / "align.log").read_bytes() == b"warning-1\nwarning-2\nfinished\n"
    assert (p / "out.bam").read_text() == "bam\n"


SHARED_IN_MAP = '''
config:
    names: list = ["a", "b"]

task step(name: str):
    output: o = "out/{name}.txt"
    log: "logs/shared.log"
    shell: "echo {name} > {output.o}"

workflow all:
    map(names -> name) { step }
'''


def test_a_mapped_tasks_fixed_log_is_a_lint_error(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", SHARED_IN_MAP)
    proc = outflow(p, "--lint", check=2)
    assert (f"{p / 'Outflowfile'}:6:5: log pattern 'logs/shared.log' of task 'step' is the "
            "same for every item of the map at line 10: all its jobs would write one "
            "file") in proc.stderr
    outflow(p, check=2)
    assert not (p / "out").exists() and not (p / "logs").exists()


def test_two_tasks_with_one_log_pattern_is_a_lint_error(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        task one(x: str):
            output: o1 = "one.txt"
            log: "logs/{x}.log"
            shell: "touch {output.o1}"

        task two(y: str):
            output: o2 = "two.txt"
            log: "./logs/{y}.log"
            shell: "touch {output.o2}"

        task three():
            output: o3 = "logs/z.txt"
            log: "logs/z.txt"
            shell: "touch {output.o3}"

        config:
            x = "a"
            y = "a"

        workflow all:
            (one, two, three)
        ''')
    proc = outflow(p, "--lint", check=2)
    assert ("log pattern './logs/{y}.log' of task 'two' is also written by task 'one' "
            "(log at line 3)") in proc.stderr
    assert ("log pattern 'logs/z.txt' of task 'three' is also its output 'o3' (at line 12)"
            in proc.stderr)


def test_two_jobs_with_one_log_path_fail_before_the_run(tmp_path: Path) -> None:
    """Patterns that differ, values that make one path: found when the
    jobs' parameters are known, before anything runs."""
    p = make_project(tmp_path / "p", '''
        config:
            first: str = "x"
            second: str = "x.log"

        task one(first: str):
            output: o1 = "one.txt"
            log: "logs/{first}.log"
            shell: "touch {output.o1}"

        task two(second: str):
            output: o2 = "two.txt"
            log: "./logs//{second}"
            shell: "touch {output.o2}"

        workflow all:
            (one, two)
        ''')
    assert "ok" in outflow(p, "--lint").stdout
    for args in (["-n"], []):
        proc = outflow(p, *args, check=2)
        assert ("error: two: its log logs/x.log is also the log of job one; give each job "
                "a log: path of its own") in proc.stderr
    assert not (p / "one.txt").exists() and not (p / "logs").exists()
    outflow(p, "-C", "second=y.log")
    assert (p / "one.txt").exists() and (p / "two.txt").exists()


def test_a_log_that_is_another_jobs_output_fails_before_the_run(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        config:
            name: str = "data.txt"

        task make():
            output: o = "data.txt"
            shell: "echo data > {output.o}"

        task use(name: str):
            input: src = "data.txt"
            output: o = "copy.txt"
            log: "{name}"
            shell: "cp {input.src} {output.o}"

        workflow all:
            make | use
        ''')
    proc = outflow(p, check=2)
    assert "error: use: its log data.txt is an output file of job make" in proc.stderr
    assert not (p / "data.txt").exists()
