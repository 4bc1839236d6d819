"""Semantic checks on models built by hand (the parser is tested elsewhere;
tests that parse real text are at the end of this file)."""

from __future__ import annotations

from typing import Any

import pytest

from outflowfile.errors import OutflowfileError, Problem
from outflowfile.language.check import check, check_target
from outflowfile.language.model import (
    NO_DEFAULT,
    Branch,
    CallBody,
    ConfigEntry,
    FileSpec,
    Glob,
    Location,
    Map,
    MapOption,
    Outflowfile,
    Output,
    Param,
    Pipe,
    Resources,
    RunBody,
    ShellBody,
    Stage,
    StageRef,
    Task,
    TypeRef,
    Workflow,
)
from outflowfile.language.patterns import normalize_pattern
from outflowfile.language.stages import build_index, first_tasks, resolve_ref

FILE = "Outflowfile"


def L(line: int, column: int = 1) -> Location:
    return Location(FILE, line, column)


def ty(text: str | None) -> TypeRef | None:
    """``"list[int]"`` -> TypeRef; enough of a type parser for these tests."""
    if text is None:
        return None
    if "[" not in text:
        return TypeRef(text)
    name, rest = text.split("[", 1)
    return TypeRef(name, tuple(TypeRef(a.strip()) for a in rest.rstrip("]").split(",")))


def P(name: str, type_: str | None = None, default: Any = NO_DEFAULT, line: int = 1) -> Param:
    return Param(name, ty(type_), default, L(line, 10))


def O(name: str, type_: str | None = None, line: int = 1) -> Output:  # noqa: E743
    return Output(name, ty(type_), L(line, 30))


def F(name: str, pattern: str, line: int) -> FileSpec:
    return FileSpec(name, pattern, L(line, 13))


def task(
    name: str,
    line: int,
    params: list[Param] | None = None,
    outputs: list[Output] | None = None,
    body: Any = None,
    **kwargs: Any,
) -> Task:
    return Task(
        name=name,
        params=params or [],
        outputs=outputs or [],
        body=body or RunBody("return 1", line + 2, L(line + 1, 5)),
        loc=L(line),
        **kwargs,
    )


def ref(name: str, line: int, column: int = 5) -> StageRef:
    return StageRef(name, L(line, column))


def pipe(*stages: Stage) -> Pipe:
    return Pipe(list(stages), stages[0].loc)


def workflow(name: str, line: int, pipeline: Stage) -> Workflow:
    return Workflow(name, pipeline, L(line))


def cfg(name: str, type_: str | None, default: Any, line: int) -> ConfigEntry:
    return ConfigEntry(name, ty(type_), default, L(line, 5))


def model(
    tasks: list[Task] | None = None,
    workflows: list[Workflow] | None = None,
    config: list[ConfigEntry] | None = None,
) -> Outflowfile:
    return Outflowfile(FILE, config or [], tasks or [], workflows or [])


def problems(m: Outflowfile) -> list[Problem]:
    with pytest.raises(OutflowfileError) as info:
        check(m)
    return info.value.problems


def only_problem(m: Outflowfile) -> Problem:
    found = problems(m)
    assert len(found) == 1, [p.message for p in found]
    return found[0]


# -- the tutorial, by hand -------------------------------------------------------

COMPUTE_OUT = [O("computation_result", "int")]


def tutorial(**changes: Any) -> Outflowfile:
    tasks = {
        "gen_data": task("gen_data", 5, [P("n", "int")], [O("raw_data_array", "list")]),
        "transform": task("transform", 9, [P("raw_data", "int")], [O("transformed", "int")]),
        "compute": task(
            "compute",
            13,
            [P("transformed", "int"), P("multiplier", "int")],
            [O("computation_result", "int")],
        ),
        "print_result": task("print_result", 20, [P("computation_result", "list")]),
    }
    tasks.update(changes)
    inner = pipe(ref("transform", 25, 52), ref("compute", 25, 64))
    pipeline = pipe(
        ref("gen_data", 25),
        Map("raw_data_array", "raw_data", inner, [], L(25, 16)),
        ref("print_result", 25, 76),
    )
    return model(
        [t for t in tasks.values() if t is not None],
        [workflow("compute_data", 24, pipeline)],
        [cfg("multiplier", "int", 2, 2), cfg("n", "int", 6, 3)],
    )


def test_tutorial_model_passes() -> None:
    check(tutorial())


def test_unprovided_input() -> None:
    m = tutorial(
        compute=task("compute", 13, [P("transformed", "int"), P("factor", "int")], COMPUTE_OUT)
    )
    p = only_problem(m)
    assert p.message == (
        "task 'compute' input 'factor' is not provided: no upstream output, map item, "
        "config value or default has that name"
    )
    assert p.loc == L(25, 64)
    assert p.hint == "available here: multiplier, n, raw_data, raw_data_array, transformed"


def test_unprovided_input_suggests_a_close_name() -> None:
    m = tutorial(
        compute=task("compute", 13, [P("transformed", "int"), P("multiplyer", "int")], COMPUTE_OUT)
    )
    assert only_problem(m).hint == (
        "did you mean 'multiplier'? "
        "available here: multiplier, n, raw_data, raw_data_array, transformed"
    )


def test_input_with_default_needs_no_provider() -> None:
    check(
        tutorial(
            compute=task("compute", 13, [P("transformed"), P("factor", "int", 3)], COMPUTE_OUT)
        )
    )


def test_type_mismatch_names_task_input_types_and_source() -> None:
    m = tutorial(print_result=task("print_result", 20, [P("computation_result", "int")]))
    p = only_problem(m)
    assert p.message == (
        "task 'print_result' input 'computation_result' expects int but receives "
        "list[int] from 'compute' through a map"
    )
    assert p.loc == L(25, 76)


def test_type_mismatch_from_config() -> None:
    m = tutorial(gen_data=task("gen_data", 5, [P("n", "str")], [O("raw_data_array", "list")]))
    assert only_problem(m).message == (
        "task 'gen_data' input 'n' expects str but receives int from config entry 'n'"
    )


def test_type_mismatch_from_map_item() -> None:
    gen = task("gen_data", 5, [P("n", "int")], [O("raw_data_array", "list[str]")])
    p = only_problem(tutorial(gen_data=gen))
    assert p.message == (
        "task 'transform' input 'raw_data' expects int but receives str "
        "from the items of 'raw_data_array'"
    )
    assert p.loc == L(25, 52)


def test_int_feeds_float_and_untyped_feeds_anything() -> None:
    check(
        tutorial(
            compute=task("compute", 13, [P("transformed", "float"), P("multiplier")], COMPUTE_OUT)
        )
    )


def test_input_from_an_earlier_stage() -> None:
    a = task("a", 2, [], [O("x", "int")])
    b = task("b", 5, [], [O("y", "int")])
    c = task("c", 8, [P("x", "int"), P("y", "int")])
    check(
        model(
            [a, b, c], [workflow("all", 11, pipe(ref("a", 12), ref("b", 12, 9), ref("c", 12, 13)))]
        )
    )


def test_later_output_shadows_earlier() -> None:
    a = task("a", 2, [], [O("x", "int")])
    b = task("b", 5, [], [O("x", "str")])
    c = task("c", 8, [P("x", "int")])
    p = only_problem(
        model(
            [a, b, c], [workflow("all", 11, pipe(ref("a", 12), ref("b", 12, 9), ref("c", 12, 13)))]
        )
    )
    assert p.message == "task 'c' input 'x' expects int but receives str from 'b'"


# -- names ------------------------------------------------------------------------


def test_duplicate_task() -> None:
    p = only_problem(model([task("a", 2), task("a", 5)]))
    assert (p.message, p.loc, p.hint) == (
        "task 'a' is defined twice",
        L(5),
        "first defined at line 2",
    )


def test_duplicate_workflow() -> None:
    m = model([task("a", 2)], [workflow("w", 5, ref("a", 6)), workflow("w", 8, ref("a", 9))])
    p = only_problem(m)
    assert (p.message, p.loc) == ("workflow 'w' is defined twice", L(8))


def test_task_and_workflow_with_the_same_name() -> None:
    p = only_problem(model([task("a", 2)], [workflow("a", 5, ref("a", 6))]))
    assert (p.message, p.loc) == ("workflow 'a' has the same name as a task", L(5))
    assert p.hint is not None and p.hint.startswith("task 'a' is defined at line 2")


def test_duplicate_config_key() -> None:
    p = only_problem(model([task("a", 5)], config=[cfg("n", "int", 1, 2), cfg("n", "int", 2, 3)]))
    assert (p.message, p.loc) == ("config key 'n' is defined twice", L(3, 5))


def test_duplicate_param() -> None:
    p = only_problem(model([task("a", 2, [P("x", line=2), P("x", line=2)])]))
    assert (p.message, p.loc) == ("task 'a' has two inputs named 'x'", L(2, 10))


def test_duplicate_value_output() -> None:
    p = only_problem(model([task("a", 2, [], [O("y"), O("y")])]))
    assert p.message == "task 'a' has two outputs named 'y'"


def test_output_file_clashes_with_value_output() -> None:
    t = task("a", 2, [], [O("y")], output_files=[F("y", "y.txt", 3)])
    p = only_problem(model([t]))
    assert (p.message, p.loc) == ("task 'a' has two outputs named 'y'", L(3, 13))


def test_input_file_clashes_with_output() -> None:
    t = task("a", 2, [], [O("y")], input_files=[F("y", "in.txt", 3)])
    p = only_problem(model([t]))
    assert p.message == "task 'a' input file 'y' has the same name as an output"


def test_duplicate_input_file() -> None:
    t = task("a", 2, input_files=[F("i", "a.txt", 3), F("i", "b.txt", 4)])
    p = only_problem(model([t]))
    assert (p.message, p.loc) == ("task 'a' has two input files named 'i'", L(4, 13))


# -- types ------------------------------------------------------------------------


def test_unknown_type_in_param() -> None:
    p = only_problem(model([task("a", 2, [P("x", "strr", line=2)])]))
    assert p.message == "input 'x' of task 'a': unknown type 'strr'"
    assert p.loc == L(2, 10)
    assert p.hint is not None and p.hint.startswith("did you mean 'str'?")


def test_unknown_type_in_output_and_config() -> None:
    m = model([task("a", 4, [], [O("y", "lst", 4)])], config=[cfg("n", "integer", 1, 2)])
    found = problems(m)
    assert [(p.message, p.loc) for p in found] == [
        ("config 'n': unknown type 'integer'", L(2, 5)),
        ("output 'y' of task 'a': unknown type 'lst'", L(4, 30)),
    ]


def test_unknown_type_causes_no_mismatch_error() -> None:
    m = tutorial(print_result=task("print_result", 20, [P("computation_result", "lisst", line=20)]))
    assert (
        only_problem(m).message
        == "input 'computation_result' of task 'print_result': unknown type 'lisst'"
    )


def test_config_default_of_the_wrong_type() -> None:
    p = only_problem(model([task("a", 4)], config=[cfg("n", "int", "abc", 2)]))
    assert (p.message, p.loc) == (
        "config 'n' is declared int but its default is str ('abc')",
        L(2, 5),
    )


def test_config_glob_declared_as_non_list() -> None:
    m = model([task("a", 4)], config=[cfg("s", "int", Glob("d/{x}.txt", L(2, 14)), 2)])
    assert only_problem(m).message == "config 's' is declared int but glob(...) gives a list of str"


def test_config_glob_of_several_wildcards_is_a_table() -> None:
    # Issue 18: glob() with several wildcards gives a table (it once had to have one).
    m = model([task("a", 4)], config=[cfg("s", "list", Glob("d/{x}/{y}.txt", L(2, 14)), 2)])
    check(m)
    m = model([task("a", 4)], config=[cfg("s", "int", Glob("d/{x}/{y}.txt", L(2, 14)), 2)])
    assert only_problem(m).message == "config 's' is declared int but glob(...) gives a table"


def test_param_default_of_the_wrong_type() -> None:
    p = only_problem(model([task("a", 2, [P("x", "int", "3", 2)])]))
    assert p.message == "input 'x' of task 'a' is declared int but its default is str ('3')"


# -- stage references ------------------------------------------------------------


def test_unknown_stage_with_suggestion() -> None:
    m = tutorial()
    m.workflows[0].pipeline.stages[1].body.stages[0] = ref("tranform", 25, 52)
    p = only_problem(m)
    assert (p.message, p.loc, p.hint) == (
        "unknown task or workflow 'tranform'",
        L(25, 52),
        "did you mean 'transform'?",
    )


def test_unknown_stage_does_not_cascade() -> None:
    m = model(
        [task("b", 2, [P("x", "int")])], [workflow("all", 5, pipe(ref("zzz", 6), ref("b", 6, 11)))]
    )
    p = only_problem(m)
    assert p.message == "unknown task or workflow 'zzz'"
    assert p.hint == "tasks: b; workflows: all"


def test_workflow_cycle() -> None:
    a = task("t", 2)
    m = model(
        [a],
        [
            workflow("a", 5, pipe(ref("t", 6), ref("b", 6, 9))),
            workflow("b", 8, pipe(ref("a", 9), ref("t", 9, 9))),
        ],
    )
    p = only_problem(m)
    assert (p.message, p.loc) == ("workflow cycle: a -> b -> a", L(9, 5))


def test_workflow_uses_itself() -> None:
    p = only_problem(model([task("t", 2)], [workflow("a", 5, pipe(ref("t", 6), ref("a", 6, 9)))]))
    assert (p.message, p.loc) == ("workflow cycle: a -> a", L(6, 9))


def test_sub_workflow_is_checked_where_it_is_used() -> None:
    # 'inner' alone lacks 'x', but every use of it provides it.
    src = task("src", 2, [], [O("x", "int")])
    use = task("use", 5, [P("x", "int")], [O("y", "int")])
    m = model(
        [src, use],
        [
            workflow("inner", 8, ref("use", 9)),
            workflow("all", 11, pipe(ref("src", 12), ref("inner", 12, 11))),
        ],
    )
    check(m)
    with pytest.raises(OutflowfileError) as info:
        check_target(m, "inner")
    assert info.value.message.startswith("task 'use' input 'x' is not provided")
    check_target(m, "all")


def test_sub_workflow_problems_are_reported_once() -> None:
    use = task("use", 5, [P("x", "int")])
    m = model(
        [task("a", 2), use],
        [
            workflow("inner", 8, ref("use", 9)),
            workflow("w1", 11, pipe(ref("a", 12), ref("inner", 12, 9))),
            workflow("w2", 14, pipe(ref("a", 15), ref("inner", 15, 9))),
        ],
    )
    assert [p.loc for p in problems(m)] == [L(9, 5)]


def test_workflow_outputs_flow_on() -> None:
    src = task("src", 2, [], [O("x", "int")])
    use = task("use", 5, [P("x", "int")])
    m = model(
        [src, use],
        [
            workflow("make", 8, ref("src", 9)),
            workflow("all", 11, pipe(ref("make", 12), ref("use", 12, 12))),
        ],
    )
    check(m)


# -- branches --------------------------------------------------------------------


def branch_model(c_outputs: list[Output]) -> Outflowfile:
    a = task("a", 2, [], [O("x", "int")])
    b = task("b", 5, [P("x", "int")], [O("y", "int")])
    c = task("c", 8, [P("x", "int")], c_outputs)
    d = task("d", 11, [P("y", "int"), P("z", "int")])
    br = Branch([ref("b", 15, 10), ref("c", 15, 13)], L(15, 9))
    return model([a, b, c, d], [workflow("all", 14, pipe(ref("a", 15), br, ref("d", 15, 18)))])


def test_branch_outputs_are_joined() -> None:
    check(branch_model([O("z", "int")]))


def test_branch_outputs_clash() -> None:
    found = problems(branch_model([O("y", "int")]))
    assert found[0].message == "output 'y' comes from two branches: from 'b' and from 'c'"
    assert found[0].loc == L(15, 13)


# -- maps ------------------------------------------------------------------------


def map_model(
    source: str | None, target: str | None, options: list[MapOption] | None = None, **kw: Any
) -> Outflowfile:
    gen = kw.get("gen") or task("gen", 2, [], [O("xs", "list[int]")])
    body = task("body", 5, [P("x", "int")], [O("y", "int")])
    last = task("last", 8, [P("y", "list[int]")])
    m = Map(source, target, ref("body", 12, 30), options or [], L(12, 11))
    return model(
        [gen, body, last],
        [workflow("all", 11, pipe(ref("gen", 12), m, ref("last", 12, 40)))],
        kw.get("config"),
    )


def test_map_passes() -> None:
    check(map_model("xs", "x"))


def test_short_map_passes() -> None:
    check(map_model(None, None))


def test_map_over_config_glob() -> None:
    gen = task("gen", 2, [], [O("other", "int")])
    config = [cfg("xs", None, Glob("d/{x}.txt", L(1, 10)), 1)]
    m = map_model("xs", "x", gen=gen, config=config)
    m.tasks[1].params[0] = P("x", "str")
    check(m)


def test_map_source_unknown() -> None:
    p = only_problem(map_model("xss", "x"))
    assert p.message == "map source 'xss' is not an output of an earlier stage or a config entry"
    assert p.loc == L(12, 11)
    assert p.hint == "did you mean 'xs'? available here: xs"


def test_map_source_not_a_list() -> None:
    p = only_problem(map_model("n", "x", gen=task("gen", 2, [], [O("n", "int")])))
    assert (p.message, p.loc) == ("map source 'n' is int, not a list", L(12, 11))


def test_map_target_not_an_input() -> None:
    p = only_problem(map_model("xs", "z"))
    assert p.message == "map target 'z' is not an input of 'body' (its inputs: x)"
    assert p.loc == L(12, 11)


def test_short_map_with_several_outputs() -> None:
    gen = task("gen", 2, [], [O("xs", "list"), O("ys", "list")])
    p = only_problem(map_model(None, None, gen=gen))
    assert p.message == (
        "map { ... } without (source -> target) needs exactly one output from the stage "
        "before it, but there are 2 (xs, ys)"
    )
    assert p.hint == "write map(source -> target) { ... }"


def test_short_map_with_several_inputs() -> None:
    m = map_model(None, None)
    m.tasks[1].params.append(P("k", "int", 1))
    p = only_problem(m)
    assert p.message == (
        "map { ... } without (source -> target) needs its first task to have exactly one "
        "input, but 'body' has 2 (x, k)"
    )


def test_unknown_map_option() -> None:
    p = only_problem(map_model("xs", "x", [MapOption("cpu", 5, L(12, 25))]))
    assert (p.message, p.loc) == ("unknown map option 'cpu'", L(12, 25))
    assert p.hint is not None and p.hint.startswith("did you mean 'cpus'?")


def test_map_options_pass() -> None:
    check(map_model("xs", "x", [MapOption("cpus", 5), MapOption("partition", "long")]))


def test_map_item_is_visible_to_later_inner_tasks() -> None:
    m = map_model("xs", "x")
    m.tasks.append(task("after", 20, [P("x", "int"), P("y", "int")], [O("z", "int")]))
    wf = m.workflows[0].pipeline
    wf.stages[1].body = pipe(ref("body", 12, 30), ref("after", 12, 37))
    m.tasks[2].params[0] = P("z", "list[int]")
    check(m)


# -- output patterns ----------------------------------------------------------------


def test_two_tasks_write_the_same_pattern() -> None:
    a = task(
        "a",
        2,
        [P("s")],
        output_files=[F("o", "out/{s}.txt", 3)],
        body=ShellBody("touch {output.o}"),
    )
    b = task(
        "b",
        5,
        [P("t")],
        output_files=[F("p", "./out/{t}.txt", 6)],
        body=ShellBody("touch {output.p}"),
    )
    p = only_problem(model([a, b]))
    assert p.message == (
        "output pattern './out/{t}.txt' of task 'b' is also written by task 'a' "
        "(output 'o' at line 3)"
    )
    assert p.loc == L(6, 13)


def test_normalize_pattern() -> None:
    assert normalize_pattern("a/{x}.txt") == normalize_pattern("a//{y}.txt")
    assert normalize_pattern("a/{x}.txt") != normalize_pattern("a/{x}_{y}.txt")
    assert normalize_pattern("a/{{x}}.txt") != normalize_pattern("a/{x}.txt")


# -- file patterns and commands ------------------------------------------------------


def count_task(**kw: Any) -> Task:
    args: dict[str, Any] = {
        "input_files": [F("text", "data/{sample}.txt", 3)],
        "output_files": [F("counts", "counts/{sample}.tsv", 4)],
        "body": ShellBody("sort {input.text} > {output.counts}", L(5, 13)),
    }
    args.update(kw)
    return task("count", 2, [P("sample", "str")], **args)


def test_count_task_passes() -> None:
    check(model([count_task()]))


def test_output_pattern_names_unknown_field() -> None:
    p = only_problem(model([count_task(output_files=[F("counts", "counts/{sampl}.tsv", 4)])]))
    assert p.message == (
        "output pattern 'counts/{sampl}.tsv' of task 'count' names 'sampl', which is not "
        "an input of the task (inputs: sample)"
    )
    assert (p.loc, p.hint) == (L(4, 13), "did you mean 'sample'?")


def test_input_pattern_names_unknown_field() -> None:
    p = only_problem(model([count_task(input_files=[F("text", "{x}.txt", 3)])]))
    assert p.message.startswith("input pattern '{x}.txt' of task 'count' names 'x'")


def test_log_pattern() -> None:
    t = count_task(log="logs/{smp}.log", directive_locs={"log": L(6, 5)})
    p = only_problem(model([t]))
    assert p.message.startswith("log pattern 'logs/{smp}.log' of task 'count' names 'smp'")
    assert p.loc == L(6, 5)


def test_malformed_pattern() -> None:
    p = only_problem(model([count_task(output_files=[F("counts", "counts/{sample.tsv", 4)])]))
    assert p.message.startswith("malformed pattern 'counts/{sample.tsv'")
    assert p.loc == L(4, 13)


def test_empty_field_in_pattern() -> None:
    p = only_problem(model([count_task(output_files=[F("counts", "counts/{}.tsv", 4)])]))
    assert p.message == "output pattern 'counts/{}.tsv' of task 'count' has an empty {}"


def test_shell_names_unknown_param() -> None:
    p = only_problem(
        model([count_task(body=ShellBody("cat {samples} > {output.counts}", L(5, 13)))])
    )
    assert p.message == (
        "shell command of task 'count' names 'samples', which is not an input of the task "
        "(inputs: sample)"
    )
    assert p.loc == L(5, 13)
    assert p.hint is not None and p.hint.startswith("did you mean 'sample'?")


def test_shell_names_undeclared_file() -> None:
    p = only_problem(model([count_task(body=ShellBody("sort {input.txt} > {output}", L(5, 13)))]))
    assert p.message == (
        "shell command of task 'count' names '{input.txt}', but the task declares no "
        "input file 'txt' (input files: text)"
    )


def test_shell_may_use_cpus_log_and_all_files() -> None:
    check(model([count_task(body=ShellBody("x -t {cpus} {input} > {output} 2> {log} {sample}"))]))


def test_shell_indexing_a_param() -> None:
    p = only_problem(model([count_task(body=ShellBody("echo {sample[0]} > {output}"))]))
    assert (
        p.message
        == "shell command of task 'count' uses '{sample[0]}': only whole values can be substituted"
    )


# -- bodies ----------------------------------------------------------------------------


def test_shell_task_with_value_output() -> None:
    t = task("x", 2, [], [O("y", "int", 2)], body=ShellBody("true", L(3, 5)))
    p = only_problem(model([t]))
    assert p.message == (
        "shell task 'x' declares value output 'y': shell tasks produce files; "
        "declare it under output:"
    )
    assert p.loc == L(2, 30)


@pytest.mark.parametrize(
    "module, function, message",
    [
        ("", "f", "call: ':f' needs a module and a function"),
        ("pkg.mod", "", "call: 'pkg.mod:' needs a module and a function"),
        ("pkg-x", "f", "call: 'pkg-x' is not a Python module name"),
        ("pkg", "f()", "call: 'f()' is not a Python function name"),
    ],
)
def test_call_body(module: str, function: str, message: str) -> None:
    t = task("x", 2, body=CallBody(module, function, L(3, 5)))
    p = only_problem(model([t]))
    assert (p.message, p.loc) == (message, L(3, 5))


def test_call_body_passes() -> None:
    check(model([task("x", 2, body=CallBody("pkg.mod", "func", L(3, 5)))]))


def test_bad_resources() -> None:
    t = task("x", 2, resources=Resources(cpus=0), directive_locs={"cpus": L(3, 5)})
    p = only_problem(model([t]))
    assert (p.message, p.loc) == ("task 'x' asks for 0 cpus", L(3, 5))


def test_empty_model() -> None:
    p = only_problem(model(config=[cfg("n", "int", 1, 2)]))
    assert (p.message, p.loc) == ("Outflowfile defines no task or workflow", L(1, 1))


def test_tasks_without_workflows_are_fine() -> None:
    check(model([task("a", 2)]))


def test_problems_are_sorted_by_location() -> None:
    m = model([task("a", 8, [P("x", "bad", line=8)]), task("a", 4, [], [O("y", "worse", 4)])])
    assert [(p.loc.line if p.loc else 0, p.message) for p in problems(m)] == [
        (4, "task 'a' is defined twice"),
        (4, "output 'y' of task 'a': unknown type 'worse'"),
        (8, "input 'x' of task 'a': unknown type 'bad'"),
    ]


# -- helpers the engine reuses ---------------------------------------------------------


def test_first_tasks_and_resolve_ref() -> None:
    m = branch_model([O("z", "int")])
    index = build_index(m)
    br = m.workflows[0].pipeline.stages[1]
    assert [t.name for t in first_tasks(br, index)] == ["b", "c"]
    assert [t.name for t in first_tasks(m.workflows[0].pipeline, index)] == ["a"]
    assert [t.name for t in first_tasks(ref("all", 1), index)] == ["a"]
    assert first_tasks(ref("nope", 1), index) == []
    assert resolve_ref(ref("all", 1), index) is m.workflows[0]
    assert resolve_ref(ref("b", 1), index) is m.tasks[1]
    assert resolve_ref(ref("nope", 1), index) is None


def test_first_tasks_of_a_map_and_a_cycle() -> None:
    m = map_model("xs", "x")
    index = build_index(m)
    assert [t.name for t in first_tasks(m.workflows[0].pipeline.stages[1], index)] == ["body"]
    cyc = model([task("t", 2)], [workflow("a", 5, ref("a", 6))])
    assert first_tasks(ref("a", 1), build_index(cyc)) == []


def test_check_target_unknown() -> None:
    with pytest.raises(OutflowfileError) as info:
        check_target(tutorial(), "compute_dat")
    assert info.value.message == "unknown target 'compute_dat'"
    assert info.value.problems[0].hint == "did you mean 'compute_data'?"


def test_check_target_task_with_config() -> None:
    m = tutorial()
    check_target(m, "gen_data")
    with pytest.raises(OutflowfileError):
        check_target(m, "compute")


# -- real Outflowfile text ----------------------------------------------------------

TUTORIAL_TEXT = r"""# Outflowfile
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

FILES_TEXT = r"""# Outflowfile
config:
    samples: list = glob("data/{sample}.txt")

task count(sample: str):
    input:  text = "data/{sample}.txt"
    output: counts = "counts/{sample}.tsv"
    shell:  "tr -s ' ' '\\n' < {input.text} | sort | uniq -c > {output.counts}"

task merge(counts: list):
    output: total = "total.tsv"
    shell:  "cat {counts} > {output.total}"

workflow all:
    map(samples -> sample) { count } | merge
"""


def parse(text: str) -> Outflowfile:
    from outflowfile.language.parser import parse as parse_text

    return parse_text(text, FILE)


def parsed_problems(text: str) -> list[Problem]:
    with pytest.raises(OutflowfileError) as info:
        check(parse(text))
    return info.value.problems


@pytest.mark.parametrize("text", [TUTORIAL_TEXT, FILES_TEXT], ids=["tutorial", "files"])
def test_design_examples_pass(text: str) -> None:
    m = parse(text)
    check(m)
    check_target(m, m.workflows[0].name)


def test_parsed_wrong_map_source_type() -> None:
    text = TUTORIAL_TEXT.replace("map(raw_data_array -> raw_data)", "map(n -> raw_data)")
    p = parsed_problems(text)[0]
    assert (p.message, p.loc) == ("map source 'n' is int, not a list", L(26, 16))


def test_parsed_typo_in_stage() -> None:
    text = TUTORIAL_TEXT.replace("{ transform |", "{ tranform |")
    p = parsed_problems(text)[0]
    assert (p.message, p.loc, p.hint) == (
        "unknown task or workflow 'tranform'",
        L(26, 50),
        "did you mean 'transform'?",
    )


def test_parsed_unprovided_input_points_at_the_stage() -> None:
    text = TUTORIAL_TEXT.replace("    multiplier: int = 2\n", "")
    p = parsed_problems(text)[0]
    assert p.message.startswith("task 'compute' input 'multiplier' is not provided")
    assert p.loc == L(25, 62)


def test_parsed_merge_type_mismatch() -> None:
    text = FILES_TEXT.replace("task merge(counts: list)", "task merge(counts: int)")
    p = parsed_problems(text)[0]
    assert p.message == (
        "task 'merge' input 'counts' expects int but receives list[path] from 'count' through a map"
    )
    assert p.loc == L(15, 40)


def test_parsed_output_pattern_typo() -> None:
    text = FILES_TEXT.replace('"counts/{sample}.tsv"', '"counts/{sampl}.tsv"')
    p = parsed_problems(text)[0]
    assert p.message == (
        "output pattern 'counts/{sampl}.tsv' of task 'count' names 'sampl', which is not "
        "an input of the task (inputs: sample)"
    )
    assert p.loc == L(7, 13)


def test_glob_as_a_task_default() -> None:
    p = parsed_problems('task t(xs: list = glob("d/{x}.txt")):\n    shell: "echo {xs}"\n')[0]
    assert (
        p.message == "input 'xs' of task 't': glob(...) can only be the default of a config entry"
    )
    assert p.loc == L(1, 19)


def test_glob_inside_a_config_value() -> None:
    text = 'config:\n    xs = [glob("d/{x}.txt")]\n\ntask t(xs):\n    shell: "echo {xs}"\n'
    p = parsed_problems(text)[0]
    assert p.message == "glob(...) must be the whole default of a config entry, not part of it"
    assert p.loc == L(2, 11)
