"""What the run loop writes to the cache, and the recorder of a run that
writes nothing (a dry run, ``--touch -n``).

``store/recorder.py``'s ``RunRecorder`` is the real one."""

from __future__ import annotations

from typing import Any, Protocol


class Recorder(Protocol):
    def job_started(
        self,
        key: str,
        task: str,
        slot: str,
        def_hash: str,
        params: dict[str, Any],
        output_files: list[str],
        log: str,
        host: str,
        started: float,
        image: tuple[str, str] | None = None,
    ) -> int | None: ...

    def job_done(
        self,
        row_id: int,
        values: dict[str, Any],
        files: dict[str, Any],
        ended: float,
        exit_status: int | None = 0,
        cpu_seconds: float | None = None,
        peak_mem: int | None = None,
        started: float | None = None,
    ) -> None: ...

    def job_failed(
        self,
        row_id: int,
        error: str,
        ended: float,
        exit_status: int | None = None,
        cpu_seconds: float | None = None,
        peak_mem: int | None = None,
        started: float | None = None,
    ) -> None: ...

    def withdraw(self, row_id: int) -> None: ...

    def adopt(self, row_id: int) -> None: ...

    def mark_interrupted(self, row_ids: list[int]) -> None: ...

    def jobs_touched(self, touched: list[Any]) -> None: ...

    def flush(self) -> None: ...

    def flush_due(self) -> float | None: ...


class NullRecorder:
    """Records nothing (each method takes what ``Recorder``'s does): a job
    started has no row, and nothing waits to be flushed."""

    def job_started(self, *args: Any, **kwargs: Any) -> int | None:
        return None

    def job_done(self, *args: Any, **kwargs: Any) -> None:
        pass

    def job_failed(self, *args: Any, **kwargs: Any) -> None:
        pass

    def withdraw(self, row_id: int) -> None:
        pass

    def adopt(self, row_id: int) -> None:
        pass

    def mark_interrupted(self, row_ids: list[int]) -> None:
        pass

    def jobs_touched(self, touched: list[Any]) -> None:
        pass

    def flush(self) -> None:
        pass

    def flush_due(self) -> float | None:
        return None
