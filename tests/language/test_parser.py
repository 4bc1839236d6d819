"""The parser: Outflowfile text -> model, and its located errors."""

from __future__ import annotations

import pytest

from outflowfile.errors import OutflowfileError
from outflowfile.language import units
from outflowfile.language.model import (
    NO_DEFAULT,
    Branch,
    CallBody,
    Glob,
    Location,
    Map,
    Pipe,
    RunBody,
    ShellBody,
    StageRef,
    TypeRef,
)
from outflowfile.language.parser import parse

# The two examples of DESIGN.md, verbatim.
TUTORIAL = """\
# Outflowfile
config:
    multiplier: int = 2
    n: int = 6

task gen_data(n: int) -> (raw_data_array: list):
    run:
        return list(range(n))          # n comes from config: parameters bind to it

task transform(raw_data: int) -> (transformed: int):
    run:
        return raw_data + 40

task compute(transformed: int, multiplier: int) -> (computation_result: int):
    cpus: 5
    run:
        import os, time
        time.sleep(4 / os.cpu_count())
        return transformed * multiplier

task print_result(computation_result: list):
    run:
        print(f"Result of the mapped computation: {computation_result}")

workflow compute_data:
    gen_data | map(raw_data_array -> raw_data) { transform | compute } | print_result
"""

WORDCOUNT = """\
# Outflowfile
config:
    samples: list = glob("data/{sample}.txt")

task count(sample: str):
    input:  text = "data/{sample}.txt"
    output: counts = "counts/{sample}.tsv"
    shell:  "tr -s ' ' '\\\\n' < {input.text} | sort | uniq -c > {output.counts}"

task merge(counts: list):
    output: total = "total.tsv"
    shell:  "cat {counts} > {output.total}"

workflow all:
    map(samples -> sample) { count } | merge
"""

INT, LIST, STR = TypeRef("int"), TypeRef("list"), TypeRef("str")


def at(line: int, column: int, path: str = "Outflowfile") -> Location:
    return Location(path, line, column)


def parse_error(text: str) -> OutflowfileError:
    with pytest.raises(OutflowfileError) as info:
        parse(text, "Outflowfile")
    return info.value


def one_task(body: str, header: str = "task t():"):
    return parse(f"{header}\n{body}", "Outflowfile").tasks[0]


# ---- the DESIGN.md examples ------------------------------------------------------


def test_tutorial_config_and_tasks() -> None:
    model = parse(TUTORIAL, "Outflowfile")
    assert [(c.name, c.type, c.default) for c in model.config] == [
        ("multiplier", INT, 2),
        ("n", INT, 6),
    ]
    assert model.config[0].loc == at(3, 5)
    assert [t.name for t in model.tasks] == ["gen_data", "transform", "compute", "print_result"]
    gen, transform, compute, show = model.tasks
    assert [(p.name, p.type, p.default) for p in gen.params] == [("n", INT, NO_DEFAULT)]
    assert [(o.name, o.type) for o in gen.outputs] == [("raw_data_array", LIST)]
    assert [p.name for p in compute.params] == ["transformed", "multiplier"]
    assert [o.name for o in compute.outputs] == ["computation_result"]
    assert show.outputs == []
    assert compute.resources.cpus == 5
    assert transform.resources.cpus == 1
    assert compute.directive_locs == {"cpus": at(15, 5), "run": at(16, 5)}
    assert gen.loc == at(6, 6)


def test_tutorial_run_bodies_keep_their_lines() -> None:
    model = parse(TUTORIAL, "Outflowfile")
    gen, transform, compute, show = model.tasks
    assert isinstance(gen.body, RunBody)
    assert gen.body.code.startswith("return list(range(n))")
    assert gen.body.first_line == 8
    assert transform.body == RunBody("return raw_data + 40", 12, at(12, 9))
    assert compute.body.code == (
        "import os, time\ntime.sleep(4 / os.cpu_count())\nreturn transformed * multiplier"
    )
    assert compute.body.first_line == 17
    assert show.body.code == 'print(f"Result of the mapped computation: {computation_result}")'
    assert show.body.first_line == 23


def test_tutorial_workflow() -> None:
    (workflow,) = parse(TUTORIAL, "Outflowfile").workflows
    assert workflow.name == "compute_data"
    pipe = workflow.pipeline
    assert isinstance(pipe, Pipe)
    first, mapped, last = pipe.stages
    assert first == StageRef("gen_data", at(26, 5))
    assert isinstance(mapped, Map)
    assert (mapped.source, mapped.target, mapped.options) == ("raw_data_array", "raw_data", [])
    assert mapped.loc == at(26, 16)
    assert isinstance(mapped.body, Pipe)
    assert [s.name for s in mapped.body.stages] == ["transform", "compute"]
    assert last == StageRef("print_result", at(26, 74))


def test_wordcount() -> None:
    model = parse(WORDCOUNT, "Outflowfile")
    (samples,) = model.config
    assert samples.default == Glob("data/{sample}.txt", at(3, 21))
    count, merge = model.tasks
    assert [(f.name, f.pattern) for f in count.input_files] == [("text", "data/{sample}.txt")]
    assert [(f.name, f.pattern) for f in count.output_files] == [("counts", "counts/{sample}.tsv")]
    assert count.output_files[0].loc == at(7, 13)
    assert isinstance(count.body, ShellBody)
    # The string's content after Python unescaping: a backslash and an 'n'.
    assert count.body.command == (
        "tr -s ' ' '\\n' < {input.text} | sort | uniq -c > {output.counts}"
    )
    assert count.body.loc == at(8, 13)
    assert merge.body == ShellBody("cat {counts} > {output.total}", at(12, 13))
    assert [p.type for p in merge.params] == [LIST]
    (workflow,) = model.workflows
    assert workflow.name == "all"
    mapped, last = workflow.pipeline.stages
    assert (mapped.source, mapped.target) == ("samples", "sample")
    assert mapped.body == StageRef("count", at(15, 30))
    assert last == StageRef("merge", at(15, 40))


# ---- config -----------------------------------------------------------------------


def test_config_values() -> None:
    model = parse(
        """\
config:
    a = 1
    b: float = -2.5e3
    c: str = 'it''s'
    d = '''multi
line'''
    e: list[int] = [1, 2, 3,]
    f: dict[str, tuple] = {"x": (1,), "y": (), "z": (1, 2)}
    g = [True, False, None, {1, 2}, (3)]
    h = 0x10
    i = 1_000
    j = {}
    k = r"\\d+"
    l = b"raw"
task t():
    shell: "true"
""",
        "Outflowfile",
    )
    values = {c.name: c.default for c in model.config}
    assert values == {
        "a": 1,
        "b": -2500.0,
        "c": "its",
        "d": "multi\nline",
        "e": [1, 2, 3],
        "f": {"x": (1,), "y": (), "z": (1, 2)},
        "g": [True, False, None, {1, 2}, 3],
        "h": 16,
        "i": 1000,
        "j": {},
        "k": "\\d+",
        "l": b"raw",
    }
    types = {c.name: c.type for c in model.config}
    assert types["a"] is None
    assert types["e"] == TypeRef("list", (INT,))
    assert types["f"] == TypeRef("dict", (STR, TypeRef("tuple")))


def test_config_value_spanning_lines() -> None:
    model = parse(
        "config:\n    xs = [\n        1,\n        2,  # two\n    ]\n    y = 3\n"
        "task t():\n    shell: 'x'\n",
        "Outflowfile",
    )
    assert [(c.name, c.default) for c in model.config] == [("xs", [1, 2]), ("y", 3)]


# ---- task headers -----------------------------------------------------------------


def test_params_with_defaults_and_without_types() -> None:
    task = one_task(
        '    shell: "x"',
        "task t(a, b: int = 3, c = 'x', d: list[str] = ['a'], e=None,) -> (out, n: int):",
    )
    assert [(p.name, p.type, p.default) for p in task.params] == [
        ("a", None, NO_DEFAULT),
        ("b", INT, 3),
        ("c", None, "x"),
        ("d", TypeRef("list", (STR,)), ["a"]),
        ("e", None, None),
    ]
    assert not task.params[0].has_default and task.params[4].has_default
    assert [(o.name, o.type) for o in task.outputs] == [("out", None), ("n", INT)]


def test_params_spanning_lines() -> None:
    task = one_task(
        '    shell: "x"',
        "task t(\n    a: int,\n    b: str = 'x',  # a comment\n) -> (\n    c: int,\n):",
    )
    assert [p.name for p in task.params] == ["a", "b"]
    assert task.params[1].loc == at(3, 5)
    assert [o.name for o in task.outputs] == ["c"]


@pytest.mark.parametrize(
    ("header", "outputs"),
    [
        ("task t() -> total:", [("total", None)]),
        ("task t() -> total: int:", [("total", INT)]),
        ("task t(x) -> total: list[int]:", [("total", TypeRef("list", (INT,)))]),
        ("task t:", []),
        ("task t -> (a, b):", [("a", None), ("b", None)]),
        ("task t() -> ():", []),
    ],
)
def test_output_forms(header: str, outputs: list) -> None:
    task = one_task('    shell: "x"', header)
    assert [(o.name, o.type) for o in task.outputs] == outputs


# ---- directives ---------------------------------------------------------------------


def test_all_directives() -> None:
    task = one_task(
        """\
    input: a = "in/{x}.txt", b = "in/b.txt",
    output:
        c = "out/{x}.txt"
        d = "out/d.txt", e = "out/e.txt"
    log: "logs/{x}.log"
    cpus: 4
    mem: "1.5GB"
    time: "1:30:00"
    partition: gpu
    cluster: "--gres=gpu:1"
    retries: 2
    local: true
    cache: False
    call: mypackage.tasks:compute""",
        "task t(x):",
    )
    assert [(f.name, f.pattern) for f in task.input_files] == [
        ("a", "in/{x}.txt"),
        ("b", "in/b.txt"),
    ]
    assert [f.name for f in task.output_files] == ["c", "d", "e"]
    assert task.output_files[0].loc == at(4, 9)
    assert task.log == "logs/{x}.log"
    r = task.resources
    assert (r.cpus, r.mem, r.time) == (4, 1536 * 1024**2, 5400)
    assert (r.partition, r.cluster, r.retries, r.local, r.cache) == (
        "gpu",
        "--gres=gpu:1",
        2,
        True,
        False,
    )
    assert task.body == CallBody("mypackage.tasks", "compute", at(15, 11))
    assert set(task.directive_locs) == {
        "input", "output", "log", "cpus", "mem", "time", "partition",
        "cluster", "retries", "local", "cache", "call",
    }  # fmt: skip
    assert task.directive_locs["mem"] == at(8, 5)


def test_resource_defaults() -> None:
    task = one_task('    shell: "x"')
    r = task.resources
    assert (r.cpus, r.mem, r.time, r.partition, r.retries, r.local, r.cache) == (
        1, None, None, None, 0, False, True,
    )  # fmt: skip
    assert task.log is None and task.input_files == [] and task.output_files == []


@pytest.mark.parametrize(
    ("directive", "field", "value"),
    [
        ("mem: 500", "mem", 500 * 1024**2),
        ('mem: "500M"', "mem", 500 * 1024**2),
        ('mem: "4G"', "mem", 4 * 1024**3),
        ('mem: "2T"', "mem", 2 * 1024**4),
        ("time: 90", "time", 5400),
        ('time: "90s"', "time", 90),
        ('time: "2h"', "time", 7200),
        ('time: "1d"', "time", 86400),
        ('time: "2-00:00:00"', "time", 172800),
        ('time: "45:00"', "time", 2700),
        ('partition: "long-queue"', "partition", "long-queue"),
        ("local: False", "local", False),
        ("cache: true", "cache", True),
        ("retries: 0", "retries", 0),
    ],
)
def test_resource_values(directive: str, field: str, value: object) -> None:
    task = one_task(f'    {directive}\n    shell: "x"')
    assert getattr(task.resources, field) == value


def test_shell_strings() -> None:
    task = one_task('    shell: """\n        sort {input.a} \\\n          > {output.b}\n    """')
    # Python's rules: a backslash at the end of a line joins it to the next.
    assert task.body.command == "\n        sort {input.a}           > {output.b}\n    "
    task = one_task("    shell: r'echo \\n'")
    assert task.body.command == "echo \\n"
    task = one_task("    shell: 'echo \\'hi\\''")
    assert task.body.command == "echo 'hi'"


def test_shell_on_its_own_line() -> None:
    task = one_task('    shell:\n        "echo hi"')
    assert task.body.command == "echo hi"


# ---- run: blocks ----------------------------------------------------------------------


def test_run_on_the_same_line() -> None:
    task = one_task("    run: return x + 1", "task t(x) -> y:")
    assert task.body == RunBody("return x + 1", 2, at(2, 10))


def test_run_block_lines_and_dedent() -> None:
    text = """\
task t(x) -> y:
    run:  # a comment on the run: line

        if x:
            y = 1
# a comment at the margin

        else:
            y = 2
        s = '''
not indented
'''
        return y


    cpus: 2
"""
    task = parse(text, "Outflowfile").tasks[0]
    assert task.body.first_line == 4
    assert task.body.code == (
        "if x:\n    y = 1\n# a comment at the margin\n\nelse:\n    y = 2\n"
        "s = '''\nnot indented\n'''\nreturn y"
    )
    assert task.resources.cpus == 2
    assert task.directive_locs["cpus"] == at(16, 5)


def test_run_block_with_tabs() -> None:
    task = parse("task t():\n\trun:\n\t\tx = 1\n\t\treturn x\n\tcpus: 3\n", "F").tasks[0]
    assert task.body.code == "x = 1\nreturn x"
    assert task.resources.cpus == 3


def test_run_block_text_is_not_parsed() -> None:
    task = one_task("    run:\n        x = {'a': [1, (2,\n          3)]}  # task workflow map: |\n")
    assert task.body.code == "x = {'a': [1, (2,\n  3)]}  # task workflow map: |"


def test_config_entry_named_run_is_not_a_block() -> None:
    model = parse("config:\n    run: int = 3\ntask t():\n    shell: 'x'\n", "F")
    assert model.config[0].name == "run"


def test_run_syntax_error_is_located() -> None:
    text = "task compute(x) -> y:\n    run:\n        y = x +\n        return y\n"
    error = parse_error(text)
    assert error.message == "Python syntax error in run: block of task 'compute': invalid syntax"
    assert error.loc == at(3, 16)


def test_run_compile_only_error_is_located() -> None:
    error = parse_error("task t():\n    run:\n        x = 1\n        break\n")
    assert "'break' outside loop" in error.message
    assert error.loc.line == 4


# ---- workflows --------------------------------------------------------------------------


def test_single_stage_pipeline_is_the_stage() -> None:
    (workflow,) = parse("workflow w: a\n", "F").workflows
    assert workflow.pipeline == StageRef("a", Location("F", 1, 13))


def test_multiline_pipeline() -> None:
    text = """\
workflow all:
    gen_data
    | map(raw_data_array -> raw_data) {
        transform | compute
      }
    | print_result
"""
    (workflow,) = parse(text, "F").workflows
    first, mapped, last = workflow.pipeline.stages
    assert first.name == "gen_data"
    assert isinstance(mapped, Map) and mapped.loc == Location("F", 3, 7)
    assert [s.name for s in mapped.body.stages] == ["transform", "compute"]
    assert last == StageRef("print_result", Location("F", 6, 7))


def test_pipeline_lines_ending_with_a_bar() -> None:
    text = "workflow w: a |  # first\n    # between\n    b |\n\n    c\nworkflow v:\n    a\n"
    w, v = parse(text, "F").workflows
    assert [s.name for s in w.pipeline.stages] == ["a", "b", "c"]
    assert v.pipeline.name == "a"


def test_branches_groups_and_maps() -> None:
    (workflow,) = parse(
        "workflow w: a | (b, c | d) | (e | f) | (g,) | map { h } | map(cpus=2, mem='4G') { i }\n",
        "F",
    ).workflows
    a, branch, group, single, short, options = workflow.pipeline.stages
    assert a.name == "a"
    assert isinstance(branch, Branch) and branch.loc == Location("F", 1, 17)
    b, cd = branch.branches
    assert b.name == "b" and [s.name for s in cd.stages] == ["c", "d"]
    assert isinstance(group, Pipe) and [s.name for s in group.stages] == ["e", "f"]
    assert isinstance(single, Branch) and [s.name for s in single.branches] == ["g"]
    assert (short.source, short.target, short.body) == (None, None, StageRef("h", short.body.loc))
    assert [(o.name, o.value) for o in options.options] == [("cpus", 2), ("mem", "4G")]
    assert (options.source, options.target) == (None, None)


def test_map_mapping_with_options() -> None:
    (workflow,) = parse("workflow w: map(xs -> x, retries=1) { t }\n", "F").workflows
    m = workflow.pipeline
    assert (m.source, m.target) == ("xs", "x")
    assert [(o.name, o.value, o.loc) for o in m.options] == [("retries", 1, Location("F", 1, 26))]


def test_comments_blank_lines_and_crlf() -> None:
    text = "# top\r\n\r\ntask t():  # header\r\n    # inside\r\n\r\n    shell: 'x'  # end\r\n# tail"
    model = parse(text, "F")
    assert model.tasks[0].body.command == "x"


def test_backslash_continues_a_line() -> None:
    task = one_task("    cpus: \\\n        3\n    shell: 'x'")
    assert task.resources.cpus == 3


def test_no_lark_objects_in_the_model() -> None:
    model = parse(TUTORIAL + WORDCOUNT.replace("# Outflowfile\n", ""), "Outflowfile")

    def walk(value: object) -> None:
        assert type(value).__module__.split(".")[0] != "lark", value
        if hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                walk(getattr(value, name))
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, str):
            assert type(value) is str

    walk(model)


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("", 1, 1, "Outflowfile is empty: expected a task or workflow"),
        ("# only a comment\n\n", 1, 1, "Outflowfile is empty"),
        ("task f()\n    run: pass\n", 1, 9, "expected ':' after the task header"),
        ("task f(a, b\n    run: pass\n", 1, 12, "expected a ')' to close the parameter list"),
        ("task f(a) (b):\n    run: pass\n", 1, 11, "expected '->' or ':' after the task's"),
        ("config:\nn = 2\n", 2, 1, "expected an indented block after 'config:'"),
        ("config:\n    n 2\n", 2, 7, "expected '=' and a value after config name 'n'"),
        ("task f():\n    shell: 'x'\n        cpus: 2\n", 3, 9, "unexpected indentation"),
        ("workflow w: a |\n", 1, 16, "expected a stage (a task or workflow name"),
        ("workflow w: a | | b\n", 1, 17, "expected a stage"),
        ("workflow w: map(a b) { f }\n", 1, 19, "expected '->' in map(source -> target)"),
        ("workflow w: map(a -> b) { f\n", 1, 28, "expected '}' to close the map body"),
        ('task f():\n    shell: "abc\n', 2, 12, "unterminated string"),
        ("task f():\n    cpu: 2\n    shell: 'x'\n", 2, 5, "did you mean 'cpus'?"),
        ("task f():\n    cpus: -1\n    shell: 'x'\n", 2, 11, "cpus: must be at least 1"),
        ("task f():\n    mem: 'lots'\n    shell: 'x'\n", 2, 10, "mem: cannot read 'lots'"),
        ("task map():\n    shell: 'x'\n", 1, 6, "'map' is a keyword"),
        ("  task f():\n    shell: 'x'\n", 1, 3, "unexpected indentation"),
    ],
)
def test_errors(text: str, line: int, column: int, fragment: str) -> None:
    error = parse_error(text)
    assert (error.loc.line, error.loc.column) == (line, column), error.render(text)
    assert fragment in error.message, error.render(text)


def test_error_render_shows_line_and_caret() -> None:
    text = "task f():\n    cpus: 0\n    shell: 'x'\n"
    rendered = parse_error(text).render(text)
    assert rendered.splitlines()[:3] == [
        "Outflowfile:2:11: cpus: must be at least 1, got 0",
        "        cpus: 0",
        "              ^",
    ]


def test_several_problems_are_reported_together() -> None:
    error = parse_error(
        "task a():\n    cpu: 2\n    shell: 'x'\ntask b():\n    retries: -1\n    shell: 'x'\n"
    )
    assert [p.loc.line for p in error.problems] == [2, 5]


def test_mixed_indentation() -> None:
    error = parse_error("task f():\n\tcpus: 2\n    shell: 'x'\n")
    assert error.loc == at(3, 1)
    assert "indented with spaces" in error.message


def test_task_needs_exactly_one_body() -> None:
    assert "has no body" in parse_error("task f():\n    cpus: 2\n").message
    error = parse_error("task f():\n    shell: 'x'\n    call: a.b:c\n")
    assert "two bodies" in error.message and error.loc == at(3, 5)


def test_parser_is_reentrant() -> None:
    first = parse(TUTORIAL, "a")
    with pytest.raises(OutflowfileError):
        parse("task f(\n", "b")
    assert parse(TUTORIAL, "a") == first


# ---- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (1, 1024**2),
        ("1", 1024**2),
        ("100B", 100),
        ("2k", 2048),
        ("500MB", 500 * 1024**2),
        ("500MiB", 500 * 1024**2),
        ("1.5G", 1536 * 1024**2),
        (" 4 g ", 4 * 1024**3),
    ],
)
def test_parse_mem(value: int | str, size: int) -> None:
    assert units.parse_mem(value) == size


@pytest.mark.parametrize("value", ["lots", "", "4X", "-1G", 0, "0M", True, 1.5, "4iB"])
def test_parse_mem_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="mem:"):
        units.parse_mem(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1, 60),
        ("90", 5400),
        ("90s", 90),
        ("30m", 1800),
        ("1.5h", 5400),
        ("1h30m", 5400),
        ("2 days", 172800),
        ("1:30:00", 5400),
        ("45:00", 2700),
        ("2-00:00:00", 172800),
        ("1-12", 129600),
        ("1-00:30", 88200),
    ],
)
def test_parse_time(value: int | str, seconds: int) -> None:
    assert units.parse_time(value) == seconds


@pytest.mark.parametrize("value", ["soon", "", "5x", "1::2", 0, -3, False, "0s"])
def test_parse_time_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="time:"):
        units.parse_time(value)  # type: ignore[arg-type]


def test_format_units_round_trip() -> None:
    assert units.format_mem(4 * 1024**3) == "4G"
    assert units.format_mem(1536 * 1024**2) == "1536M"
    assert units.format_mem(100) == "100B"
    assert units.format_time(5400) == "1:30:00"
    assert units.format_time(172800 + 61) == "2-00:01:01"
    for size in (1, 1024, 3 * 1024**2, 5 * 1024**4):
        assert units.parse_mem(units.format_mem(size)) == size
    for seconds in (1, 59, 3600, 90061):
        assert units.parse_time(units.format_time(seconds)) == seconds
