"""Logs as a lazy dask DataFrame: one partition per range of users,
simulated where dask runs it.

Importing this module imports dask (``pip install recogym[dask]``);
``import recogym`` never does. A partition is the logs of one chunk of
:class:`~recogym.sim.parallel.SimulationJob`, so the frame holds, row for
row, what ``env.simulate`` gives on a fresh env, whatever the partitions.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.delayed import delayed

from .io.parquet import METADATA_KEY, log_metadata
from .logs import Logs, logs_from_rows
from .model import Simulation
from .params import Configuration
from .policies import LoggingPolicy
from .sim.parallel import SimulationJob
from .sim.simulate import log_engine, simulate_logs

__all__ = ["simulate", "logs_frame"]


def simulate(
    env_args: Mapping[str, Any] | None,
    num_users: int,
    *,
    model: str = "reco-gym-v1",
    num_organic_users: int = 0,
    policy: LoggingPolicy = None,
    chunk_users: int | None = None,
) -> dd.DataFrame:
    """The logs of ``env.simulate(num_users, num_organic_users, policy=policy)``
    on a fresh env, as a lazy dask DataFrame with one partition per chunk of
    ``chunk_users`` users, in user order.

    Nothing runs until the frame is computed or written; each partition is
    simulated on the worker that computes it. Its columns are
    :meth:`~recogym.Logs.to_pandas`' (``t``, ``u``, categorical ``z``, nullable ``Int32``
    ``v`` and ``a``, ``Int8`` ``c``, ``ps``) and ``click_probability``, and
    each partition's ``attrs['recogym']`` holds the JSON a log file holds,
    so that ``frame.to_parquet(directory, write_metadata_file=True)``
    writes a dataset that :func:`recogym.io.parquet.read_logs` reads and
    verifies (``_common_metadata``, written last, commits it). Ray reads the
    same directory with ``ray.data.read_parquet(directory)``.

    Parameters
    ----------
    env_args, num_users, model, num_organic_users, policy, chunk_users
        As for :func:`~recogym.sim.parallel.simulate_parallel`.

    Returns
    -------
    dask.dataframe.DataFrame

    Raises
    ------
    ValueError, TypeError
        For any argument outside its allowed values, naming it; for
        ``rng='legacy'``, whose one shared stream cannot be split.

    Examples
    --------
    >>> from distributed import Client
    >>> import recogym.dask
    >>> client = Client()  # doctest: +SKIP
    >>> frame = recogym.dask.simulate({'random_seed': 42}, 1_000_000)  # doctest: +SKIP
    >>> frame.groupby('u')['c'].sum().compute()  # doctest: +SKIP
    >>> frame.to_parquet('logs', write_metadata_file=True)  # doctest: +SKIP
    """
    job = SimulationJob.plan(env_args, num_users, model=model, num_organic_users=num_organic_users,
                             policy=policy, chunk_users=chunk_users)
    if job.config.rng == "legacy":
        raise ValueError("rng='legacy' cannot be partitioned: 0.1.3.0's random stream is shared by all "
                         "users in turn; use rng='default', or recogym.simulate_parallel, which runs legacy "
                         "logs in order")
    description = {**log_metadata(job), "chunk_users": job.chunk_users}
    meta = logs_frame(logs_from_rows([]), description)
    partitions = [delayed(_partition, pure=True)(job.model, job.config, lo, hi, job.num_organic_users,
                                                 job.policy, description)
                  for lo, hi in job.bounds()]
    frame: dd.DataFrame = dd.from_delayed(partitions, meta=meta, verify_meta=False)
    return frame


def logs_frame(logs: Logs, description: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """``logs`` as :meth:`Logs.to_pandas` gives them, with ``click_probability``,
    carrying ``description`` (a log file's JSON) in ``attrs['recogym']``."""
    frame = logs.to_pandas()
    frame["click_probability"] = np.where(logs.organic, np.nan, logs.click_probability)
    if description is not None:
        frame.attrs[METADATA_KEY.decode()] = dict(description)
    return frame


def _partition(model: str, config: Configuration, lo: int, hi: int, organic_end: int, policy: LoggingPolicy,
               description: Mapping[str, Any]) -> pd.DataFrame:
    """Users ``lo .. hi - 1`` on a fresh engine, as a frame."""
    organic = max(0, min(hi, organic_end) - lo)
    engine = log_engine(Simulation.create(model, config))
    return logs_frame(simulate_logs(engine, lo, hi - lo - organic, organic, policy), description)
