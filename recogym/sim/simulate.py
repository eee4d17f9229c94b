"""Logs of whole users under a logging policy, written by the engine's log
driver straight into numpy columns, with no Python per event."""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import _core
from .._checks import check_probability_vector
from ..logs import COLUMN_DTYPES, CONVERSION_DTYPES, SLATE_COLUMN_DTYPES, Logs
from ..model import Simulation, expected_events_per_user
from ..policies import LoggingPolicy, UserPopularity, UserPopularityRanking

__all__ = ["simulate_logs", "log_engine", "uses_lockstep", "kernel_policy", "KernelPolicy",
           "LOCKSTEP_MIN_GAMMA_BYTES", "LOCKSTEP_SLOTS"]

#: From this size of Gamma on (v1, default rng), users run in lockstep:
#: beyond the last-level cache, reading each block of Gamma once for many
#: users halves the time (measured at 40 MB); below it, the exponentials of
#: the softmax dominate and lockstep only adds work.
LOCKSTEP_MIN_GAMMA_BYTES = 32 << 20
#: Users run at once in lockstep.
LOCKSTEP_SLOTS = 32

# Rows one kernel call writes at most, so the progress bar moves.
_CHUNK_ROWS = 1 << 20
# The first allocation's cap, in rows; the columns grow beyond it if needed.
_MAX_INITIAL_ROWS = 1 << 26


class KernelPolicy(NamedTuple):
    """A logging policy as the log driver takes it."""

    kind: int
    cdf: np.ndarray
    probabilities: np.ndarray
    epsilon: float


def kernel_policy(policy: LoggingPolicy, num_products: int, slate_size: int = 1) -> KernelPolicy:
    """``policy`` (None for uniform, a probability vector over products, or
    :class:`~recogym.policies.UserPopularity`; for slates None or
    :class:`~recogym.policies.UserPopularityRanking`) checked, as the log
    driver takes it."""
    if slate_size > 1 or isinstance(policy, UserPopularityRanking):
        return _slate_policy(policy, num_products, slate_size)
    if policy is None:
        probabilities = np.full(num_products, 1.0 / num_products)
        kind, epsilon = _core.UNIFORM_POLICY, 0.0
    elif isinstance(policy, UserPopularity):
        probabilities = np.full(num_products, np.nan)
        kind, epsilon = _core.USER_POPULARITY_POLICY, float(policy.epsilon)
    else:
        probabilities = check_probability_vector("policy", policy, num_products)
        kind, epsilon = _core.FIXED_POLICY, 0.0
    cdf = np.nan_to_num(probabilities).cumsum()
    if cdf[-1] > 0:
        cdf /= cdf[-1]
    return KernelPolicy(kind, cdf, probabilities, epsilon)


def _slate_policy(policy: LoggingPolicy, num_products: int, slate_size: int) -> KernelPolicy:
    if slate_size == 1:
        raise ValueError("policy UserPopularityRanking logs slates: set env arg slate_size > 1 (it is 1)")
    nothing = np.zeros(num_products)
    if policy is None:
        return KernelPolicy(_core.UNIFORM_POLICY, nothing, nothing, 0.0)
    if isinstance(policy, UserPopularityRanking):
        return KernelPolicy(_core.POPULARITY_RANKING_POLICY, nothing, nothing, float(policy.explore))
    raise ValueError(f"with slate_size = {slate_size} the logging policy must be None (uniform slates) or "
                     f"recogym.policies.UserPopularityRanking, got {policy!r}")


def uses_lockstep(simulation: Simulation) -> bool:
    """Whether users run in lockstep: computing the logits of many users a
    block of products at a time reads each block of Gamma once for all of
    them, which pays when Gamma does not fit in cache."""
    if simulation.model != "reco-gym-v1" or simulation.legacy or simulation.config.time_generator == "custom":
        return False
    return bool(simulation.num_products * simulation.config.K * 8 >= LOCKSTEP_MIN_GAMMA_BYTES)


def log_engine(simulation: Simulation) -> _core.Engine:
    """An engine for :func:`simulate_logs`, with the slots its strategy takes."""
    return simulation.engine(LOCKSTEP_SLOTS if uses_lockstep(simulation) else 1)


def simulate_logs(
    engine: _core.Engine,
    first_user: int,
    num_users: int,
    num_organic_users: int = 0,
    policy: LoggingPolicy = None,
    progress: Any = None,
) -> Logs:
    """Logs of ``num_organic_users`` users who contribute one organic session
    each, then ``num_users`` whole timelines, with consecutive ids from
    ``first_user``, under a logging policy.

    An engine with one slot runs users one at a time; one with more slots
    (:func:`log_engine`) runs them in lockstep, whose rows are sorted back
    into user order. The rows are the same either way. ``progress``, if
    given, is a tqdm bar advanced per user.

    The kernel writes straight into one set of columns sized from the
    expected number of events (pages past the end are never touched, so a
    generous size costs nothing), which grow in the rare case they fill up.
    """
    P = engine.params["num_products"]
    k = engine.params.get("slate_size", 1)
    rule = kernel_policy(policy, P, k)
    slots = len(engine.state["markov_state"])
    lockstep = slots > 1
    engine.state["markov_state"][:] = _core.EMPTY_SLOT
    counting = rule.kind in (_core.USER_POPULARITY_POLICY, _core.POPULARITY_RANKING_POLICY)
    policy_counts = np.zeros((slots, P) if counting else (0, 0))
    logits = np.empty((slots, P) if lockstep else (0, 0))
    end_user = first_user + num_organic_users + num_users
    organic_end = first_user + num_organic_users
    conversions = bool(engine.params["conversions"])
    columns = _empty_columns(expected_rows(engine.params["transition_cdf"], num_users, num_organic_users) + slots,
                             conversions, k)
    # The kernel's conversion columns, empty without conversions.
    no_conversions = {name: np.empty(0, dtype=dtype) for name, dtype in CONVERSION_DTYPES.items()}
    filled = 0
    next_user = first_user
    while True:
        if len(columns["t"]) - filled < max(slots, 1):
            columns = grown_columns(columns, filled)
        stop = min(len(columns["t"]), filled + _CHUNK_ROWS)
        before = next_user
        rows, next_user = engine.simulate_logs(
            next_user, end_user, organic_end, rule.kind, rule.cdf, rule.probabilities, rule.epsilon,
            policy_counts, lockstep, logits,
            *(column[filled:stop] for column in (*(columns[name] for name in COLUMN_DTYPES),
                                                 *(columns.get(name, empty) for name, empty in no_conversions.items()))),
            **{f"slate_{name}": columns[f"slate_{name}"][filled:stop] for name in SLATE_COLUMN_DTYPES
               if k > 1})
        filled += rows
        if progress is not None:
            progress.update(next_user - before)
        if _all_done(engine, next_user, end_user):
            break
    logs = Logs(**{name: column[:filled] for name, column in columns.items()})
    if lockstep:
        logs = logs.take(np.argsort(logs.u, kind="stable"))
    return logs


def _all_done(engine: _core.Engine, next_user: int, end_user: int) -> bool:
    return next_user >= end_user and bool((engine.state["markov_state"] == _core.EMPTY_SLOT).all())


def _empty_columns(rows: int, conversions: bool, slate_size: int = 1) -> dict[str, np.ndarray]:
    dtypes = {**COLUMN_DTYPES, **CONVERSION_DTYPES} if conversions else COLUMN_DTYPES
    columns = {name: np.empty(rows, dtype=dtype) for name, dtype in dtypes.items()}
    if slate_size > 1:
        columns.update({f"slate_{name}": np.empty((rows, slate_size), dtype=dtype)
                        for name, dtype in SLATE_COLUMN_DTYPES.items()})
    return columns


def expected_rows(transition: np.ndarray, num_users: int, num_organic_users: int = 0) -> int:
    """Room for the rows of ``num_users`` whole timelines and
    ``num_organic_users`` organic sessions under the chain ``transition``: a
    quarter more than expected (up to a cap; columns grow past it)."""
    whole, session = expected_events_per_user(transition)
    expected = num_users * min(whole, 1e6) + num_organic_users * min(session, 1e6)
    return int(min(1.25 * expected, _MAX_INITIAL_ROWS)) + 1024


def grown_columns(columns: dict[str, np.ndarray], filled: int, rows: int = 0) -> dict[str, np.ndarray]:
    """``columns`` half as long again (and at least ``rows`` long), their
    first ``filled`` rows copied."""
    capacity = max(len(columns["t"]) * 3 // 2 + 1024, rows)
    bigger = {}
    for name, column in columns.items():
        bigger[name] = np.empty((capacity, *column.shape[1:]), dtype=column.dtype)
        bigger[name][:filled] = column[:filled]
    return bigger
