"""What a worker runs for one job: the node job's own way of running it
(``cluster/nodejob.py``), so that a job's log, cores, exit status, CPU time
and peak memory are measured as on a node of its own.

A ``shell:`` or ``script:`` job runs as a child of the worker, as the node
job runs it. A ``run:`` or ``call:`` job runs in a node job process of its
own (``nodejob --spec-file``), never in the worker's: jobs of one worker run
at once in its threads, and a Python body changes its process (directory,
modules, globals). The job's report comes back to outflow as an event the
moment the job ends (``TOPIC``), and with the others of its batch as the
task's result, through Dask: nothing here touches the cache.

Imports no Dask: the worker unpickles ``run_job`` by reference.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from typing import Any

from outflowfile.run.jobspec import JobResult, JobSpec

NODE_JOB_MODULE = "outflowfile.executors.cluster.nodejob"
TOPIC = "outflow-job-ended"  # the Dask event topic of a job's report


def run_jobs(spec_texts: list[str]) -> list[dict[str, Any]]:
    """Run a batch of jobs here one after the other (one Dask task for
    several small jobs: Dask's cost is per task). Each job's report is sent
    as an event as soon as it ends, so that outflow records it then rather
    than at the batch's end; all of them are the task's result too."""
    from distributed import get_worker

    from outflowfile import valuecodec

    worker = get_worker()
    reports = []
    for text in spec_texts:
        report = run_job(text)
        reports.append(report)
        try:
            encoded = valuecodec.encode(report)
        except Exception:  # noqa: BLE001 - then outflow takes it from the task's result
            continue
        worker.log_event(TOPIC, [report["id"], encoded])
    return reports


def run_job(spec_text: str) -> dict[str, Any]:
    """Run the job ``spec_text`` (``JobSpec.to_text``) here; its report, a
    ``JobResult`` as a dict without its output (outflow reads the log)."""
    from outflowfile.executors.cluster.nodejob import run_shell

    spec = JobSpec.from_text(spec_text)
    host = socket.gethostname()
    if spec.kind in ("shell", "script"):
        result = run_shell(spec, host)
    else:
        result = _run_apart(spec, spec_text, host)
    report = asdict(result)
    report.pop("output", None)
    return report


def _run_apart(spec: JobSpec, spec_text: str, host: str) -> JobResult:
    """A Python body in a node job process of its own; its report from a file."""
    from outflowfile import valuecodec

    with tempfile.TemporaryDirectory(prefix="outflow-job-") as scratch:
        spec_file = os.path.join(scratch, "spec")
        report_file = os.path.join(scratch, "report")
        with open(spec_file, "w") as out:
            out.write(spec_text)
        argv = [sys.executable, "-m", NODE_JOB_MODULE, "--workdir", spec.workdir,
                "--spec-file", spec_file, "--report-file", report_file]
        started = time.time()
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        try:
            with open(report_file) as got:
                return JobResult(**valuecodec.decode(got.read()))
        except OSError:
            said = (proc.stderr or proc.stdout).strip()[-2000:]
            return JobResult(id=spec.id, ok=False, host=host, started=started,
                             ended=time.time(), exit_status=proc.returncode,
                             error=f"the job's process ended without a report "
                                   f"(exit status {proc.returncode}): {said}")
