"""What each user had shown before each recommendation, read from logs.

Model-based agents learn from the impressions of the logging policy: the
action shown, its click and propensity, and what the user had viewed until
then. These functions build those per-impression features for all users at
once, with numpy, from the columnar :class:`~recogym.Logs`: no Python runs per
event. 0.1.3.0 built the same rows with a pandas ``iterrows`` loop per user.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import sparse

from ..logs import EventKind, Logs, per_position

__all__ = [
    "Impressions",
    "ImpressionFeatures",
    "impressions",
    "impression_features",
    "organic_sessions",
    "weighted_view_counts",
    "DENSE_MAX_PRODUCTS",
]

#: Up to this many products, view counts come as a dense array; beyond, as CSR.
DENSE_MAX_PRODUCTS = 32

# Pairs (view, later impression) handled at once: bounds the memory used.
_PAIRS_PER_CHUNK = 1 << 22

WeightHistoryFunction = Callable[[np.ndarray], np.ndarray]


class Impressions(NamedTuple):
    """One entry per impression of the logs, users in turn, each in time order.

    Attributes
    ----------
    users : (n,) int64 array
    last_view : (n,) int64 array
        The product the user viewed last before the impression; -1 if none.
    actions : (n,) int64 array
        The product shown.
    clicks : (n,) float64 array
        1.0 if it was clicked, else 0.0.
    propensities : (n,) float64 array
        The probability the logging policy gave to the action.
    """

    users: np.ndarray
    last_view: np.ndarray
    actions: np.ndarray
    clicks: np.ndarray
    propensities: np.ndarray


class ImpressionFeatures(NamedTuple):
    """:class:`Impressions` with the user's view counts before each of them.

    Attributes
    ----------
    views : (n, P) float64 array or scipy.sparse.csr_matrix
        Views of each product by the user before the impression (weighted by
        age if asked), the ``view_counts`` a :class:`~recogym.agents.UserBatch`
        would have shown at that moment.
    users, last_view, actions, clicks, propensities
        As in :class:`Impressions`.
    """

    views: np.ndarray | sparse.csr_matrix
    users: np.ndarray
    last_view: np.ndarray
    actions: np.ndarray
    clicks: np.ndarray
    propensities: np.ndarray


class _Timeline:
    """The logs with each user's events contiguous and in their logged order,
    and where each user's events start and end."""

    def __init__(self, logs: Logs) -> None:
        # Slate logs: one impression per position, each product with its own click.
        logs = per_position(logs)
        u = logs.u
        # Logs from simulate() and from train() keep each user's events
        # together and in time order; a stable sort by user keeps that order.
        order = None if len(u) < 2 or np.all(u[1:] >= u[:-1]) else np.argsort(u, kind="stable")
        take: Callable[[np.ndarray], np.ndarray] = (
            (lambda column: column) if order is None else (lambda column: column[order]))
        self.t, self.u, self.z = take(logs.t), take(logs.u), take(logs.z)
        self.v, self.a, self.c, self.ps = take(logs.v), take(logs.a), take(logs.c), take(logs.ps)
        n = len(u)
        rows = np.arange(n)
        starts = np.flatnonzero(np.r_[True, self.u[1:] != self.u[:-1]]) if n else np.zeros(0, dtype=np.int64)
        ends = np.r_[starts[1:], n]
        user_of_row = np.repeat(np.arange(len(starts)), ends - starts)
        self.user_start = starts[user_of_row]
        self.user_end = ends[user_of_row]
        self.organic = self.z == EventKind.ORGANIC
        last_organic = np.maximum.accumulate(np.where(self.organic, rows, -1)) if n else rows
        # The row of the user's latest view at or before each row, or -1.
        self.last_view_row = np.where(last_organic >= self.user_start, last_organic, -1)

    def impression_rows(self, clicked_only: bool) -> np.ndarray:
        selected = ~self.organic
        if clicked_only:
            selected &= self.c == 1
        return np.flatnonzero(selected)

    def impressions(self, rows: np.ndarray) -> Impressions:
        last_row = self.last_view_row[rows]
        return Impressions(
            users=self.u[rows].astype(np.int64),
            last_view=np.where(last_row >= 0, self.v[last_row], -1).astype(np.int64),
            actions=self.a[rows].astype(np.int64),
            clicks=self.c[rows].astype(np.float64),
            propensities=self.ps[rows].astype(np.float64),
        )


def impressions(logs: Logs, *, clicked_only: bool = False) -> Impressions:
    """The impressions of ``logs`` with the last product viewed before each.

    Parameters
    ----------
    logs : Logs
    clicked_only : bool
        Keep only the clicked impressions, the only ones that weigh in an
        estimator weighted by ``click / propensity``.
    """
    timeline = _Timeline(logs)
    return timeline.impressions(timeline.impression_rows(clicked_only))


def impression_features(
    logs: Logs,
    num_products: int,
    *,
    clicked_only: bool = False,
    weight_history_function: WeightHistoryFunction | None = None,
    dense: bool | None = None,
) -> ImpressionFeatures:
    """Each impression of ``logs`` with the user's view counts before it.

    Parameters
    ----------
    logs : Logs
    num_products : int
    clicked_only : bool
        Keep only the clicked impressions.
    weight_history_function : callable, optional
        Maps an array of view ages to weights: each view counts
        ``weight_history_function(age)`` instead of 1. The age of a view is
        the time from it to the user's latest view before the impression,
        which is what an agent acting on a user also knows.
    dense : bool, optional
        Return ``views`` as a dense array (True) or as CSR (False). By
        default dense up to :data:`DENSE_MAX_PRODUCTS` products.

    Returns
    -------
    ImpressionFeatures

    Raises
    ------
    ValueError
        If ``weight_history_function`` is given and a view has no time.

    Notes
    -----
    Every (view, later impression of the same user) pair adds the view's
    weight to the impression's row: the pairs are built with ``np.repeat``
    over the views and summed by scipy's COO-to-CSR conversion, a few
    million pairs at a time.
    """
    timeline = _Timeline(logs)
    rows = timeline.impression_rows(clicked_only)
    if dense is None:
        dense = num_products <= DENSE_MAX_PRODUCTS
    view_rows = np.flatnonzero(timeline.organic)
    if weight_history_function is not None and not np.all(np.isfinite(timeline.t[view_rows])):
        raise ValueError("weight_history_function needs the time of every view, but some logged views have none")
    # For each view, the selected impressions after it that belong to the
    # same user are a contiguous range [first, stop) of ``rows``.
    first = np.searchsorted(rows, view_rows)
    stop = np.searchsorted(rows, timeline.user_end[view_rows])
    pairs_per_view = stop - first
    bounds = _chunk_bounds(pairs_per_view)
    n = len(rows)
    views = sparse.csr_matrix((n, num_products))
    for begin, end in zip(bounds[:-1], bounds[1:]):
        counts = pairs_per_view[begin:end]
        view_of_pair = np.repeat(np.arange(begin, end), counts)
        offsets = np.cumsum(counts) - counts
        impression_of_pair = np.arange(counts.sum()) - np.repeat(offsets - first[begin:end], counts)
        product = timeline.v[view_rows[view_of_pair]].astype(np.int64)
        if weight_history_function is None:
            weight = np.ones(len(product))
        else:
            now = timeline.t[timeline.last_view_row[rows[impression_of_pair]]]
            weight = _weights(weight_history_function, now - timeline.t[view_rows[view_of_pair]])
        views = views + sparse.csr_matrix((weight, (impression_of_pair, product)), shape=(n, num_products))
    views = views.toarray() if dense else sparse.csr_matrix(views)
    return ImpressionFeatures(views, *timeline.impressions(rows))


def _chunk_bounds(pairs_per_view: np.ndarray) -> np.ndarray:
    """Split the views into runs of about ``_PAIRS_PER_CHUNK`` pairs."""
    total = np.cumsum(pairs_per_view)
    if not len(total):
        return np.zeros(1, dtype=np.int64)
    marks = np.arange(_PAIRS_PER_CHUNK, total[-1], _PAIRS_PER_CHUNK)
    inner = np.searchsorted(total, marks, side="right")
    return np.unique(np.r_[0, inner, len(total)])


def _weights(weight_history_function: WeightHistoryFunction, ages: np.ndarray) -> np.ndarray:
    weights = np.asarray(weight_history_function(ages), dtype=np.float64)
    if weights.shape != ages.shape:
        raise ValueError(f"weight_history_function must map an array of ages to as many weights; "
                         f"it mapped shape {ages.shape} to {weights.shape}")
    return weights


def weighted_view_counts(
    views: npt.ArrayLike,
    times: npt.ArrayLike,
    num_products: int,
    weight_history_function: WeightHistoryFunction,
) -> np.ndarray:
    """One user's view counts, each view weighted by its age.

    The counterpart, for a user being served, of
    ``impression_features(..., weight_history_function=...)``: ages are taken
    from the user's latest view.

    Parameters
    ----------
    views : (m,) int array
        The products the user viewed, in order.
    times : (m,) float array
        When.
    num_products : int
    weight_history_function : callable
        Maps an array of ages to weights.

    Returns
    -------
    (P,) float64 array
    """
    views = np.asarray(views, dtype=np.int64)
    if not len(views):
        return np.zeros(num_products)
    times = np.asarray(times, dtype=np.float64)
    weights = _weights(weight_history_function, times[-1] - times)
    return np.bincount(views, weights, minlength=num_products)


def organic_sessions(logs: Logs) -> tuple[np.ndarray, np.ndarray]:
    """The organic views of ``logs`` and the session each belongs to.

    A session is a run of one user's views between two impressions: what one
    observation of the notebook's ``train`` holds.

    Returns
    -------
    views : (m,) int64 array
        The viewed products, users in turn, each in time order.
    sessions : (m,) int64 array
        Session numbers, counting up from 0 and equal within a session.
    """
    timeline = _Timeline(logs)
    rows = np.arange(len(timeline.z))
    new_session = (rows == timeline.user_start) | np.r_[True, ~timeline.organic[:-1]]
    organic = timeline.organic
    sessions = np.cumsum(new_session[organic]) - 1
    return timeline.v[organic].astype(np.int64), sessions
