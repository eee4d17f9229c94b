"""Logs as Arrow tables, and Parquet log files that say how to reproduce
themselves.

A log file is written chunk by chunk (memory stays bounded however many
users it holds) and appears at its path only once complete. Its key-value
metadata holds, as JSON under :data:`METADATA_KEY`, the model, the resolved
env arguments, the user counts, the logging policy, the seed and the
recogym version: :func:`simulation_kwargs` turns it back into the call that
regenerates the same logs.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .._checks import check_flag, check_positive_int, check_probability_vector
from .._version import __version__
from ..logs import SLATE_COLUMN_DTYPES, Logs, log_schema, logs_from_rows, slate_schema_fields
from ..params import slate_size_of
from ..policies import LoggingPolicy, UserPopularity, UserPopularityRanking
from ..sim.parallel import SimulationJob

__all__ = [
    "DEFAULT_ROW_GROUP_ROWS",
    "LOG_SCHEMA",
    "METADATA_KEY",
    "COMMIT_FILE",
    "ChunksFailed",
    "logs_to_arrow",
    "log_metadata",
    "logs_from_arrow",
    "write_logs",
    "write_dataset",
    "read_logs",
    "read_log_metadata",
    "simulation_kwargs",
]

#: The schema key whose JSON value describes how a log file was made.
METADATA_KEY = b"recogym"

#: The file that commits a dataset: its schema with recogym's JSON, written last.
COMMIT_FILE = "_common_metadata"

# Bumped when the columns or the metadata change meaning.
_FORMAT = 1

#: The columns of a log file (:func:`recogym.logs.log_schema`).
LOG_SCHEMA = log_schema()

# Click probabilities are almost all distinct: a dictionary would only cost.
_DICTIONARY_COLUMNS = [name for name in LOG_SCHEMA.names if name != "click_probability"] + ["conversion"]

_CODECS = ("zstd", "snappy", "lz4", "gzip", "brotli", "none")

# Rows come user by user, each user's in time order.
_SORTING_COLUMNS = (pq.SortingColumn(LOG_SCHEMA.get_field_index("u")),
                    pq.SortingColumn(LOG_SCHEMA.get_field_index("t")))

#: Rows per row group at most (the default): a chunk of the default size is
#: one row group, whose encoded pages are all the writer buffers.
DEFAULT_ROW_GROUP_ROWS = 1 << 21


def logs_to_arrow(logs: Logs) -> pa.Table:
    """``logs`` as an Arrow table of :data:`LOG_SCHEMA` (:meth:`Logs.to_arrow`)."""
    return logs.to_arrow()


def logs_from_arrow(table: pa.Table) -> Logs:
    """The :class:`~recogym.Logs` of a table with :data:`LOG_SCHEMA`'s
    columns (:meth:`Logs.from_arrow`)."""
    return Logs.from_arrow(table)


def write_logs(
    path: str | os.PathLike[str],
    env_args: Mapping[str, Any] | None,
    num_users: int,
    *,
    model: str = "reco-gym-v1",
    num_organic_users: int = 0,
    policy: LoggingPolicy = None,
    workers: int = 1,
    chunk_users: int | None = None,
    executor: concurrent.futures.Executor | None = None,
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    compression: str = "zstd",
    progress: bool = False,
) -> str | os.PathLike[str]:
    """Simulate logs as :func:`~recogym.sim.parallel.simulate_parallel` does and
    stream them, chunk by chunk, to the Parquet file ``path``.

    Memory holds a few chunks at a time, not the logs: a million users at
    ``num_products=10`` (about 100 million events) stay well under 1 GiB.
    The file is written beside ``path`` under a temporary name, synced, and
    renamed onto ``path`` only when complete; on any error or interrupt the
    temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace; its directory must exist.
    env_args, num_users, model, num_organic_users, policy, workers, chunk_users, executor, progress
        As for :func:`~recogym.sim.parallel.simulate_parallel`.
    row_group_rows : int
        Rows per row group at most; a chunk is cut into row groups of this
        size, so smaller values lower the writer's memory and let readers
        skip more finely. The default keeps a default-sized chunk in one
        row group.
    compression : str
        Parquet codec: 'zstd', 'snappy', 'lz4', 'gzip', 'brotli' or 'none'.
        zstd stores about 4.3 bytes per event.

    Returns
    -------
    str or os.PathLike
        ``path``.

    Raises
    ------
    ValueError, TypeError
        For any argument outside its allowed values, naming it, and for an
        ``agent`` in ``env_args`` (the logs follow ``policy``).
    FileNotFoundError, IsADirectoryError
        If ``path``'s directory does not exist, or ``path`` is a directory.

    Examples
    --------
    >>> from recogym.parquet import write_logs, read_logs
    >>> write_logs('logs.parquet', {'random_seed': 42}, 100_000, workers=2)  # doctest: +SKIP
    'logs.parquet'
    """
    job = SimulationJob.plan(env_args, num_users, model=model, num_organic_users=num_organic_users,
                             policy=policy, workers=workers, chunk_users=chunk_users, executor=executor,
                             progress=progress)
    options = _WriteOptions(check_positive_int("row_group_rows", row_group_rows), _check_codec(compression))
    schema = _schema(log_metadata(job))
    target = _check_target(path)
    with contextlib.closing(job.chunks()) as chunks:
        _write_atomically(target, schema, (logs_to_arrow(chunk) for chunk in chunks), options)
    _sync_directory(os.path.dirname(target))
    return path


def write_dataset(
    directory: str | os.PathLike[str],
    env_args: Mapping[str, Any] | None,
    num_users: int,
    *,
    model: str = "reco-gym-v1",
    num_organic_users: int = 0,
    policy: LoggingPolicy = None,
    workers: int = 1,
    chunk_users: int | None = None,
    executor: concurrent.futures.Executor | None = None,
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    compression: str = "zstd",
    progress: bool = False,
    resume: bool = False,
) -> str | os.PathLike[str]:
    """Simulate logs as :func:`write_logs` does, into a partitioned Parquet
    dataset: the directory ``directory`` with one ``part-NNNNNN.parquet`` per
    chunk, written by the worker that simulated it.

    Only a few numbers per chunk come back to this process, so workers scale
    where one file's single writer cannot. Each part is written atomically
    (temporary name, sync, rename) and holds recogym's JSON with its user
    range; the dataset is committed at the end by ``_common_metadata``, the
    schema with recogym's JSON, so a dataset without it is unfinished. An
    interrupted run is finished with ``resume=True``, which keeps the parts
    already written. pyarrow, pandas, polars, duckdb, dask and Ray read the
    parts as a dataset; :func:`read_logs` reads and verifies it.

    Parameters
    ----------
    directory : str or os.PathLike
        The dataset's directory: created if missing (its parent must exist);
        if it exists it must be empty, unless ``resume``.
    env_args, num_users, model, num_organic_users, policy, workers, chunk_users, executor, progress
        As for :func:`~recogym.sim.parallel.simulate_parallel`. An executor's
        workers must see ``directory`` at the same path (a shared file
        system), since they write the parts.
    row_group_rows, compression
        As for :func:`write_logs`, per part.
    resume : bool
        Finish the dataset an interrupted call with the same arguments began
        in ``directory``: parts already written are kept, the others
        written, and the dataset committed. A committed dataset of the same
        job is left as it is.

    Returns
    -------
    str or os.PathLike
        ``directory``.

    Raises
    ------
    ValueError, TypeError
        For any argument outside its allowed values, naming it; with
        ``resume``, if ``directory`` holds parts of another job.
    ChunksFailed
        If a chunk failed on a pool or an executor twice (its worker died,
        then died again when the chunk was retried alone): the other parts
        are written, the dataset is not committed, and a call with
        ``resume=True`` writes what is missing.
    FileExistsError
        If ``directory`` is not empty and ``resume`` is False.
    FileNotFoundError, NotADirectoryError
        If ``directory``'s parent does not exist, or ``directory`` is a file.

    Examples
    --------
    >>> from recogym.parquet import write_dataset, read_logs
    >>> write_dataset('logs', {'random_seed': 42}, 100_000, workers=2)  # doctest: +SKIP
    'logs'
    >>> logs, metadata = read_logs('logs')  # doctest: +SKIP
    """
    job = SimulationJob.plan(env_args, num_users, model=model, num_organic_users=num_organic_users,
                             policy=policy, workers=workers, chunk_users=chunk_users, executor=executor,
                             progress=progress)
    options = _WriteOptions(check_positive_int("row_group_rows", row_group_rows), _check_codec(compression))
    resume = check_flag("resume", resume)
    description = {**log_metadata(job), "chunk_users": job.chunk_users}
    _schema(description)   # refuses what it cannot write, before any work
    target = _check_dataset_target(directory, resume)
    if _committed(target, description, directory):
        return directory
    done = _finished_parts(target, description)
    failures: list[tuple[int, int, BaseException]] = []
    parts = job.run(_write_part, target, description, options,
                    only=[span for span in job.bounds() if span not in done], failures=failures)
    with contextlib.closing(parts):
        for _ in parts:
            pass
    if failures:
        lost = "; ".join(f"users [{lo}, {hi}): {type(cause).__name__}: {cause}" for lo, hi, cause in failures)
        raise ChunksFailed(f"{len(failures)} chunk(s) of dataset {os.fspath(directory)!r} failed twice and "
                           f"were not written ({lost}); every other part is written, and the dataset is not "
                           "committed: call write_dataset again with resume=True to write the missing parts",
                           failures)
    _write_atomically_with(os.path.join(target, COMMIT_FILE),
                           lambda sink: pq.write_metadata(_schema(description), sink))
    _sync_directory(target)
    return directory


class ChunksFailed(RuntimeError):
    """Chunks of a dataset that failed on their retry too; the others are
    written, and ``resume=True`` writes the missing ones.

    Attributes
    ----------
    failures : list of (lo, hi, cause)
        Each lost chunk's user range and its last failure.
    """

    def __init__(self, message: str, failures: list[tuple[int, int, BaseException]]) -> None:
        super().__init__(message)
        self.failures = failures


def _check_dataset_target(directory: str | os.PathLike[str], resume: bool) -> str:
    """``directory``'s absolute path, created if missing; refused if it
    holds files and this is not a resume."""
    try:
        target = os.path.abspath(os.fspath(directory))
    except TypeError:
        raise TypeError(f"directory must be a str or os.PathLike, got {directory!r}") from None
    if os.path.exists(target) and not os.path.isdir(target):
        raise NotADirectoryError(f"directory {os.fspath(directory)!r} is a file; write_logs writes one file")
    if not os.path.isdir(os.path.dirname(target)):
        raise FileNotFoundError(f"the parent of directory {os.fspath(directory)!r} does not exist")
    with contextlib.suppress(FileExistsError):
        os.mkdir(target)
    if os.listdir(target) and not resume:
        raise FileExistsError(f"directory {os.fspath(directory)!r} is not empty; choose an empty or new "
                              "directory, or pass resume=True to finish the dataset an interrupted run began")
    return target


def _committed(target: str, description: Mapping[str, Any], directory: str | os.PathLike[str]) -> bool:
    """Whether ``target`` holds the committed dataset of this very job."""
    commit = os.path.join(target, COMMIT_FILE)
    if not os.path.exists(commit):
        return False
    found = _metadata_of(pq.read_schema(commit), commit)
    if found != description:
        raise ValueError(f"directory {os.fspath(directory)!r} holds the dataset of another job "
                         f"({_difference(found, description)}); choose another directory")
    return True


def _finished_parts(target: str, description: Mapping[str, Any]) -> set[tuple[int, int]]:
    """The user ranges of this job's parts already in ``target``; temporary
    files of an interrupted run are removed."""
    done = set()
    for name in sorted(os.listdir(target)):
        path = os.path.join(target, name)
        if name.startswith(".") and name.endswith(".tmp"):
            os.remove(path)
            continue
        try:
            found = _metadata_of(pq.read_schema(path), path)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise ValueError(f"{path!r} is not a part of a recogym dataset ({error}); resume only into "
                             "the directory an interrupted write_dataset call wrote") from error
        part = found.pop("part", None)
        if found != description or part is None or name != _part_name(part["first_user"], description):
            raise ValueError(f"{path!r} belongs to another job ({_difference(found, description)}); "
                             "resume with the arguments of the interrupted call, or choose another directory")
        done.add((part["first_user"], part["end_user"]))
    return done


def _difference(found: Mapping[str, Any], expected: Mapping[str, Any]) -> str:
    keys = sorted(key for key in set(found) | set(expected) if found.get(key) != expected.get(key))
    return ", ".join(f"{key}: {found.get(key)!r} there, {expected.get(key)!r} here" for key in keys) or "no part range"


def _part_name(first_user: int, description: Mapping[str, Any]) -> str:
    # Zero-padded chunk numbers sort in user order.
    return f"part-{first_user // description['chunk_users']:06d}.parquet"


def _write_part(logs: Logs, lo: int, hi: int, target: str, description: Mapping[str, Any],
                options: _WriteOptions) -> int:
    """The task of :func:`write_dataset`, run where the chunk was simulated:
    write its part and return only its number of rows."""
    schema = _schema({**description, "part": {"first_user": lo, "end_user": hi}})
    _write_atomically(os.path.join(target, _part_name(lo, description)), schema, [logs_to_arrow(logs)], options)
    return len(logs)


@dataclasses.dataclass(frozen=True)
class _WriteOptions:
    """How tables are laid out in a Parquet file."""

    row_group_rows: int
    compression: str


def _check_codec(compression: Any) -> str:
    if not isinstance(compression, str) or compression.lower() not in _CODECS:
        raise ValueError(f"compression must be one of {_CODECS}, got {compression!r}")
    return compression


def _schema(description: Mapping[str, Any]) -> pa.Schema:
    """:data:`LOG_SCHEMA` (with the conversion columns, for a model with
    conversions, and the per-position ``slate_*`` columns, for one with
    slates) with recogym's JSON and the pandas metadata that gives
    ``pd.read_parquet`` the dtypes of :meth:`Logs.to_pandas`."""
    conversions = bool(description.get("env_args", {}).get("with_conversions", False))
    slate_size = slate_size_of(description.get("env_args", {}))
    if slate_size > 1:
        check_slates_writable()
    schema = log_schema(conversions, slate_size)
    return schema.with_metadata({METADATA_KEY: json.dumps(description, allow_nan=False),
                                 b"pandas": _pandas_metadata(conversions)})


@functools.cache
def writes_null_fixed_size_lists() -> bool:
    """Whether this pyarrow's Parquet writer takes null fixed-size lists, as
    the ``slate_*`` columns are on organic views (pyarrow 21's refuses them:
    "Lists with non-zero length null components are not supported"; 26's
    takes them)."""
    field = slate_schema_fields(2)[0]          # a list of non-null elements, as the logs write it
    # pyarrow 21 fails on a null list between set ones.
    column = pa.FixedSizeListArray.from_arrays(pa.array([0, 1, 0, 0, 1, 0], field.type.value_type), type=field.type,
                                               mask=pa.array([False, True, False]))
    try:
        pq.write_table(pa.table({"slate": column}), pa.BufferOutputStream())
    except pa.ArrowNotImplementedError:
        return False
    return True


def check_slates_writable() -> None:
    """Refuse, before any work, to write slate logs with a pyarrow whose
    Parquet writer cannot hold them.

    Raises
    ------
    RuntimeError
        Naming the pyarrow version, and what to do.
    """
    if not writes_null_fixed_size_lists():
        raise RuntimeError(f"writing slate logs (env arg slate_size > 1) to Parquet needs a newer pyarrow: "
                           f"pyarrow {pa.__version__}'s Parquet writer refuses their null fixed-size lists "
                           f"(pyarrow 21's does; 26's writes them)")


def _pandas_metadata(conversions: bool = False) -> bytes:
    """The pandas metadata of ``Logs.to_pandas()`` and its click probabilities:
    nullable ``Int32``/``Int8`` ``v``, ``a`` and ``c`` (and ``conversion``)
    rather than float64."""
    logs = logs_from_rows([])
    if conversions:
        logs = dataclasses.replace(logs, conversion=np.empty(0, dtype=np.int8),
                                   conversion_probability=np.empty(0))
    frame = logs.to_pandas()
    frame.insert(7, "click_probability", np.empty(0, dtype=np.float64))   # after ps, as in the schema
    metadata: bytes = pa.Schema.from_pandas(frame, preserve_index=False).metadata[b"pandas"]
    return metadata


def _write_atomically(target: str, schema: pa.Schema, tables: Iterable[pa.Table], options: _WriteOptions) -> int:
    """Write ``tables`` to the Parquet file ``target`` under a temporary name
    beside it, sync it and rename it onto ``target``; on any error or
    interrupt remove the temporary file and leave ``target`` as it was.

    Rows are declared sorted by (u, t), and every page carries a CRC that
    :func:`read_logs` verifies. Returns the file's size in bytes.
    """
    def write(sink: Any) -> None:
        with pq.ParquetWriter(sink, schema, compression=options.compression,
                              use_dictionary=_DICTIONARY_COLUMNS, write_page_checksum=True,
                              sorting_columns=_SORTING_COLUMNS) as writer:
            for table in tables:
                writer.write_table(table, row_group_size=options.row_group_rows)

    return _write_atomically_with(target, write)


def _write_atomically_with(target: str, write: Callable[[Any], None]) -> int:
    """``write(sink)`` into a temporary file beside ``target``, synced and
    renamed onto ``target``; on any error or interrupt the temporary file is
    removed and ``target`` left as it was. Returns the file's size."""
    directory, name = os.path.split(target)
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never write into someone else's file; 0o666 lets the umask set
    # the mode, as for any new file.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with open(descriptor, "wb") as sink:
            write(sink)
            sink.flush()
            os.fsync(sink.fileno())
            size = sink.tell()
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    return size


def _check_target(path: str | os.PathLike[str]) -> str:
    try:
        target = os.path.abspath(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {path!r}") from None
    if os.path.isdir(target):
        raise IsADirectoryError(f"path {os.fspath(path)!r} is a directory; give a file name")
    if not os.path.isdir(os.path.dirname(target)):
        raise FileNotFoundError(f"the directory of path {os.fspath(path)!r} does not exist")
    return target


def _sync_directory(directory: str) -> None:
    """Make the rename durable: POSIX keeps it in the directory's own data."""
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def log_metadata(job: SimulationJob) -> dict[str, Any]:
    """What :func:`simulation_kwargs` needs to rerun ``job``, and the version
    that ran it: the JSON that log files hold under :data:`METADATA_KEY`."""
    return {
        "format": _FORMAT,
        "recogym_version": __version__,
        "model": job.model,
        "env_args": dict(job.config),
        "num_users": job.num_users,
        "num_organic_users": job.num_organic_users,
        "policy": _policy_to_json(job.policy, job.config.num_products),
        "random_seed": job.config.random_seed,
        "rng": job.config.rng,
    }


def _policy_to_json(policy: LoggingPolicy, num_products: int) -> Any:
    if policy is None:
        return None
    if isinstance(policy, UserPopularity):
        return {"UserPopularity": dataclasses.asdict(policy)}
    if isinstance(policy, UserPopularityRanking):
        return {"UserPopularityRanking": dataclasses.asdict(policy)}
    return check_probability_vector("policy", policy, num_products).tolist()


def _policy_from_json(value: Any) -> LoggingPolicy:
    if isinstance(value, Mapping) and "UserPopularityRanking" in value:
        return UserPopularityRanking(**value["UserPopularityRanking"])
    if isinstance(value, Mapping):
        return UserPopularity(**value["UserPopularity"])
    return value


def simulation_kwargs(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of :func:`write_logs` (after ``path``) and
    :func:`~recogym.sim.parallel.simulate_parallel` that reproduce the logs a
    file's ``metadata`` describes.

    Examples
    --------
    Regenerate a log file, bit for bit in its logs (the default ``rng``
    reproduces on any number of workers):

    >>> from recogym.parquet import read_log_metadata, simulation_kwargs, write_logs
    >>> metadata = read_log_metadata('logs.parquet')  # doctest: +SKIP
    >>> write_logs('again.parquet', **simulation_kwargs(metadata), workers=4)  # doctest: +SKIP
    """
    return {
        "env_args": dict(metadata["env_args"]),
        "num_users": metadata["num_users"],
        "model": metadata["model"],
        "num_organic_users": metadata["num_organic_users"],
        "policy": _policy_from_json(metadata["policy"]),
    }


def read_logs(path: str | os.PathLike[str]) -> tuple[Logs, dict[str, Any]]:
    """The logs of the Parquet file or dataset ``path`` and its recogym
    metadata, verified.

    The metadata is a dict with keys ``format``, ``recogym_version``,
    ``model``, ``env_args`` (resolved: every argument the env ran with;
    unknown keys, which the env ignores, are left out), ``num_users``,
    ``num_organic_users``, ``policy`` (None for uniform, a list of
    probabilities, or ``{'UserPopularity': {'epsilon': ...}}``),
    ``random_seed`` and ``rng``, and ``chunk_users`` for a dataset.
    :func:`simulation_kwargs` turns it into the arguments that regenerate
    the logs.

    Nothing unchecked is returned: every page's CRC is verified (where the
    writer stored one), every value must lie in its domain (``v`` and ``a``
    product ids in ``[0, num_products)``, ``c`` in {0, 1}, ``ps`` in (0, 1],
    ``click_probability`` in [0, 1], ``u`` in the file's user range, ``t``
    finite, and ``v`` null exactly on impressions, ``a``, ``c``, ``ps`` and
    ``click_probability`` exactly on organic views), and a dataset's parts
    must be committed, agree on the config and share no user. A dataset's
    parts are returned in user order.

    Raises
    ------
    ValueError
        If the file or a part has no recogym metadata (it was not written by
        recogym; read it with ``logs_from_arrow(pq.read_table(path))``), a
        dataset is not committed (its run did not finish: see
        :func:`write_dataset`'s ``resume``), or a check fails; the message
        names the file and the column.

    Examples
    --------
    >>> from recogym.parallel import simulate_parallel
    >>> from recogym.parquet import read_logs, simulation_kwargs
    >>> logs, metadata = read_logs('logs.parquet')  # doctest: +SKIP
    >>> again = simulate_parallel(**simulation_kwargs(metadata))  # doctest: +SKIP
    >>> bool((logs.u == again.u).all() and (logs.c == again.c).all())  # doctest: +SKIP
    True
    """
    source = os.fspath(path)
    if os.path.isdir(source):
        return _read_dataset(source)
    description = _metadata_of(_read_schema(source), source)
    return _read_verified(source, description), description


def read_log_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The recogym metadata of the Parquet file or committed dataset ``path``
    (see :func:`read_logs`), read from a footer without reading the logs."""
    source = os.fspath(path)
    if os.path.isdir(source):
        source = _commit_of(source)
    return _metadata_of(_read_schema(source), source)


def _read_schema(source: str) -> pa.Schema:
    try:
        return pq.read_schema(source)
    except (pa.ArrowException, OSError, ValueError) as error:   # ValueError: its pandas metadata damaged
        raise ValueError(f"{source!r} is not a readable Parquet file: {error}") from error


def _commit_of(directory: str) -> str:
    commit = os.path.join(directory, COMMIT_FILE)
    if not os.path.exists(commit):
        raise ValueError(f"dataset {directory!r} is not committed (no {COMMIT_FILE}): the run that wrote "
                         "it did not finish; finish it with write_dataset(..., resume=True) and the "
                         "same arguments (dask writes it last with to_parquet(..., write_metadata_file=True))")
    return commit


def _read_dataset(directory: str) -> tuple[Logs, dict[str, Any]]:
    commit = _commit_of(directory)
    description = _metadata_of(_read_schema(commit), commit)
    names = sorted(name for name in os.listdir(directory)
                   if name.endswith(".parquet") and not name.startswith(("_", ".")))
    parts = []
    for name in names:
        source = os.path.join(directory, name)
        found = _metadata_of(_read_schema(source), source)
        found.pop("part", None)
        if found != description:
            raise ValueError(f"{source!r} disagrees with the dataset's {COMMIT_FILE} on "
                             f"{_difference(found, description)}: it is not a part of this dataset")
        parts.append((source, _read_verified(source, description)))
    parts.sort(key=lambda part: (part[1].u[0] if len(part[1]) else -1))
    _check_users_unique(parts)
    return Logs.concatenate([logs for _, logs in parts]), description


def _check_users_unique(parts: list[tuple[str, Logs]]) -> None:
    """No user's events are split between two parts (a copied part, or parts
    of two runs)."""
    owner: dict[int, str] = {}
    for source, logs in parts:
        for user in np.unique(logs.u).tolist():
            if user in owner:
                raise ValueError(f"user {user} appears in both {owner[user]!r} and {source!r} (column 'u'): "
                                 "a dataset holds each user once")
            owner[user] = source


def _read_verified(source: str, description: Mapping[str, Any]) -> Logs:
    try:
        table = pq.read_table(source, page_checksum_verification=True)
        logs = logs_from_arrow(table)
    except (pa.ArrowException, OSError) as error:
        raise ValueError(f"{source!r} is corrupt: {error}") from error
    except (ValueError, TypeError) as error:
        raise ValueError(f"{source!r}: {error}") from error
    _check_domains(source, table, logs, description)
    return logs


def _check_domains(source: str, table: pa.Table, logs: Logs, description: Mapping[str, Any]) -> None:
    """Every value of ``logs`` (read from ``table``) in its column's domain,
    and nulls exactly where ``z`` says the event has no such value."""
    num_products = description["env_args"]["num_products"]
    end_user = description["num_organic_users"] + description["num_users"]
    organic = logs.organic

    def check(name: str, bad: np.ndarray, allowed: str) -> None:
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(f"{source!r}: column {name!r} holds {getattr(logs, name)[row].item()!r} at row "
                             f"{row} ({int(bad.sum())} rows out of their domain); allowed: {allowed}")

    for name, null_on in (("v", ~organic), ("a", organic), ("c", organic), ("ps", organic),
                          ("click_probability", organic)):
        null = table[name].is_null().to_numpy(zero_copy_only=False)
        if not np.array_equal(null, null_on):
            row = int(np.argmax(null != null_on))
            raise ValueError(f"{source!r}: column {name!r} is {'null' if null[row] else 'set'} at row {row}, "
                             f"a{'n organic view' if organic[row] else 'n impression'} (column 'z'); "
                             f"{name!r} is null exactly on {'impressions' if name == 'v' else 'organic views'}")
    impression = ~organic
    check("t", ~np.isfinite(logs.t), "finite times")
    check("u", (logs.u < 0) | (logs.u >= end_user), f"user ids in [0, {end_user})")
    check("v", organic & ((logs.v < 0) | (logs.v >= num_products)), f"product ids in [0, {num_products})")
    check("a", impression & ((logs.a < 0) | (logs.a >= num_products)), f"product ids in [0, {num_products})")
    check("c", impression & (logs.c != 0) & (logs.c != 1), "0 or 1")
    check("ps", impression & ~((logs.ps > 0) & (logs.ps <= 1)), "propensities in (0, 1]")
    check("click_probability", impression & ~((logs.click_probability >= 0) & (logs.click_probability <= 1)),
          "probabilities in [0, 1]")
    _check_slate_domains(source, table, logs, slate_size_of(description["env_args"]), num_products)


def _check_slate_domains(source: str, table: pa.Table, logs: Logs, slate_size: int, num_products: int) -> None:
    """The per-position columns of slate logs: present exactly when the env
    had slates, null exactly on organic views, and in their domains."""
    slate = logs.slate
    if slate_size == 1:
        if slate is not None:
            raise ValueError(f"{source!r} has slate columns, but its env args have no slate_size > 1")
        return
    if slate is None or slate.slate_size != slate_size:
        raise ValueError(f"{source!r}: its env args have slate_size = {slate_size}, but it lacks slate columns "
                         f"of that size (slate_a, ...)")
    organic = logs.organic
    impression = ~organic
    for name in SLATE_COLUMN_DTYPES:
        null = table[f"slate_{name}"].is_null().to_numpy(zero_copy_only=False)
        if not np.array_equal(null, organic):
            row = int(np.argmax(null != organic))
            raise ValueError(f"{source!r}: column 'slate_{name}' is {'null' if null[row] else 'set'} at row {row}; "
                             "the slate columns are null exactly on organic views")
    shown = slate.a[impression]
    ordered = np.sort(shown, axis=1)
    bad = {
        "a": ((shown < 0) | (shown >= num_products)).any(axis=1) | (ordered[:, 1:] == ordered[:, :-1]).any(axis=1),
        "c": ((slate.c[impression] != 0) & (slate.c[impression] != 1)).any(axis=1),
        "pscore_item_position": ~((slate.pscore_item_position[impression] > 0)
                                  & (slate.pscore_item_position[impression] <= 1)).all(axis=1),
        "pscore_cascade": ~((slate.pscore_cascade[impression] > 0) & (slate.pscore_cascade[impression] <= 1)).all(axis=1),
        "click_probability": ~((slate.click_probability[impression] >= 0)
                               & (slate.click_probability[impression] <= 1)).all(axis=1),
    }
    allowed = {"a": f"distinct product ids in [0, {num_products})", "c": "0 or 1",
               "pscore_item_position": "propensities in (0, 1]", "pscore_cascade": "propensities in (0, 1]",
               "click_probability": "probabilities in [0, 1]"}
    for name, wrong in bad.items():
        if wrong.any():
            row = int(np.flatnonzero(impression)[np.argmax(wrong)])
            raise ValueError(f"{source!r}: column 'slate_{name}' holds {getattr(slate, name)[row].tolist()!r} at row "
                             f"{row} ({int(wrong.sum())} rows out of their domain); allowed: {allowed[name]}")


def _metadata_of(schema: pa.Schema, path: str | os.PathLike[str]) -> dict[str, Any]:
    """recogym's JSON in a file's schema: under :data:`METADATA_KEY`, or in
    the pandas metadata's attributes, where ``DataFrame.attrs`` land when
    dask or pandas write the frames of :func:`recogym.dask.simulate`."""
    metadata = schema.metadata or {}
    if METADATA_KEY not in metadata:
        with contextlib.suppress(ValueError, AttributeError):  # pandas metadata that is not a JSON object
            attributes = json.loads(metadata.get(b"pandas", b"{}")).get("attributes") or {}
            if isinstance(attributes.get(METADATA_KEY.decode()), dict):
                metadata = {METADATA_KEY: json.dumps(attributes[METADATA_KEY.decode()]).encode()}
    if METADATA_KEY not in metadata:
        raise ValueError(f"{os.fspath(path)!r} has no {METADATA_KEY!r} metadata: it was not written by "
                         "recogym.parquet.write_logs; read its logs with "
                         "logs_from_arrow(pq.read_table(path))")
    try:
        description = json.loads(metadata[METADATA_KEY])
    except ValueError as error:           # JSON or UTF-8 damaged
        raise ValueError(f"{os.fspath(path)!r}: its {METADATA_KEY!r} metadata is corrupt: {error}") from error
    if not (isinstance(description, dict) and isinstance(description.get("env_args"), dict)
            and isinstance(description["env_args"].get("num_products"), int)
            and all(isinstance(description.get(key), int) for key in ("num_users", "num_organic_users"))):
        raise ValueError(f"{os.fspath(path)!r}: its {METADATA_KEY!r} metadata lacks the model's arguments or "
                         "the user counts: it is corrupt")
    return description
