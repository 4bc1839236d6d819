"""``include:``: bring other files' config, tasks and workflows into the model.

``resolve(model, parse)`` reads each file ``model`` includes (its path taken
relative to the including file's directory), includes what that file
includes in turn, and adds what they define to ``model``, after its own. Every
location keeps the file it was written in, so the checker's problems (and a
syntax error, raised by ``parse``) point into the included file.

``include: "rules/align.of" as align`` names the file's tasks and workflows
``align_NAME`` (Snakemake's ``use rule * from align as align_*``); its
workflows' stages that name its own tasks and workflows are renamed with
them. Config is not prefixed: config entries are the project's, whichever
file declares them.

A file included again under the same prefix (two files that both include a
common one) is brought in once. A file that includes itself, directly or
through others, is an error at the include line that closes the cycle; so is
an included file that cannot be read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from outflowfile.errors import OutflowfileError
from outflowfile.language import textfile
from outflowfile.language.model import (
    Branch,
    Choice,
    Include,
    Map,
    Outflowfile,
    Pipe,
    Stage,
    StageRef,
    Workflow,
)

Parse = Callable[[str, str], Outflowfile]  # (text, path) -> the file's own model


#: How many include: files deep a chain may go (each level is a recursion).
MAX_DEPTH = 100


@dataclass
class _Reader:
    parse: Parse
    texts: dict[str, str] = field(default_factory=dict)  # every file read, by its path
    seen: set[tuple[str, str]] = field(default_factory=set)  # (real path, full prefix)
    shown: dict[str, str] = field(default_factory=dict)  # a real path: the path read

    def bring_in(self, model: Outflowfile, chain: tuple[str, ...], prefix: str) -> None:
        """Add to ``model`` what its includes define, each file once per
        prefix; ``chain`` is the real paths of the files including it (itself
        last)."""
        for include in model.includes:
            path = included_path(model.path, include.path)
            if "\0" in path:
                raise OutflowfileError("an include path cannot hold a NUL", loc=include.loc)
            real = os.path.realpath(path)
            if real in chain:
                raise self.cycle(include, chain, real)
            if len(chain) >= MAX_DEPTH:
                raise OutflowfileError(
                    f"include: files nest more than {MAX_DEPTH} deep here",
                    loc=include.loc,
                    hint="include the files from fewer levels (a file may include several)",
                )
            full = prefix + (f"{include.prefix}_" if include.prefix else "")
            if (real, full) in self.seen:
                continue
            self.seen.add((real, full))
            self.shown.setdefault(real, path)
            part = self.parse(self.read(path, include), path)
            self.bring_in(part, (*chain, real), full)
            if include.prefix:
                prefixed(part, include.prefix)
            model.config.extend(part.config)
            model.tasks.extend(part.tasks)
            model.workflows.extend(part.workflows)

    def cycle(self, include: Include, chain: tuple[str, ...], real: str) -> OutflowfileError:
        start = chain.index(real)
        shown = " -> ".join(self.shown.get(p, p) for p in (*chain[start:], real))
        return OutflowfileError(
            f"include cycle: {shown}",
            loc=include.loc,
            hint="a file cannot include itself, directly or through the files it includes",
        )

    def read(self, path: str, include: Include) -> str:
        try:
            text = textfile.read(path)
        except FileNotFoundError:
            raise OutflowfileError(
                f"included file {path} does not exist",
                loc=include.loc,
                hint="an include path is relative to the file that includes it",
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise OutflowfileError(
                f"cannot read included file {path}: {reason}", loc=include.loc
            ) from None
        self.texts[path] = text
        return text


def resolve(model: Outflowfile, parse: Parse) -> dict[str, str]:
    """Add what ``model``'s includes define to it (``parse`` reads a file's
    text into its own model); returns the text of each included file, by
    its path, in the order read (``model.included`` lists them)."""
    if not model.includes:
        return {}
    reader = _Reader(parse)
    reader.shown[os.path.realpath(model.path)] = model.path
    reader.bring_in(model, (os.path.realpath(model.path),), "")
    _drop_repeated_config(model)
    model.included = list(reader.texts)
    return reader.texts


def included_path(including: str, written: str) -> str:
    """The path of an included file, relative to where the including file's
    path is (as the locations name it)."""
    if os.path.isabs(written):
        return os.path.normpath(written)
    return os.path.normpath(os.path.join(os.path.dirname(including), written))


def _drop_repeated_config(model: Outflowfile) -> None:
    """A file included under two prefixes declares its config entries once:
    the same entry (the same place) is kept once."""
    places = set()
    kept = []
    for entry in model.config:
        if entry.loc not in places:
            places.add(entry.loc)
            kept.append(entry)
    model.config[:] = kept


def prefixed(model: Outflowfile, prefix: str) -> None:
    """Rename ``model``'s tasks and workflows ``PREFIX_NAME``, and its
    workflows' stages that name them."""
    own = {t.name for t in model.tasks} | {w.name for w in model.workflows}

    def rename(stage: Stage) -> Stage:
        if isinstance(stage, StageRef):
            return replace(stage, name=f"{prefix}_{stage.name}") if stage.name in own else stage
        if isinstance(stage, Pipe):
            return replace(stage, stages=[rename(s) for s in stage.stages])
        if isinstance(stage, Branch):
            return replace(stage, branches=[rename(s) for s in stage.branches])
        if isinstance(stage, Map):
            return replace(stage, body=rename(stage.body))
        if isinstance(stage, Choice):
            other = None if stage.otherwise is None else rename(stage.otherwise)
            return replace(stage, then=rename(stage.then), otherwise=other)
        raise TypeError(f"unknown stage {stage!r}")  # pragma: no cover

    model.tasks[:] = [replace(t, name=f"{prefix}_{t.name}") for t in model.tasks]
    model.workflows[:] = [
        Workflow(f"{prefix}_{w.name}", rename(w.pipeline), w.loc) for w in model.workflows
    ]
