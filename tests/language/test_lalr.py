"""``outflowfile.language.lalr`` builds the tree lark builds: the same tree, the same
tokens at the same positions. Where it cannot (a syntax error, a token only
lark's contextual lexer reads right) it hands over to lark, whose tree or
error the parser then uses.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Tree
from lark.exceptions import UnexpectedInput
from test_fuzz import EXAMPLES, mutated_outflowfiles

from outflowfile.errors import OutflowfileError
from outflowfile.language import lalr, parser
from outflowfile.language.lexer import IndentError
from outflowfile.language.runblocks import prepare
from outflowfile.language.source import Source

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.outflow"))


def lark_tree(text: str) -> Tree | None:
    try:
        return parser._lark().parse(text)
    except (UnexpectedInput, IndentError):
        return None


def fused_tree(text: str) -> Tree | None:
    try:
        return lalr.tree(parser._tables(), text)
    except lalr.Fallback:
        return None


def tokens(tree: Tree) -> list[tuple]:
    """The tokens of ``tree`` with what the model is built from."""
    return [
        (t.type, t.value, t.line, t.column)
        for t in tree.scan_values(lambda value: value is not None)
    ]


def prepared(text: str) -> str | None:
    try:
        return prepare(Source.of(text), "Outflowfile").text
    except OutflowfileError:
        return None  # rejected before lark sees it


def assert_same_tree(text: str) -> Tree | None:
    """The fused tree, which (when there is one) is lark's tree."""
    ready = prepared(text)
    if ready is None:
        return None
    ours = fused_tree(ready)
    if ours is not None:
        theirs = lark_tree(ready)
        assert theirs is not None
        assert ours == theirs
        assert tokens(ours) == tokens(theirs)
    return ours


@pytest.mark.parametrize("text", EXAMPLES, ids=["tutorial", "wordcount", "more"])
def test_examples(text: str) -> None:
    assert assert_same_tree(text) is not None


def test_benchmark_file() -> None:
    bench = runpy.run_path(str(Path(__file__).parents[2] / "benchmarks" / "bench_parse.py"))
    assert assert_same_tree(bench["generate"](3)) is not None


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_corpus_falls_back(path: Path) -> None:
    ready = prepared(path.read_text(encoding="utf-8"))
    if ready is not None and lark_tree(ready) is None:
        assert fused_tree(ready) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n# only a comment\n",
        "task f():\n    shell: 'x'   ",
        "task f(a = [1,\n  2,\n\t3]):\n    shell: '''x\ny'''\n",
        "workflow w:\n    a\n    | b |\n    c\n",
        "workflow w: a | \\\n    b\n",
        "task f():\n\tshell: 'x'\n\tcpus: 2\n",
        "task f():\n    shell: 'x'\n  cpus: 2\n",  # a dedent to no enclosing block
        "task map():\n    shell: 'x'\n",  # lark's contextual lexer reads 'map' as a name
        "task f(glob: int):\n    partition:gpu\n    call: a.b:c\n",
    ],
)
def test_edge_cases(text: str) -> None:
    assert_same_tree(text)


def test_contextual_keyword_is_read_by_lark() -> None:
    text = "task f(map: int):\n    shell: 'x'\n"
    assert fused_tree(text) is None
    model = parser.parse(text, "Outflowfile")
    assert [param.name for param in model.tasks[0].params] == ["map"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_outflowfiles())
def test_mutated_files(text: str) -> None:
    assert_same_tree(text)


@given(st.text(alphabet="task workflow map glob True:()[]{}|,=->.\"'#\\\n\t x1", max_size=60))
def test_random_text(text: str) -> None:
    assert_same_tree(text)


def test_first_run_builds_the_grammar_and_later_runs_read_lark_cache(tmp_path: Path) -> None:
    """lark caches the built grammar in the temporary directory. The first run
    on a machine builds it (rule names are then Tokens, not strs) and must
    parse the same as every later run, which loads it from that cache."""
    import os
    import subprocess

    from outflowtest import outflow_command

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    tutorial = Path(__file__).parents[2] / "examples" / "tutorial"
    env = dict(os.environ, TMPDIR=str(tmp))
    for run in ("built", "cached"):
        proc = subprocess.run(outflow_command() + ["--lint"], cwd=tutorial, env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{run}: {proc.stderr}"
        assert "ok (4 tasks" in proc.stdout, proc.stdout
        assert list(tmp.glob(".lark_cache*")), f"{run}: lark wrote no cache in TMPDIR"
