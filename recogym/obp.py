"""Logs as Open Bandit Pipeline (OBP) bandit feedback, for off-policy evaluation.

OBP is not a dependency: the result is a plain dict of numpy arrays in the
format of OBP's ``OpenBanditDataset.obtain_batch_bandit_feedback()``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _core
from .model import build_engine
from .params import is_integer

if TYPE_CHECKING:  # logs.py re-exports to_obp, so import nothing from it here
    from .env import RecoEnv
    from .logs import Logs

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
    organic = logs.z == _core.ORGANIC_STATE
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
    config = env._require_init()
    if config.rng != "default":
        raise ValueError("expected rewards replay each user's own stream: they need rng='default'")
    engine = build_engine(env.model, config, env._static, epoch=env._epoch)
    latent = env.model == "reco-gym-v1"
    static = env._static
    organic = logs.z == _core.ORGANIC_STATE
    round_of_row = np.cumsum(~organic) - 1
    order = np.argsort(logs.u, kind="stable")
    users, organic, views, actions = logs.u[order], organic[order], logs.v[order], logs.a[order]
    clicks, probabilities, round_of_row = logs.c[order], logs.click_probability[order], round_of_row[order]
    n_rounds = int((~organic).sum())
    # The user state at each impression: omega (latent model) or the last view (clusters).
    omega = np.empty((n_rounds, config.K if latent else 0))
    last_view = np.empty(n_rounds, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if users.size else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], users.size]
    state = engine.state
    for start, end in zip(starts.tolist(), ends.tolist()):
        if organic[start:end].all():
            continue                     # organic-only users show no impression
        engine.start(0, int(users[start]))
        row = start
        while row < end:
            if organic[row]:
                stop = row + 1
                while stop < end and organic[stop]:
                    stop += 1
                if _session(engine) != views[row:stop].tolist():
                    raise _replay_error(users[start], "views")
                row = stop
                continue
            engine.uniform_action(0)     # the logging policy's draw
            omega[round_of_row[row]] = state["omega"][0]
            last_view[round_of_row[row]] = state["last_view"][0]
            action = int(actions[row])
            if engine.click_probability(0, action) != probabilities[row]:
                raise _replay_error(users[start], "click probabilities")
            if engine.recommend(0, action) != clicks[row]:
                raise _replay_error(users[start], "clicks")
            row += 1
    if latent:
        return _latent_click_curve(omega @ static["beta"].T + static["mu_bandit"])
    click_table: np.ndarray = static["click_table"]
    return click_table[:, last_view].T.copy()


def _session(engine: _core.Engine) -> list[int]:
    count = engine.organic_session(0)
    buffer, _ = engine.session_buffers()
    views: list[int] = buffer[:count].tolist()
    while count == len(buffer):
        count = engine.organic_session(0)
        views.extend(buffer[:count].tolist())
    return views


def _latent_click_curve(x: np.ndarray) -> np.ndarray:
    # The engine's latent_click_curve (RecoGym's ff), elementwise.
    sigmoid: Callable[[np.ndarray], np.ndarray] = lambda y: 1.0 / (1.0 + np.exp(-y))  # noqa: E731
    return sigmoid(5.0 * sigmoid(2.0 * sigmoid(0.3 * x) - 2.0) - 6.0)


def _replay_error(user: int, what: str) -> ValueError:
    return ValueError(f"user {user}'s {what} differ from the logs when replayed in this env: were the logs "
                      "simulated by it (same args, seed and epoch) with one of simulate()'s logging policies?")
