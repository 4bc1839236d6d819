"""The command itself: --version, --list, --lint, located errors, bad options,
resources and measurements recorded in the cache."""

from __future__ import annotations

from pathlib import Path

from outflowtest import cache_rows, make_project, outflow

TUTORIAL = (Path(__file__).resolve().parents[2] / "examples" / "tutorial" / "Outflowfile")


def test_version(tmp_path: Path) -> None:
    proc = outflow(tmp_path, "--version")
    assert proc.stdout.strip() == "outflow 0.1.0"


def test_list_shows_workflows_default_and_signatures(tmp_path: Path) -> None:
    make_project(tmp_path, TUTORIAL.read_text())
    proc = outflow(tmp_path, "--list")
    assert "compute_data  (default)" in proc.stdout
    assert "compute(transformed: int, multiplier: int) -> (computation_result: int)  [cpus=5]" \
        in proc.stdout
    assert "gen_data(n: int) -> (raw_data_array: list)" in proc.stdout


def test_list_shows_a_glob_default_as_written(tmp_path: Path) -> None:
    wordcount = TUTORIAL.parent.parent / "wordcount" / "Outflowfile"
    make_project(tmp_path, wordcount.read_text())
    proc = outflow(tmp_path, "--list")
    assert '  samples: list = glob("data/{sample}.txt")' in proc.stdout.splitlines()


def test_lint_ok_and_broken(tmp_path: Path) -> None:
    make_project(tmp_path, TUTORIAL.read_text())
    assert "ok (4 tasks, 1 workflow)" in outflow(tmp_path, "--lint").stdout
    broken = TUTORIAL.read_text().replace("transform | compute", "transform | comptue")
    (tmp_path / "Outflowfile").write_text(broken)
    proc = outflow(tmp_path, "--lint", check=2)
    assert f"{tmp_path / 'Outflowfile'}:26:" in proc.stderr
    assert "unknown task or workflow 'comptue'" in proc.stderr
    assert "did you mean 'compute'?" in proc.stderr
    assert "^" in proc.stderr
    assert "Traceback" not in proc.stderr


CONFIGURED = """
config:
    samples: list = ["A", "B"]
    n: int = 3
    sheet: table = csv("s.csv")

task t(sample: str, n: int):
    output: o = "out/{sample}.txt"
    shell: "echo {n} > {output.o}"

workflow all:
    map(samples -> sample) { t }
"""


def test_lint_and_list_take_the_config_of_the_command_line_as_a_run(tmp_path: Path) -> None:
    p = make_project(tmp_path, CONFIGURED, {
        "s.csv": "a,b\n1,2\n", "over.yaml": "samples: [C]\n", "bad.yaml": "sampels: [C]\n",
        "sheet.yaml": "sheet: other.csv\n",
    })
    listed = outflow(p, "--list", "--configfile", "over.yaml", "-C", "n=7").stdout
    assert listed.endswith("Config:\n"
                           "  samples: list = ['C']  (from over.yaml)\n"
                           "  n: int = 7  (from -C)\n"
                           '  sheet: table = csv("s.csv")\n')
    outflow(p, "--lint", "--configfile", "over.yaml", "-C", "n=7", "-C", "t.n=8")
    # What a run refuses, --lint and --list refuse in the same words, and
    # before anything is written.
    for args in (["--configfile", "bad.yaml"], ["-C", "t.n=x"]):
        run = outflow(p, *args, check=2).stderr
        assert run and outflow(p, "--lint", *args, check=2).stderr == run, args
        assert outflow(p, "--list", *args, check=2).stderr == run, args
    # The sheet a --configfile names is read, as a run reads it.
    assert outflow(p, "--lint", "--configfile", "sheet.yaml", check=2).stderr == (
        f"{p}/Outflowfile:4:20: config 'sheet': no such file: other.csv\n"
        '        sheet: table = csv("s.csv")\n'
        "                       ^\n"
        f"  csv() reads a path relative to the file it is written in ({p})\n")
    assert not (p / "out").exists()
    # Without them, neither reads the config's files.
    (p / "s.csv").unlink()
    assert "ok (1 task, 1 workflow)" in outflow(p, "--lint").stdout
    assert '  sheet: table = csv("s.csv")' in outflow(p, "--list").stdout


def test_syntax_error_has_line_column_caret(tmp_path: Path) -> None:
    make_project(tmp_path, """
        task a() -> (x: int)
            run:
                return 1
    """)
    proc = outflow(tmp_path, check=2)
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'Outflowfile'}:1:")
    assert "expected ':'" in first
    assert proc.stderr.splitlines()[1].strip() == "task a() -> (x: int)"
    assert proc.stderr.splitlines()[2].strip() == "^"


def test_no_outflowfile_and_empty_file(tmp_path: Path) -> None:
    proc = outflow(tmp_path, check=2)
    assert f"no Outflowfile in {tmp_path}" in proc.stderr
    (tmp_path / "Outflowfile").write_text("# nothing here\n")
    proc = outflow(tmp_path, check=2)
    assert "empty" in proc.stderr


def test_bad_config_option(tmp_path: Path) -> None:
    make_project(tmp_path, TUTORIAL.read_text())
    proc = outflow(tmp_path, "--config", "multiplyer=3", check=2)
    assert "multiplyer" in proc.stderr and "multiplier" in proc.stderr
    proc = outflow(tmp_path, "--config", "multiplier=abc", check=2)
    assert "multiplier" in proc.stderr and "int" in proc.stderr
    proc = outflow(tmp_path, "nosuchtarget", check=2)
    assert "unknown target 'nosuchtarget'" in proc.stderr
    proc = outflow(tmp_path, "--resources", "cores=3", check=2)
    assert "expected mem=SIZE" in proc.stderr


def test_resources_cap_serialises_memory_hungry_jobs(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        config:
            items: list = [1, 2, 3]
        task hungry(item: int) -> (out: int):
            mem: "1G"
            run:
                import time
                time.sleep(0.3)
                return item
        task huge():
            mem: "64G"
            run:
                return None
        workflow all:
            map(items -> item) { hungry }
    """)
    outflow(p, "-j", "2", "--resources", "mem=1G")
    spans = sorted(cache_rows(p, "select started, ended from jobs where task='hungry'"))
    assert len(spans) == 3
    assert all(a[1] <= b[0] + 1e-3 for a, b in zip(spans, spans[1:], strict=False))
    proc = outflow(p, "huge", "--resources", "mem=1G", check=1)
    assert "huge" in proc.stderr and "more than the limit" in proc.stderr


def test_cpu_time_and_peak_memory_are_recorded(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task busy() -> (n: int):
            run:
                data = bytearray(150 * 1024 * 1024)
                total = 0
                for i in range(3_000_000):
                    total += i
                return len(data) + total % 2
        task shellbusy():
            output: out = "o.txt"
            shell: '''python3 -c 'x = bytearray(120 * 1024 * 1024); sum(range(2000000))'
                      touch {output.out}'''
        workflow all:
            (busy, shellbusy)
    """)
    outflow(p, "-j", "2")
    rows = dict((r[0], r[1:]) for r in cache_rows(
        p, "select task, cpu_seconds, peak_mem, host, exit_status from jobs"))
    for task in ("busy", "shellbusy"):
        cpu, peak, host, status = rows[task]
        assert cpu > 0.05, task
        assert peak > 100 * 1024 * 1024, task
        assert host and status == 0


def test_a_crashing_task_fails_only_its_job(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        config:
            items: list = [0, 1, 2]
        task fragile(item: int) -> (out: int):
            run:
                import ctypes, os
                if item == 0:
                    ctypes.string_at(0)
                if item == 1:
                    os._exit(3)
                open("survivor", "w").write("ok")
                return item
        workflow all:
            map(items -> item) { fragile }
    """)
    proc = outflow(p, "-j", "1", "-k", check=1)
    assert "error: job fragile item=0 failed" in proc.stderr
    assert "SIGSEGV" in proc.stderr
    assert "error: job fragile item=1 failed" in proc.stderr
    assert (p / "survivor").read_text() == "ok"
    assert "1 ran, 0 up to date, 2 failed" in proc.stderr


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``outflow -n | head -1``: no error about the pipe, the status a shell
    gives a command killed by SIGPIPE."""
    import subprocess

    from outflowtest import outflow_command

    items = ", ".join(str(i) for i in range(3000))
    make_project(tmp_path, f"""
        config:
            items: list = [{items}]
        task t(i: int) -> (o: int):
            run:
                return i
        workflow all:
            map(items -> i) {{ t }}
        """)
    command = " ".join(outflow_command())
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {command} -n | head -1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.stdout == "Would run 3000 jobs:\n"
    assert proc.stderr == ""
    assert proc.returncode == 141
