"""Columnar logs of a logging policy, generated without Python per event."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _core
from .obp import to_obp
from .model import expected_events_per_user
from .policies import LoggingPolicy, kernel_policy

if TYPE_CHECKING:  # pyarrow is imported only when logs are converted
    import pyarrow as pa
    from tqdm.auto import tqdm

__all__ = ["Logs", "simulate_logs", "simulate_logs_lockstep", "logs_from_rows", "to_obp", "LOG_COLUMNS"]

#: The columns of ``generate_logs``, in 0.1.3.0's order.
LOG_COLUMNS = ("t", "u", "z", "v", "a", "c", "ps")

#: One event as ``logs_from_rows`` takes it: ``(t, u, z, v, a, c, ps, click_probability)``.
LogRow = tuple[float, int, int, int, int, int, float, float]

# Rows one kernel call writes at most, so the progress bar moves.
_CHUNK_ROWS = 1 << 20
# The first allocation's cap, in rows; the columns grow beyond it if needed.
_MAX_INITIAL_ROWS = 1 << 26
_Z_CATEGORIES = pd.CategoricalDtype(["organic", "bandit"])


@dataclass(frozen=True)
class Logs:
    """One row per event: an organic view (``z == 0``) or an impression (``z == 1``).

    Missing values are ``-1`` (``v`` on impressions; ``a`` and ``c`` on views)
    and NaN (``ps`` and ``click_probability`` on views).

    Attributes
    ----------
    t : float64 array
        Time of the event within the user's timeline.
    u : int64 array
        User id.
    z : int8 array
        0 for an organic view, 1 for an impression.
    v : int32 array
        Viewed product.
    a : int32 array
        Recommended product.
    c : int8 array
        1 if the impression was clicked.
    ps : float64 array
        Probability the logging policy gave to ``a``.
    click_probability : float64 array
        The true probability that ``a`` is clicked, known to the simulator.
    """

    t: np.ndarray
    u: np.ndarray
    z: np.ndarray
    v: np.ndarray
    a: np.ndarray
    c: np.ndarray
    ps: np.ndarray
    click_probability: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def to_arrow(self) -> pa.Table:
        """The logs as a pyarrow Table (see :func:`recogym.logs_to_arrow`)."""
        from .parquet import logs_to_arrow

        return logs_to_arrow(self)

    def to_pandas(self, ps_all: np.ndarray | None = None) -> pd.DataFrame:
        """The logs as 0.1.3.0's DataFrame: columns t, u, z, v, a, c, ps, and
        ``ps-a`` when ``ps_all`` (the policy's probability vector) is given.

        ``z`` is categorical ('organic'/'bandit'); ``v``, ``a`` and ``c`` are
        nullable integers, missing where the event has no such value.
        """
        organic = self.z == _core.ORGANIC_STATE
        frame = pd.DataFrame({
            "t": self.t,
            "u": self.u,
            "z": pd.Categorical.from_codes(self.z, dtype=_Z_CATEGORIES),
            "v": pd.arrays.IntegerArray(self.v, ~organic),
            "a": pd.arrays.IntegerArray(self.a, organic.copy()),
            "c": pd.arrays.IntegerArray(self.c, organic.copy()),
            "ps": self.ps,
        })
        if ps_all is not None:
            column = np.empty(len(self), dtype=object)
            for row in np.flatnonzero(~organic):
                column[row] = ps_all
            frame["ps-a"] = column
        return frame


_DTYPES = {
    "t": np.float64,
    "u": np.int64,
    "z": np.int8,
    "v": np.int32,
    "a": np.int32,
    "c": np.int8,
    "ps": np.float64,
    "click_probability": np.float64,
}


def logs_from_rows(rows: list[LogRow]) -> Logs:
    """Logs from ``(t, u, z, v, a, c, ps, click_probability)`` tuples."""
    columns = list(zip(*rows)) if rows else [()] * len(_DTYPES)
    return Logs(**{name: np.array(column, dtype=dtype) for (name, dtype), column in zip(_DTYPES.items(), columns)})


def _empty_chunk(rows: int) -> dict[str, np.ndarray]:
    return {name: np.empty(rows, dtype=dtype) for name, dtype in _DTYPES.items()}


def simulate_logs(
    engine: _core.Engine,
    first_user: int,
    num_users: int,
    num_organic_users: int = 0,
    policy: LoggingPolicy = None,
    slot: int = 0,
    progress: Any = None,
) -> Logs:
    """Logs of ``num_organic_users`` users who contribute one organic session
    each, then ``num_users`` whole timelines, with consecutive ids from
    ``first_user``, under a logging policy.

    ``policy`` is ``None`` (uniform), a probability vector over products, or
    :class:`~recogym.policies.UserPopularity`. ``progress``, if given, is a
    tqdm bar advanced per user.

    The kernel writes straight into one set of columns sized from the
    expected number of events (pages past the end are never touched, so a
    generous size costs nothing), which grow in the rare case they fill up.
    """
    kind, cdf, probabilities, epsilon = kernel_policy(policy, engine.params["num_products"])
    end_user = first_user + num_organic_users + num_users
    organic_end = first_user + num_organic_users
    columns = _empty_chunk(_expected_rows(engine, num_users, num_organic_users))
    filled = 0
    next_user = first_user
    while True:
        if filled == len(columns["t"]):
            columns = _grown(columns, filled)
        stop = min(len(columns["t"]), filled + _CHUNK_ROWS)
        before = next_user
        rows, next_user = engine.simulate_logs(
            slot, next_user, end_user, organic_end, kind, cdf, probabilities, epsilon,
            *(column[filled:stop] for column in columns.values())
        )
        filled += rows
        if progress is not None:
            progress.update(next_user - before)
        if filled < stop:
            return Logs(**{name: column[:filled] for name, column in columns.items()})


def _expected_rows(engine: _core.Engine, num_users: int, num_organic_users: int) -> int:
    whole, session = expected_events_per_user(engine.params["transition_cdf"])
    expected = num_users * min(whole, 1e6) + num_organic_users * min(session, 1e6)
    return int(min(1.25 * expected, _MAX_INITIAL_ROWS)) + 1024


def _grown(columns: dict[str, np.ndarray], filled: int) -> dict[str, np.ndarray]:
    bigger = _empty_chunk(len(columns["t"]) * 3 // 2 + 1024)
    for name, column in columns.items():
        bigger[name][:filled] = column[:filled]
    return bigger


def simulate_logs_lockstep(
    engine: _core.Engine,
    first_user: int,
    num_users: int,
    num_organic_users: int = 0,
    policy: LoggingPolicy = None,
    progress: tqdm | None = None,
) -> Logs:
    """:func:`simulate_logs` through ``Engine.simulate_logs_lockstep``: the same
    rows, faster for large catalogues, in the default random-number mode.

    ``engine`` has one slot per user run at the same time.
    """
    kind, cdf, probabilities, epsilon = kernel_policy(policy, engine.params["num_products"])
    slots = len(engine.state["markov_state"])
    logits = np.empty((slots, engine.params["num_products"]))
    end_user = first_user + num_organic_users + num_users
    chunks = []
    next_user = first_user
    while True:
        chunk = _empty_chunk(max(_CHUNK_ROWS, slots))
        before = next_user
        rows, next_user = engine.simulate_logs_lockstep(
            next_user, end_user, first_user + num_organic_users, kind, cdf, probabilities, epsilon, logits,
            *chunk.values()
        )
        chunks.append({name: column[:rows] for name, column in chunk.items()})
        if progress is not None:
            progress.update(next_user - before)
        if rows == 0:
            break
    columns = {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}
    order = np.argsort(columns["u"], kind="stable")
    return Logs(**{name: column[order] for name, column in columns.items()})
