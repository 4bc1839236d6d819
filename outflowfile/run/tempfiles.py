"""Temporary output files (``temp("...")``): each is removed as soon as
every job of the run that reads it has succeeded (ran, or was up to date).

Who reads a file is known once every job admitted to the run has its paths
bound and every map is expanded (the run is *settled*): only then can no
other reader turn up. Until then the files whose readers have all succeeded
wait, and are looked at again as jobs complete, and at the end of the run.
A file no job reads (a target) is kept; so is one whose reader failed, or
did not run. A file removed this way counts, for the next plan, as what its
record says until a job that reads it must run (``Decider.temp_gone``).
"""

from __future__ import annotations

import os
from pathlib import Path

from outflowfile.graph.expand import Job, MapNode, Node, NodeState
from outflowfile.graph.fileflags import temp_paths
from outflowfile.plan.files import FileState
from outflowfile.run.aside import remove

_SUCCEEDED = (NodeState.DONE, NodeState.SKIPPED)
_OVER = (NodeState.DONE, NodeState.SKIPPED, NodeState.FAILED, NodeState.BLOCKED)
# A dry run: a job that would run would succeed.
_WOULD_SUCCEED = (*_SUCCEEDED, NodeState.WOULD_RUN)


class TempFiles:
    """``dry``: remove nothing, and list at the end (``removed``) the files a
    run would remove: those that exist or would be made again."""

    def __init__(self, workdir: Path, files: FileState, dry: bool = False) -> None:
        self.workdir = workdir
        self.files = files
        self.dry = dry
        self.succeeded = _WOULD_SUCCEED if dry else _SUCCEEDED
        self.over = (*_OVER, NodeState.WOULD_RUN) if dry else _OVER
        self.admitted: list[Node] = []
        self.settled_upto = 0  # admitted[:settled_upto] have their paths bound
        self.producers: dict[str, Job] = {}  # temporary file -> its job, when bound
        self.readers: dict[str, list[Job]] | None = None  # once settled
        self.pending: set[str] = set()  # files whose readers may all have succeeded
        self.removed: list[str] = []
        self.problems: list[str] = []

    def admit(self, nodes: list[Node]) -> None:
        self.admitted.extend(nodes)

    def completed(self, job: Job) -> None:
        """``job`` succeeded: the temporary files it reads (and makes) may
        have no reader left to wait for."""
        for path in temp_paths(job):
            self.producers[path] = job
            self.pending.add(path)
        if job.inputs:
            self.pending.update(p for p in job.inputs if p in self.producers)
        if self.pending and not self.dry and self._settled():
            self._remove_done()

    def end(self) -> None:
        """The run is over: what no job left to run can still read."""
        if self.pending:
            self.readers = self._index()
            self._remove_done()

    def _settled(self) -> bool:
        if self.readers is not None:
            return True
        nodes, i = self.admitted, self.settled_upto
        while i < len(nodes):
            node = nodes[i]
            if isinstance(node, MapNode):
                if not node.expanded and node.state not in self.over:
                    break
            elif type(node) is Job and node.output_files is None and node.state not in self.over:
                break
            i += 1
        self.settled_upto = i
        if i < len(nodes):
            return False
        self.readers = self._index()
        return True

    def _index(self) -> dict[str, list[Job]]:
        readers: dict[str, list[Job]] = {}
        for node in self.admitted:
            if type(node) is Job and node.output_files is not None:
                for path in temp_paths(node):
                    self.producers.setdefault(path, node)
        for node in self.admitted:
            if type(node) is Job:
                for path in node.inputs:
                    if path in self.producers and self.producers[path] is not node:
                        readers.setdefault(path, []).append(node)
        return readers

    def _remove_done(self) -> None:
        assert self.readers is not None
        pending, self.pending = self.pending, set()
        for path in sorted(pending):
            readers = self.readers.get(path)
            producer = self.producers.get(path)
            if not readers or producer is None or producer.state not in self.succeeded:
                continue  # a target, or not made
            if any(r.state not in self.succeeded for r in readers):
                if not all(r.state in self.over for r in readers):
                    self.pending.add(path)  # wait for the others
                continue
            self._remove(path, producer)

    def _remove(self, path: str, producer: Job) -> None:
        full = os.path.join(self.workdir, path)
        if self.dry:
            if producer.state == NodeState.WOULD_RUN or os.path.lexists(full):
                self.removed.append(path)
            return
        self.files.forget(path)
        why = remove(full)
        if why == "":
            self.removed.append(path)
        elif why is not None:
            self.problems.append(f"cannot remove the temporary file {path}: {why}")
