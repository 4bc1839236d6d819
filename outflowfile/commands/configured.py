"""The config the command line gives, applied one way for every command: a
run, ``--lint``, ``--list`` and the views alike.

``--configfile FILE`` replaces (or, for dicts, merges into) config defaults,
a later file winning; ``-C task.input=VALUE`` sets a task input's default;
``-C KEY=VALUE`` for a config entry is kept as text and read, as the entry's
declared type, when the config is resolved (``language/config.py``), which
is also where an unknown key is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outflowfile.language.config import (
    Overlay,
    apply_config_files,
    parse_overrides,
    resolve_config,
)
from outflowfile.language.model import Outflowfile
from outflowfile.language.taskparams import apply_task_overrides


@dataclass
class Configured:
    """What the command line did to the model's config."""

    overrides: dict[str, str] = field(default_factory=dict)  # -C for config entries
    given: dict[str, str] = field(default_factory=dict)  # entry -> "-C" or its file
    asked: bool = False  # any --configfile or -C at all

    def values(self, model: Outflowfile, workdir: Path) -> dict[str, Any] | None:
        """The config as a run resolves it (its files, globs and sheets
        read; ``UserError`` for what a run refuses) when the command line
        gave any; None without, so that what does not plan reads nothing."""
        return resolve_config(model, self.overrides, workdir) if self.asked else None


def apply_command_line(
    model: Outflowfile, configfiles: Sequence[str], settings: Sequence[str]
) -> Configured:
    """Apply ``--configfile`` files and the task inputs of ``-C`` to
    ``model``. Raises ``UserError`` listing every bad one."""
    apply_config_files(model, [Path(f) for f in configfiles])
    overrides = apply_task_overrides(model, parse_overrides(list(settings)))
    given = {e.name: e.default.source for e in model.config if isinstance(e.default, Overlay)}
    given.update({name: "-C" for name in overrides})
    return Configured(overrides, given, bool(configfiles or settings))
