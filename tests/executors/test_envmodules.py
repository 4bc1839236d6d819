"""``envmodules:``: the command runs after ``module load`` of each module,
with the machine's Lmod, through the installed ``outflow``."""

from __future__ import annotations

from pathlib import Path

import pytest
from envtools import lmod
from outflowtest import make_project, outflow


@pytest.fixture
def modulepath(tmp_path: Path) -> dict[str, str]:
    """A MODULEPATH with tool/1.0 (sets X=y) and tool/2.0 (X=z)."""
    lmod()
    root = tmp_path / "modulefiles"
    (root / "tool").mkdir(parents=True)
    (root / "tool" / "1.0.lua").write_text('setenv("X", "y")\n')
    (root / "tool" / "2.0.lua").write_text('setenv("X", "z")\n')
    (root / "other").mkdir()
    (root / "other" / "3.lua").write_text('setenv("OTHER", "three")\n')
    return {"MODULEPATH": str(root)}


PROJECT = """\
task see:
    output: o = "out/x.txt"
    envmodules: {modules}
    shell: "echo X=$X OTHER=$OTHER > {{output.o}}"
"""


def test_the_job_sees_what_its_modules_set(tmp_path: Path, modulepath: dict[str, str]) -> None:
    p = make_project(tmp_path / "p", PROJECT.format(modules='"tool/1.0", "other/3"'))
    outflow(p, "see", env=modulepath)
    assert (p / "out/x.txt").read_text() == "X=y OTHER=three\n"
    assert "Would run" not in outflow(p, "see", "-n", env=modulepath).stdout


def test_the_module_names_are_part_of_the_key(tmp_path: Path, modulepath: dict[str, str]) -> None:
    p = make_project(tmp_path / "p", PROJECT.format(modules='"tool/1.0"'))
    outflow(p, "see", env=modulepath)
    (p / "Outflowfile").write_text(PROJECT.format(modules='"tool/2.0"'))
    planned = outflow(p, "see", "-n", env=modulepath).stdout
    assert "task definition or environment changed  [modules tool/2.0]" in planned
    outflow(p, "see", env=modulepath)
    assert (p / "out/x.txt").read_text() == "X=z OTHER=\n"


def test_a_python_script_and_a_module(tmp_path: Path, modulepath: dict[str, str]) -> None:
    p = make_project(tmp_path / "p", """\
        task py:
            output: o = "out/x.txt"
            envmodules: "tool/1.0"
            script: "step.py"
        """, {"step.py": "import os\nopen(os.environ['OUTFLOW_OUTPUT_o'], 'w')"
                         ".write(os.environ['X'])\n"})
    outflow(p, "py", env=modulepath)
    assert (p / "out/x.txt").read_text() == "y"


def test_a_module_that_does_not_exist_fails_its_jobs_naming_it(
    tmp_path: Path, modulepath: dict[str, str]
) -> None:
    p = make_project(tmp_path / "p", """\
        task first:
            output: o = "out/a.txt"
            envmodules: "tool/1.0", "nosuch/9.9"
            shell: "echo ran > {output.o}"

        task second(o: str):
            output: b = "out/b.txt"
            shell: "cp {o} {output.b}"

        workflow all:
            first | second
        """)
    done = outflow(p, env=modulepath, check=1)
    assert "envmodules: cannot load module 'nosuch/9.9'" in done.stderr
    assert '"nosuch/9.9"' in done.stderr  # Lmod's own words
    assert not (p / "out/a.txt").exists() and not (p / "out/b.txt").exists()
    assert "Traceback" not in done.stderr
