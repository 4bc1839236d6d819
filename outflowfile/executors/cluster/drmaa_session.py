"""Submission through DRMAA (the ``drmaa`` package and the scheduler's own
``libdrmaa``, found through ``DRMAA_LIBRARY_PATH``). The package is imported
here only, when a run asks for a cluster: it raises at import time when no
library is found."""

from __future__ import annotations

import shlex
from typing import Any

from outflowfile.errors import UserError
from outflowfile.executors.cluster.queues import sge_queue, slurm_jobs
from outflowfile.executors.cluster.scheduler import Ended, job_environment


def _load() -> Any:
    try:
        import drmaa
    except (ImportError, RuntimeError, OSError) as exc:
        raise UserError(
            f"cannot load the DRMAA library: {exc}",
            hint="set DRMAA_LIBRARY_PATH to your scheduler's libdrmaa.so "
            "(for Slurm without one, use --cluster slurm --cluster-submit sbatch)",
        ) from None
    return drmaa


class DrmaaSubmitter:
    def __init__(self, flavour: str | None = None) -> None:
        self._drmaa = _load()
        self._session = self._drmaa.Session()
        try:
            self._session.initialize()
        except Exception as exc:  # the library's own errors, e.g. no qmaster
            raise UserError(f"cannot start a DRMAA session: {exc}") from None
        info = str(self._session.drmsInfo)
        slurm = "slurm" in info.lower()
        if flavour == "slurm" or (flavour is None and slurm):
            self.flavour = "slurm-drmaa"
        else:
            self.flavour = flavour or "sge"

    def describe(self) -> str:
        s = self._session
        return f"{s.drmsInfo} through DRMAA ({s.drmaaImplementation})"

    def submit(self, name: str, command: list[str], native: list[str], log: str,
               workdir: str) -> str:
        jt = self._template(name, command, native, workdir)
        jt.outputPath = ":" + log
        try:
            try:
                return str(self._session.runJob(jt))
            except Exception as exc:
                raise OSError(f"the scheduler refused the job: {exc}") from None
        finally:
            self._session.deleteJobTemplate(jt)

    def submit_array(self, name: str, command: list[str], native: list[str], size: int,
                     log_dir: str, workdir: str) -> list[str]:
        jt = self._template(name, command, native, workdir)
        jt.outputPath = f":{log_dir}/{name}.{jt.PARAMETRIC_INDEX}.out"
        try:
            try:
                return [str(j) for j in self._session.runBulkJobs(jt, 1, size, 1)]
            except Exception as exc:
                raise OSError(f"the scheduler refused the job array: {exc}") from None
        finally:
            self._session.deleteJobTemplate(jt)

    def finished(self, ids: list[str]) -> dict[str, Ended]:
        d = self._drmaa
        if self.flavour == "sge":
            # One qstat for all: the library asks the scheduler job by job.
            queue = sge_queue()
            if queue is not None:
                ids = [job_id for job_id in ids if job_id not in queue]
        out = {}
        for job_id in ids:
            try:
                state = self._session.jobStatus(job_id)
            except d.errors.InvalidJobException:
                state = d.JobState.DONE
            if state not in (d.JobState.DONE, d.JobState.FAILED):
                continue
            out[job_id] = self._ended(job_id)
        return out

    def _template(self, name: str, command: list[str], native: list[str], workdir: str) -> Any:
        jt = self._session.createJobTemplate()
        jt.remoteCommand = command[0]
        jt.args = command[1:]
        jt.nativeSpecification = " ".join(shlex.quote(a) for a in native)
        jt.workingDirectory = workdir
        jt.joinFiles = True
        jt.jobName = name
        jt.jobEnvironment = job_environment()
        return jt

    def _ended(self, job_id: str) -> Ended:
        d = self._drmaa
        try:
            info = self._session.wait(job_id, d.Session.TIMEOUT_NO_WAIT)
        except Exception as exc:  # already reaped or unknown to the library
            return Ended("UNKNOWN", None, str(exc))
        if self.flavour == "slurm-drmaa" and (info.wasAborted or info.hasSignal):
            # Slurm's library says "aborted" of a job killed at its time
            # limit, or for lost memory or node: Slurm's own state tells which.
            entry = (slurm_jobs([job_id]) or {}).get(job_id)
            if entry is not None and not entry.waiting:
                return Ended(entry.state, entry.exit_status, entry.reason)
        if info.wasAborted:
            return Ended("CANCELLED", None, "aborted before or while running")
        if info.hasSignal:
            return Ended("FAILED", None, f"killed by {info.terminatedSignal}")
        code = int(info.exitStatus) if info.hasExited else None
        return Ended("COMPLETED" if code == 0 else "FAILED", code)

    def cancel(self, ids: list[str]) -> None:
        for job_id in ids:
            try:
                self._session.control(job_id, self._drmaa.JobControlAction.TERMINATE)
            except Exception:  # already gone
                pass

    def close(self) -> None:
        try:
            self._session.exit()
        except Exception:
            pass
