"""The explore/exploit evolution loop: an agent that keeps learning from the
data its own epsilon-greedy policy collects.

Each step, the current agent, wrapped in
:class:`~recogym.agents.EpsilonGreedy`, recommends to the next users; the
step's events are logged with the propensity of every impression and whether
it was explored; then a fresh copy of the untrained agent is trained on the
data a :class:`TrainingApproach` selects, and acts in the next step.

:func:`evolve_agent` and :func:`exploration_table` are recogym's form of
0.1.3.0's ``evaluate_agent`` and ``gather_exploration_stats``, which keep
0.1.3.0's signatures and dict results at ``recogym.evaluate_agent`` and
``recogym.gather_exploration_stats`` (:mod:`recogym.compat.evaluate_agent`).
Both share :class:`TrainingApproach` and :func:`select_impressions`.
"""
from __future__ import annotations

import copy
import enum
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from .._progress import tqdm

from .._checks import check_count, check_positive_int
from ..agents.base import BatchAgent
from ..agents.epsilon_greedy import EpsilonGreedy
from ..envs.classic import RecoEnv
from ..logs import LogBuilder, Logs
from ..session import UserBatch
from .online import ctr_interval

if TYPE_CHECKING:  # matplotlib is imported only when plotting
    from matplotlib.figure import Figure

__all__ = [
    "TrainingApproach",
    "StepLogs",
    "EVOLUTION_EPSILONS",
    "evolve_agent",
    "exploration_table",
    "select_impressions",
    "select_training_logs",
    "plot_evolution",
]

#: 0.1.3.0's ``EvolutionEpsilons``.
EVOLUTION_EPSILONS = (0.00, 0.01, 0.02, 0.03, 0.05, 0.08)


class TrainingApproach(enum.Enum):
    """Which logged data the agent is retrained on after each step.

    0.1.3.0's enum (``recogym.constants.TrainingApproach``), with its values.
    Its ``SLIDING_WINDOW_*`` approaches kept every ``sliding_window_samples``-th
    impression; here they keep a window of the most recent ones, as their
    names and 0.1.3.0's own comments say. 0.1.3.0 declared ``MOST_VALUABLE``
    but raised on it ("Unknown Training Approach"); recogym defines it below.
    """

    #: Everything so far: the initial logs and every step.
    ALL_DATA = 0
    #: The last ``sliding_window_samples`` impressions of everything so far.
    SLIDING_WINDOW_ALL_DATA = 1
    #: The explored impressions so far (the initial logging policy's all count).
    ALL_EXPLORATION_DATA = 2
    #: The last ``sliding_window_samples`` explored impressions so far.
    SLIDING_WINDOW_EXPLORATION_DATA = 3
    #: ``sliding_window_samples`` impressions, clicks first: every click (the
    #: most recent ones if there are more), then the most recent impressions
    #: without a click. Clicks are the scarce signal a CTR model learns from.
    MOST_VALUABLE = 4
    #: The last step's events only.
    LAST_STEP = 5


@dataclass(frozen=True)
class StepLogs:
    """The events of one step, and which of its impressions were explored.

    Attributes
    ----------
    logs : Logs
        The step's events, users in turn, with propensities.
    explored : (len(logs),) bool array
        True on impressions drawn by exploration; False on views and on
        impressions that followed the agent.
    """

    logs: Logs
    explored: np.ndarray


def select_impressions(approach: TrainingApproach, explored: np.ndarray, clicked: np.ndarray,
                       sliding_window_samples: int = 10_000) -> np.ndarray:
    """Which impressions of a history ``approach`` retrains on.

    The one definition of the approaches that choose impressions; both
    :func:`select_training_logs` and 0.1.3.0's ``recogym.evaluate_agent``
    use it.

    Parameters
    ----------
    approach : TrainingApproach
        Any but ``LAST_STEP``, which keeps a whole step rather than chosen
        impressions.
    explored, clicked : (n,) bool arrays
        For each impression of the history, oldest first: whether it was
        explored (every impression of the initial logging policy is), and
        whether it was clicked.
    sliding_window_samples : int
        The number of impressions the ``SLIDING_WINDOW_*`` approaches and
        ``MOST_VALUABLE`` keep.

    Returns
    -------
    (n,) bool array
        True on the impressions kept.

    Raises
    ------
    ValueError
        If ``approach`` is ``LAST_STEP`` or not a TrainingApproach, if the
        flags differ in length, or if ``sliding_window_samples`` is below 1.
    """
    if not isinstance(approach, TrainingApproach):
        raise ValueError(f"approach must be a TrainingApproach, got {approach!r}")
    if approach is TrainingApproach.LAST_STEP:
        raise ValueError("approach LAST_STEP keeps the last step whole: it chooses no impressions")
    check_positive_int("sliding_window_samples", sliding_window_samples)
    explored = np.asarray(explored, dtype=bool)
    clicked = np.asarray(clicked, dtype=bool)
    if explored.shape != clicked.shape or explored.ndim != 1:
        raise ValueError(f"explored and clicked must be 1-d and of one length, got shapes {explored.shape} "
                         f"and {clicked.shape}")
    if approach is TrainingApproach.ALL_DATA:
        return np.ones(len(explored), dtype=bool)
    if approach is TrainingApproach.ALL_EXPLORATION_DATA:
        return explored
    if approach is TrainingApproach.SLIDING_WINDOW_ALL_DATA:
        return _most_recent(np.ones(len(explored), dtype=bool), sliding_window_samples)
    if approach is TrainingApproach.SLIDING_WINDOW_EXPLORATION_DATA:
        return _most_recent(explored, sliding_window_samples)
    # MOST_VALUABLE: the most recent clicks, topped up with the most recent misses.
    kept_clicks = _most_recent(clicked, sliding_window_samples)
    room = sliding_window_samples - int(kept_clicks.sum())
    kept: np.ndarray = kept_clicks | (_most_recent(~clicked, room) if room else np.zeros(len(clicked), dtype=bool))
    return kept


def _most_recent(candidates: np.ndarray, count: int) -> np.ndarray:
    """The last ``count`` True entries of ``candidates``."""
    rank_from_end = np.cumsum(candidates[::-1])[::-1]
    chosen: np.ndarray = candidates & (rank_from_end <= count)
    return chosen


def select_training_logs(history: Sequence[StepLogs], approach: TrainingApproach,
                         sliding_window_samples: int = 10_000) -> Logs:
    """The logs ``approach`` trains on, from the initial logs and the steps so far.

    ``ALL_DATA`` and ``LAST_STEP`` keep whole steps. The others choose
    impressions (:func:`select_impressions`) and keep the organic views of
    every user with a chosen impression: the views are the impressions'
    context (the view counts an agent sees), not outcomes of the policy.

    Parameters
    ----------
    history : sequence of StepLogs
        The initial training logs, then each step's, oldest first.
    approach : TrainingApproach
    sliding_window_samples : int
        The number of impressions the ``SLIDING_WINDOW_*`` approaches and
        ``MOST_VALUABLE`` keep.

    Raises
    ------
    ValueError
        If ``history`` is empty or ``approach`` is not a TrainingApproach.
    """
    if not history:
        raise ValueError("history must hold at least the initial training logs")
    if not isinstance(approach, TrainingApproach):
        raise ValueError(f"approach must be a TrainingApproach, got {approach!r}")
    check_positive_int("sliding_window_samples", sliding_window_samples)
    if approach is TrainingApproach.LAST_STEP:
        return history[-1].logs
    logs = Logs.concatenate([part.logs for part in history])
    if approach is TrainingApproach.ALL_DATA:
        return logs
    impression = logs.impressions
    explored = np.concatenate([part.explored for part in history])
    chosen = np.zeros(len(logs), dtype=bool)
    chosen[impression] = select_impressions(approach, explored[impression], logs.c[impression] == 1,
                                            sliding_window_samples)
    kept_users = np.unique(logs.u[chosen])
    return logs.take(chosen | (~impression & np.isin(logs.u, kept_users)))


def evolve_agent(
    env: RecoEnv,
    agent: BatchAgent,
    num_initial_train_users: int = 100,
    num_step_users: int = 100,
    num_steps: int = 5,
    training_approach: TrainingApproach = TrainingApproach.ALL_DATA,
    sliding_window_samples: int = 10_000,
    epsilon: float = 0.01,
    epsilon_args: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Evolve ``agent`` under an epsilon-greedy policy for ``num_steps`` steps
    (0.1.3.0's ``evaluate_agent`` as a table; that name is 0.1.3.0's function,
    :func:`recogym.compat.evaluate_agent.evaluate_agent`).

    The agent first trains on the env's logging policy (uniform) for
    ``num_initial_train_users`` users; every step then takes the env's next
    ``num_step_users`` users, so the env passed in moves on.

    Parameters
    ----------
    env : RecoEnv
        An initialised env.
    agent : BatchAgent
        The untrained agent; each retraining starts from a copy of it.
    num_initial_train_users, num_step_users, num_steps : int
    training_approach : TrainingApproach
        The data each retraining uses (see :func:`select_training_logs`).
    sliding_window_samples : int
        The impressions the ``SLIDING_WINDOW_*`` approaches and ``MOST_VALUABLE`` keep.
    epsilon : float
        The share of exploration.
    epsilon_args : mapping, optional
        Further :data:`~recogym.agents.epsilon_greedy_args`
        (``epsilon_pure_new``, ``epsilon_select_worse``, ``random_seed``).

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step``, ``approach``, ``epsilon``, ``clicks``,
        ``impressions``, ``median``, ``q0.025``, ``q0.975`` (the CTR's Beta
        posterior), the same for the impressions that followed the agent
        (``greedy_clicks``, ..., ``greedy_q0.975``), and
        ``training_impressions``, the impressions the acting agent learnt from.

    Raises
    ------
    TypeError
        If ``agent`` is not a batch agent.
    ValueError
        If ``training_approach`` is not a TrainingApproach, or a count or
        ``epsilon`` is out of range.
    """
    if not isinstance(training_approach, TrainingApproach):
        raise ValueError(f"training_approach must be a TrainingApproach, got {training_approach!r}")
    num_initial_train_users = check_count("num_initial_train_users", num_initial_train_users)
    num_step_users = check_count("num_step_users", num_step_users)
    num_steps = check_count("num_steps", num_steps)
    check_positive_int("sliding_window_samples", sliding_window_samples)
    untrained = EpsilonGreedy({**(epsilon_args or {}), "epsilon": epsilon}, agent)

    initial = env.simulate(num_initial_train_users, first_user=env.take_users(num_initial_train_users))
    history = [StepLogs(initial, initial.impressions)]
    acting = _trained(untrained, initial)
    training_impressions = int(initial.impressions.sum())
    rows = []
    for step in tqdm(range(num_steps), desc="Evolution", disable=None, leave=False):
        step_logs = _run_step(env, acting, num_step_users)
        history.append(step_logs)
        rows.append(_step_row(step, training_approach, epsilon, step_logs, training_impressions))
        if step + 1 < num_steps:
            selected = select_training_logs(history, training_approach, sliding_window_samples)
            acting = _trained(untrained, selected)
            training_impressions = int(selected.impressions.sum())
    return pd.DataFrame(rows, columns=_COLUMNS)


def exploration_table(
    env: RecoEnv,
    agents: Mapping[str, BatchAgent],
    training_approaches: Iterable[TrainingApproach] = tuple(TrainingApproach),
    epsilons: Iterable[float] = EVOLUTION_EPSILONS,
    **evaluate_args: Any,
) -> pd.DataFrame:
    """:func:`evolve_agent` for every agent, approach and epsilon, each on a
    copy of ``env``, so all evolve on the same users (0.1.3.0's
    ``gather_exploration_stats`` as a table; that name is 0.1.3.0's function,
    :func:`recogym.compat.evaluate_agent.gather_exploration_stats`).

    Returns
    -------
    pandas.DataFrame
        :func:`evolve_agent`'s rows with an ``agent`` column first.
    """
    frames = []
    for name, agent in agents.items():
        for approach in training_approaches:
            for epsilon in epsilons:
                frame = evolve_agent(copy.deepcopy(env), agent, training_approach=approach, epsilon=epsilon,
                                     **evaluate_args)
                frame.insert(0, "agent", name)
                frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["agent", *_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def plot_evolution(results: pd.DataFrame, path: str | os.PathLike[str] | None = None) -> Figure:
    """CTR per step with its 95% interval: one panel per (agent,) approach,
    one line per epsilon.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`evolve_agent`'s or :func:`exploration_table`'s rows.
    path : str or os.PathLike, optional
        Where to save the figure as well.

    Raises
    ------
    ImportError
        Without matplotlib (``pip install recogym[plot]``).
    ValueError
        If ``results`` lacks a column the plot needs.
    """
    missing = {"step", "approach", "epsilon", "median", "q0.025", "q0.975"} - set(results.columns)
    if missing:
        raise ValueError(f"results lacks the columns {sorted(missing)}")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_evolution needs matplotlib: pip install recogym[plot]") from None
    panel_keys = ["agent", "approach"] if "agent" in results.columns else ["approach"]
    panels = list(results.groupby(panel_keys, sort=False))
    figure = Figure(figsize=(6 * max(len(panels), 1), 4), layout="constrained")
    axes = figure.subplots(1, max(len(panels), 1), squeeze=False)[0]
    for axis, (key, panel) in zip(axes, panels):
        for epsilon, line in panel.groupby("epsilon"):
            axis.fill_between(line["step"], line["q0.025"], line["q0.975"], alpha=0.15)
            axis.plot(line["step"], line["median"], marker="o", label=f"ε = {epsilon:.2f}")
        axis.set_title(" / ".join(str(part) for part in (key if isinstance(key, tuple) else (key,))))
        axis.set_xlabel("step")
        axis.set_ylabel("CTR")
        axis.legend()
    if path is not None:
        figure.savefig(path)
    return figure


_COLUMNS = ["step", "approach", "epsilon", "clicks", "impressions", "median", "q0.025", "q0.975",
            "greedy_clicks", "greedy_impressions", "greedy_median", "greedy_q0.025", "greedy_q0.975",
            "training_impressions"]


def _step_row(step: int, approach: TrainingApproach, epsilon: float, step_logs: StepLogs,
              training_impressions: int) -> list[Any]:
    impression = step_logs.logs.impressions
    clicked = impression & (step_logs.logs.c == 1)
    greedy = impression & ~step_logs.explored
    clicks, impressions = int(clicked.sum()), int(impression.sum())
    greedy_clicks, greedy_impressions = int((clicked & greedy).sum()), int(greedy.sum())
    return [step, approach.name, epsilon, clicks, impressions, *ctr_interval(clicks, impressions),
            greedy_clicks, greedy_impressions, *ctr_interval(greedy_clicks, greedy_impressions),
            training_impressions]


def _trained(untrained: EpsilonGreedy, logs: Logs) -> EpsilonGreedy:
    agent = copy.deepcopy(untrained)
    agent.train_logs(logs)
    return agent


def _run_step(env: RecoEnv, agent: EpsilonGreedy, num_users: int) -> StepLogs:
    """The events of ``agent`` acting on the env's next ``num_users`` users.

    The agent acts one user at a time through the classic env, because the
    logs need every organic view in order. Its :meth:`~recogym.agents.EpsilonGreedy.decide`
    tells which impressions it explored; the logged propensity is its exact
    mixture probability.
    """
    builder = LogBuilder()
    explored: list[bool] = []
    first_user = env.take_users(num_users)
    num_products = env.num_products
    for user in range(first_user, first_user + num_users):
        env.reset(user)
        view_counts = np.zeros(num_products)
        last_view, last_time, impressions = -1, 0.0, 0
        observation, _, done, _ = env.step(None)
        while True:
            if observation:
                views = observation.get_views()
                builder.views(observation.times, user, views)
                explored.extend([False] * len(views))
                np.add.at(view_counts, views, 1.0)
                last_view, last_time = views[-1], observation.times[-1]
            if done:
                break
            batch = UserBatch(view_counts[None, :], np.array([last_view]), np.array([user]),
                              np.array([impressions]))
            actions, propensities, exploring = agent.decide(batch)
            action = int(actions[0])
            click_probability = env.click_probability(action)
            observation, reward, done, _ = env.step(action)
            builder.impression(last_time, user, action, int(reward or 0), float(propensities[0]), click_probability)
            explored.append(bool(exploring[0]))
            impressions += 1
    return StepLogs(builder.build(), np.array(explored, dtype=bool))
