"""Per-document work on this process or on a Dask cluster, with results in a fixed order.

The per-document stages (ingest, annotate, shingle) are maps over chunks of documents.
:func:`runner` returns a :class:`Runner` whose :meth:`Runner.map` yields the results in the
order of its inputs, so every output is byte-identical whichever way it ran:

- ``workers`` is 0 or 1 and no scheduler: plain loop in this process (the default), or, with
  ``processes`` > 1 on a system that can fork, that many processes forked from this one
  (:class:`ForkRunner`: no Dask, nothing to start; ingest uses them on a cold build, alone in its stage);
- ``workers`` > 1: a local Dask cluster of that many single-threaded worker processes;
- ``scheduler`` (or the ``DASK_SCHEDULER`` environment variable) such as
  ``tcp://host:8786``: an existing Dask cluster, whose workers must have this project's
  ``helpers`` package installed (``pip install -e .`` in the same environment).

At most ``2 × workers`` chunks are in flight at once, so memory stays bounded.
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from helpers.errors import ParameterError


class Runner:
    """Maps a function over items in order, locally or on a Dask client."""

    def __init__(self, client: Any = None, in_flight: int = 2) -> None:
        self.client = client
        self.in_flight = max(1, in_flight)

    @property
    def distributed(self) -> bool:
        return self.client is not None

    def map(self, func: Callable[..., Any], items: Iterable[Any], *args: Any) -> Iterator[Any]:
        """Yield ``func(item, *args)`` for each item, in the order of ``items``.

        On a cluster, an exception raised by ``func`` is re-raised here unchanged (for
        example a :class:`helpers.errors.CorpusError` naming the bad file).
        """
        if self.client is None:
            for item in items:
                yield func(item, *args)
            return
        func = importable(func)
        pending: deque[Any] = deque()
        for item in items:
            pending.append(self.client.submit(func, item, *args, pure=False))
            if len(pending) >= self.in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


#: What the forked processes of a :class:`ForkRunner` run: set before they are forked, so the function's
#: arguments (cleaning rules, a corpus's manifest columns) reach them by inheritance, never pickled per task.
_FORKED: tuple[Callable[..., Any], tuple[Any, ...]] | None = None


def _run_forked(item: Any) -> Any:
    func, args = _FORKED  # type: ignore[misc]
    return func(item, *args)


class ForkRunner(Runner):
    """Maps over items in ``processes`` processes forked from this one, results in input order.

    Each :meth:`map` forks its processes after recording the function and its arguments, so only
    the items and results cross between processes (pickled); at most ``2 × processes`` items are
    in flight. An exception raised in a process is re-raised here unchanged; a process killed
    (by the kernel's out-of-memory killer, say) stops the map with a message saying so.
    """

    def __init__(self, processes: int) -> None:
        super().__init__(None, in_flight=2 * processes)
        self.processes = processes

    def map(self, func: Callable[..., Any], items: Iterable[Any], *args: Any) -> Iterator[Any]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        global _FORKED
        _FORKED = (func, args)
        pending: deque[Any] = deque()
        try:
            with ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("fork")) as pool:
                try:
                    for item in items:
                        pending.append(pool.submit(_run_forked, item))
                        if len(pending) >= self.in_flight:
                            yield pending.popleft().result()
                    while pending:
                        yield pending.popleft().result()
                finally:
                    for future in pending:
                        future.cancel()
        except BrokenProcessPool:
            raise ParameterError(f"a forked process of {func.__name__} died (killed, out of memory?). "
                                 "Run again with JOBS=1 (one process) to see the error, or free memory.") from None
        finally:
            _FORKED = None


def can_fork() -> bool:
    """Whether this system forks processes safely: Linux (macOS's fork breaks some system libraries)."""
    import multiprocessing

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def importable(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` itself, or, when it was defined in a module run as ``python -m package.module``
    (so ``func.__module__`` is ``"__main__"``), the same function of the importable module.

    Dask (cloudpickle) sends what ``__main__`` defines by value: every task would carry copies of
    the function, of the globals it reads and of the classes it uses, and rebuild per task the
    state a module keeps between tasks (the annotation matcher: 4x the CPU per paragraph).
    """
    if getattr(func, "__module__", None) != "__main__":
        return func
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is None or not spec.name or spec.name == "__main__":
        return func
    target: Any = importlib.import_module(spec.name)
    for part in func.__qualname__.split("."):
        target = getattr(target, part, None)
        if target is None:
            return func
    return target


def _check_workers(workers: object) -> int:
    try:
        n = int(workers)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        n = -1
    if n < 0:
        raise ParameterError(f"`workers` must be a whole number >= 0. Got {workers!r} instead.")
    return n


@contextmanager
def runner(workers: int | str | None = None, scheduler: str | None = None, processes: int = 1) -> Iterator[Runner]:
    """Context manager giving a :class:`Runner`; starts and stops a local cluster when asked.

    ``scheduler`` defaults to the ``DASK_SCHEDULER`` environment variable. Without a scheduler
    and with ``workers`` <= 1, ``processes`` > 1 gives a :class:`ForkRunner` where the system forks
    (:func:`can_fork`), else a plain loop.
    """
    n = _check_workers(workers or 0)
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER") or None
    if not scheduler and n <= 1:
        yield ForkRunner(processes) if processes > 1 and can_fork() else Runner()
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is a pinned dependency
        raise ParameterError("Dask is not installed; run `make env` or use WORKERS=1.") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise ParameterError(f"DASK_SCHEDULER={scheduler}: cannot reach the Dask scheduler ({exc}). "
                                 "Check the address, or unset DASK_SCHEDULER to run locally.") from None
        try:
            yield Runner(client, in_flight=2 * max(1, len(client.scheduler_info().get("workers", {}))))
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    client = Client(cluster)
    try:
        yield Runner(client, in_flight=2 * n)
    finally:
        client.close()
        cluster.close()


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` cut into consecutive lists of at most ``size`` (the last may be shorter), made as they are consumed:
    a generator of items (each document's texts, say) is never held whole."""
    it = iter(items)
    while chunk := list(itertools.islice(it, max(1, size))):
        yield chunk
