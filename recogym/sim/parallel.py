"""Logs of many users simulated in chunks, on many processes or machines,
bit-identical to one ``env.simulate`` call.

In the default random-number mode a user's draws depend only on
``(random_seed, user_id)``, so the user ids can be cut into chunks that run
anywhere and are put back in user order. In legacy mode all users share
0.1.3.0's one stream, so the chunks run in order, in this process.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Collection, Generator, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np

from .._progress import tqdm

from .._checks import check_choice, check_count, check_executor, check_flag, check_positive_int, check_user_range
from ..logs import COLUMN_DTYPES, Logs
from ..model import Simulation, expected_events_per_user, transition_cdf
from ..params import MODEL_IDS, OPTIONAL_ARGS, Configuration, defaults_for, resolve_env_args, slate_size_of
from ..policies import LoggingPolicy
from .simulate import expected_rows, grown_columns, kernel_policy, log_engine, simulate_logs

__all__ = ["simulate_parallel", "SimulationJob", "default_chunk_users", "TARGET_CHUNK_ROWS", "TaskFailed",
           "Tasks", "process_pool"]

#: Rows a chunk of the default size holds on average (about 42 MB): large
#: enough that building an env and shipping the result cost little beside the
#: simulation, small enough that a few chunks per worker fit in memory.
TARGET_CHUNK_ROWS = 1_000_000

# One chunk running and one waiting per worker: no worker idles between
# chunks, and finished chunks never pile up faster than they are consumed.
_IN_FLIGHT_PER_WORKER = 2

R = TypeVar("R")

# How often a pool worker checks that the process that started it is alive.
_PARENT_POLL_SECONDS = 0.5


def process_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``workers`` processes that exit when this process dies,
    even by SIGKILL, instead of lingering as orphans."""
    return concurrent.futures.ProcessPoolExecutor(workers, initializer=_exit_with_parent, initargs=(os.getpid(),))


def _exit_with_parent(parent: int) -> None:
    """Start a thread that ends this worker once ``parent`` is gone (the
    worker is then adopted, and its parent id changes)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="recogym-exit-with-parent", daemon=True).start()


class TaskFailed(Exception):
    """A task that failed twice: once, then again when retried alone.

    Attributes
    ----------
    index : int
        The task's position in its job.
    cause : BaseException
        The second failure.
    """

    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__(f"task {index} failed twice: {type(cause).__name__}: {cause}")
        self.index = index
        self.cause = cause


class Tasks:
    """Tasks on an executor, or on a process pool of our own, each retried
    once if it fails (a worker that died, a lost connection).

    A failure on our own pool breaks the whole pool and every task running
    on it, so the pool is replaced and each task it was running is retried
    alone: an innocent task is not blamed for its neighbour, and the one
    that kills its worker again fails with :class:`TaskFailed`. Interrupts
    (``KeyboardInterrupt``, ``SystemExit``) are never retried.
    """

    def __init__(self, executor: concurrent.futures.Executor | None, workers: int) -> None:
        self._executor = executor
        self._workers = workers
        self._pool = process_pool(workers) if executor is None else executor
        self._running: dict[concurrent.futures.Future[Any], tuple[int, Callable[..., Any], tuple[Any, ...]]] = {}
        self._retries: collections.deque[tuple[int, Callable[..., Any], tuple[Any, ...]]] = collections.deque()
        self._retried: set[int] = set()

    def __len__(self) -> int:
        """Tasks submitted and not yet returned by :meth:`next_done`."""
        return len(self._running) + len(self._retries)

    def submit(self, index: int, function: Callable[..., Any], *args: Any) -> None:
        try:
            future = self._pool.submit(function, *args)
        except concurrent.futures.process.BrokenProcessPool:
            if self._executor is not None:
                raise
            # It broke while we looked elsewhere: its tasks' failures are still to be read.
            self._replace_pool()
            future = self._pool.submit(function, *args)
        self._running[future] = (index, function, args)

    def next_done(self) -> tuple[int, Any]:
        """The index and result of the next task to finish.

        Raises
        ------
        TaskFailed
            For a task that failed on its retry too.
        """
        while True:
            if self._retries and not self._running:  # a retry runs alone
                index, function, args = self._retries.popleft()
                self.submit(index, function, *args)
            done, _ = concurrent.futures.wait(self._running, return_when=concurrent.futures.FIRST_COMPLETED)
            future = next(iter(done))
            index, function, args = self._running.pop(future)
            try:
                return index, future.result()
            except Exception as error:
                if isinstance(error, concurrent.futures.process.BrokenProcessPool) and self._executor is None:
                    self._replace_pool()
                if index in self._retried:
                    raise TaskFailed(index, error) from error
                self._retried.add(index)
                self._retries.append((index, function, args))

    def _replace_pool(self) -> None:
        """A broken pool fails everything it ran: retry those tasks on a new one."""
        for future, (index, function, args) in list(self._running.items()):
            future.cancel()
            self._retries.append((index, function, args))
            self._retried.add(index)
        self._running.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = process_pool(self._workers)

    def close(self) -> None:
        """Cancel what has not started; stop our own pool."""
        for future in self._running:
            future.cancel()
        self._running.clear()
        if self._executor is None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def default_chunk_users(config: Configuration) -> int:
    """Users per chunk for about :data:`TARGET_CHUNK_ROWS` rows.

    See :func:`recogym.model.expected_events_per_user`.
    """
    events_per_user, _ = expected_events_per_user(transition_cdf(config))
    if not np.isfinite(events_per_user):  # users who never leave
        return 1
    return max(1, round(TARGET_CHUNK_ROWS / events_per_user))


def _resolve_simulation_args(model: str, env_args: Mapping[str, Any] | None) -> Configuration:
    """``env_args`` resolved for ``model``, ready to ship to other processes.

    Unknown keys, which the env ignores (and :func:`resolve_env_args` has
    warned about), are dropped so that workers do not warn again.

    Raises
    ------
    ValueError, TypeError
        For an unknown ``model``, an argument outside its allowed values, or
        an ``agent`` (chunks run under ``policy``).
    """
    check_choice("model", model, MODEL_IDS)
    config = resolve_env_args(model, env_args)
    if config.get("agent") is not None:
        raise ValueError(
            "env arg 'agent' is not supported here: chunked logs follow `policy` (None for uniform, a "
            "probability vector over products, or a recogym.policies policy), which the kernel runs "
            "without Python; use env.generate_logs(...) for the logs of an agent"
        )
    known = set(defaults_for(model)) | set(OPTIONAL_ARGS)
    return Configuration({key: value for key, value in config.items() if key in known})


@dataclasses.dataclass(frozen=True)
class SimulationJob:
    """A validated log simulation: which users, under which model, arguments
    and logging policy, cut into which chunks, run where.

    Build it with :meth:`plan`. :meth:`chunks` streams the logs chunk by
    chunk, in user order, which is how :func:`recogym.io.parquet.write_logs`
    keeps its memory bounded.
    """

    model: str
    config: Configuration
    num_users: int
    num_organic_users: int
    policy: LoggingPolicy
    workers: int
    chunk_users: int
    executor: concurrent.futures.Executor | None
    progress: bool = False

    @classmethod
    def plan(
        cls,
        env_args: Mapping[str, Any] | None,
        num_users: int,
        *,
        model: str = "reco-gym-v1",
        num_organic_users: int = 0,
        policy: LoggingPolicy = None,
        workers: int = 1,
        chunk_users: int | None = None,
        executor: concurrent.futures.Executor | None = None,
        progress: bool = False,
    ) -> SimulationJob:
        """Check every argument (see :func:`simulate_parallel`) before any
        process starts.

        Warns
        -----
        UserWarning
            In legacy mode with ``workers > 1`` or an ``executor``: the job
            runs sequentially in this process instead.
        """
        config = _resolve_simulation_args(model, env_args)
        num_users = check_count("num_users", num_users)
        num_organic_users = check_count("num_organic_users", num_organic_users)
        check_user_range(0, num_organic_users + num_users, "num_organic_users + num_users")
        kernel_policy(policy, config.num_products, slate_size_of(config))  # validates as env.simulate does
        workers = check_positive_int("workers", workers)
        chunk_users = (default_chunk_users(config) if chunk_users is None
                       else check_positive_int("chunk_users", chunk_users))
        check_executor(executor)
        progress = check_flag("progress", progress)
        if config.rng == "legacy" and (workers > 1 or executor is not None):
            warnings.warn("rng='legacy' runs sequentially in this process: 0.1.3.0's random stream is "
                          "shared by all users, so they cannot be split across workers; workers and "
                          "executor are ignored", UserWarning, stacklevel=3)
        return cls(model, config, num_users, num_organic_users, policy, workers, chunk_users, executor, progress)

    def bounds(self) -> Iterator[tuple[int, int]]:
        """The ``[lo, hi)`` user-id ranges of the chunks, in order."""
        total = self.num_organic_users + self.num_users
        # An empty job is one empty chunk, so that its logs still have typed columns.
        for lo in range(0, max(total, 1), self.chunk_users):
            yield lo, min(lo + self.chunk_users, total)

    def chunks(self) -> Generator[Logs, None, None]:
        """The logs of each chunk, in user order.

        Close the iterator (or exhaust it) to cancel the chunks still queued
        and stop the process pool it started.
        """
        return self.run(_chunk_logs)

    def run(self, task: Callable[..., R], *args: Any, only: Collection[tuple[int, int]] | None = None,
            failures: list[tuple[int, int, BaseException]] | None = None) -> Generator[R, None, None]:
        """``task(logs, lo, hi, *args)`` on each chunk, where the chunk was
        simulated, and its results in user order.

        A task that writes its chunk somewhere and returns a small summary
        sends nothing else back to this process, which is what lets workers
        scale. ``task`` must pickle by name (a module-level function) to run
        on a pool or an executor.

        Parameters
        ----------
        task : callable
            Called with the chunk's :class:`~recogym.logs.Logs`, its user
            range ``[lo, hi)`` and ``args``.
        only : collection of (lo, hi), optional
            The chunks to run (of :meth:`bounds`); the others are skipped.
            In legacy mode the skipped chunks are still simulated, here and
            in order, because they carry the shared stream on.
        failures : list, optional
            Where to record ``(lo, hi, cause)`` for each chunk that failed on
            a pool or an executor twice (a worker that died, then died again
            when the chunk was retried alone); such chunks are skipped and
            the others finish. Without it the first such failure raises
            :class:`TaskFailed`.

        Close the iterator (or exhaust it) to cancel the chunks still queued
        and stop the process pool it started.
        """
        bounds = list(self.bounds())
        wanted = bounds if only is None else [span for span in bounds if span in set(only)]
        if self.config.rng == "legacy" or (self.executor is None and self.workers == 1):
            return self._run_in_process(task, args, set(wanted))
        return self._run_on_executor(task, args, wanted, failures)

    def _bar(self, wanted: Collection[tuple[int, int]]) -> Any:
        """The job's one bar, in users, starting from those already done;
        hidden unless ``progress`` (and off a terminal, as tqdm decides)."""
        total = self.num_organic_users + self.num_users
        todo = sum(hi - lo for lo, hi in wanted)
        return tqdm(total=total, initial=total - todo, desc="Users", unit="users", unit_scale=True,
                    disable=None if self.progress else True, smoothing=0.1)

    def logs_in_process(self) -> Logs:
        """Every chunk's logs, simulated here in one pass of the log driver
        straight into one set of columns: the rows of :meth:`chunks`, without
        the chunks held and then copied together (which took twice the
        memory and, at P=10, as long as the simulation)."""
        engine = log_engine(Simulation.create(self.model, self.config))
        with self._bar(list(self.bounds())) as bar:
            return simulate_logs(engine, 0, self.num_users, self.num_organic_users, self.policy, progress=bar)

    def _run_in_process(self, task: Callable[..., R], args: tuple[Any, ...],
                        wanted: set[tuple[int, int]]) -> Generator[R, None, None]:
        # One engine for every chunk: in legacy mode its stream carries from chunk to chunk.
        engine = log_engine(Simulation.create(self.model, self.config))
        with self._bar(wanted) as bar:
            for lo, hi in self.bounds():
                if (lo, hi) in wanted or self.config.rng == "legacy":
                    logs = _simulate(engine, lo, hi, self.num_organic_users, self.policy)
                    if (lo, hi) in wanted:
                        result = task(logs, lo, hi, *args)
                        bar.update(hi - lo)
                        yield result

    def _run_on_executor(self, task: Callable[..., R], args: tuple[Any, ...], wanted: list[tuple[int, int]],
                         failures: list[tuple[int, int, BaseException]] | None) -> Generator[R, None, None]:
        in_flight = self.workers * _IN_FLIGHT_PER_WORKER
        tasks = Tasks(self.executor, self.workers)
        finished: dict[int, R | TaskFailed] = {}
        submitted = 0
        bar = self._bar(wanted)
        try:
            for next_index in range(len(wanted)):
                # Results wait here until their turn, and count as in flight.
                while submitted < len(wanted) and submitted - next_index < in_flight:
                    lo, hi = wanted[submitted]
                    tasks.submit(submitted, _run_range, task, self.model, self.config, lo, hi,
                                 self.num_organic_users, self.policy, args)
                    submitted += 1
                while next_index not in finished:
                    try:
                        index, result = tasks.next_done()
                        finished[index] = result
                        bar.update(wanted[index][1] - wanted[index][0])
                    except TaskFailed as failure:
                        if failures is None:
                            raise
                        finished[failure.index] = failure
                outcome = finished.pop(next_index)
                if isinstance(outcome, TaskFailed):
                    assert failures is not None
                    failures.append((*wanted[next_index], outcome.cause))
                else:
                    yield outcome
        finally:
            bar.close()
            tasks.close()


def simulate_parallel(
    env_args: Mapping[str, Any] | None,
    num_users: int,
    *,
    model: str = "reco-gym-v1",
    num_organic_users: int = 0,
    policy: LoggingPolicy = None,
    workers: int = 1,
    chunk_users: int | None = None,
    executor: concurrent.futures.Executor | None = None,
    progress: bool = False,
) -> Logs:
    """The logs of ``env.simulate(num_users, num_organic_users, policy=policy)``
    on a fresh env, simulated in chunks of users on ``workers`` processes.

    In the default random-number mode the result is bit-identical to the
    single call whatever ``workers``, ``chunk_users`` and ``executor``. The
    whole result is held in memory; :func:`recogym.io.parquet.write_logs`
    streams it to a file instead.

    Parameters
    ----------
    env_args : dict or Configuration
        The env arguments, as ``init_gym`` takes them (missing keys take the
        model's defaults). ``agent`` is refused: the chunks follow ``policy``.
    num_users : int
        Users who contribute their whole timeline; their ids follow the
        organic-only users'.
    model : {'reco-gym-v1', 'reco-gym-v0'}
    num_organic_users : int
        Users with ids ``0 .. num_organic_users - 1`` who contribute one
        organic session each.
    policy : None, array_like or recogym.policies policy
        The logging policy, as ``env.simulate`` takes it; ``None`` is uniform.
    workers : int
        Processes to run the chunks on; 1 runs them here, without a pool.
        With ``executor``, how many chunks it runs at once: at most
        ``2 * workers`` chunks are submitted and not yet consumed, which
        bounds memory on any executor.
    chunk_users : int, optional
        Users per chunk, a task each. The default aims at about a million
        rows per chunk (:func:`default_chunk_users`).
    executor : concurrent.futures.Executor, optional
        Where to run the chunks instead of a new ``ProcessPoolExecutor``,
        such as ``distributed.Client(address).get_executor()``. Its workers
        must be able to import recogym.
    progress : bool
        Show one tqdm bar for the whole job, in users, advanced as each
        chunk finishes wherever it runs (on a terminal only).

    Returns
    -------
    Logs

    Raises
    ------
    ValueError, TypeError
        For any argument outside its allowed values, naming it.
    TaskFailed
        If a chunk failed on the pool or the executor twice: once, then
        again when retried alone (a chunk whose worker dies once costs
        nothing but its rerun).

    Warns
    -----
    UserWarning
        With ``rng='legacy'`` and ``workers > 1`` or an ``executor``: legacy
        mode runs sequentially in this process, because 0.1.3.0's stream is
        shared by all users.

    Notes
    -----
    The default pool starts processes with the platform's start method; where
    that is spawn (macOS, Windows), call this under
    ``if __name__ == '__main__':``.

    Examples
    --------
    >>> from recogym.sim.parallel import simulate_parallel
    >>> logs = simulate_parallel({'random_seed': 42}, 20_000, workers=2)  # doctest: +SKIP
    """
    job = SimulationJob.plan(env_args, num_users, model=model, num_organic_users=num_organic_users,
                             policy=policy, workers=workers, chunk_users=chunk_users, executor=executor,
                             progress=progress)
    if job.config.rng == "legacy" or (job.executor is None and job.workers == 1):
        return job.logs_in_process()
    if job.executor is None:
        return _simulate_through_files(job)
    parts: dict[str, list[np.ndarray | None]] = {field.name: [] for field in dataclasses.fields(Logs)}
    for chunk in job.chunks():
        for name, column in parts.items():
            column.append(getattr(chunk, name))
    # One column at a time, so that only one column is ever held twice; a
    # column the logs do not have is None in every chunk.
    columns = {}
    for name in list(parts):
        chunks = [column for column in parts.pop(name) if column is not None]
        if chunks:
            columns[name] = np.concatenate(chunks)
    return Logs(**columns)


#: Bytes a log row takes in memory, all columns together.
_ROW_BYTES = sum(np.dtype(dtype).itemsize for dtype in COLUMN_DTYPES.values())

#: Column name -> (dtype, shape) of one chunk's column file, or None for a
#: column the logs do not have.
ColumnFiles = dict[str, tuple[str, tuple[int, ...]] | None]


def _simulate_through_files(job: SimulationJob) -> Logs:
    """:func:`simulate_parallel` on its own pool: each worker writes its
    chunk's columns to files in shared memory (``/dev/shm``, where it has room)
    and returns only their shapes; this process reads each chunk straight into
    its place in the result as soon as it is done, while the workers go on,
    and removes its files. Pickling the chunks back instead costs more than
    the simulation itself (two workers ran at 0.5x one).

    The result is sized from the expected rows (pages past the end are never
    touched) and grows in the rare case a chunk does not fit."""
    columns: dict[str, np.ndarray] = {}
    filled = 0
    with tempfile.TemporaryDirectory(prefix="recogym-chunks-", dir=_spill_root(job)) as directory:
        for (lo, _), files in zip(job.bounds(), job.run(_write_chunk_files, directory)):
            present = {name: described for name, described in files.items() if described is not None}
            rows = present["t"][1][0]
            if not columns:
                capacity = max(expected_rows(transition_cdf(job.config), job.num_users, job.num_organic_users), rows)
                columns = {name: np.empty((capacity, *shape[1:]), dtype=np.dtype(dtype))
                           for name, (dtype, shape) in present.items()}
            elif filled + rows > len(columns["t"]):
                columns = grown_columns(columns, filled, filled + rows)
            for name in present:
                path = os.path.join(directory, f"{lo}.{name}")
                with open(path, "rb") as file:
                    file.readinto(columns[name][filled:filled + rows].data.cast("B"))
                os.remove(path)
            filled += rows
    return Logs(**{name: column[:filled] for name, column in columns.items()})


def _spill_root(job: SimulationJob) -> str | None:
    """``/dev/shm`` if it has room for twice the chunks that can be in flight
    (each is read and removed as soon as its turn comes), else the default
    temporary directory (``None``)."""
    transition = transition_cdf(job.config)
    in_flight = job.workers * (_IN_FLIGHT_PER_WORKER + 1)
    rows = min(expected_rows(transition, job.num_users, job.num_organic_users),
               expected_rows(transition, job.chunk_users) * in_flight)
    root = "/dev/shm"
    if os.path.isdir(root) and os.access(root, os.W_OK) and shutil.disk_usage(root).free > 2 * rows * _ROW_BYTES:
        return root
    return None


def _write_chunk_files(logs: Logs, lo: int, hi: int, directory: str) -> ColumnFiles:
    """The task of :func:`_simulate_through_files`: the chunk's columns as raw
    files ``<lo>.<column>`` in ``directory``, and their dtypes and shapes."""
    files: ColumnFiles = {}
    for field in dataclasses.fields(logs):
        if getattr(logs, field.name) is None:
            files[field.name] = None
            continue
        column = np.ascontiguousarray(getattr(logs, field.name))
        column.tofile(os.path.join(directory, f"{lo}.{field.name}"))
        files[field.name] = (column.dtype.str, column.shape)
    return files


def _simulate(engine: Any, lo: int, hi: int, organic_end: int, policy: LoggingPolicy) -> Logs:
    """The logs of users ``lo .. hi - 1``: organic-only below ``organic_end``."""
    organic = max(0, min(hi, organic_end) - lo)
    return simulate_logs(engine, lo, hi - lo - organic, organic, policy)


def _chunk_logs(logs: Logs, lo: int, hi: int) -> Logs:
    """The task of :meth:`SimulationJob.chunks`: the chunk's logs themselves."""
    return logs


def _run_range(task: Callable[..., R], model: str, config: Configuration, lo: int, hi: int, organic_end: int,
               policy: LoggingPolicy, args: tuple[Any, ...]) -> R:
    """One chunk on a fresh engine, then ``task`` on its logs: what an
    executor runs (at module level, so that it pickles by name)."""
    logs = _simulate(log_engine(Simulation.create(model, config)), lo, hi, organic_end, policy)
    return task(logs, lo, hi, *args)
