"""Logs as Open Bandit Pipeline (OBP) bandit feedback, for off-policy evaluation.

OBP is not a dependency: the result is a plain dict of numpy arrays in the
format of OBP's ``OpenBanditDataset.obtain_batch_bandit_feedback()``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import is_integer
from ..logs import Logs
from ..sim import replay

if TYPE_CHECKING:
    from ..envs.classic import RecoEnv

__all__ = ["to_obp", "expected_rewards"]


def to_obp(logs: Logs, num_products: int | None = None, env: RecoEnv | None = None) -> dict[str, Any]:
    """OBP's ``bandit_feedback`` of ``logs``: one round per impression.

    Parameters
    ----------
    logs : Logs
        Columnar logs, as :meth:`~recogym.RecoEnv.simulate` makes them. Each
        user's rows must be in time order; users may be interleaved.
    num_products : int, optional
        The number of actions. The default is ``env.num_products`` or else one
        more than the largest product in the logs, which is too small when the
        last products never appear.
    env : RecoEnv, optional
        The env that simulated ``logs`` (default rng). With it, the users are
        replayed to add OBP's ground truth ``expected_reward``.

    Returns
    -------
    dict
        ``n_rounds``, ``n_actions``;
        ``action`` (int64), ``position`` (int64 zeros: one slot), ``reward``
        (int64 clicks) and ``pscore`` (float64, the logging policy's
        probability of the action), each of shape ``(n_rounds,)``;
        ``context``, ``(n_rounds, n_actions)`` float64: the user's organic
        views of each product before the impression;
        ``action_context``, the ``(n_actions, n_actions)`` identity: products
        are known only by their index;
        ``click_probability``, ``(n_rounds,)`` float64: the true probability of
        the logged click (a recogym extra, which OBP ignores);
        with ``env``, ``expected_reward``, ``(n_rounds, n_actions)`` float64:
        the true click probability of every product at each impression (see
        :func:`expected_rewards`), as in OBP's synthetic bandit feedback.

        Rounds are in the order of the impressions in ``logs``.

    Raises
    ------
    ValueError
        If a product is outside ``[0, num_products)``, a propensity is not in
        ``(0, 1]``, or the logs do not replay in ``env``.

    Examples
    --------
    >>> bandit_feedback = to_obp(env.simulate(1000), env.num_products)  # doctest: +SKIP
    >>> from obp.ope import OffPolicyEvaluation, InverseProbabilityWeighting  # doctest: +SKIP
    >>> OffPolicyEvaluation(bandit_feedback, [InverseProbabilityWeighting()])  # doctest: +SKIP
    """
    organic = logs.organic
    impression = ~organic
    views, actions = logs.v[organic], logs.a[impression]
    if num_products is None and env is not None:
        num_products = env.num_products
    if num_products is None:
        num_products = max(int(max(views.max(initial=-1), actions.max(initial=-1))) + 1, 1)
    elif not is_integer(num_products) or num_products < 1:
        raise ValueError(f"num_products must be an integer >= 1, got {num_products!r}")
    num_products = int(num_products)
    for name, products in (("v", views), ("a", actions)):
        if products.size and (products.min() < 0 or products.max() >= num_products):
            raise ValueError(f"logs.{name} holds products outside [0, {num_products}) (num_products)")
    pscore = logs.ps[impression].astype(np.float64)
    if not np.all((pscore > 0) & (pscore <= 1)):
        raise ValueError("logs.ps must be a probability in (0, 1] at every impression (OBP divides by it)")
    n_rounds = int(impression.sum())
    feedback = {
        "n_rounds": n_rounds,
        "n_actions": num_products,
        "action": actions.astype(np.int64),
        "position": np.zeros(n_rounds, dtype=np.int64),
        "reward": logs.c[impression].astype(np.int64),
        "pscore": pscore,
        "context": views_before_impressions(logs.u, organic, logs.v, num_products),
        "action_context": np.eye(num_products),
        "click_probability": logs.click_probability[impression].astype(np.float64),
    }
    if env is not None:
        if env.num_products != num_products:
            raise ValueError(f"num_products={num_products} differs from the env's {env.num_products}")
        feedback["expected_reward"] = expected_rewards(env, logs)
    return feedback


def views_before_impressions(users: np.ndarray, organic: np.ndarray, views: np.ndarray,
                             num_products: int) -> np.ndarray:
    """``(impressions, num_products)`` counts of each user's organic views
    before each of their impressions, with no loop over rows.

    Each view adds 1 at the user's first impression after it; a cumulative
    sum down the impressions, restarted at each user, gives the counts.
    """
    order = np.argsort(users, kind="stable")            # each user's rows together, in time order
    grouped_users, grouped_organic = users[order], organic[order]
    impression_rows = np.flatnonzero(~grouped_organic)
    counts = np.zeros((impression_rows.size, num_products))
    if impression_rows.size == 0:
        return counts
    round_users = grouped_users[impression_rows]
    view_rows = np.flatnonzero(grouped_organic)
    next_round = np.searchsorted(impression_rows, view_rows)
    shown = next_round < impression_rows.size
    next_round, view_rows = next_round[shown], view_rows[shown]
    same_user = round_users[next_round] == grouped_users[view_rows]
    np.add.at(counts, (next_round[same_user], views[order][view_rows[same_user]]), 1.0)
    # Restart the sum at each user: the first round of a user carries minus
    # the previous user's total.
    first_rounds = np.flatnonzero(np.r_[True, round_users[1:] != round_users[:-1]])
    counts[first_rounds[1:]] -= np.add.reduceat(counts, first_rounds, axis=0)[:-1]
    np.cumsum(counts, axis=0, out=counts)
    if np.any(order != np.arange(order.size)):
        # Back to the logs' order of impressions.
        grouped_row = np.empty(order.size, dtype=np.int64)
        grouped_row[order] = np.arange(order.size)
        counts = counts[np.searchsorted(impression_rows, grouped_row[np.flatnonzero(~organic)])]
    return counts


def expected_rewards(env: RecoEnv, logs: Logs) -> np.ndarray:
    """The true click probability of every product at each impression of
    ``logs``, ``(impressions, num_products)``, in the logs' order.

    Logs keep only the shown product's probability, so each user is replayed
    in a copy of ``env``'s engine: in the default random-number mode a user's
    draws depend only on ``(random_seed, user_id)``. The replay is checked
    against the logs (views, clicks and click probabilities) as it goes.
    It costs a few microseconds per event.

    Raises
    ------
    ValueError
        For ``rng='legacy'`` (users share one stream there), or if the logs
        were not simulated by ``env`` under a logging policy that draws one
        uniform number per impression (``simulate``'s policies do).
    """
    return replay.expected_rewards(env.simulation, logs)
