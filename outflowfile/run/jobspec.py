"""What an executor is given to run one job, and what it gives back.

These two records are the whole contract between the run (planning,
scheduling, the cache) and the executors (serial, local pool, cluster). A
``JobSpec`` holds only plain data, so it can be pickled to a worker process,
stored in the cache database for a job running on a cluster node (``row``;
the node's report comes back through the same row: see ``run/executor.py``),
or turned into a command line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class JobSpec:
    id: int  # unique within a run, assigned by the graph
    task: str
    label: str  # what the console shows: "compute raw_data=2"
    kind: str  # "run" | "shell" | "call" | "script"
    # run: the dedented Python block; shell: the command, already formatted
    # and quoted; call: "package.module:function"; script: its absolute path.
    code: str
    code_line: int  # Outflowfile line of the first line of `code` (run:)
    outflowfile: str  # absolute path of the file the run: body is in, for tracebacks
    workdir: str  # absolute path of the project directory
    params: dict[str, Any]  # the job's input values, by parameter name
    input_files: dict[str, str | list[str]]  # by name, relative to workdir
    output_files: dict[str, str]  # by name, relative to workdir
    value_outputs: list[str]  # declared value outputs, in order
    cpus: int  # cores granted (already capped at what the executor has)
    mem: int | None = None  # bytes asked for
    time: int | None = None  # seconds allowed
    log: str = ""  # log file, relative to workdir
    key: str = ""  # the job's cache key
    resources: dict[str, Any] = field(default_factory=dict)  # partition, cluster, ...
    row: int | None = None  # its row in the cache (cluster jobs read their spec there)
    # What it runs with (plan/envdigests.py ``describe``): container, image_id,
    # runtime; venv (the spec's absolute path), venv_digest; envmodules. {}:
    # outflow's own environment.
    environment: dict[str, Any] = field(default_factory=dict)

    def to_text(self) -> str:
        from outflowfile import valuecodec

        return valuecodec.encode(asdict(self))

    @classmethod
    def from_text(cls, text: str) -> JobSpec:
        from outflowfile import valuecodec

        return cls(**valuecodec.decode(text))


@dataclass
class JobResult:
    id: int
    ok: bool
    values: dict[str, Any] = field(default_factory=dict)  # value outputs by name
    error: str | None = None  # traceback or "command exited with status 3"
    exit_status: int | None = None  # process exit status; negative: killed by signal
    started: float = 0.0  # time.time()
    ended: float = 0.0
    host: str = ""
    cpu_seconds: float | None = None
    peak_mem: int | None = None  # bytes
    output: str = ""  # what the job printed (also in its log), shown on the console
    # False: the job never started (it was queued in a worker that ended
    # first, or withdrawn): nothing of it is to be recorded.
    ran: bool = True


#: What the local pool sends a worker after a job of its failed, once it
#: knows whether the job queued behind it may start (GO) or not (DROP).
GO = "go"
DROP = "drop"


def thread_env(cpus: int) -> dict[str, str]:
    """The environment that tells a job how many cores it has."""
    n = str(cpus)
    return {
        "OUTFLOW_CPUS": n,
        "OMP_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
    }
