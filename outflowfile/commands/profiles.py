"""Profiles: defaults for ``outflow``'s long options from files.

Where an option's value comes from, the first that has it:

1. the command line;
2. the environment, for the options that read a variable (``OUTFLOW_DB``);
3. the named profile, ``--profile NAME`` (or ``OUTFLOW_PROFILE``):
   ``$XDG_CONFIG_HOME/outflow/NAME.toml`` (``~/.config/outflow/NAME.toml``),
   or the file NAME names when it holds a ``/`` or ends in ``.toml``;
4. ``outflow.toml`` in the project directory;
5. outflow's own default.

A file's keys are the long options (``jobs = 4``, ``keep-temp = true``,
``keep_temp`` alike); its ``[config]`` table holds config entries and task
inputs, as ``-C KEY=VALUE`` does, entry by entry (a ``-C`` of one key
leaves the files' other keys in place). Options that say what this one
command does (``REFUSED``) cannot be set in a file. click parses the command
line; a file's value then fills an option click found at its default
(``ctx.get_parameter_source``), read by the option's own type.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from outflowfile.commands.optionsfile import (
    OptionsFile,
    Setting,
    config_text,
    describe,
    read_options_file,
    toml_text,
)
from outflowfile.errors import Problem, UserError
from outflowfile.language.model import Location
from outflowfile.language.typerules import suggest

PROJECT_FILE = "outflow.toml"
PROFILE_VARIABLE = "OUTFLOW_PROFILE"

_ONE_SHOT = "it says what one command does: give it on the command line"
_CONSENT = "consent is given one command at a time: give it on the command line"
_PLACE = "it says where the project is, and so where outflow.toml is: give it on the command line"
# Long options that a file cannot set, and why.
REFUSED: dict[str, str] = {
    "file": _PLACE,
    "directory": _PLACE,
    "profile": f"a profile cannot name another: set {PROFILE_VARIABLE}, or give --profile",
    "show-options": _ONE_SHOT,
    "help": _ONE_SHOT,
    "version": _ONE_SHOT,
    "yes": _CONSENT,
    "force-protected": _CONSENT,
    **{name: _ONE_SHOT for name in (
        "dry-run", "forceall", "forcerun", "until", "list", "lint", "forget", "show",
        "clean", "touch", "dag", "taskgraph", "summary", "format", "report",
    )},
}  # fmt: skip
CONFIG_PARAM = "config"


@dataclass(frozen=True)
class Origin:
    """Where a value came from, as ``--show-options`` says it."""

    text: str  # "default", "command line", "outflow.toml:3", "profile PATH:2"
    loc: Location | None = None  # a file's value: its place
    key_loc: Location | None = None  # and its key's


DEFAULT = Origin("default")
COMMAND_LINE = Origin("command line")


@dataclass
class Options:
    """The command's options with the files' values filled in."""

    values: dict[str, Any]
    origins: dict[str, Origin] = field(default_factory=dict)  # by parameter name
    # Each config key the files or -C set: its value as shown, and where from.
    config: dict[str, tuple[str, Origin]] = field(default_factory=dict)
    files: list[tuple[str, Path]] = field(default_factory=list)  # ("outflow.toml", path)...


def resolve_options(ctx: click.Context, opts: dict[str, Any]) -> Options:
    """``opts`` (click's values) with the defaults of outflow.toml and the
    profile in place; a located ``UserError`` for a bad file."""
    sources = _sources(ctx, opts)
    settable = _settable(ctx.command)
    options = Options(dict(opts), files=[(label, f.path) for label, f in sources])
    chosen: dict[str, tuple[Any, Origin]] = {}
    problems: list[Problem] = []
    for label, found in sources:
        for setting in found.options:
            try:
                param = _param_for(setting, settable, label)
                chosen[param.name or ""] = (_read(ctx, param, setting), _origin(label, setting))
            except UserError as exc:
                problems.extend(exc.problems)
    if problems:
        raise UserError(problems[0].message, problems=problems)
    for name, param in settable.items():
        options.origins[name] = _fill(ctx, options.values, param, chosen.get(name))
    _merge_config(options, sources, opts[CONFIG_PARAM])
    return options


def _sources(ctx: click.Context, opts: dict[str, Any]) -> list[tuple[str, OptionsFile]]:
    """The files that give defaults, the weakest first."""
    sources = []
    project = project_directory(opts.get("directory"), opts.get("file_")) / PROJECT_FILE
    if project.exists():  # a directory of that name is an error, not a file left out
        sources.append((PROJECT_FILE, read_options_file(project)))
    name = opts.get("profile")
    if name:
        path = profile_path(name)
        if not path.exists():
            from_env = ctx.get_parameter_source("profile") == ParameterSource.ENVIRONMENT
            given = f" (from {PROFILE_VARIABLE})" if from_env else ""
            raise UserError(
                f"no profile '{name}'{given}: {path} does not exist",
                hint="write the options there (jobs = 4, cluster = \"slurm\"...), or name a "
                "file: --profile ./cluster.toml",
            )
        sources.append((f"profile {path}", read_options_file(path)))
    return sources


def project_directory(directory: str | None, file_: str | None) -> Path:
    """The project directory the command line names, as ``cli._locate`` finds it."""
    if directory:
        return Path(directory).resolve()
    if file_:
        return Path(file_).resolve().parent
    return Path.cwd()


def profile_path(name: str) -> Path:
    """The file of the profile ``name``: a path, or NAME.toml among the user's."""
    if "/" in name or name.endswith(".toml"):
        return Path(name).expanduser().resolve()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "outflow" / f"{name}.toml"


def _settable(command: click.Command) -> dict[str, click.Option]:
    """The options a file may set, by parameter name."""
    out = {}
    for param in command.params:
        if isinstance(param, click.Option) and param.name and param.name != CONFIG_PARAM:
            longs = _long_names(param)
            if longs and not any(name in REFUSED for name in longs):
                out[param.name] = param
    return out


def _long_names(param: click.Option) -> list[str]:
    return [o[2:] for o in param.opts if o.startswith("--")]


def _param_for(setting: Setting, settable: dict[str, click.Option], label: str) -> click.Option:
    key = setting.key.replace("_", "-")
    for param in settable.values():
        if key in _long_names(param):
            return param
    if key in REFUSED:
        where = PROJECT_FILE if label == PROJECT_FILE else "a profile"
        raise UserError(f"'{setting.key}' cannot be set in {where}: {REFUSED[key]}",
                        loc=setting.loc, hint=f"outflow --{key}")
    names = {name for p in settable.values() for name in _long_names(p)} | {CONFIG_PARAM}
    near = suggest(key, names)
    hint = "the keys are outflow's long options without the dashes (outflow --help)"
    raise UserError(f"unknown option '{setting.key}'", loc=setting.loc,
                    hint=f"did you mean '{near}'? {hint}" if near else hint)


def _origin(label: str, setting: Setting) -> Origin:
    return Origin(f"{label}:{setting.loc.line}", setting.value_loc, setting.loc)


def _read(ctx: click.Context, param: click.Option, setting: Setting) -> Any:
    """The setting's value as the option takes it: the TOML type must be the
    option's (``jobs = "4"`` is refused), then click's type checks the rest."""
    value = setting.value
    kinds, wanted = _wanted(param)
    if param.multiple and isinstance(value, str):
        value = [value]
    items = value if param.multiple and isinstance(value, list) else [value]
    bad = [v for v in items if isinstance(v, bool) != (bool in kinds) or not isinstance(v, kinds)]
    if bad or (param.multiple and not isinstance(value, list)):
        shown = bad[0] if bad else value
        wanted = f"an array of {wanted}" if param.multiple else wanted
        raise UserError(f"{setting.key}: expected {wanted}, found {describe(shown)}",
                        loc=setting.value_loc, hint=_example(param))
    try:
        return param.type_cast_value(ctx, value)
    except click.BadParameter as exc:
        raise UserError(f"{setting.key} = {toml_text(setting.value)}: {exc.message}",
                        loc=setting.value_loc, hint=_example(param)) from None


def _wanted(param: click.Option) -> tuple[tuple[type, ...], str]:
    """The TOML types the option takes, and how to say it."""
    kind = param.type
    if param.is_flag:
        return (bool,), "true or false"
    if isinstance(kind, click.types.IntParamType):
        return (int,), "a whole number"
    if isinstance(kind, click.types.FloatParamType):
        return (int, float), "a number"
    if isinstance(kind, click.Choice):
        return (str,), "one of " + ", ".join(f'"{c}"' for c in kind.choices)
    return (str,), "a string"


def _example(param: click.Option) -> str:
    name = _long_names(param)[0]
    if param.is_flag:
        sample = "true"
    elif isinstance(param.type, click.Choice):
        sample = toml_text(param.type.choices[0])
    elif isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)):
        sample = "4"
    else:
        sample = f'"{param.metavar or "..."}"'
    return f"for example: {name} = {'[' + sample + ']' if param.multiple else sample}"


def _fill(ctx: click.Context, values: dict[str, Any], param: click.Option,
          chosen: tuple[Any, Origin] | None) -> Origin:
    """Give the option the file's value unless the command line (or the
    environment) gave one; where its value comes from."""
    name = param.name or ""
    source = ctx.get_parameter_source(name)
    if source == ParameterSource.COMMANDLINE:
        return COMMAND_LINE
    if source == ParameterSource.ENVIRONMENT:
        return Origin(f"environment {param.envvar}")
    if chosen is None:
        return DEFAULT
    values[name], origin = chosen
    return origin


def _merge_config(options: Options, sources: list[tuple[str, OptionsFile]],
                  given: tuple[str, ...]) -> None:
    """The config entries of the files, then ``-C``'s, one key at a time:
    the last setting of a key wins (``config.parse_overrides``)."""
    merged: dict[str, str] = {}
    for label, found in sources:
        for setting in found.config:
            merged[setting.key] = config_text(setting.value)
            options.config[setting.key] = (toml_text(setting.value), _origin(label, setting))
    for item in given:
        key, sep, text = item.partition("=")
        if sep and key.strip():
            merged.pop(key.strip(), None)
            options.config[key.strip()] = (toml_text(text), COMMAND_LINE)
    files = tuple(f"{key}={text}" for key, text in merged.items())
    options.values[CONFIG_PARAM] = files + tuple(given)


def locate(exc: UserError, options: Options | None) -> UserError:
    """``exc`` with its complaints about a config entry a file set shown at
    that entry (they are worded for ``--config KEY=TEXT``)."""
    if options is None:
        return exc
    problems = []
    for problem in exc.problems:
        origin = _config_origin(problem, options)
        if origin is None:
            problems.append(problem)
        else:
            message = "config " + problem.message.removeprefix("--config ")
            # An unknown key is shown at the key, a bad value at the value.
            loc = origin.key_loc if "unknown" in message else origin.loc
            problems.append(Problem(message, loc, problem.hint))
    return UserError(problems[0].message, problems=problems)


def _config_origin(problem: Problem, options: Options) -> Origin | None:
    if problem.loc is not None or not problem.message.startswith("--config "):
        return None
    key = problem.message.removeprefix("--config ").partition("=")[0]
    found = options.config.get(key)
    return found[1] if found is not None and found[1].loc is not None else None


def show_options(ctx: click.Context, options: Options) -> str:
    """Every option a file may set, and every config entry set, with its
    value and where it comes from: ``jobs = 4  # outflow.toml:1``."""
    rows: list[tuple[str, str]] = []
    for name, param in _settable(ctx.command).items():
        value = options.values.get(name)
        rows.append((f"{_long_names(param)[0]} = {_shown(value)}", options.origins[name].text))
    for key, (shown, origin) in options.config.items():
        rows.append((f"config.{_config_key(key)} = {shown}", origin.text))
    width = max(len(left) for left, _ in rows) + 2
    head = [f"# {label.split(' ')[0]}: {path}" for label, path in options.files]
    if not any(label == PROJECT_FILE for label, _ in options.files):
        where = project_directory(options.values.get("directory"), options.values.get("file_"))
        head.insert(0, f"# {PROJECT_FILE}: none in {where}")
    return "\n".join(head + [f"{left.ljust(width)}# {right}" for left, right in rows])


def _config_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_.-]+", key) else toml_text(key)


def _shown(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, str) and "://" in value:
        value = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", value)  # a password in a URL
    return toml_text(value)
