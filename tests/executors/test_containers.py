"""``container:``: jobs run inside an image, with podman, through the
installed ``outflow`` in temporary projects. The images are built by the
tests (``podman import`` of a busybox root filesystem): no registry is
reachable here."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import envtools
import psutil
import pytest
from envtools import (
    PINNED,
    VENV_VERSION_TASKS,
    all_containers,
    busybox_image,
    podman,
    remove_image,
    running_containers,
    three_jobs_in,
)
from faults import wait_for
from outflowtest import make_project, outflow, outflow_command


@pytest.fixture(scope="module")
def image() -> str:
    podman()
    return busybox_image()


@pytest.fixture(scope="module")
def python_image() -> str:
    podman()
    return envtools.python_image()


@pytest.fixture
def own_image() -> object:
    """A fresh tag for one test, removed afterwards."""
    podman()
    name = f"localhost/outflow-test-own:{uuid.uuid4().hex[:8]}"
    yield name
    remove_image(name)


INSIDE = """\
task inside:
    output: seen = "out/seen.txt"
    container: "{image}"
    cpus: 1
    mem: "64M"
    shell: "cat /etc/outflow-test-image > {{output.seen}}; echo cpus=$OUTFLOW_CPUS >> {{output.seen}}; id -u >> {{output.seen}}; pwd >> {{output.seen}}"

task after(seen: str):
    output: copy = "out/copy.txt"
    shell: "cp {{seen}} {{output.copy}}"

workflow all:
    inside | after
"""  # noqa: E501


def test_shell_job_runs_in_the_image_as_the_caller_in_the_project(
    tmp_path: Path, image: str
) -> None:
    p = make_project(tmp_path, INSIDE.format(image=image))
    outflow(p)
    seen = (p / "out/seen.txt").read_text().splitlines()
    # The marker exists only in the image; the project is mounted at its own path.
    assert seen == ["busybox-image", "cpus=1", str(os.getuid()), str(p)]
    assert (p / "out/copy.txt").read_text() == (p / "out/seen.txt").read_text()
    assert "Would run" not in outflow(p, "-n").stdout  # the same image: nothing to do


def test_a_new_image_under_the_same_tag_reruns_its_jobs(tmp_path: Path, own_image: str) -> None:
    busybox_image(own_image, marker="first")
    p = make_project(tmp_path, INSIDE.format(image=own_image))
    outflow(p)
    assert (p / "out/seen.txt").read_text().splitlines()[0] == "first"
    assert "Would run" not in outflow(p, "-n").stdout
    busybox_image(own_image, marker="second")  # "pulled" again: same tag, new digest
    planned = outflow(p, "-n").stdout
    assert "inside" in planned and "task definition or environment changed" in planned
    outflow(p)
    assert (p / "out/seen.txt").read_text().splitlines()[0] == "second"


def test_dry_run_and_summary_show_the_environment_and_the_image_digest(
    tmp_path: Path, image: str
) -> None:
    p = make_project(tmp_path, INSIDE.format(image=image))
    planned = outflow(p, "-n").stdout
    assert f"inside  no cached result  [container {image}]" in planned
    digest = subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", image],
                            capture_output=True, text=True, check=True).stdout.strip()
    outflow(p)
    import json

    rows = {r["task"]: r for r in json.loads(outflow(p, "--summary", "--format", "json").stdout)}
    assert rows["inside"]["environment"] == f"container {image}"
    assert rows["inside"]["image"] == digest
    assert rows["after"]["environment"] == "" and rows["after"]["image"] is None
    table = outflow(p, "--summary").stdout
    assert "ENVIRONMENT" in table and digest[:12] in table


def test_no_envs_runs_the_task_in_outflows_environment(tmp_path: Path, image: str) -> None:
    p = make_project(tmp_path, f"""\
        task where:
            output: o = "out/where.txt"
            container: "{image}"
            shell: "if [ -e /etc/outflow-test-image ]; then echo image; else echo host; fi > {{output.o}}"
        """)  # noqa: E501
    outflow(p, "where", "--no-envs")
    assert (p / "out/where.txt").read_text() == "host\n"
    outflow(p, "where")  # its key differs: it runs again, in the image
    assert (p / "out/where.txt").read_text() == "image\n"


def test_an_image_that_does_not_exist_fails_its_jobs_once_diagnosed(tmp_path: Path) -> None:
    podman()
    log = tmp_path / "runtime.log"
    wrapper = tmp_path / "podman-logged"  # the real podman, each call written down
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec podman "$@"\n')
    wrapper.chmod(0o755)
    p = make_project(tmp_path / "p",
                     three_jobs_in('container: "localhost/outflow-test-no-such-image:1"'))
    done = outflow(p, "-k", "--container-runtime", str(wrapper), check=1)
    message = (
        "container: image localhost/outflow-test-no-such-image:1 not found by "
        f"{wrapper} ({wrapper} image inspect localhost/outflow-test-no-such-image:1 fails: "
        "Error: inspecting object: localhost/outflow-test-no-such-image:1: image not known)"
    )
    assert done.stderr.count(message) == 3  # each job says why
    assert not (p / "total.txt").exists()  # the job downstream never started
    assert not any((p / "out").glob("*.txt")) if (p / "out").exists() else True
    assert "Traceback" not in done.stderr
    calls = log.read_text().splitlines()
    assert calls == ["image inspect --format {{.Id}} localhost/outflow-test-no-such-image:1"]


def test_a_missing_runtime_fails_the_job_naming_it(tmp_path: Path) -> None:
    p = make_project(tmp_path, """\
        task inside:
            output: o = "o.txt"
            container: "localhost/anything:1"
            shell: "echo hi > {output.o}"
        """)
    done = outflow(p, "inside", "--container-runtime", str(tmp_path / "no-such-podman"),
                   check=1)
    assert "container: no container runtime to run localhost/anything:1" in done.stderr
    assert "Traceback" not in done.stderr and not (p / "o.txt").exists()


PYTHON_BODIES = """\
task inside -> (n: int, seen: str):
    container: "{image}"
    cpus: 1
    run:
        import os, sys
        seen = open("/etc/outflow-test-image").read().strip()
        seen += " " + str(os.path.exists("/etc/os-release")) + " " + os.getcwd()
        print("in the image", file=sys.stderr)
        return {{"n": 41, "seen": seen + " " + os.uname().nodename}}

task again(n: int, seen: str) -> (m: int, seen: str):
    container: "{image}"
    run:
        import os
        host = os.uname().nodename  # the container's: the worker is reused
        return {{"m": n + 1, "seen": seen.replace(" " + host, " same container")}}

task after(m: int, seen: str):
    output: o = "out/after.txt"
    run:
        open(output.o, "w").write(f"{{m}} {{seen}}")

workflow all:
    inside | again | after
"""


def test_run_bodies_run_in_the_images_python_and_pass_their_values(
    tmp_path: Path, python_image: str
) -> None:
    p = make_project(tmp_path, PYTHON_BODIES.format(image=python_image))
    outflow(p)
    # The marker is only in the image, which has no /etc/os-release (the host has).
    assert (p / "out/after.txt").read_text() == f"42 python-image False {p} same container"
    assert Path("/etc/os-release").exists()
    logs = list((p / ".outflow/logs/inside").glob("inside-*.log"))
    assert "in the image" in logs[0].read_text()
    assert not [n for n in running_containers() if n.startswith("outflow-worker-")]
    assert "Would run" not in outflow(p, "-n").stdout


def test_an_image_without_python3_fails_its_run_bodies_clearly(
    tmp_path: Path, image: str
) -> None:
    p = make_project(tmp_path, f"""\
        task py -> (n: int):
            container: "{image}"
            run:
                return 1

        task py2 -> (m: int):
            container: "{image}"
            run:
                return 2

        workflow all:
            (py, py2)
        """)
    done = outflow(p, "-k", check=1)
    why = (f"container {image} has no python3: a run:/call: body needs a Python in the "
           "image (or write the step as shell:/script:)")
    assert done.stderr.count(why) == 2, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("killed", [False, True], ids=["ctrl-c", "sigkill"])
def test_ctrl_c_or_kill_stops_a_python_worker_in_its_container(
    tmp_path: Path, python_image: str, killed: bool
) -> None:
    p = make_project(tmp_path, f"""\
        task slow -> (n: int):
            container: "{python_image}"
            run:
                import time
                open("started", "w").close()
                time.sleep(300)
                return 1
        """)
    proc = subprocess.Popen([*outflow_command(), "slow"], cwd=p, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (p / "started").exists(), what="the job started", proc=proc)
        ours = [n for n in running_containers() if n.startswith("outflow-worker-")]
        assert len(ours) == 1
        proc.send_signal(signal.SIGKILL if killed else signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    if not killed:
        assert proc.returncode != 0 and "interrupted" in err
        assert ours[0] not in running_containers()
        return
    # Killed outright: its guard ends the runtime's client, and the worker in
    # the container sees its pipe closed and ends, mid-job.
    deadline = time.monotonic() + 60
    while ours[0] in running_containers():
        assert time.monotonic() < deadline, "the worker's container outlived outflow"
        time.sleep(0.5)


def test_a_failing_run_body_in_the_image_reports_its_error(
    tmp_path: Path, python_image: str
) -> None:
    p = make_project(tmp_path, f"""\
        task bad -> (n: int):
            container: "{python_image}"
            run:
                raise ValueError("no good in " + open("/etc/outflow-test-image").read().strip())
        """)
    done = outflow(p, "bad", check=1)
    assert "ValueError: no good in python-image" in done.stderr
    assert not [n for n in running_containers() if n.startswith("outflow-worker-")]


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill", "sigkill-guard-too"])
def test_ctrl_c_or_kill_stops_the_container(tmp_path: Path, image: str, how: str) -> None:
    p = make_project(tmp_path, f"""\
        task slow:
            output: o = "o.txt"
            container: "{image}"
            shell: "touch started; if [ -e hold ]; then sleep 300; fi; echo done > {{output.o}}"
        """, {"hold": ""})
    proc = subprocess.Popen([*outflow_command(), "slow"], cwd=p, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (p / "started").exists(), what="the job started", proc=proc)
        ours = [n for n in running_containers() if n.endswith(f"-{proc.pid}")]
        assert len(ours) == 1
        if how == "sigkill-guard-too":  # as a batch job's end kills all its processes
            for child in psutil.Process(proc.pid).children():
                if "-I" in child.cmdline():  # the guard (executors/guard.py)
                    child.kill()
        proc.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (p / "o.txt").exists()
    if how == "ctrl-c":
        assert proc.returncode != 0 and "interrupted" in err
        assert ours[0] not in all_containers()
        return
    (p / "hold").unlink()
    if how == "sigkill":
        # The guard kills the runtime's client, as it kills any job's
        # process group, and removes the container the client leaves.
        wait_for(lambda: ours[0] not in all_containers(), what="the container is removed")
    else:
        assert ours[0] in running_containers()  # left behind, still running its job
    # The next run removes what is left before it starts the job again, and
    # records the job as it ends this time.
    assert "slow" in outflow(p, "slow").stdout
    assert ours[0] not in all_containers()
    assert (p / "o.txt").read_text() == "done\n"
    assert "Would run" not in outflow(p, "-n", "slow").stdout


def test_on_a_slurm_node_the_job_runs_in_its_environment(
    tmp_path: Path, image: str, python_image: str, slurm: str
) -> None:
    """The node job wraps the command the same way (container), runs a run:
    body in a Python worker in its image (its values recorded and passed
    on), and a venv's run: body in the venv's Python."""
    p = make_project(tmp_path / "p", textwrap.dedent(f"""\
        task boxed:
            output: seen = "out/seen.txt"
            container: "{image}"
            shell: "cat /etc/outflow-test-image > {{output.seen}}"

        task pyboxed -> (seen: str):
            container: "{python_image}"
            run:
                import os
                seen = open("/etc/outflow-test-image").read().strip()
                return seen + " " + str(os.path.exists("/etc/os-release")) + " " + os.getcwd()

        task keep_seen(seen: str):
            output: py = "out/pyseen.txt"
            run:
                open(output.py, "w").write(seen)

        task nopython -> (n: int):
            container: "{image}"
            run:
                return 1

        """) + VENV_VERSION_TASKS + """
workflow all:
    (boxed, pyboxed | keep_seen, nopython, version | keep)
""", {"envs/tools.txt": PINNED})
    done = outflow(p, "-k", "--cluster", "slurm", "--cluster-submit", "sbatch", timeout=900,
                   check=1)
    assert (p / "out/seen.txt").read_text() == "busybox-image\n"
    # The marker is only in the image, which has no /etc/os-release (the node has).
    assert (p / "out/pyseen.txt").read_text() == f"python-image False {p}"
    assert (p / "out/v.txt").read_text() == "2.3.0"
    # The local pool's words for an image without python3 (tested above).
    assert (f"container {image} has no python3: a run:/call: body needs a Python in the "
            "image (or write the step as shell:/script:)") in done.stderr
    assert "Traceback" not in done.stderr
    assert not [n for n in running_containers() if n.startswith("outflow-worker-")]
    assert "pyboxed" not in outflow(p, "-n", "pyboxed", "keep_seen").stdout
