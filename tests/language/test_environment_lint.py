"""``container:`` with ``venv:`` or ``envmodules:`` on one job, on the task or
through a map option, is an error of the Outflowfile: located, saying why,
before anything runs (``--lint`` and every run)."""

from __future__ import annotations

from pathlib import Path

from outflowtest import make_project, outflow

WHY = ("a venv and modules live on this machine, not in the image, so a job in the image "
       "cannot use them")


def test_a_task_with_an_image_and_a_venv_is_a_located_lint_error(tmp_path: Path) -> None:
    p = make_project(tmp_path, """\
        task boxed:
            output: o = "o.txt"
            container: "localhost/x:1"
            venv: "envs/a.txt"
            shell: "echo hi > {output.o}"
        """, {"envs/a.txt": "termcolor==2.3.0\n"})
    done = outflow(p, "--lint", check=2)
    assert (f"{p / 'Outflowfile'}:4:5: task 'boxed': container: cannot be combined with "
            "venv: on one job") in done.stderr
    assert '    venv: "envs/a.txt"\n        ^' in done.stderr
    assert WHY in done.stderr
    ran = outflow(p, "boxed", check=2)  # a run refuses it the same way, running nothing
    assert "cannot be combined with venv:" in ran.stderr
    assert not (p / "o.txt").exists() and not (p / ".outflow/envs").exists()


def test_a_map_option_bringing_an_image_to_a_task_with_modules_is_an_error(
    tmp_path: Path,
) -> None:
    p = make_project(tmp_path, """\
        config:
            samples: list = ["a", "b"]

        task plain(sample: str):
            output: o = "p/{sample}.txt"
            envmodules: "samtools/1.17"
            shell: "echo hi > {output.o}"

        task fine(sample: str):
            output: o = "q/{sample}.txt"
            shell: "echo hi > {output.o}"

        workflow all:
            map(samples -> sample, container="localhost/y:1") { plain | fine }
        """)
    done = outflow(p, "--lint", check=2)
    assert (f"{p / 'Outflowfile'}:14:28: task 'plain' in this map: container: cannot be "
            "combined with envmodules: on one job (through the map option container=)"
            ) in done.stderr
    assert "'fine'" not in done.stderr and WHY in done.stderr


def test_a_task_setting_its_own_image_is_not_mixed_with_a_map_venv(tmp_path: Path) -> None:
    """The task's own directive wins over the map option, as at run time."""
    p = make_project(tmp_path, """\
        config:
            samples: list = ["a"]

        task boxed(sample: str):
            output: o = "p/{sample}.txt"
            container: "localhost/x:1"
            venv: "envs/a.txt"
            shell: "echo hi > {output.o}"

        task other(sample: str):
            output: o = "q/{sample}.txt"
            container: "localhost/x:1"
            shell: "echo hi > {output.o}"

        workflow all:
            map(samples -> sample, container="localhost/z:1") { other }
        """, {"envs/a.txt": "termcolor==2.3.0\n"})
    done = outflow(p, "--lint", check=2)
    assert done.stderr.count("cannot be combined") == 1  # boxed itself; not other via the map
    assert "task 'boxed': container: cannot be combined with venv:" in done.stderr
