"""Off-policy evaluation of a ranking agent on the simulator's slate logs,
beside the simulator's truth.

The agent's rankings at the logged impressions are the target policy, a
deterministic one given what each user had shown by then; the slate
estimators of :mod:`recogym.evaluation.slate_ope` weigh the logged clicks
by it, and replaying the logged users (:func:`recogym.sim.replay.expected_slate_rewards`)
gives what its rankings would have been clicked, the truth.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..agents.features import impressions
from ..envs.classic import RecoEnv
from ..io.obp import views_before_impressions
from ..logs import COLUMN_DTYPES, Logs
from ..session import UserBatch
from ..sim.replay import expected_slate_rewards, slate_click_probabilities

__all__ = ["evaluate_slate_agent", "logged_user_batch", "target_rankings"]


def logged_user_batch(logs: Logs, num_products: int) -> UserBatch:
    """What each user had shown at each impression of ``logs``, in the logs'
    order: their view counts and last view before it, and how many
    impressions they had been shown (what a batch agent sees)."""
    one_product = Logs(**{name: getattr(logs, name) for name in COLUMN_DTYPES})
    rows = one_product.impressions
    counts = views_before_impressions(logs.u, logs.organic, logs.v, num_products)
    order = np.argsort(logs.u[rows], kind="stable")
    users = logs.u[rows][order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if users.size else np.zeros(0, np.int64)
    steps_sorted = np.arange(users.size) - np.repeat(starts, np.diff(np.r_[starts, users.size]))
    steps = np.empty(users.size, dtype=np.int64)
    steps[order] = steps_sorted
    last_view = _last_views(one_product)
    return UserBatch(counts, last_view, logs.u[rows].astype(np.int64), steps)


def _last_views(logs: Logs) -> np.ndarray:
    """The last view before each impression, in the logs' order."""
    shown = impressions(logs)          # users in turn, each in time order
    order = np.argsort(logs.u[logs.impressions], kind="stable")
    last_view = np.empty(len(order), dtype=np.int64)
    last_view[order] = shown.last_view
    return last_view


def target_rankings(logs: Logs, agent: Any) -> np.ndarray:
    """``agent.rank`` at every impression of slate ``logs``: ``(impressions, k)``."""
    batch = logged_user_batch(logs, agent.num_products)
    rankings: np.ndarray = agent.rank(batch)
    return rankings


def evaluate_slate_agent(logs: Logs, agent: Any, env: RecoEnv | None = None, *, level: float = 0.95,
                         by_position: bool = False) -> pd.DataFrame:
    """SIPS, IIPS and RIPS (and their self-normalised variants) of ``agent``'s
    clicks per impression on slate ``logs``, with intervals clustered by
    user and, given the ``env`` that simulated them (uniform slates, default
    rng), the truth and each estimate's error.

    Parameters
    ----------
    logs : Logs
        Slate logs (env arg ``slate_size`` k > 1) with their propensities.
    agent : BatchAgent
        A ranking agent of k products (``slate_size`` k in its config): its
        :meth:`~recogym.agents.BatchAgent.rank` at each impression is the
        target, each ranking with probability 1.
    env : RecoEnv, optional
        The env whose ``simulate(..., policy=None)`` made the logs: the truth
        replays them in it.
    level, by_position
        As :func:`recogym.evaluation.slate_ope.evaluate_slate_policy`.

    Returns
    -------
    pandas.DataFrame
        :func:`~recogym.evaluation.slate_ope.evaluate_slate_policy`'s table.

    Raises
    ------
    ValueError
        For logs without slates, an agent that ranks another number of
        products, or logs the env does not replay.
    """
    from .slate_ope import SlatePropensities, evaluate_slate_policy

    slate = logs.slate
    if slate is None:
        raise ValueError("logs: evaluate_slate_agent takes slate logs (env arg slate_size > 1); these have none")
    k = slate.slate_size
    if getattr(agent, "slate_size", 1) != k or not callable(getattr(agent, "rank", None)):
        raise ValueError(f"agent must rank slate_size = {k} products (a BatchAgent with slate_size {k} in its "
                         f"config), got {type(agent).__name__} with slate_size {getattr(agent, 'slate_size', 1)}")
    feedback = logs.slate_feedback()
    shown = feedback["slates"]
    target = target_rankings(logs, agent)
    matches = shown == target
    cascade = np.cumprod(matches, axis=1).astype(np.float64)
    target_propensities = SlatePropensities(cascade[:, -1].copy(), matches.astype(np.float64), cascade)
    logging = SlatePropensities(feedback["pscore"], feedback["pscore_item_position"], feedback["pscore_cascade"])
    truth = None
    if env is not None:
        rewards = expected_slate_rewards(env.simulation, logs)
        truth = slate_click_probabilities(env.simulation, rewards, target).mean(axis=0)
    return evaluate_slate_policy(shown, feedback["clicks"], logging, target_propensities, users=feedback["user"],
                                 truth=truth, level=level, by_position=by_position)
