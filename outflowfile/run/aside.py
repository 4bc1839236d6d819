"""Previous outputs kept aside while a job makes new ones.

Before a job runs, each of its outputs that exists (file, directory or
symbolic link) is renamed into a stash of its own: ``.outflow/aside/ID.N``
for its Nth output. The stash's manifest, ``ID.json``, whole before anything
is moved, names every output of the job, where each previous one went, and
the job it belongs to (its key and the id of that key's done record then),
so that whatever moment a run dies at, the next one knows what to put back.
(Flat files, no directory per stash: removing a directory can cost
milliseconds on a filesystem mounted with ``discard``.)

When the job succeeds the stash is dropped; when it fails or is
interrupted, what it wrote is removed and the previous outputs are renamed
back: same content, same mtime, so the record that made them matches them
again. Nothing is copied, and nothing previous is deleted before the job's
outcome is known.

An output on another filesystem than ``.outflow/`` (an absolute path, a
mount inside the project) cannot be renamed there (EXDEV): its previous
version is renamed beside it instead, to a hidden name in its own
directory, which the manifest names too.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ASIDE = "aside"  # the stashes' directory, under .outflow/
MANIFEST = ".json"  # a manifest's suffix


@dataclass
class Entry:
    """One output of the job: where it is, and where its previous version
    may be (``None``: there was none, whatever is there is the job's)."""

    path: str  # as the job names it: relative to the project, or absolute
    # Where the previous one is: its name in aside/, else (another
    # filesystem) beside the output, a path like ``path``.
    places: list[str] | None = None


@dataclass
class Stash:
    manifest: Path
    key: str  # the job's key
    previous: int | None  # the id of the key's done record when the stash was made
    entries: list[Entry] = field(default_factory=list)

    @property
    def ident(self) -> str:
        return self.manifest.name[: -len(MANIFEST)]

    def done_since(self, record_id: int | None) -> bool:
        """Whether ``record_id``, the key's done record now, is the job's own:
        it succeeded, and what it made is recorded."""
        return record_id is not None and record_id != self.previous


@dataclass
class PutBack:
    """What putting a stash back did."""

    restored: list[str] = field(default_factory=list)  # previous outputs in place again
    removed: list[str] = field(default_factory=list)  # what the job had written
    problems: list[str] = field(default_factory=list)


def stash_root(state_dir: Path) -> Path:
    return state_dir / ASIDE


def pending(state_dir: Path) -> list[Path]:
    """The manifests of the stashes a run left: one listing, or one failed
    open when there is no ``aside/`` (the usual case: a run removes it when
    it is empty)."""
    try:
        with os.scandir(stash_root(state_dir)) as found:
            return sorted(Path(e.path) for e in found if e.name.endswith(MANIFEST))
    except (FileNotFoundError, NotADirectoryError):
        return []


class Aside:
    """Makes, drops and puts back the stashes of one project."""

    def __init__(self, workdir: Path, state_dir: Path) -> None:
        self.workdir = workdir
        self.root = stash_root(state_dir)

    def full(self, path: str) -> str:
        return os.path.join(self.workdir, path)

    # --- making ---------------------------------------------------------------

    def set_aside(
        self, key: str, previous: int | None, outputs: list[str], present: list[bool]
    ) -> tuple[Stash, list[str]]:
        """Move the outputs marked ``present`` into a new stash; the stash,
        and why each output that could not be moved was not (then the caller
        puts the stash back). Raises OSError when no stash can be made."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=MANIFEST, prefix="", dir=self.root)  # a new ID
        stash = Stash(Path(name), key, previous)
        ident = stash.ident
        for i, (path, there) in enumerate(zip(outputs, present, strict=True)):
            places = [f"{ident}.{i}", beside(path, ident)] if there else None
            stash.entries.append(Entry(path, places))
        with os.fdopen(fd, "w") as out:  # whole before the first rename
            out.write(manifest_text(stash))
        problems, vanished = [], False
        for entry in stash.entries:
            if entry.places is None:
                continue
            try:
                self._move_away(entry)
            except FileNotFoundError:  # gone since it was seen: nothing to keep
                entry.places, vanished = None, True
            except OSError as exc:
                problems.append(f"cannot set aside {entry.path}: {exc.strerror or exc}")
        if vanished:
            write_manifest(stash)
        return stash, problems

    def _move_away(self, entry: Entry) -> None:
        assert entry.places is not None
        inside, next_to = self._places(entry)
        try:
            os.rename(self.full(entry.path), inside)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            os.rename(self.full(entry.path), next_to)

    def _places(self, entry: Entry) -> list[str]:
        if entry.places is None:
            return []
        inside, next_to = entry.places
        return [str(self.root / inside), self.full(next_to)]

    # --- ending ---------------------------------------------------------------

    def put_back(self, stash: Stash) -> PutBack:
        """Remove what the job wrote at its outputs and rename the previous
        ones back. An output whose previous version is in neither place is
        left as it is: it was never moved (a run died first) or is back."""
        done = PutBack()
        kept = [(e, self.found(e)) for e in stash.entries]
        # Every output cleared first: one may be inside another (a directory).
        for entry, where in kept:
            if entry.places is None or where is not None:
                problem = remove(self.full(entry.path))
                if problem == "":
                    done.removed.append(entry.path)
                elif problem is not None:
                    done.problems.append(f"cannot remove {entry.path}: {problem}")
        for entry, where in kept:
            if where is None:
                continue
            try:
                os.rename(where, self.full(entry.path))
                done.restored.append(entry.path)
            except OSError as exc:
                done.problems.append(
                    f"cannot put back the previous {entry.path} (kept as {where}): "
                    f"{exc.strerror or exc}"
                )
        return done

    def found(self, entry: Entry) -> str | None:
        """Where the previous version of ``entry`` is now, if anywhere."""
        for place in self._places(entry):
            if os.path.lexists(place):
                return place
        return None

    def drop(self, stash: Stash) -> None:
        """The job succeeded and the cache says so: delete the previous
        outputs, then the manifest. What cannot be deleted stays listed."""
        left = False
        for entry in stash.entries:
            where = self.found(entry)
            if where is not None and remove(where) not in ("", None):
                left = True
        if not left:
            self.settle(stash)

    def settle(self, stash: Stash) -> None:
        """Forget a stash whose outputs are back (or dropped), once the cache
        holds how its job ended."""
        try:
            os.remove(stash.manifest)
        except OSError:
            pass

    def discard(self, manifest: Path) -> None:
        """Remove a manifest that cannot be read: the run died writing it,
        and so before moving anything (a manifest is whole before the first
        rename, and written again only atomically)."""
        try:
            os.remove(manifest)
        except OSError:
            pass

    def tidy(self) -> None:
        """Remove ``aside/`` once it is empty, so that a run finding nothing
        to recover does not even list it."""
        try:
            os.rmdir(self.root)
        except OSError:
            pass


def beside(path: str, ident: str) -> str:
    """The hidden name, in the output's own directory, of a previous output
    that cannot be renamed into aside/."""
    head, tail = os.path.split(path.rstrip("/") or path)
    return os.path.join(head, f".{tail}.outflow-aside-{ident}")


def remove(full: str) -> str | None:
    """Remove a file, link or directory tree: '' when removed, None when
    nothing was there, else why it could not be."""
    try:
        try:
            os.remove(full)
        except IsADirectoryError:
            shutil.rmtree(full)
        return ""
    except FileNotFoundError:
        return None
    except OSError as exc:
        return str(exc.strerror or exc)


def manifest_text(stash: Stash) -> str:
    return json.dumps({
        "key": stash.key,
        "previous": stash.previous,
        "outputs": [{"path": e.path, "aside": e.places} for e in stash.entries],
    })


def write_manifest(stash: Stash) -> None:
    """Write it again, atomically: a reader finds the old or the new one whole."""
    tmp = stash.manifest.with_name(stash.manifest.name + ".tmp")
    tmp.write_text(manifest_text(stash))
    os.replace(tmp, stash.manifest)


def read_manifest(manifest: Path) -> Stash | None:
    """The stash ``manifest`` describes; None when it cannot be read whole."""
    try:
        data = json.loads(manifest.read_text())
        entries = [Entry(o["path"], o["aside"]) for o in data["outputs"]]
        return Stash(manifest, data["key"], data["previous"], entries)
    except (OSError, ValueError, KeyError, TypeError):
        return None
