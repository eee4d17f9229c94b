"""Logs as Open Bandit Pipeline (OBP) bandit feedback, for off-policy evaluation.

OBP is not a dependency: the result is a plain dict of numpy arrays in the
format of OBP's ``OpenBanditDataset.obtain_batch_bandit_feedback()``, and
:func:`action_dist` gives a recogym agent's policy in the form OBP's
estimators take. obp 0.5.7 declares Python < 3.11 but runs on later ones:
``pip install --no-deps --ignore-requires-python obp==0.5.7 seaborn``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._checks import is_integer
from ..logs import Logs, as_logs
from ..session import UserBatch
from ..sim import replay

if TYPE_CHECKING:
    from ..envs.classic import RecoEnv

__all__ = ["to_obp", "action_dist", "expected_rewards"]

# Impressions per call of an agent's policy in action_dist: bounds the memory.
_ROUNDS_PER_CALL = 4096


def to_obp(logs: Logs | pd.DataFrame, num_products: int | None = None,
           env: RecoEnv | None = None) -> dict[str, Any]:
    """OBP's ``bandit_feedback`` of ``logs``: one round per impression.

    Parameters
    ----------
    logs : Logs or pandas.DataFrame
        Columnar logs, as :meth:`~recogym.RecoEnv.simulate` makes them, or a
        :meth:`~recogym.RecoEnv.generate_logs` DataFrame (which keeps no true
        click probability: ``click_probability`` is then NaN). Each user's
        rows must be in time order; users may be interleaved.
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
    >>> import recogym
    >>> env = recogym.make('reco-gym-v1')
    >>> env.init_gym({'num_products': 5, 'random_seed': 1})
    >>> feedback = to_obp(env.simulate(50), env=env)
    >>> feedback['context'].shape == (feedback['n_rounds'], 5) == feedback['expected_reward'].shape
    True
    """
    logs = as_logs(logs)
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


def action_dist(agent: Any, logs: Logs | pd.DataFrame) -> np.ndarray:
    """The ``action_dist`` of OBP's estimators for ``agent`` on ``logs``:
    its probability of each product at each impression, what OBP's
    ``OffPolicyEvaluation.estimate_policy_values(action_dist=...)`` takes.

    At each impression the agent sees what a batch agent would have seen
    then (a :class:`~recogym.UserBatch` of the user's organic views so far,
    last view, user id and impressions already shown), as in
    :func:`recogym.evaluate_policy`, so OBP's estimates on
    :func:`to_obp`'s feedback equal recogym's.

    Parameters
    ----------
    agent : BatchAgent, or any object with ``num_products`` and ``policy(batch)``
        The target policy, trained beforehand.
    logs : Logs or pandas.DataFrame
        The logs given to :func:`to_obp`.

    Returns
    -------
    (n_rounds, num_products, 1) float64 array
        Rounds in the order of :func:`to_obp`'s; one position.

    Raises
    ------
    TypeError
        If ``agent`` has no ``policy`` and ``num_products``.
    ValueError
        If ``policy`` does not return one probability vector per user, or the
        logs hold products outside ``[0, agent.num_products)``.

    Examples
    --------
    >>> import recogym
    >>> from recogym.agents import PopularityAgent
    >>> env = recogym.make('reco-gym-v1')
    >>> env.init_gym({'num_products': 5, 'random_seed': 1})
    >>> logs = env.simulate(50)
    >>> agent = PopularityAgent({'num_products': 5})
    >>> agent.train_logs(env.simulate(50, first_user=50))
    >>> dist = action_dist(agent, logs)
    >>> dist.shape == (to_obp(logs, 5)['n_rounds'], 5, 1) and bool(np.allclose(dist.sum(axis=1), 1))
    True
    """
    from ..agents.features import impression_features  # imports scipy.sparse: only when asked

    num_products: Any = getattr(agent, "num_products", None)
    if not callable(getattr(agent, "policy", None)) or not is_integer(num_products):
        raise TypeError(f"agent must have num_products and policy(batch), as a recogym BatchAgent has, "
                        f"got {type(agent).__name__}")
    num_products = int(num_products)
    logs = as_logs(logs)
    features = impression_features(logs, num_products, dense=True)
    users = features.users
    new_user = np.r_[True, users[1:] != users[:-1]]
    steps = np.arange(len(users)) - np.flatnonzero(new_user)[np.cumsum(new_user) - 1]
    # features holds the impressions user by user (a stable sort by user): back to the logs' order.
    order = np.argsort(logs.u, kind="stable")
    impression = ~logs.organic
    rounds = (np.cumsum(impression) - 1)[order[impression[order]]]
    dist = np.empty((len(users), num_products, 1))
    for start in range(0, len(users), _ROUNDS_PER_CALL):
        rows = slice(start, start + _ROUNDS_PER_CALL)
        batch = UserBatch(np.asarray(features.views[rows]), features.last_view[rows], users[rows],
                          steps[rows].astype(np.int64))
        probabilities = np.asarray(agent.policy(batch), dtype=np.float64)
        shape = (len(batch.user_ids), num_products)
        if probabilities.shape != shape or not np.all(np.isfinite(probabilities)) or (probabilities < 0).any() \
                or not np.allclose(probabilities.sum(axis=1), 1.0):
            raise ValueError(f"agent.policy(batch) must return finite, non-negative probabilities of shape "
                             f"{shape} (users, num_products), each row summing to 1")
        dist[rounds[rows], :, 0] = probabilities
    return dist


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
