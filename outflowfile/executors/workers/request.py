"""``--cluster SCHEDULER --workers N`` as a request (no Dask imported)."""

from __future__ import annotations

from dataclasses import dataclass

from outflowfile.errors import UserError
from outflowfile.executors.cluster.executor import ClusterRequest
from outflowfile.executors.cluster.native import Defaults

SCHEDULERS = ("slurm", "sge", "pbs", "lsf", "htcondor")


@dataclass
class WorkersRequest(ClusterRequest):
    """The cluster request, and N: the most scheduler jobs the workers take."""

    workers: int = 1

    @property
    def nodes_write_cache(self) -> bool:
        return False  # the workers send each job's report to the run, which writes it


def workers_request(scheduler: str, workers: int | None, defaults: Defaults,
                    latency_wait: float) -> WorkersRequest:
    if workers is None:
        raise UserError(f"--cluster {scheduler} runs jobs only through workers",
                        hint=f"add --workers N (at most N {scheduler} jobs)")
    if scheduler not in SCHEDULERS:
        raise UserError(f"--workers: no workers through --cluster {scheduler}",
                        hint="name the scheduler: --cluster " + "|".join(SCHEDULERS))
    return WorkersRequest(scheduler, None, defaults, latency_wait, workers=workers)
