"""Workers (pilot jobs): ``--workers N`` runs a run's jobs inside at most N
scheduler jobs, each a Dask worker started by dask-jobqueue (``engine.py``),
instead of one scheduler job per job. ``executor.py`` is the ``Executor``;
``jobtask.py`` is what a worker runs: a batch of jobs. Dask is the optional extra
``outflow[workers]``, imported only when ``--workers`` is given."""
