"""Issue 19: profiles, persistent option defaults from ``outflow.toml`` in the
project and from a named profile (``--profile NAME``, ``OUTFLOW_PROFILE``),
the command line winning; ``--show-options`` says where each value comes
from; a bad file is a located error. Driven through the installed
``outflow`` in temporary projects."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from outflowtest import make_project, outflow

# A job that writes the cores it was given (capped by -j) and its two inputs:
# a config entry and a task input's default.
PIPELINE = """
config:
    n: int = 1

task report(n: int, label: str = "plain"):
    output: o = "report.txt"
    cpus: 8
    shell: "echo $OUTFLOW_CPUS {n} {label} > {output.o}"

workflow all:
    report
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", PIPELINE)


@pytest.fixture
def xdg(tmp_path: Path) -> dict[str, str]:
    """An empty user configuration directory, and no profile from the caller's environment."""
    home = tmp_path / "xdg"
    home.mkdir()
    return {"XDG_CONFIG_HOME": str(home), "OUTFLOW_PROFILE": ""}


def report(project: Path) -> str:
    return (project / "report.txt").read_text().strip()


def shown_rows(stdout: str) -> dict[str, str]:
    """``--show-options``' lines as ``{"jobs = 3": "outflow.toml:1"}``."""
    rows = {}
    for line in stdout.splitlines():
        if not line.startswith("#"):
            left, _, right = line.partition("  # ")
            rows[left.strip()] = right
    return rows


def test_outflow_toml_sets_options_and_config_entries(project: Path, xdg: dict[str, str]) -> None:
    write(project / "outflow.toml", """
        jobs = 3
        keep_temp = true
        [config]
        n = 5
        report.label = "fancy"
    """)
    outflow(project, "-q", env=xdg)
    assert report(project) == "3 5 fancy"
    rows = shown_rows(outflow(project, "--show-options", env=xdg).stdout)
    assert rows["jobs = 3"] == "outflow.toml:1"
    assert rows["keep-temp = true"] == "outflow.toml:2"
    assert rows["config.n = 5"] == "outflow.toml:4"
    assert rows['config.report.label = "fancy"'] == "outflow.toml:5"


def test_each_level_of_precedence(project: Path, xdg: dict[str, str]) -> None:
    write(project / "outflow.toml", """
        jobs = 2
        [config]
        n = 1
        label = "project"
    """)
    profile = write(Path(xdg["XDG_CONFIG_HOME"]) / "outflow" / "big.toml", """
        jobs = 4
        [config]
        n = 2
    """)
    outflow(project, "-q", env=xdg)
    assert report(project) == "2 1 project"  # outflow.toml over the defaults
    outflow(project, "-q", "--profile", "big", env=xdg)
    assert report(project) == "4 2 project"  # the profile over outflow.toml, key by key
    outflow(project, "-q", "--profile", "big", "-j", "3", "-C", "n=9", env=xdg)
    assert report(project) == "3 9 project"  # the command line over both
    shown = outflow(project, "--show-options", "--profile", "big", "-C", "n=9", env=xdg).stdout
    assert shown.splitlines()[:2] == [f"# outflow.toml: {project / 'outflow.toml'}",
                                      f"# profile: {profile}"]
    rows = shown_rows(shown)
    assert rows["jobs = 4"] == f"profile {profile}:1"
    assert rows['config.n = "9"'] == "command line"
    assert rows['config.label = "project"'] == "outflow.toml:4"
    assert rows["keep-going = false"] == "default"


def test_outflow_profile_names_the_default_profile(project: Path, xdg: dict[str, str]) -> None:
    home = Path(xdg["XDG_CONFIG_HOME"]) / "outflow"
    write(home / "env.toml", "[config]\nn = 7\n")
    write(home / "other.toml", "[config]\nn = 8\n")
    outflow(project, "-q", env={**xdg, "OUTFLOW_PROFILE": "env"})
    assert report(project).split()[1] == "7"
    outflow(project, "-q", "--profile", "other", env={**xdg, "OUTFLOW_PROFILE": "env"})
    assert report(project).split()[1] == "8"


def test_a_profile_given_as_a_path(project: Path, xdg: dict[str, str]) -> None:
    write(project / "conf" / "ci.toml", "jobs = 1\n")
    write(project / "local.toml", "jobs = 2\n")
    outflow(project, "-q", "--profile", "conf/ci.toml", env=xdg)
    assert report(project) == "1 1 plain"
    outflow(project, "-q", "-F", "--profile", "local.toml", env=xdg)
    assert report(project) == "2 1 plain"


def test_a_flag_set_in_a_file_is_turned_off_on_the_command_line(tmp_path: Path,
                                                                  xdg: dict[str, str]) -> None:
    project = make_project(tmp_path / "t", """
        task make():
            output: t = temp("mid.txt")
            shell: "echo x > {output.t}"

        task use(t: path):
            output: o = "final.txt"
            shell: "cat {t} > {output.o}"

        workflow all:
            make | use
    """)
    write(project / "outflow.toml", "keep-temp = true\n")
    outflow(project, "-q", env=xdg)
    assert (project / "mid.txt").exists()
    outflow(project, "-q", "--no-keep-temp", env=xdg)
    assert not (project / "mid.txt").exists()
    assert (project / "final.txt").read_text() == "x\n"


def test_show_options_lists_every_option_and_runs_nothing(project: Path,
                                                          xdg: dict[str, str]) -> None:
    write(project / "outflow.toml", 'db = "postgresql://me:s3cret@db.example/cache"\n')
    done = outflow(project, "--show-options", "-v", env=xdg)
    rows = [
        ("jobs = (not set)", "default"),
        ("print-commands = false", "default"),
        ("keep-going = false", "default"),
        ("keep-temp = false", "default"),
        ("configfile = []", "default"),
        ("resources = []", "default"),
        ('db = "postgresql://me:***@db.example/cache"', "outflow.toml:1"),  # no password
        ("container-runtime = (not set)", "default"),
        ("no-envs = false", "default"),
        ("cluster = (not set)", "default"),
        ("workers = (not set)", "default"),
        ("cluster-submit = (not set)", "default"),
        ("cpus-per-task = (not set)", "default"),
        ("mem = (not set)", "default"),
        ("time = (not set)", "default"),
        ("partition = (not set)", "default"),
        ('cluster-args = ""', "default"),
        ("latency-wait = 5.0", "default"),
        ("no-cluster-arrays = false", "default"),
        ("max-submit-rate = (not set)", "default"),
        ("quiet = false", "default"),
        ("verbose = true", "command line"),
    ]
    width = max(len(left) for left, _ in rows) + 2  # the sources in one column
    assert done.stdout.splitlines() == [f"# outflow.toml: {project / 'outflow.toml'}"] + [
        f"{left.ljust(width)}# {right}" for left, right in rows
    ]
    assert not (project / "report.txt").exists() and not (project / ".outflow").exists()


def test_show_options_without_outflow_toml(tmp_path: Path, xdg: dict[str, str]) -> None:
    done = outflow(tmp_path, "--show-options", "-j", "2", env=xdg)
    lines = done.stdout.splitlines()
    assert lines[0] == f"# outflow.toml: none in {tmp_path}"
    assert lines[1].startswith("jobs = 2  ") and lines[1].endswith("  # command line")
    assert all(line.endswith("# default") for line in lines[2:])


def test_the_environment_comes_between_the_command_line_and_the_files(
    project: Path, xdg: dict[str, str]
) -> None:
    write(project / "outflow.toml", 'db = "from-file.db"\n')
    shown = outflow(project, "--show-options", env={**xdg, "OUTFLOW_DB": "from-env.db"}).stdout
    assert 'db = "from-env.db"' in shown and "# environment OUTFLOW_DB" in shown
    outflow(project, "-q", env={**xdg, "OUTFLOW_DB": "from-env.db"})
    assert (project / "from-env.db").exists() and not (project / "from-file.db").exists()


def test_a_profile_sets_the_postgresql_cache(project: Path, xdg: dict[str, str],
                                             pg_url: str) -> None:
    import sqlalchemy as sa

    write(Path(xdg["XDG_CONFIG_HOME"]) / "outflow" / "shared.toml", f'db = "{pg_url}"\n')
    outflow(project, "-q", "--profile", "shared", env=xdg)
    assert report(project).split()[1:] == ["1", "plain"]
    assert not (project / ".outflow" / "outflow.db").exists()
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT task, status FROM jobs")).fetchall()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("report", "done")]
    assert "Nothing to do" in outflow(project, "-n", "--profile", "shared", env=xdg).stdout
    assert "Would run 1 jobs" in outflow(project, "-n", env=xdg).stdout  # the SQLite cache


# ---- errors ---------------------------------------------------------------


def error_of(project: Path, env: dict[str, str], *args: str) -> str:
    done = outflow(project, "-n", *args, check=2, env=env)
    assert done.stdout == ""
    return done.stderr


# (outflow.toml's text, the whole error; "{path}" stands for the file's path)
FILE_ERRORS = {
    "an unknown key suggests the option": ("jbos = 4\n", (
        "{path}:1:1: unknown option 'jbos'\n"
        "    jbos = 4\n"
        "    ^\n"
        "  did you mean 'jobs'? the keys are outflow's long options without the dashes "
        "(outflow --help)\n"
    )),
    "a value of the wrong type": ('cluster = "moab"\njobs = "4"\n', (
        "{path}:1:11: cluster = \"moab\": 'moab' is not one of 'local', 'slurm', 'sge', "
        "'drmaa', 'pbs', 'lsf', 'htcondor'.\n"
        '    cluster = "moab"\n'
        "              ^\n"
        '  for example: cluster = "local"\n'
        "{path}:2:8: jobs: expected a whole number, found the string \"4\"\n"
        '    jobs = "4"\n'
        "           ^\n"
        "  for example: jobs = 4\n"
    )),
    "a TOML syntax error": ("jobs = 4\nquiet true\n", (
        "{path}:2:7: not valid TOML: expected '=' after a key in a key/value pair\n"
        "    quiet true\n"
        "          ^\n"
    )),
    "an option of one command": ("clean = true\n", (
        "{path}:1:1: 'clean' cannot be set in outflow.toml: it says what one command does: "
        "give it on the command line\n"
        "    clean = true\n"
        "    ^\n"
        "  outflow --clean\n"
    )),
    "config entries are checked where they are": ('[config]\nn = "many"\nzz = 3\n', (
        "{path}:3:1: config zz=3: unknown config key 'zz'\n"
        "    zz = 3\n"
        "    ^\n"
        "  known keys: n\n"
        "{path}:2:5: config n=many: expected int\n"
        '    n = "many"\n'
        "        ^\n"
    )),
    "a config entry of the wrong type": ('[config]\nn = "many"\n', (
        "{path}:2:5: config n=many: expected int\n"
        '    n = "many"\n'
        "        ^\n"
    )),
    "config that is not a table": ("config = 3\n", (
        "{path}:1:10: 'config' must be a table of config entries, not the number 3\n"
        "    config = 3\n"
        "             ^\n"
        "  write them under a [config] line: n = 3, or compute.multiplier = 15\n"
    )),
}


@pytest.mark.parametrize("text, expected", FILE_ERRORS.values(), ids=FILE_ERRORS.keys())
def test_a_bad_outflow_toml_is_a_located_error(project: Path, xdg: dict[str, str], text: str,
                                               expected: str) -> None:
    path = write(project / "outflow.toml", text)
    assert error_of(project, xdg) == expected.format(path=path)


def test_a_missing_profile_says_where_it_looked(project: Path, xdg: dict[str, str]) -> None:
    looked = Path(xdg["XDG_CONFIG_HOME"]) / "outflow" / "hpc.toml"
    hint = ('  write the options there (jobs = 4, cluster = "slurm"...), or name a file: '
            "--profile ./cluster.toml\n")
    assert error_of(project, xdg, "--profile", "hpc") == (
        f"error: no profile 'hpc': {looked} does not exist\n" + hint
    )
    assert error_of(project, {**xdg, "OUTFLOW_PROFILE": "hpc"}) == (
        f"error: no profile 'hpc' (from OUTFLOW_PROFILE): {looked} does not exist\n" + hint
    )
    home = {"HOME": str(project), "XDG_CONFIG_HOME": "", "OUTFLOW_PROFILE": ""}
    assert f"{project}/.config/outflow/hpc.toml does not exist" in error_of(
        project, home, "--profile", "hpc")


def test_options_of_one_command_cannot_be_set_in_a_profile(project: Path,
                                                           xdg: dict[str, str]) -> None:
    profile = write(project / "p.toml", "yes = true\nforce_protected = true\nprofile = \"x\"\n")
    err = error_of(project, xdg, "--profile", "p.toml")
    assert f"{profile}:1:1: 'yes' cannot be set in a profile: consent is given one command " \
           "at a time: give it on the command line\n" in err
    assert f"{profile}:2:1: 'force_protected' cannot be set in a profile" in err
    assert f"{profile}:3:1: 'profile' cannot be set in a profile: a profile cannot name " \
           "another: set OUTFLOW_PROFILE, or give --profile\n" in err
    for word in ("directory", "dry-run", "forcerun", "show-options", "format", "report"):
        write(project / "p.toml", f"{word} = 1\n")
        assert f"'{word}' cannot be set in a profile" in error_of(
            project, xdg, "--profile", "p.toml")


def test_a_config_value_from_the_command_line_is_told_as_its(project: Path,
                                                             xdg: dict[str, str]) -> None:
    write(project / "outflow.toml", '[config]\nn = "many"\n')
    assert error_of(project, xdg, "-C", "n=lots").startswith("error: --config n=lots: expected int")


def test_a_text_value_is_read_as_the_entry_type_as_with_dash_c(project: Path,
                                                               xdg: dict[str, str]) -> None:
    write(project / "outflow.toml", '[config]\nn = "12"\n')
    outflow(project, "-q", env=xdg)
    assert report(project).split()[1:] == ["12", "plain"]


@pytest.mark.usefixtures("slurm")
def test_a_file_s_cluster_is_used_and_cluster_local_undoes_it(project: Path,
                                                              xdg: dict[str, str]) -> None:
    write(project / "outflow.toml", 'cluster = "slurm"\ncluster-submit = "sbatch"\n')
    write(project / "Outflowfile", """
        task where(n: int = 1):
            output: o = "where.txt"
            shell: "echo ${{SLURM_JOB_ID:-here}} > {output.o}"
    """)
    outflow(project, "-q", "where", env=xdg, timeout=600)
    assert (project / "where.txt").read_text().strip().isdigit()  # a Slurm job's id
    outflow(project, "-q", "--cluster", "local", "-C", "where.n=2", "where", env=xdg)
    assert (project / "where.txt").read_text() == "here\n"
