"""The engine through the installed ``outflow`` command: what runs, what is
skipped, and why. Side effects (lines appended to ran.log) show which jobs
executed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from outflowtest import cache_rows, lines, make_project, outflow

VALUES = """
config:
    multiplier: int = 2
    n: int = 3
    offset: int = 40

task gen_data(n: int) -> (items: list):
    run:
        open("ran.log", "a").write("gen_data\\n")
        return list(range(n))

task transform(item: int, offset: int) -> (transformed: int):
    run:
        open("ran.log", "a").write(f"transform {item}\\n")
        return item + offset

task compute(transformed: int, multiplier: int) -> (result: int):
    run:
        open("ran.log", "a").write(f"compute {transformed}\\n")
        return transformed * multiplier

task report(result: list):
    output: txt = "report.txt"
    run:
        open("ran.log", "a").write("report\\n")
        open(output.txt, "w").write(repr(result))

workflow all:
    gen_data | map(items -> item) { transform | compute } | report
"""


def test_run_then_rerun_executes_nothing(tmp_path: Path) -> None:
    p = make_project(tmp_path, VALUES)
    outflow(p, "-j", "2")
    assert (p / "report.txt").read_text() == "[80, 82, 84]"
    first = lines(p / "ran.log")
    assert sorted(first) == sorted(
        ["gen_data", "transform 0", "transform 1", "transform 2",
         "compute 40", "compute 41", "compute 42", "report"]
    )
    (p / "ran.log").unlink()
    proc = outflow(p, "-j", "2")
    assert lines(p / "ran.log") == []
    assert "0 ran, 8 up to date" in proc.stdout


def test_config_change_reruns_only_dependent_jobs(tmp_path: Path) -> None:
    p = make_project(tmp_path, VALUES)
    outflow(p)
    (p / "ran.log").unlink()
    outflow(p, "--config", "multiplier=15")
    assert sorted(lines(p / "ran.log")) == ["compute 40", "compute 41", "compute 42", "report"]
    assert (p / "report.txt").read_text() == "[600, 615, 630]"
    # Going back to the old value hits the cache again: values are keyed.
    # report's result for the old inputs is cached too, but report.txt was
    # rewritten since, so report runs again.
    (p / "ran.log").unlink()
    proc = outflow(p, "-n")
    assert "output file report.txt changed since it was made" in proc.stdout
    outflow(p)
    assert lines(p / "ran.log") == ["report"]
    assert (p / "report.txt").read_text() == "[80, 82, 84]"


def test_dry_run_explains_and_runs_nothing(tmp_path: Path) -> None:
    p = make_project(tmp_path, VALUES)
    proc = outflow(p, "-n")
    assert lines(p / "ran.log") == []
    assert "gen_data" in proc.stdout and "no cached result" in proc.stdout
    assert "Maps not sized yet" in proc.stdout
    assert "map(items -> item)" in proc.stdout
    outflow(p)
    proc = outflow(p, "-n", "--config", "multiplier=3")
    assert "compute item=0" in proc.stdout
    assert "parameters changed: multiplier 2 → 3" in proc.stdout
    assert "report" in proc.stdout and "upstream" in proc.stdout
    assert "transform" not in proc.stdout.split("Jobs per task:")[1]
    assert "Jobs per task:" in proc.stdout


def test_editing_a_run_body_reruns_it_and_downstream(tmp_path: Path) -> None:
    p = make_project(tmp_path, VALUES)
    outflow(p)
    (p / "ran.log").unlink()
    text = (p / "Outflowfile").read_text()
    (p / "Outflowfile").write_text(text.replace("return item + offset", "return item + offset + 1"))
    proc = outflow(p, "-n")
    assert "task definition changed" in proc.stdout
    outflow(p)
    # compute 41 and compute 42 ran before (for items 1 and 2): cached.
    assert sorted(lines(p / "ran.log")) == sorted(
        ["transform 0", "transform 1", "transform 2", "compute 43", "report"]
    )


def test_comment_edit_reruns_nothing(tmp_path: Path) -> None:
    p = make_project(tmp_path, VALUES)
    outflow(p)
    (p / "ran.log").unlink()
    text = (p / "Outflowfile").read_text()
    (p / "Outflowfile").write_text(
        text.replace("return item + offset", "return item + offset  # a new comment")
    )
    outflow(p)
    assert lines(p / "ran.log") == []


def test_early_cutoff_same_values_stop_the_rerun(tmp_path: Path) -> None:
    p = make_project(tmp_path, VALUES)
    outflow(p)
    (p / "ran.log").unlink()
    text = (p / "Outflowfile").read_text()
    # A different body that computes the same values.
    (p / "Outflowfile").write_text(text.replace("return item + offset", "return offset + item"))
    outflow(p)
    assert sorted(lines(p / "ran.log")) == ["transform 0", "transform 1", "transform 2"]


def test_forceall_forcerun_until(tmp_path: Path) -> None:
    p = make_project(tmp_path, VALUES)
    outflow(p)
    (p / "ran.log").unlink()
    outflow(p, "-R", "compute")
    assert sorted(lines(p / "ran.log")) == ["compute 40", "compute 41", "compute 42"]
    (p / "ran.log").unlink()
    outflow(p, "-F")
    assert len(lines(p / "ran.log")) == 8
    (p / "ran.log").unlink()
    outflow(p, "-F", "-U", "transform")
    assert sorted(lines(p / "ran.log")) == ["gen_data", "transform 0", "transform 1", "transform 2"]
    (p / "ran.log").unlink()
    outflow(p, "-F", "gen_data")
    assert lines(p / "ran.log") == ["gen_data"]


def test_parallel_jobs_overlap_in_the_cache(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        config:
            items: list = [1, 2, 3, 4]
        task nap(item: int) -> (out: int):
            run:
                import time
                time.sleep(0.5)
                return item
        workflow all:
            map(items -> item) { nap }
    """)
    outflow(p, "-j", "2")
    spans = cache_rows(p, "select started, ended from jobs where task='nap' and status='done'")
    assert len(spans) == 4
    overlapping = sum(
        1 for i, a in enumerate(spans) for b in spans[i + 1:] if a[0] < b[1] and b[0] < a[1]
    )
    assert overlapping >= 1
    outflow(p, "-j", "1", "-F")
    spans = cache_rows(p, "select started, ended from jobs where task='nap' and status='done'")
    assert all(
        not (a[0] < b[1] - 1e-3 and b[0] < a[1] - 1e-3)
        for i, a in enumerate(spans) for b in spans[i + 1:]
    )


def test_failing_python_task_reports_name_log_and_traceback(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        config:
            items: list = [1, 0, 2]
        task invert(item: int) -> (inv: float):
            run:
                print("inverting", item)
                return 1 / item
        task total(inv: list):
            run:
                open("total.txt", "w").write(str(sum(inv)))
        workflow all:
            map(items -> item) { invert } | total
    """)
    proc = outflow(p, "-j", "1", check=1)
    assert "error: job invert item=0 failed" in proc.stderr
    assert "ZeroDivisionError: division by zero" in proc.stderr
    assert f'File "{p / "Outflowfile"}", line 6, in invert' in proc.stderr
    assert "return 1 / item" in proc.stderr
    assert "log: .outflow/logs/invert/" in proc.stderr
    assert not (p / "total.txt").exists()
    log = proc.stderr.split("log: ")[1].split()[0]
    assert "inverting 0" in (p / log).read_text()


def test_failing_shell_task_removes_partial_output(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task half():
            output: out = "half.txt"
            shell: "echo partial > {output.out}; exit 3"
        workflow all:
            half
    """)
    proc = outflow(p, check=1)
    assert "error: job half failed (exit status 3)" in proc.stderr
    assert "command: echo partial > half.txt; exit 3" in proc.stderr
    assert "log: .outflow/logs/half/" in proc.stderr
    assert not (p / "half.txt").exists()


def test_keep_going_runs_independent_jobs(tmp_path: Path) -> None:
    text = """
        config:
            items: list = [0, 1, 2, 3]
        task step(item: int) -> (out: int):
            run:
                if item == 0:
                    raise ValueError("bad item")
                open(f"done-{item}", "w").write("")
                return item
        workflow all:
            map(items -> item) { step }
    """
    p = make_project(tmp_path / "a", text)
    outflow(p, "-j", "1", "-k", check=1)
    assert {"done-1", "done-2", "done-3"} <= set(os.listdir(p))
    q = make_project(tmp_path / "b", text)
    proc = outflow(q, "-j", "1", check=1)
    assert not list(q.glob("done-*"))
    assert "0 ran, 0 up to date, 1 failed, 3 not started (stopped at the failure" in proc.stderr


def test_wrong_type_across_a_pipe_names_task_input_and_types(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task make() -> (value: any):
            run:
                return "abc"
        task use(value: int):
            run:
                print(value)
        workflow all:
            make | use
    """)
    proc = outflow(p, check=1)
    assert "task 'use' input 'value' expects int but receives str ('abc') from make" in proc.stderr


def test_return_type_checked_against_declaration(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task make() -> (value: int):
            run:
                return "abc"
        workflow all:
            make
    """)
    proc = outflow(p, check=1)
    assert "task 'make' returned str ('abc') for output 'value', declared int" in proc.stderr


def test_second_run_on_the_same_project_stops_at_once(tmp_path: Path) -> None:
    import subprocess

    from outflowtest import outflow_command

    p = make_project(tmp_path, """
        task slow():
            output: out = "slow.txt"
            shell: "for i in $(seq 150); do [ -e go ] && break; sleep 0.2; done; touch {output.out}"
        workflow all:
            slow
    """)  # the job holds the project until the test makes `go` (30 s at most)
    first = subprocess.Popen(outflow_command(), cwd=p, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while not (p / ".outflow" / "lock.info").exists() and time.time() < deadline:
            time.sleep(0.05)
        proc = outflow(p, check=2)
        assert "another outflow is running in this project" in proc.stderr
        dry = outflow(p, "-n")
        assert "slow" in dry.stdout
    finally:
        (p / "go").touch()
        first.wait(timeout=60)
    assert first.returncode == 0
    assert (p / "slow.txt").exists()


def test_unstorable_output_names_task_and_output(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task make() -> (fn: any):
            run:
                return {"f": lambda x: x}
        workflow all:
            make
    """)
    proc = outflow(p, check=1)
    assert "task 'make' output 'fn' cannot be stored in the cache" in proc.stderr
    assert "fn['f'] is a function" in proc.stderr


LOGS = """
config:
    n: int = 6

task items(n: int) -> (xs: list):
    run:
        return list(range(n))

task quiet_py(x: int) -> (y: int):
    run:
        return x

task loud_py(x: int) -> (z: int):
    run:
        if x % 2:
            print("odd", x)
        return x

task quiet_sh(x: int):
    output: out = "q/{x}.txt"
    shell: "test -e {log} && echo live > {output.out}"

task loud_sh(x: int):
    output: made = "l/{x}.txt"
    shell: "echo made {x}; echo own {x} >> {log}; touch {output.made}"

workflow all:
    items | map(xs -> x) { (quiet_py, loud_py, quiet_sh, loud_sh) }
"""


def _logs(p: Path, task: str) -> dict[str, str]:
    d = p / ".outflow" / "logs" / task
    return {f.name: f.read_text() for f in d.iterdir()} if d.exists() else {}


def test_a_job_that_printed_nothing_leaves_no_log_file(tmp_path: Path) -> None:
    p = make_project(tmp_path, LOGS)
    outflow(p, "-j", "2")
    # While a shell job runs, its log is at its path (the command saw it).
    assert [(p / "q" / f"{x}.txt").read_text() for x in range(6)] == ["live\n"] * 6
    assert _logs(p, "quiet_py") == {} and _logs(p, "quiet_sh") == {}
    loud = _logs(p, "loud_py")
    assert sorted(loud.values()) == ["odd 1\n", "odd 3\n", "odd 5\n"]
    # A command writing to {log} itself, and what it printed, both kept: its
    # own lines first, what outflow captured appended when it ended.
    assert sorted(_logs(p, "loud_sh").values()) == [f"own {x}\nmade {x}\n" for x in range(6)]
    # The empty files kept for reuse are gone at the end.
    leftovers = [f for f in (p / ".outflow" / "logs").rglob("*") if f.name.startswith(".")]
    assert leftovers == []
    # The cache names each job's log all the same.
    rows = cache_rows(p, "select log from jobs where task = 'quiet_py'")
    assert len(rows) == 6 and all(r[0].startswith(".outflow/logs/quiet_py/") for r in rows)


def test_a_rerun_that_prints_nothing_removes_the_old_log(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task hello():
            output: out = "out.txt"
            shell: "if [ -e say ]; then echo hello; fi; touch {output.out}"
        workflow all:
            hello
    """)
    (p / "say").write_text("")
    outflow(p)
    assert list(_logs(p, "hello").values()) == ["hello\n"]
    (p / "say").unlink()
    outflow(p, "-F")
    assert _logs(p, "hello") == {}


def test_a_failed_job_that_printed_nothing_says_it_has_no_log(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task fail():
            shell: "exit 4"
        workflow all:
            fail
    """)
    proc = outflow(p, check=1)
    assert "log: .outflow/logs/fail/" in proc.stderr
    assert "(none: the job printed nothing)" in proc.stderr
    assert _logs(p, "fail") == {}


def test_retries_rerun_a_flaky_job_and_say_why(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task flaky():
            retries: 2
            output: txt = "ok.txt"
            shell: '''echo try >> tries.log
                      test $(wc -l < tries.log) -ge 3
                      echo ok > {output.txt}'''

        task pyflaky():
            retries: 1
            run:
                import os
                first = not os.path.exists("py.log")
                open("py.log", "a").write("try\\n")
                if first:
                    raise ValueError("first try fails")

        workflow all:
            (flaky, pyflaky)
        """)
    proc = outflow(p, "-j", "1")
    assert lines(p / "tries.log") == ["try"] * 3
    assert (p / "ok.txt").read_text() == "ok\n"
    assert "retry 1/2 flaky: command exited with status 1: echo try >> tries.log" in proc.stdout
    assert "retry 2/2 flaky:" in proc.stdout
    assert "retry 1/1 pyflaky: ValueError: first try fails" in proc.stdout
