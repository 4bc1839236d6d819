"""Running what included files define: nested and prefixed includes, what
an edit of an included file reruns (and that the plan memo notices it), the
ownership rule over included files, tracebacks that name them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from outflowtest import lines, make_project, outflow

# rules/words.of: split a text file into its words, count them (a module
# that is used twice under two prefixes, on two different texts).
WORDS = """\
include: "common/report.of"

task split(text: path):
    output: words = "{text}.words"
    shell: "tr ' ' '\\\\n' < {input.text} > {output.words}; echo split {text} >> ran.log"
    input: text = "{text}"

task count(words: path) -> (n: int):
    run:
        open("ran.log", "a").write(f"count {words}\\n")
        return len(open(words).read().split())

workflow all: split | count | report
"""

REPORT = """\
task report(n: int):
    run:
        open("ran.log", "a").write(f"report {n}\\n")
"""

OUTFLOWFILE = """\
include: "rules/words.of" as first
include: "rules/words.of" as second

config:
    one: path = "one.txt"
    two: path = "two.txt"

task take_one(one: path) -> (text: path):
    run:
        return one

task take_two(two: path) -> (text: path):
    run:
        return two

workflow all: (take_one | first_all, take_two | second_all)
"""

FILES = {
    "one.txt": "a b c\n",
    "two.txt": "d e\n",
    "rules/words.of": WORDS,
    "rules/common/report.of": REPORT,
}


def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", OUTFLOWFILE, FILES)


def ran(p: Path) -> list[str]:
    found = sorted(lines(p / "ran.log"))
    (p / "ran.log").unlink(missing_ok=True)
    return found


def checksums(top: Path) -> dict[str, str]:
    return {
        str(path.relative_to(top)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(top.rglob("*"))
        if path.is_file() and ".outflow" not in path.parts
    }


def test_nested_and_prefixed_includes_run(tmp_path: Path) -> None:
    p = project(tmp_path)
    done = outflow(p, "-j", "2")
    assert "outflow: 8 ran" in done.stdout
    assert (p / "one.txt.words").read_text().split() == ["a", "b", "c"]
    assert (p / "two.txt.words").read_text().split() == ["d", "e"]
    assert ran(p) == [
        "count one.txt.words", "count two.txt.words", "report 2", "report 3",
        "split one.txt", "split two.txt",
    ]  # fmt: skip
    assert "Nothing to do" in outflow(p, "-n").stdout
    assert ran(p) == []
    # A prefixed task is a target like any other.
    outflow(p, "-R", "first_count")
    assert ran(p) == ["count one.txt.words"]


def test_editing_an_included_task_reruns_its_jobs_and_no_more(tmp_path: Path) -> None:
    p = project(tmp_path)
    outflow(p, "-j", "2")
    ran(p)
    # The plan memo is written by a plan that finds nothing to do.
    assert "Nothing to do" in outflow(p, "-n").stdout
    assert (p / ".outflow" / "plan-memo").exists()
    report = p / "rules/common/report.of"
    report.write_text(REPORT.replace('f"report {n}\\n"', 'f"report {n}!\\n"'))
    planned = outflow(p, "-n").stdout
    assert "Would run 2 jobs:" in planned, planned
    assert "first_report" in planned and "second_report" in planned
    outflow(p)
    assert ran(p) == ["report 2!", "report 3!"]
    # A comment is not a change of definition.
    report.write_text("# reports\n" + report.read_text())
    assert "Nothing to do" in outflow(p, "-n").stdout
    outflow(p)
    assert ran(p) == []


def test_editing_a_prefixed_module_reruns_both_uses(tmp_path: Path) -> None:
    p = project(tmp_path)
    outflow(p, "-j", "2")
    ran(p)
    words = p / "rules/words.of"
    words.write_text(WORDS.replace("return len(", "return 0 + len("))
    outflow(p)
    # Both counts rerun; their values are the same, so the reports do not.
    assert ran(p) == ["count one.txt.words", "count two.txt.words"]


def test_an_included_file_is_never_owned_at_run_time(tmp_path: Path) -> None:
    rules = (
        'task clobber(name: str = "rules/a"):\n'
        '    output: o = "{name}.of"\n'
        '    shell: "echo > {output.o}"\n'
    )
    p = make_project(tmp_path / "p", 'include: "rules/a.of"\n', {"rules/a.of": rules})
    before = checksums(p)
    done = outflow(p, "clobber", check=2)
    assert done.stderr == (
        f"{p}/rules/a.of:2:13: output 'o' of job clobber[name='rules/a'] is rules/a.of, "
        "a file the Outflowfile includes\n"
        '        output: o = "{name}.of"\n'
        "                ^\n"
        "  outflow replaces a job's outputs when it runs; make the values give another name\n"
    )
    assert checksums(p) == before


def test_a_traceback_names_the_included_file(tmp_path: Path) -> None:
    rules = "task boom() -> (x: int):\n    run:\n        y = 1\n        return 1 // 0\n"
    p = make_project(tmp_path / "p", 'include: "rules/a.of"\n', {"rules/a.of": rules})
    done = outflow(p, "boom", check=1)
    assert (
        f'    File "{p}/rules/a.of", line 4, in boom\n'
        "      return 1 // 0\n"
        "             ~~^^~~\n"
    ) in done.stderr, done.stderr


def test_the_memo_fingerprint_covers_included_files(tmp_path: Path) -> None:
    """The memo answers only for the same texts: after an edit of an
    included file, its fingerprint differs."""
    p = project(tmp_path)
    outflow(p, "-j", "2")
    outflow(p, "-n")
    memo = p / ".outflow" / "plan-memo"
    before = json.loads(memo.read_bytes().split(b"\n", 1)[0])["fingerprint"]
    (p / "rules/words.of").write_text(WORDS + "\n# edited\n")
    outflow(p, "-n")
    after = json.loads(memo.read_bytes().split(b"\n", 1)[0])["fingerprint"]
    assert before != after


def test_clean_never_removes_an_included_file(tmp_path: Path) -> None:
    """A damaged (or hostile) cache lists an included file and the directory
    holding it as a job's outputs, with their stamps as they are now:
    --clean keeps both."""
    import os
    import sqlite3

    rules = 'task make():\n    output: o = "out/a.txt"\n    shell: "echo a > {output.o}"\n'
    p = make_project(tmp_path / "p", 'include: "rules/a.of"\n\nworkflow all: make\n',
                     {"rules/a.of": rules})
    outflow(p)
    with sqlite3.connect(p / ".outflow" / "outflow.db") as conn:
        for row_id, text in conn.execute("SELECT id, files FROM jobs").fetchall():
            files = json.loads(text)
            for path in ("rules/a.of", "rules"):
                st = os.stat(p / path)
                files["out"][path] = [st.st_mtime_ns, st.st_size, None]
            files["out_dirs"] = ["rules", "out"]
            conn.execute("UPDATE jobs SET files = ? WHERE id = ?", (json.dumps(files), row_id))
    done = outflow(p, "--clean", "--yes")
    never = "which --clean never removes"
    assert f"outflow: kept rules/a.of: a file the Outflowfile includes, {never}" in done.stdout
    assert (
        f"outflow: kept rules: it holds a file the Outflowfile includes, {never}" in done.stdout
    ), done.stdout
    assert (p / "rules/a.of").read_text() == rules
    assert not (p / "out").exists()
