"""Off-policy evaluation for slates: a target ranking policy's clicks per
impression, estimated from the slates, clicks and propensities a logging
policy left.

Each logged impression ``i`` shows a slate ``s_i = (a_i1, ..., a_ik)`` of
``k`` distinct products and records a click ``c_ij`` in {0, 1} at each
position. The value of a policy is its expected clicks per impression,
``V = E[sum_j c_ij]``, and ``V_j = E[c_ij]`` is that of position ``j``. The
three estimators differ in the weight they give position ``j``'s click, and so
in the click models under which they are unbiased (McInerney et al. 2020, Li
et al. 2018, as OBP implements them):

* SIPS, the standard IPS: the whole slate's ``pi_e(s_i) / pi_0(s_i)``, at
  every position. Unbiased under any click model.
* IIPS, the independent IPS: ``pi_e(a_ij at j) / pi_0(a_ij at j)``, the
  marginals of the item at its position. Unbiased when the click at ``j``
  depends only on the item at ``j`` (the position-based model, PBM).
* RIPS, the reward-interaction IPS: ``pi_e(a_i1..a_ij) / pi_0(a_i1..a_ij)``,
  the probabilities of the slate's first ``j`` items. Unbiased when the click
  at ``j`` depends only on the items at positions ``1..j`` (the cascade
  models, and the PBM too).

The propensities are named as OBP's slate estimators name them: ``pscore``
(the slate's), ``pscore_item_position`` and ``pscore_cascade``;
:class:`SlatePropensities` holds the three, and the helpers below compute them
for the uniform random slate, a deterministic ranking, their epsilon-greedy
mixture and the Plackett-Luce policy. This module does not know where the
slates came from: the simulator's slate logs feed it, and so can any other.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._checks import (
    check_binary_array,
    check_int_at_least,
    check_probability,
    check_probability_array,
    check_slate_array,
    is_real,
)

__all__ = [
    "SLATE_ESTIMATORS",
    "SlatePropensities",
    "epsilon_greedy_slate_propensities",
    "evaluate_slate_policy",
    "plackett_luce_position_marginals",
    "plackett_luce_slate_propensities",
    "ranking_slate_propensities",
    "uniform_slate_propensities",
]

#: The estimators of :func:`evaluate_slate_policy`, in the order of its rows.
SLATE_ESTIMATORS = ("SIPS", "IIPS", "RIPS", "SNSIPS", "SNIIPS", "SNRIPS")

# The propensity each estimator weighs by (its self-normalised variant too).
_PSCORE_OF = {"SIPS": "pscore", "IIPS": "pscore_item_position", "RIPS": "pscore_cascade"}
_FIELDS = ("pscore", "pscore_item_position", "pscore_cascade")

# Identities between a policy's three propensities hold up to this (relative).
_IDENTITY_TOLERANCE = 1e-6
# Plackett-Luce position marginals sum over every ordered prefix of the slate:
# at most this many (prefix, product) terms per score vector, and in all.
_PL_TERMS_PER_ROW = 1 << 22
_PL_TERMS = 1 << 27

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SlatePropensities:
    """A slate policy's probabilities of the logged slates, in OBP's names.

    Attributes
    ----------
    pscore : (impressions,) array or None
        The probability of the whole slate ``pi(s_i)``, what SIPS weighs by.
    pscore_item_position : (impressions, k) array or None
        ``pi(a_ij at j)``, the marginal probability of the item at its
        position, what IIPS weighs by.
    pscore_cascade : (impressions, k) array or None
        ``pi(a_i1, ..., a_ij)``, the probability of the slate's first ``j``
        items, what RIPS weighs by. Its last column is ``pscore`` and its first
        ``pscore_item_position``'s.

    A field left None leaves out the estimators that need it.
    """

    pscore: Floats | None = None
    pscore_item_position: Floats | None = None
    pscore_cascade: Floats | None = None


# -- the estimators ------------------------------------------------------------


def evaluate_slate_policy(
    slates: npt.ArrayLike,
    clicks: npt.ArrayLike,
    logging: SlatePropensities | Mapping[str, Any],
    target: SlatePropensities | Mapping[str, Any],
    *,
    users: npt.ArrayLike | None = None,
    truth: npt.ArrayLike | None = None,
    level: float = 0.95,
    by_position: bool = False,
) -> pd.DataFrame:
    """Off-policy estimates of a target slate policy's clicks per impression
    (SIPS, IIPS, RIPS and their self-normalised variants), with normal
    intervals and, given the truth, their errors.

    With ``w_ij`` the weight an estimator gives position ``j`` of impression
    ``i`` (SIPS: ``pi_e(s_i) / pi_0(s_i)``; IIPS: the item-position
    marginals' ratio; RIPS: the prefixes' ratio), the estimate of position
    ``j`` is ``V_j = mean_i(w_ij c_ij)`` and the slate's is ``V = sum_j V_j``.
    A self-normalised variant divides each position's sum by its weights'
    instead: ``V_j = sum_i w_ij c_ij / sum_i w_ij`` (NaN if the weights are
    all 0), consistent, not unbiased, and free of the noise of the weights'
    total.

    Parameters
    ----------
    slates : (impressions, k) int array
        The logged slates: ``k >= 1`` distinct product ids per impression,
        top position first.
    clicks : (impressions, k) array of 0 and 1
        The click at each position.
    logging : SlatePropensities, or a dict with its field names
        The logging policy's propensities of the logged slates, in (0, 1].
    target : SlatePropensities, or a dict with its field names
        The target policy's probabilities of the same slates, in [0, 1]. An
        estimator is computed when both policies give its propensity.
    users : (impressions,) int array, optional
        The user of each impression. The standard errors then sum each
        user's centred terms before squaring (cluster-robust, with the factor
        ``G / (G - 1)`` for ``G`` users), since one user's impressions are
        dependent; by default every impression is its own cluster.
    truth : float, (k,) or (impressions, k) array, optional
        The target's true expected clicks: of the whole slate per impression
        (a float, then the position rows have none), per position, or per
        impression and position (averaged over impressions). The simulator
        knows it; with it each row holds ``truth`` and ``error``.
    level : float
        The intervals' confidence level, in (0, 1).
    by_position : bool
        One row per estimator and position (0 = top) instead of one per
        estimator.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimator`` (of :data:`SLATE_ESTIMATORS`), ``position``
        (with ``by_position`` only), ``estimate``, ``std_error``, ``low`` and
        ``high`` (``estimate -+ z std_error``, ``z`` the normal quantile of
        ``level``), ``truth`` and ``error`` (``estimate - truth``; NaN
        without ``truth``).

    Raises
    ------
    TypeError
        If ``logging`` or ``target`` is neither SlatePropensities nor a dict.
    ValueError
        For arrays of the wrong shape or outside their domain (each message
        names the argument and what it may hold), propensities that
        contradict each other (``pscore_cascade`` increasing along the slate,
        or differing from ``pscore`` at the last position or from
        ``pscore_item_position`` at the first), no estimator that both
        policies give propensities for, or fewer than two impressions (or
        users).

    Notes
    -----
    Each estimator is unbiased given support: ``pi_0 > 0`` wherever
    ``pi_e > 0``, for the slates (SIPS), the items at each position (IIPS) or
    the prefixes (RIPS). The intervals are the central limit theorem's on the
    per-impression terms ``sum_j w_ij c_ij``; the self-normalised variants'
    use the delta method, with terms ``sum_j w_ij (c_ij - V_j) / mean_i(w_ij)``.
    With large weights (a target far from the logging policy, long slates
    under SIPS) the terms are heavy-tailed and the intervals undercover.

    Examples
    --------
    >>> logging = uniform_slate_propensities(slates, num_products=10)  # doctest: +SKIP
    >>> target = epsilon_greedy_slate_propensities(slates, scores, 0.1)  # doctest: +SKIP
    >>> evaluate_slate_policy(slates, clicks, logging, target)  # doctest: +SKIP
    """
    slates = check_slate_array("slates", slates)
    n, k = slates.shape
    click_array = check_binary_array("clicks", clicks, (n, k))
    logged = _propensities(logging, "logging", n, k, positive=True)
    targeted = _propensities(target, "target", n, k, positive=False)
    if not is_real(level):
        raise TypeError(f"level must be a real number, a confidence level in (0, 1), got {level!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be a confidence level in (0, 1), got {level!r}")
    level = float(level)
    if not isinstance(by_position, (bool, np.bool_)):
        raise TypeError(f"by_position must be True or False, got {by_position!r}")
    clusters, num_clusters = _clusters(users, n)
    truth_total, truth_by_position = _truth(truth, n, k)
    z = NormalDist().inv_cdf(0.5 + level / 2.0)

    weights_of = {name: _weights(targeted[field], logged[field], k) for name, field in _PSCORE_OF.items()
                  if logged[field] is not None and targeted[field] is not None}
    names = [name for name in SLATE_ESTIMATORS if name.removeprefix("SN") in weights_of]
    if not names:
        given = [f"logging: {[f for f in _FIELDS if logged[f] is not None]}",
                 f"target: {[f for f in _FIELDS if targeted[f] is not None]}"]
        raise ValueError(f"logging and target must both give one of {_FIELDS} (SIPS, IIPS, RIPS need them "
                         f"in turn); they give {', '.join(given)}")
    rows: list[tuple[Any, ...]] = []
    for name in names:
        weights = weights_of[name.removeprefix("SN")]
        if name.startswith("SN"):
            by_pos, influence = _self_normalised(weights, click_array)
        else:
            terms = weights * click_array
            by_pos = terms.mean(axis=0)
            influence = terms - by_pos
        if by_position:
            for j in range(k):
                rows.append((name, j, float(by_pos[j]),
                             _std_error(influence[:, j], clusters, num_clusters), float(truth_by_position[j])))
        else:
            rows.append((name, float(by_pos.sum()),
                         _std_error(influence.sum(axis=1), clusters, num_clusters), truth_total))
    columns = ["estimator", "position"] if by_position else ["estimator"]
    frame = pd.DataFrame(rows, columns=[*columns, "estimate", "std_error", "truth"])
    frame.insert(len(columns) + 2, "low", frame["estimate"] - z * frame["std_error"])
    frame.insert(len(columns) + 3, "high", frame["estimate"] + z * frame["std_error"])
    frame["error"] = frame["estimate"] - frame["truth"]
    return frame


def _weights(target: Floats | None, logging: Floats | None, k: int) -> Floats:
    """(n, k) weights: a slate's (n,) propensities weigh every position."""
    assert target is not None and logging is not None
    ratio = target / logging
    return np.repeat(ratio[:, None], k, axis=1) if ratio.ndim == 1 else ratio


def _self_normalised(weights: Floats, clicks: Floats) -> tuple[Floats, Floats]:
    """Each position's ``sum w c / sum w`` and its (n, k) delta-method terms."""
    n = len(weights)
    totals = weights.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        estimates = (weights * clicks).sum(axis=0) / totals
        influence = weights * (clicks - estimates) / (totals / n)
    return estimates, influence


def _std_error(centred: Floats, clusters: Ints | None, num_clusters: int) -> float:
    """The standard error of a mean from its centred terms, summing each
    cluster's first (each term its own cluster without ``clusters``)."""
    sums = centred if clusters is None else np.bincount(clusters, centred, minlength=num_clusters)
    return math.sqrt(num_clusters / (num_clusters - 1) * float(sums @ sums)) / len(centred)


# -- inputs --------------------------------------------------------------------


def _propensities(policy: Any, name: str, n: int, k: int, positive: bool) -> dict[str, Floats | None]:
    if isinstance(policy, SlatePropensities):
        given: Mapping[str, Any] = {field: getattr(policy, field) for field in _FIELDS}
    elif isinstance(policy, Mapping):
        unknown = [key for key in policy if key not in _FIELDS]
        if unknown:
            raise ValueError(f"{name}: unknown propensity {unknown[0]!r}; known: {', '.join(_FIELDS)}")
        given = policy
    else:
        raise TypeError(f"{name} must be SlatePropensities or a dict with keys among {_FIELDS}, "
                        f"got {type(policy).__name__}")
    out: dict[str, Floats | None] = {}
    for field in _FIELDS:
        values = given.get(field)
        shape = (n,) if field == "pscore" else (n, k)
        out[field] = None if values is None else check_probability_array(
            f"{name}.{field}", values, shape, positive=positive)
    _check_identities(out, name)
    return out


def _check_identities(policy: dict[str, Floats | None], name: str) -> None:
    """What any slate policy's three propensities satisfy: the prefixes'
    probabilities fall along the slate, the full prefix is the slate and the
    first is the item at the top. A breach means swapped or garbled arrays."""
    cascade, slate, item = policy["pscore_cascade"], policy["pscore"], policy["pscore_item_position"]
    if cascade is None:
        return

    def differs(a: Floats, b: Floats) -> npt.NDArray[np.bool_]:
        return np.asarray(np.abs(a - b) > _IDENTITY_TOLERANCE * np.maximum(np.abs(a), np.abs(b)))

    rising = cascade[:, 1:] > cascade[:, :-1] * (1.0 + _IDENTITY_TOLERANCE)
    if rising.any():
        row, position = (int(i[0]) for i in np.nonzero(rising))
        raise ValueError(f"{name}.pscore_cascade must not increase along the slate (a longer prefix is a "
                         f"narrower event); row {row} rises at position {position + 1}: "
                         f"{cascade[row].tolist()}")
    if slate is not None and differs(slate, cascade[:, -1]).any():
        row = int(np.flatnonzero(differs(slate, cascade[:, -1]))[0])
        raise ValueError(f"{name}.pscore must equal {name}.pscore_cascade at the last position (the full "
                         f"prefix is the slate); row {row}: {slate[row]!r} != {cascade[row, -1]!r}")
    if item is not None and differs(item[:, 0], cascade[:, 0]).any():
        row = int(np.flatnonzero(differs(item[:, 0], cascade[:, 0]))[0])
        raise ValueError(f"{name}.pscore_item_position must equal {name}.pscore_cascade at the top position "
                         f"(a prefix of one is the top item); row {row}: {item[row, 0]!r} != "
                         f"{cascade[row, 0]!r}")


def _clusters(users: npt.ArrayLike | None, n: int) -> tuple[Ints | None, int]:
    if users is None:
        if n < 2:
            raise ValueError(f"slates must hold at least two impressions for a standard error, got {n}")
        return None, n
    array = np.asarray(users)
    if array.shape != (n,) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"users must be a 1-d integer array of user ids of shape ({n},) (impressions), "
                         f"got {array.dtype} of shape {array.shape}")
    _, index = np.unique(array, return_inverse=True)
    num_clusters = int(index.max()) + 1
    if num_clusters < 2:
        raise ValueError("users must hold at least two users: the standard errors sum each user's terms")
    return index.astype(np.int64), num_clusters


def _truth(truth: npt.ArrayLike | None, n: int, k: int) -> tuple[float, Floats]:
    """The truth of the whole slate and of each position (NaN where unknown)."""
    if truth is None:
        return math.nan, np.full(k, math.nan)
    try:
        array = np.asarray(truth, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"truth must be a float, a ({k},) or an ({n}, {k}) array of expected clicks, "
                        f"got {truth!r}") from None
    if array.shape not in ((), (k,), (n, k)):
        raise ValueError(f"truth must be a float (the slate's), a ({k},) array (per position) or an ({n}, {k}) "
                         f"array (per impression and position), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("truth must hold finite expected clicks")
    if array.ndim == 0:
        return float(array), np.full(k, math.nan)
    by_position = array if array.ndim == 1 else array.mean(axis=0)
    return float(by_position.sum()), by_position


# -- propensities of common slate policies --------------------------------------


def uniform_slate_propensities(slates: npt.ArrayLike, num_products: int) -> SlatePropensities:
    """The propensities of the uniform random slate: ``k`` distinct products
    of ``num_products``, every ordering equally likely.

    A slate has probability ``1 / (P (P-1) ... (P-k+1))``, its first ``j``
    items ``1 / (P (P-1) ... (P-j+1))``, and any product is at any position
    with probability ``1 / P``.

    Parameters
    ----------
    slates : (impressions, k) int array
        The slates to give the propensities of, ids in ``[0, num_products)``.
    num_products : int
        ``P``, at least ``k``.

    Returns
    -------
    SlatePropensities
        All three fields, each the same at every impression.

    Raises
    ------
    ValueError
        If ``slates`` are not rankings of products in ``[0, num_products)`` or
        ``num_products < k``.
    """
    slates = check_slate_array("slates", slates)
    n, k = slates.shape
    num_products = check_int_at_least("num_products", num_products, k)
    _check_products(slates, num_products, "num_products")
    prefix = np.cumprod(1.0 / (num_products - np.arange(k, dtype=np.float64)))
    cascade = np.repeat(prefix[None, :], n, axis=0)
    return SlatePropensities(pscore=cascade[:, -1].copy(),
                             pscore_item_position=np.full((n, k), 1.0 / num_products),
                             pscore_cascade=cascade)


def ranking_slate_propensities(slates: npt.ArrayLike, scores: npt.ArrayLike) -> SlatePropensities:
    """The propensities of the deterministic ranking: the ``k`` products of
    highest score, highest first (ties to the lower product id).

    Every propensity is 0 or 1: 1 where the logged slate (its item at ``j``,
    its first ``j`` items) is the ranking's. Such a policy is a target only: as
    a logging policy it gives nothing else support.

    Parameters
    ----------
    slates : (impressions, k) int array
        The slates to give the propensities of.
    scores : (P,) or (impressions, P) float array
        The products' scores, shared by all impressions or one row each.

    Returns
    -------
    SlatePropensities
        All three fields.

    Raises
    ------
    ValueError
        If ``scores`` are not finite, of another shape or with fewer than ``k``
        products, or ``slates`` hold products outside ``[0, P)``.
    """
    slates = check_slate_array("slates", slates)
    score_rows = _check_scores(scores, slates)
    return _ranking(slates, score_rows)


def epsilon_greedy_slate_propensities(slates: npt.ArrayLike, scores: npt.ArrayLike,
                                      epsilon: float) -> SlatePropensities:
    """The propensities of the epsilon-greedy slate policy: with probability
    ``epsilon`` the uniform random slate, otherwise the deterministic ranking
    by ``scores``.

    A mixture's probability of any event is the mixture of its components',
    so each propensity is ``epsilon * uniform + (1 - epsilon) * ranking``:
    the slate ``epsilon / (P (P-1) ... (P-k+1)) + (1 - epsilon) [s = top-k]``,
    the item at ``j`` ``epsilon / P + (1 - epsilon) [a_j = top_j]``, the first
    ``j`` items ``epsilon / (P ... (P-j+1)) + (1 - epsilon) [a_1..a_j =
    top_1..top_j]``. With ``epsilon > 0`` every slate has support, so the
    policy can log.

    Parameters
    ----------
    slates : (impressions, k) int array
        The slates to give the propensities of.
    scores : (P,) or (impressions, P) float array
        The greedy ranking's scores, as for :func:`ranking_slate_propensities`.
    epsilon : float
        The probability of the uniform slate, in [0, 1].

    Returns
    -------
    SlatePropensities
        All three fields.

    Raises
    ------
    ValueError
        As :func:`ranking_slate_propensities`, or for ``epsilon`` outside
        [0, 1].
    """
    slates = check_slate_array("slates", slates)
    score_rows = _check_scores(scores, slates)
    epsilon = check_probability("epsilon", epsilon)
    ranking = _ranking(slates, score_rows)
    uniform = uniform_slate_propensities(slates, score_rows.shape[1])

    def mix(field: str) -> Floats:
        return np.asarray(epsilon * getattr(uniform, field) + (1.0 - epsilon) * getattr(ranking, field),
                          dtype=np.float64)

    return SlatePropensities(**{field: mix(field) for field in _FIELDS})


def plackett_luce_slate_propensities(slates: npt.ArrayLike, scores: npt.ArrayLike, *,
                                     item_position: bool = True) -> SlatePropensities:
    """The propensities of the Plackett-Luce policy (a softmax without
    replacement): position after position, each remaining product with
    probability proportional to ``exp(score)``.

    The first ``j`` items have probability ``prod_{m <= j} exp(x_{a_m}) /
    sum_{b not in a_1..a_{m-1}} exp(x_b)``, exactly; the slate's is that of
    all ``k``. The item at ``j`` has no closed form: its marginal sums over
    every ordered choice of the ``j - 1`` items above it
    (:func:`plackett_luce_position_marginals`), which is exact but feasible
    only for small ``P`` and ``k``.

    Parameters
    ----------
    slates : (impressions, k) int array
        The slates to give the propensities of.
    scores : (P,) or (impressions, P) float array
        The products' logits (a temperature divides them beforehand), shared
        by all impressions or one row each.
    item_position : bool
        Whether to compute ``pscore_item_position`` (by enumeration); without
        it that field is None and IIPS is left out.

    Returns
    -------
    SlatePropensities

    Raises
    ------
    ValueError
        As :func:`ranking_slate_propensities`; with ``item_position``, also if
        the enumeration is too large (see
        :func:`plackett_luce_position_marginals`).
    """
    slates = check_slate_array("slates", slates)
    score_rows = _check_scores(scores, slates)
    if not isinstance(item_position, (bool, np.bool_)):
        raise TypeError(f"item_position must be True or False, got {item_position!r}")
    n, k = slates.shape
    rows = np.arange(n)
    shifted = _shift(score_rows)
    log_prefix = np.empty((n, k))
    # Each position's share is against the exact sum of what is left (a
    # masked log-sum-exp, never a difference of sums), a chunk of rows at a time.
    chunk = max(1, _PL_TERMS_PER_ROW // shifted.shape[1])
    for start in range(0, n, chunk):
        part = slice(start, min(n, start + chunk))
        chosen = slates[part]
        scores = shifted[part] if len(shifted) == n else np.repeat(shifted, len(chosen), axis=0)
        inside = np.arange(len(chosen))
        taken = np.zeros(scores.shape, dtype=np.bool_)
        total = np.zeros(len(chosen))
        for j in range(k):
            total = total + scores[inside, chosen[:, j]] - _logsumexp(np.where(taken, -np.inf, scores))
            log_prefix[part, j] = total
            taken[inside, chosen[:, j]] = True
    cascade = np.exp(log_prefix)
    marginals: Floats | None = None
    if item_position:
        table = _pl_marginals(shifted, k)                           # (rows of scores, k, P)
        which = rows if len(shifted) == n else np.zeros(n, dtype=np.int64)
        marginals = table[which[:, None], np.arange(k)[None, :], slates]
        # The top position's marginal is the first prefix: one formula for both.
        marginals[:, 0] = cascade[:, 0]
    return SlatePropensities(pscore=cascade[:, -1].copy(), pscore_item_position=marginals, pscore_cascade=cascade)


def plackett_luce_position_marginals(scores: npt.ArrayLike, slate_size: int) -> Floats:
    """The probability of every product at every position of a Plackett-Luce
    slate, exactly, by enumerating the ordered choices above each position.

    ``pi(a at j) = sum over ordered (b_1..b_{j-1}) not holding a of
    pi(b_1..b_{j-1}) exp(x_a) / sum_{c not in b} exp(x_c)``. With it the truth
    under the PBM is ``sum_j theta_j sum_a pi(a at j) attraction(a)``.

    Parameters
    ----------
    scores : (P,) or (rows, P) float array
        The logits, as for :func:`plackett_luce_slate_propensities`.
    slate_size : int
        ``k``, in ``[1, P]``.

    Returns
    -------
    (k, P) or (rows, k, P) float array
        Each position's row sums to 1.

    Raises
    ------
    ValueError
        For scores that are not finite, ``slate_size`` outside ``[1, P]``, or
        an enumeration too large: a score vector's ordered prefixes times
        products, ``P * sum_{j < k} P! / (P-j)!``, may be at most 2**22 (about
        4.2e6: P=10, k=6 makes 3.6e5; P=20, k=5 2.5e6; P=100, k=3 1.0e6;
        P=100, k=4 9.8e7, too many), and the score vectors times that at most
        2**27.
    """
    try:
        array = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"scores must be a (P,) or (rows, P) array of finite logits, got {scores!r}") from None
    if array.ndim not in (1, 2) or array.shape[-1] < 1 or not np.all(np.isfinite(array)):
        raise ValueError(f"scores must be a (P,) or (rows, P) array of finite logits, got shape {array.shape}")
    num_products = array.shape[-1]
    k = check_int_at_least("slate_size", slate_size, 1)
    if k > num_products:
        raise ValueError(f"slate_size must be in [1, {num_products}] (the products scored), got {k}")
    table = _pl_marginals(_shift(array.reshape(-1, num_products)), k)
    return table[0] if array.ndim == 1 else table


def _check_scores(scores: npt.ArrayLike, slates: Ints) -> Floats:
    """Scores as (1, P) or (impressions, P) finite floats covering the slates."""
    n, k = slates.shape
    try:
        array = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"scores must be a (P,) or ({n}, P) array of finite floats, got {scores!r}") from None
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] not in (1, n):
        raise ValueError(f"scores must be a (P,) array (shared) or a ({n}, P) array (one row per impression), "
                         f"got shape {np.shape(scores)}")
    if array.shape[1] < k:
        raise ValueError(f"scores must score at least k = {k} products (the slate size), got {array.shape[1]}")
    if not np.all(np.isfinite(array)):
        raise ValueError("scores must be finite")
    _check_products(slates, array.shape[1], "the products scored")
    return array


def _check_products(slates: Ints, num_products: int, what: str) -> None:
    if slates.max() >= num_products:
        raise ValueError(f"slates must hold products in [0, {num_products}) ({what}), got {int(slates.max())}")


def _ranking(slates: Ints, score_rows: Floats) -> SlatePropensities:
    k = slates.shape[1]
    top = np.argsort(-score_rows, axis=1, kind="stable")[:, :k]
    same = (slates == top).astype(np.float64)
    cascade = np.cumprod(same, axis=1)
    return SlatePropensities(pscore=cascade[:, -1].copy(), pscore_item_position=same, pscore_cascade=cascade)


def _shift(score_rows: Floats) -> Floats:
    """Logits less each row's maximum: the same policy, and no overflow."""
    return np.asarray(score_rows - score_rows.max(axis=1, keepdims=True), dtype=np.float64)


def _logsumexp(values: Floats) -> Floats:
    """``log sum exp`` over the last axis, of rows holding a finite maximum."""
    peak = values.max(axis=-1)
    return np.asarray(peak + np.log(np.exp(values - peak[..., None]).sum(axis=-1)), dtype=np.float64)


def _pl_marginals(score_rows: Floats, k: int) -> Floats:
    """(rows, k, P) Plackett-Luce marginals of shifted logits, by enumerating
    the ordered prefixes level by level: a prefix's log-probability is its
    parent's plus its last item's log share of what the parent left."""
    rows, num_products = score_rows.shape
    per_row = num_products * sum(math.perm(num_products, j) for j in range(k))
    if per_row > _PL_TERMS_PER_ROW or rows * per_row > _PL_TERMS:
        raise ValueError(f"exact Plackett-Luce position marginals enumerate every ordered prefix: "
                         f"{num_products} products and k = {k} make {per_row} (prefix, product) terms per "
                         f"score vector, over {rows} score vector(s); the limits are {_PL_TERMS_PER_ROW} per "
                         f"vector and {_PL_TERMS} in all. Pass item_position=False to "
                         f"plackett_luce_slate_propensities (SIPS and RIPS need no marginals), score fewer "
                         f"products, or share one score vector (scores of shape (P,))")
    levels = [np.zeros((1, num_products), dtype=np.bool_)]      # each prefix's products taken
    parents: list[tuple[Ints, Ints]] = []
    for _ in range(1, k):
        parent, last = np.nonzero(~levels[-1])
        taken = levels[-1][parent]
        taken[np.arange(len(parent)), last] = True
        levels.append(taken)
        parents.append((parent.astype(np.int64), last.astype(np.int64)))
    out = np.empty((rows, k, num_products))
    chunk = max(1, _PL_TERMS_PER_ROW // max(level.size for level in levels))
    for start in range(0, rows, chunk):
        scores = score_rows[start:start + chunk]
        log_prefix = np.zeros((len(scores), 1))
        log_left = np.zeros((len(scores), 1))
        for j, taken in enumerate(levels):
            if j:
                parent, last = parents[j - 1]
                log_prefix = log_prefix[:, parent] + scores[:, last] - log_left[:, parent]
            masked = np.where(taken[None, :, :], -np.inf, scores[:, None, :])     # (r, prefixes, P)
            log_left = _logsumexp(masked)
            out[start:start + chunk, j] = np.exp(log_prefix[:, :, None] + masked
                                                 - log_left[:, :, None]).sum(axis=1)
    return out
