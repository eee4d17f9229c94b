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
import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .._checks import check_positive_int, check_probability_vector
from .._version import __version__
from ..logs import Logs, log_schema
from ..policies import LoggingPolicy, UserPopularity
from ..sim.parallel import SimulationJob

__all__ = [
    "DEFAULT_ROW_GROUP_ROWS",
    "LOG_SCHEMA",
    "METADATA_KEY",
    "logs_to_arrow",
    "logs_from_arrow",
    "write_logs",
    "read_logs",
    "read_log_metadata",
    "simulation_kwargs",
]

#: The schema key whose JSON value describes how a log file was made.
METADATA_KEY = b"recogym"

# Bumped when the columns or the metadata change meaning.
_FORMAT = 1

#: The columns of a log file (:func:`recogym.logs.log_schema`).
LOG_SCHEMA = log_schema()

# Click probabilities are almost all distinct: a dictionary would only cost.
_DICTIONARY_COLUMNS = [name for name in LOG_SCHEMA.names if name != "click_probability"]

_CODECS = ("zstd", "snappy", "lz4", "gzip", "brotli", "none")

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
    env_args, num_users, model, num_organic_users, policy, workers, chunk_users, executor
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
                             policy=policy, workers=workers, chunk_users=chunk_users, executor=executor)
    row_group_rows = check_positive_int("row_group_rows", row_group_rows)
    if not isinstance(compression, str) or compression.lower() not in _CODECS:
        raise ValueError(f"compression must be one of {_CODECS}, got {compression!r}")
    schema = LOG_SCHEMA.with_metadata({METADATA_KEY: json.dumps(_metadata(job), allow_nan=False)})
    target = _check_target(path)
    directory, name = os.path.split(target)
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never write into someone else's file; 0o666 lets the umask set
    # the mode, as for any new file.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with open(descriptor, "wb") as sink:
            with contextlib.closing(job.chunks()) as chunks, \
                    pq.ParquetWriter(sink, schema, compression=compression,
                                     use_dictionary=_DICTIONARY_COLUMNS) as writer:
                for chunk in chunks:
                    writer.write_table(logs_to_arrow(chunk), row_group_size=row_group_rows)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _sync_directory(directory)
    return path


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


def _metadata(job: SimulationJob) -> dict[str, Any]:
    """What :func:`simulation_kwargs` needs to rerun ``job``, and the version
    that ran it."""
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
    return check_probability_vector("policy", policy, num_products).tolist()


def _policy_from_json(value: Any) -> LoggingPolicy:
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
    """The logs of the Parquet file ``path`` and its recogym metadata.

    The metadata is a dict with keys ``format``, ``recogym_version``,
    ``model``, ``env_args`` (resolved: every argument the env ran with;
    unknown keys, which the env ignores, are left out), ``num_users``,
    ``num_organic_users``, ``policy`` (None for uniform, a list of
    probabilities, or ``{'UserPopularity': {'epsilon': ...}}``),
    ``random_seed`` and ``rng``. :func:`simulation_kwargs` turns it into
    the arguments that regenerate the logs.

    Raises
    ------
    ValueError
        If the file has no recogym metadata (it was not written by
        :func:`write_logs`; read it with ``logs_from_arrow(pq.read_table(path))``).

    Examples
    --------
    >>> from recogym.parallel import simulate_parallel
    >>> from recogym.parquet import read_logs, simulation_kwargs
    >>> logs, metadata = read_logs('logs.parquet')  # doctest: +SKIP
    >>> again = simulate_parallel(**simulation_kwargs(metadata))  # doctest: +SKIP
    >>> bool((logs.u == again.u).all() and (logs.c == again.c).all())  # doctest: +SKIP
    True
    """
    table = pq.read_table(path)
    return logs_from_arrow(table), _metadata_of(table.schema, path)


def read_log_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The recogym metadata of the Parquet file ``path`` (see :func:`read_logs`),
    read from its footer without reading the logs."""
    return _metadata_of(pq.read_schema(path), path)


def _metadata_of(schema: pa.Schema, path: str | os.PathLike[str]) -> dict[str, Any]:
    metadata = schema.metadata or {}
    if METADATA_KEY not in metadata:
        raise ValueError(f"{os.fspath(path)!r} has no {METADATA_KEY!r} metadata: it was not written by "
                         "recogym.parquet.write_logs; read its logs with "
                         "logs_from_arrow(pq.read_table(path))")
    description: dict[str, Any] = json.loads(metadata[METADATA_KEY])
    return description
