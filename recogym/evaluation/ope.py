"""Off-policy evaluation: a target policy's CTR estimated from a logging
policy's logs, and checked against the simulator's truth.

The estimators are those of the off-policy literature (Dudik, Langford and
Li 2011; Swaminathan and Joachims 2015): IPS, clipped IPS, self-normalised
IPS (SNIPS), the direct method (DM) and doubly robust (DR). What only a
simulator can add is the truth: it knows the click probability of every
product at every logged impression (:func:`recogym.obp.expected_rewards`),
so each estimate comes with its actual error.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from .._checks import check_positive_real, is_integer
from ..agents.features import impression_features
from ..envs.classic import RecoEnv
from ..logs import Logs, as_logs
from ..session import UserBatch
from ..sim.replay import expected_rewards

__all__ = ["ESTIMATORS", "TargetPolicy", "evaluate_policy", "verify_agents_IPS"]

#: The estimators of :func:`evaluate_policy`, in the order of its rows.
ESTIMATORS = ("IPS", "clipped IPS", "SNIPS", "DM", "DR")

_Z_975 = 1.959963984540054  # the standard normal's 97.5% quantile
# Impressions times products handed to one policy call: bounds the memory used.
_POLICY_ENTRIES = 1 << 20
_SUM_TOLERANCE = 1e-6

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class TargetPolicy(Protocol):
    """What a target policy needs: its probabilities of every product for a
    batch of users, as :class:`~recogym.agents.BatchAgent` gives them."""

    num_products: int

    def policy(self, batch: UserBatch) -> Floats:
        """(B, P) probabilities of recommending each product to each user."""
        ...


@dataclass(frozen=True)
class _Impressions:
    """The impressions of some logs, each user's together and in time order,
    with what the user had shown before each: what a target policy acting
    there would have seen."""

    views: Any                 # (n, P) float64 ndarray, or CSR beyond 32 products
    last_view: Ints
    users: Ints
    steps: Ints                # impressions the user had already seen
    actions: Ints
    clicks: Floats
    propensities: Floats
    user_index: Ints           # 0 .. num_users - 1, one per user
    num_users: int
    logs_order: Ints           # the impression's position among the logs' impressions
    num_products: int

    def batch(self, rows: slice) -> UserBatch:
        views = self.views[rows]
        return UserBatch(views if isinstance(views, np.ndarray) else views.toarray(),
                         self.last_view[rows], self.users[rows], self.steps[rows])


# Given the rows of a chunk of impressions and the target's (m, P)
# probabilities there, the expected reward sum_a pi(a|x) r(x, a) of each row.
_Expectation = Callable[[slice, Floats], Floats]


def evaluate_policy(
    logs: Logs | pd.DataFrame,
    agent: TargetPolicy,
    *,
    env: RecoEnv | None = None,
    clip: float = 10.0,
    reward_model: npt.ArrayLike | None = None,
    shrinkage: float = 100.0,
) -> pd.DataFrame:
    """Off-policy estimates of ``agent``'s CTR on the impressions of ``logs``,
    with 95% intervals and, given the env that simulated the logs, the truth.

    At each logged impression ``i`` the target sees what the user had shown
    so far (a :class:`~recogym.agents.UserBatch` of view counts, last view,
    user id and impressions already seen, as in the batch env) and gives
    ``pi(a|x_i)`` for every product; the logging policy gave the logged
    action ``a_i`` probability ``ps_i``. With ``w_i = pi(a_i|x_i) / ps_i``
    and click ``c_i``:

    * IPS: mean of ``w_i c_i``; unbiased whenever ``ps_i > 0`` wherever the
      target can act.
    * clipped IPS: mean of ``min(w_i, clip) c_i``; biased down by the clipped
      weight, in exchange for bounded variance.
    * SNIPS: ``sum w_i c_i / sum w_i``; consistent, and free of the noise of
      the weights' total (it is NaN if the target gives every logged action
      probability 0).
    * DM: mean of ``sum_a pi(a|x_i) r(x_i, a)`` for a reward model ``r``.
    * DR: DM plus the IPS-weighted residual ``w_i (c_i - r(x_i, a_i))``:
      unbiased if either the propensities or the reward model are right.

    Parameters
    ----------
    logs : Logs or pandas.DataFrame
        Logs with propensities: :meth:`~recogym.RecoEnv.simulate`'s, or a
        :meth:`~recogym.RecoEnv.generate_logs` DataFrame (no truth then).
    agent : BatchAgent, or any object with ``num_products`` and ``policy(batch)``
        The target policy. Its probabilities enter the estimators, so a
        stochastic target is evaluated as it is, not through sampled actions.
    env : RecoEnv, optional
        The env that simulated ``logs`` (default random-number mode). With it
        each row also holds the truth: the mean over impressions of
        ``sum_a pi(a|x_i) p(a|x_i)`` for the true click probabilities ``p``.
        This is the target's expected CTR on the logged contexts, what the
        estimators estimate; its CTR online differs because its own actions
        would change the users' later contexts.
    clip : float
        The largest weight clipped IPS keeps.
    reward_model : (impressions, P) array, optional
        DM's and DR's click probability of every product at each impression,
        impressions in the order of the logs (that of
        :func:`~recogym.obp.expected_rewards`). By default DM fits the
        empirical CTR of each (last viewed product, action) pair on the logs,
        shrunk towards the action's CTR, itself shrunk towards the overall
        CTR. That is the right model for reco-gym-v0, whose click
        probability depends on these two only; for reco-gym-v1 it is an
        approximation, and DR corrects its bias.
    shrinkage : float
        The pseudo-impressions with which the default reward model's CTRs
        start: each pair's at its action's CTR, each action's at the overall
        CTR. Unused with ``reward_model``.

    Returns
    -------
    pandas.DataFrame
        One row per estimator of :data:`ESTIMATORS`: ``estimator``,
        ``estimate``, ``std_error``, ``low`` and ``high`` (the 95% interval
        ``estimate -+ 1.96 std_error``), ``truth`` and ``error``
        (``estimate - truth``; both NaN without ``env``).

    Raises
    ------
    TypeError
        If ``agent`` has no ``policy`` and ``num_products``, or ``logs`` or
        ``env`` has the wrong type.
    ValueError
        If ``logs`` hold no impression, products outside ``[0, P)`` or
        propensities outside ``(0, 1]``; if ``agent.policy`` does not return
        probabilities; if ``env`` differs from the logs' env; for ``clip``,
        ``shrinkage`` or ``reward_model`` out of range.

    Notes
    -----
    Every interval is a normal approximation on the per-impression terms.
    The impressions of one user are dependent (one latent taste, and each
    action changes what follows), so the variance sums each user's centred
    terms before squaring (the cluster-robust "sandwich" variance, with the
    factor ``G / (G - 1)`` for ``G`` users), rather than treating impressions
    as independent. SNIPS, a ratio, uses the delta method: its terms are
    ``w_i (c_i - SNIPS) / mean(w)``. What SNIPS removes, the noise of the
    weights' total, has variance of order ``CTR^2 Var(w)`` against the
    clicks' ``CTR E[w^2]``: at RecoGym's CTRs of 1-3% the two standard
    errors are within a few percent of each other. DM's interval reflects only the spread
    of the contexts, not the reward model's own error, so it is too narrow
    whenever the model is biased; the reward model is fitted on the same
    logs it is evaluated on.

    Examples
    --------
    >>> logs = env.simulate(1000)  # doctest: +SKIP
    >>> evaluate_policy(logs, trained_agent, env=env)  # doctest: +SKIP
    """
    logs = as_logs(logs)
    num_products = _check_target(agent, "agent")
    clip = check_positive_real("clip", clip)
    shrinkage = check_positive_real("shrinkage", shrinkage)
    if env is not None and not isinstance(env, RecoEnv):
        raise TypeError(f"env must be the RecoEnv that simulated the logs, got {type(env).__name__}")
    if env is not None and env.num_products != num_products:
        raise ValueError(f"env has {env.num_products} products but the agent {num_products} (num_products)")
    impressions = _impressions(logs, num_products)
    if reward_model is None:
        model_expectation, model_logged = _fit_pair_ctr(impressions, shrinkage)
    else:
        table = _reward_table(reward_model, impressions, "reward_model")
        model_expectation = _table_expectation(table)
        model_logged = table[np.arange(len(table)), impressions.actions]
    expectations = [model_expectation]
    if env is not None:
        expectations.append(_table_expectation(_truth_table(env, logs, impressions)))
    target_logged, expected = _target_terms(impressions, agent, expectations)
    weights = target_logged / impressions.propensities
    clicks = impressions.clicks
    rows = [
        ("IPS", *_mean_interval(weights * clicks, impressions)),
        ("clipped IPS", *_mean_interval(np.minimum(weights, clip) * clicks, impressions)),
        ("SNIPS", *_snips_interval(weights, clicks, impressions)),
        ("DM", *_mean_interval(expected[0], impressions)),
        ("DR", *_mean_interval(expected[0] + weights * (clicks - model_logged), impressions)),
    ]
    truth = float(expected[1].mean()) if env is not None else math.nan
    frame = pd.DataFrame(rows, columns=["estimator", "estimate", "std_error"])
    frame["low"] = frame["estimate"] - _Z_975 * frame["std_error"]
    frame["high"] = frame["estimate"] + _Z_975 * frame["std_error"]
    frame["truth"] = truth
    frame["error"] = frame["estimate"] - truth
    return frame


def verify_agents_IPS(logs: Logs | pd.DataFrame, agents: Mapping[str, TargetPolicy]) -> pd.DataFrame:
    """0.1.3.0's table of IPS estimates: several agents on one set of logs.

    Parameters
    ----------
    logs : Logs or pandas.DataFrame
        As for :func:`evaluate_policy`.
    agents : dict
        Names and target policies (objects with ``num_products`` and
        ``policy(batch)``, as every :class:`~recogym.agents.BatchAgent`).

    Returns
    -------
    pandas.DataFrame
        Columns ``Agent``, ``0.025``, ``0.500`` (the IPS estimate) and
        ``0.975`` (the 95% interval of :func:`evaluate_policy`, which sums
        each user's terms; 0.1.3.0 used two standard errors of independent
        impressions).

    Raises
    ------
    TypeError, ValueError
        As :func:`evaluate_policy`, naming the agent.
    """
    logs = as_logs(logs)
    if not isinstance(agents, Mapping) or not agents:
        raise TypeError(f"agents must be a non-empty dict of names and target policies, got {agents!r}")
    by_products: dict[int, _Impressions] = {}
    rows = []
    for name, agent in agents.items():
        num_products = _check_target(agent, f"agents[{name!r}]")
        if num_products not in by_products:
            by_products[num_products] = _impressions(logs, num_products)
        impressions = by_products[num_products]
        target_logged, _ = _target_terms(impressions, agent, [])
        estimate, std_error = _mean_interval(target_logged / impressions.propensities * impressions.clicks,
                                             impressions)
        rows.append((name, estimate - _Z_975 * std_error, estimate, estimate + _Z_975 * std_error))
    return pd.DataFrame(rows, columns=["Agent", "0.025", "0.500", "0.975"])


# -- inputs ------------------------------------------------------------------


def _check_target(agent: Any, name: str) -> int:
    if not callable(getattr(agent, "policy", None)) or not is_integer(getattr(agent, "num_products", None)):
        raise TypeError(f"{name} must have num_products and policy(batch) giving its probabilities (as a "
                        f"BatchAgent does): off-policy estimates need them, got {agent!r}")
    return int(agent.num_products)


def _impressions(logs: Logs, num_products: int) -> _Impressions:
    organic = logs.organic
    impression = ~organic
    if not impression.any():
        raise ValueError("logs hold no impression to evaluate a policy on")
    for column, rows in (("v", organic), ("a", impression)):
        products = getattr(logs, column)[rows]
        if products.size and (products.min() < 0 or products.max() >= num_products):
            raise ValueError(f"logs.{column} holds products outside [0, {num_products}) (the agent's num_products)")
    propensities = logs.ps[impression]
    if not np.all((propensities > 0) & (propensities <= 1)):
        raise ValueError("logs.ps must be a probability in (0, 1] at every impression: the weights divide by it")
    features = impression_features(logs, num_products)
    users = features.users
    new_user = np.r_[True, users[1:] != users[:-1]]
    user_index = np.cumsum(new_user) - 1
    steps = np.arange(len(users)) - np.flatnonzero(new_user)[user_index]
    # features orders the rows as a stable sort by user does.
    order = np.argsort(logs.u, kind="stable")
    logs_order = (np.cumsum(impression) - 1)[order[impression[order]]]
    num_users = int(user_index[-1]) + 1
    if num_users < 2:
        raise ValueError("logs must hold impressions of at least two users: the intervals resample users")
    return _Impressions(features.views, features.last_view, users, steps.astype(np.int64), features.actions,
                        features.clicks, features.propensities, user_index.astype(np.int64), num_users,
                        logs_order.astype(np.int64), num_products)


def _reward_table(values: npt.ArrayLike, impressions: _Impressions, name: str) -> Floats:
    """An (impressions, P) table in the logs' order, reordered as ``impressions``."""
    table = np.asarray(values, dtype=np.float64)
    shape = (len(impressions.actions), impressions.num_products)
    if table.shape != shape:
        raise ValueError(f"{name} must have shape (impressions, num_products) = {shape}, got {table.shape}")
    if not np.all(np.isfinite(table)):
        raise ValueError(f"{name} must hold finite click probabilities")
    return table[impressions.logs_order]


def _truth_table(env: RecoEnv, logs: Logs, impressions: _Impressions) -> Floats:
    if np.isnan(logs.click_probability[logs.impressions]).any():
        raise ValueError("env: the truth replays the logs against their click_probability, which these logs "
                         "lack (a generate_logs DataFrame); use env.simulate's Logs")
    return _reward_table(expected_rewards(env.simulation, logs), impressions, "expected_rewards(env, logs)")


# -- the target policy -----------------------------------------------------------


def _target_terms(impressions: _Impressions, agent: TargetPolicy,
                  expectations: list[_Expectation]) -> tuple[Floats, list[Floats]]:
    """``pi(a_i|x_i)`` at each impression, and each expectation's
    ``sum_a pi(a|x_i) r(x_i, a)``, asking the policy a chunk at a time."""
    n = len(impressions.actions)
    logged = np.empty(n)
    sums = [np.empty(n) for _ in expectations]
    per_call = max(1, _POLICY_ENTRIES // impressions.num_products)
    for start in range(0, n, per_call):
        rows = slice(start, min(n, start + per_call))
        probabilities = _probabilities(agent, impressions.batch(rows), impressions.num_products)
        logged[rows] = probabilities[np.arange(len(probabilities)), impressions.actions[rows]]
        for out, expectation in zip(sums, expectations):
            out[rows] = expectation(rows, probabilities)
    return logged, sums


def _probabilities(agent: TargetPolicy, batch: UserBatch, num_products: int) -> Floats:
    probabilities = np.asarray(agent.policy(batch), dtype=np.float64)
    shape = (len(batch.user_ids), num_products)
    if probabilities.shape != shape:
        raise ValueError(f"agent.policy(batch) must return probabilities of shape (B, num_products) = {shape}, "
                         f"got {probabilities.shape}")
    if not np.all(np.isfinite(probabilities)) or (probabilities < 0).any() \
            or np.abs(probabilities.sum(axis=1) - 1.0).max() > _SUM_TOLERANCE:
        raise ValueError("agent.policy(batch) must return finite, non-negative probabilities, each row summing to 1")
    return probabilities


# -- reward models ------------------------------------------------------------


def _table_expectation(table: Floats) -> _Expectation:
    def expectation(rows: slice, probabilities: Floats) -> Floats:
        return np.asarray((probabilities * table[rows]).sum(axis=1), dtype=np.float64)
    return expectation


def _fit_pair_ctr(impressions: _Impressions, shrinkage: float) -> tuple[_Expectation, Floats]:
    """DM's default reward model: the CTR of each (last view, action) pair,
    shrunk towards the action's CTR, itself shrunk towards the overall CTR.

    Returns the model's expectation under a policy, and its prediction for
    each logged action. Pairs never logged take their action's CTR, so the
    model is stored as the action CTRs plus a sparse (P + 1, P) table of the
    logged pairs' departures from them (row 0: no view yet).
    """
    num_products, actions, clicks = impressions.num_products, impressions.actions, impressions.clicks
    overall = float(clicks.mean())
    action_ctr = ((np.bincount(actions, clicks, minlength=num_products) + shrinkage * overall)
                  / (np.bincount(actions, minlength=num_products) + shrinkage))
    pair = (impressions.last_view + 1) * num_products + actions
    pairs, pair_of_impression = np.unique(pair, return_inverse=True)
    pair_action = pairs % num_products
    pair_ctr = ((np.bincount(pair_of_impression, clicks) + shrinkage * action_ctr[pair_action])
                / (np.bincount(pair_of_impression) + shrinkage))
    departure = sparse.csr_matrix((pair_ctr - action_ctr[pair_action], (pairs // num_products, pair_action)),
                                  shape=(num_products + 1, num_products))
    last_view_row = impressions.last_view + 1

    def expectation(rows: slice, probabilities: Floats) -> Floats:
        off_base = departure[last_view_row[rows]].multiply(probabilities).sum(axis=1)
        return np.asarray(probabilities @ action_ctr + np.asarray(off_base).ravel(), dtype=np.float64)

    return expectation, np.asarray(pair_ctr[pair_of_impression], dtype=np.float64)


# -- intervals ----------------------------------------------------------------


def _mean_interval(terms: Floats, impressions: _Impressions) -> tuple[float, float]:
    """The mean of per-impression ``terms`` and its user-clustered standard error."""
    estimate = float(terms.mean())
    return estimate, _clustered_std_error(terms - estimate, impressions)


def _snips_interval(weights: Floats, clicks: Floats, impressions: _Impressions) -> tuple[float, float]:
    total_weight = float(weights.sum())
    if total_weight == 0.0:
        return math.nan, math.nan
    estimate = float((weights * clicks).sum()) / total_weight
    influence = weights * (clicks - estimate) / (total_weight / len(weights))
    return estimate, _clustered_std_error(influence, impressions)


def _clustered_std_error(centred: Floats, impressions: _Impressions) -> float:
    per_user = np.bincount(impressions.user_index, centred, minlength=impressions.num_users)
    users = impressions.num_users
    return math.sqrt(users / (users - 1) * float(per_user @ per_user)) / len(centred)
