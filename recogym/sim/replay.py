"""The simulator's ground truth for logged impressions, by replaying users.

Logs keep only the shown product's click probability. In the default
random-number mode a user's draws depend only on ``(random_seed, user_id)``,
so each user can be replayed, checked against the logs as it goes, and the
click probability of every product read at each of their impressions.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..logs import Logs
from ..model import Simulation, examination_probabilities
from .slots import Slots

__all__ = ["expected_rewards", "expected_slate_rewards", "latent_click_curve", "slate_click_probabilities"]


def latent_click_curve(x: np.ndarray) -> np.ndarray:
    """The engine's click curve (RecoGym's ``ff``), elementwise."""
    def sigmoid(y: np.ndarray) -> np.ndarray:
        result: np.ndarray = 1.0 / (1.0 + np.exp(-y))
        return result

    return sigmoid(5.0 * sigmoid(2.0 * sigmoid(0.3 * x) - 2.0) - 6.0)


def expected_rewards(simulation: Simulation, logs: Logs) -> np.ndarray:
    """The true click probability of every product at each impression of
    ``logs``, ``(impressions, num_products)``, in the logs' order.

    Each user is replayed in one slot of ``simulation``; the replay is
    checked against the logs (views, clicks and click probabilities) as it
    goes. It costs a few microseconds per event.

    Raises
    ------
    ValueError
        For ``rng='legacy'`` (users share one stream there), or if the logs
        were not simulated by ``simulation`` under a logging policy that draws
        one uniform number per impression (``simulate``'s policies do).
    """
    order = np.argsort(logs.u, kind="stable")
    actions, clicks, probabilities = logs.a[order], logs.c[order], logs.click_probability[order]

    def show(slots: Slots, user: int, row: int) -> None:
        slots.uniform_action(0)      # the logging policy's draw
        action = int(actions[row])
        if slots.click_probability(0, action) != probabilities[row]:
            raise _replay_error(user, "click probabilities")
        click, _, _ = slots.recommend_one(0, action)
        if click != clicks[row]:
            raise _replay_error(user, "clicks")

    return _replay(simulation, logs, order, show)


def _replay(simulation: Simulation, logs: Logs, order: np.ndarray,
            show: Callable[[Slots, int, int], None]) -> np.ndarray:
    """Each user of ``logs`` replayed in one slot, ``show(slots, user, row)``
    running the logging policy's draws and the impression at each row of the
    logs sorted by ``order`` (stably by user), their views checked; the click
    probability of every product before each impression, in the logs' order."""
    if simulation.legacy:
        raise ValueError("expected rewards replay each user's own stream: they need rng='default'")
    slots = Slots(simulation, 1, record_views=True)
    state = slots.engine.state
    latent = simulation.model == "reco-gym-v1"
    round_of_row = (np.cumsum(~logs.organic) - 1)[order]
    users, organic, views = logs.u[order], logs.organic[order], logs.v[order]
    n_rounds = int((~organic).sum())
    # The user state at each impression: omega (latent model) or the last view (clusters).
    omega = np.empty((n_rounds, simulation.config.K if latent else 0))
    last_view = np.empty(n_rounds, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if users.size else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], users.size]
    for start, end in zip(starts.tolist(), ends.tolist()):
        if organic[start:end].all():
            continue                     # organic-only users show no impression
        user = int(users[start])
        slots.start_one(0, user)
        row = _check_session(slots, user, views, organic, start, end)
        while row < end:
            omega[round_of_row[row]] = state["omega"][0]
            last_view[round_of_row[row]] = state["last_view"][0]
            show(slots, user, row)
            row = _check_session(slots, user, views, organic, row + 1, end)
    static = simulation.static
    if latent:
        return latent_click_curve(omega @ static["beta"].T + static["mu_bandit"])
    click_table: np.ndarray = static["click_table"]
    return click_table[:, last_view].T.copy()


def _check_session(slots: Slots, user: int, views: np.ndarray, organic: np.ndarray, row: int, end: int) -> int:
    """Check the views the last step recorded against the logs' organic rows
    from ``row``; returns the row after them."""
    stop = row
    while stop < end and organic[stop]:
        stop += 1
    _, replayed, _ = slots.recorded_views()
    if not np.array_equal(replayed, views[row:stop]):
        raise _replay_error(user, "views")
    return stop


def _replay_error(user: int, what: str) -> ValueError:
    return ValueError(f"user {user}'s {what} differ from the logs when replayed in this env: were the logs "
                      "simulated by it (same args, seed and epoch) with one of simulate()'s logging policies?")


def expected_slate_rewards(simulation: Simulation, logs: Logs) -> np.ndarray:
    """The click probability of every product at each impression of slate
    logs (env arg ``slate_size`` k > 1) under uniform slates (``simulate``'s
    ``policy=None``), ``(impressions, num_products)``, in the logs' order:
    the truth of any target slate policy on the logged users
    (:func:`slate_click_probabilities` turns a target's slates into clicks
    per position).

    Each user is replayed in one slot, their logging draws, slates, clicks
    and views checked against the logs as it goes.

    Raises
    ------
    ValueError
        For logs without slates, ``rng='legacy'``, or logs that were not
        simulated by ``simulation`` under uniform slates.
    """
    slate = logs.slate
    if slate is None:
        raise ValueError("expected_slate_rewards replays slate logs (env arg slate_size > 1); these have none")
    order = np.argsort(logs.u, kind="stable")
    slates, clicks = slate.a[order], slate.c[order]

    def show(slots: Slots, user: int, row: int) -> None:
        drawn = slots.uniform_slate(0)       # the logging policy's draws
        if not np.array_equal(drawn, slates[row]):
            raise _replay_error(user, "slates (uniform slates, policy=None, are replayed)")
        outcome = slots.recommend_slate_one(0, drawn)
        if not np.array_equal(outcome.position_clicks, clicks[row]):
            raise _replay_error(user, "clicks")

    return _replay(simulation, logs, order, show)


def slate_click_probabilities(simulation: Simulation, product_click_probability: np.ndarray,
                              slates: np.ndarray) -> np.ndarray:
    """The probability of a click at each position of ``slates`` (n, k)
    under the simulation's click model, given each impression's click
    probability of every product ``product_click_probability`` (n, P), as
    :func:`expected_slate_rewards` gives it: ``theta_j p(a_j)`` (PBM) or
    ``prod_{i<j} (1 - p(a_i)) gamma^j p(a_j)`` (cascade)."""
    config = simulation.config
    slates = np.asarray(slates, dtype=np.int64)
    p = np.take_along_axis(np.asarray(product_click_probability, dtype=np.float64), slates, axis=1)
    if config.get("click_model", "pbm") == "pbm":
        probabilities: np.ndarray = examination_probabilities(config)[np.newaxis, :] * p
        return probabilities
    continuation = float(config.get("cascade_continuation", 1.0))
    reach = np.cumprod(np.c_[np.ones(len(p)), (1.0 - p[:, :-1]) * continuation], axis=1)
    cascade: np.ndarray = reach * p
    return cascade
