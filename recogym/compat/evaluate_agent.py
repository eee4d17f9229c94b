"""RecoGym 0.1.3.0's ``recogym.evaluate_agent`` module (compatibility only).

Its names and signatures, as thin layers over recogym: statistics over
numbers of training users (:func:`gather_agent_stats`, through
:func:`recogym.test_agent`), the explore/exploit evolution
(:func:`evaluate_agent`, :func:`gather_exploration_stats`, with
:class:`~recogym.evaluation.evolution.TrainingApproach`), online and
off-policy tables (:func:`verify_agents`, :func:`verify_agents_IPS`,
:func:`verify_agents_SNIPS`, :func:`verify_agents_recall_at_k`) and their
plots (matplotlib, imported only by the plot functions).

The results are 0.1.3.0's dicts and frames, keyed by the enums of
:mod:`recogym.compat.constants`. New code should use
:mod:`recogym.evaluation` (:func:`~recogym.evaluation.evolution.evolve_agent`,
:func:`~recogym.evaluation.ope.evaluate_policy`, :func:`recogym.sweep`).

Where 0.1.3.0 was wrong, this module differs on purpose:

* the off-policy evaluators visit every user of the logs; 0.1.3.0's
  ``range(max(reco_log.u))`` skipped the user with the largest id (and any
  user beyond it);
* ``evaluate_recall_at_k`` breaks ties among equal probabilities toward the
  lower product index; 0.1.3.0's ``np.argpartition`` left them to numpy's
  selection algorithm, whose choice changes between numpy versions;
* ``verify_agents`` counts, outside legacy mode, only the impressions users
  saw; 0.1.3.0's ``generate_logs`` added one impression per user that was
  never shown (a logging action after the user left, always unclicked), which
  lowered every CTR (legacy mode keeps 0.1.3.0's numbers);
* ``TrainingApproach.SLIDING_WINDOW_*`` keep a window of the most recent
  impressions and ``MOST_VALUABLE`` is defined (see
  :func:`~recogym.evaluation.evolution.select_impressions`); 0.1.3.0 kept
  every ``sliding_window_samples``-th impression and raised on
  ``MOST_VALUABLE``;
* the plots lay out as many rows as their panels need (0.1.3.0 asked
  matplotlib for 0 rows when there were fewer agents than
  ``max_agents_per_row``), ``plot_roi`` uses the ``epsilons`` it is given,
  and a ROI whose ε = 0 run had no click (or no miss) in the previous step is
  NaN rather than a ZeroDivisionError;
* :func:`gather_agent_stats` and :func:`gather_exploration_stats` run in this
  process, one case after the other (0.1.3.0 used a process pool for some),
  and print nothing; progress bars show where they are.
"""
from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._checks import check_count, check_positive_int
from ..agents.epsilon_greedy import EpsilonGreedy, epsilon_greedy_args
from ..agents.organic_count import to_categorical  # 0.1.3.0's, kept in its 0.1.3.0 home
from ..evaluation.evolution import (
    EVOLUTION_EPSILONS,
    TrainingApproach,
    select_impressions,
)
from ..evaluation.online import ctr_interval, test_agent
from ..logs import as_logs
from ..params import Configuration
from ..session import Action, DefaultContext, Observation, OrganicSessions
from .constants import AgentInit, AgentStats, EvolutionCase, RoiMetrics

if TYPE_CHECKING:  # matplotlib is imported only when plotting
    from matplotlib.figure import Figure

__all__ = [
    "EpsilonDelta",
    "EpsilonSteps",
    "EpsilonPrecision",
    "EvolutionEpsilons",
    "GraphCTRMin",
    "GraphCTRMax",
    "to_categorical",
    "evaluate_agent",
    "build_agent_init",
    "gather_agent_stats",
    "build_agents",
    "generate_epsilons",
    "format_epsilon",
    "gather_exploration_stats",
    "plot_agent_stats",
    "plot_evolution_stats",
    "plot_heat_actions",
    "plot_roi",
    "verify_agents",
    "evaluate_IPS",
    "evaluate_SNIPS",
    "verify_agents_IPS",
    "verify_agents_SNIPS",
    "evaluate_recall_at_k",
    "verify_agents_recall_at_k",
    "plot_verify_agents",
]

EpsilonDelta = .02
EpsilonSteps = 6  # Including epsilon = 0.0.
EpsilonPrecision = 2
EvolutionEpsilons = EVOLUTION_EPSILONS

GraphCTRMin = 0.009
GraphCTRMax = 0.021



# -- agents -------------------------------------------------------------------


def build_agent_init(agent_key: str, ctor: Callable[..., Any], def_args: Mapping[str, Any]) -> dict[str, Any]:
    """``{agent_key: {AgentInit.CTOR: ctor, AgentInit.DEF_ARGS: def_args}}``:
    how an agent is named and built by :func:`build_agents` (and a
    leaderboard entry's ``agent``)."""
    return {agent_key: {AgentInit.CTOR: ctor, AgentInit.DEF_ARGS: def_args}}


def build_agents(agents_init_data: Mapping[str, Mapping[AgentInit, Any]],
                 new_env_args: Mapping[str, Any]) -> dict[str, Any]:
    """Each agent of ``agents_init_data`` (see :func:`build_agent_init`),
    built as 0.1.3.0 built it: ``ctor(Configuration({**def_args, **new_env_args}))``,
    so the env's arguments (``num_products``, ``random_seed``, ...) override
    the agent's defaults."""
    if not isinstance(agents_init_data, Mapping):
        raise TypeError(f"agents_init_data must be a dict of build_agent_init entries, got {agents_init_data!r}")
    agents = {}
    for agent_key, init in agents_init_data.items():
        if not isinstance(init, Mapping) or AgentInit.CTOR not in init or AgentInit.DEF_ARGS not in init:
            raise TypeError(f"agents_init_data[{agent_key!r}] must be {{AgentInit.CTOR: class, AgentInit.DEF_ARGS: "
                            f"dict}} (see build_agent_init), got {init!r}")
        agents[agent_key] = init[AgentInit.CTOR](Configuration({**init[AgentInit.DEF_ARGS], **new_env_args}))
    return agents


def _configured_env(env: Any, env_args: Mapping[str, Any], extra_env_args: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    new_env_args = {**env_args, **extra_env_args}
    new_env = copy.deepcopy(env)
    new_env.init_gym(new_env_args)
    return new_env, new_env_args


# -- statistics over training sizes --------------------------------------------


def gather_agent_stats(
    env: Any,
    env_args: Mapping[str, Any],
    extra_env_args: Mapping[str, Any],
    agents_init_data: Mapping[str, Mapping[AgentInit, Any]],
    user_samples: Sequence[int] = (100, 1000, 2000, 3000, 5000, 8000, 10000, 13000, 14000, 15000),
    num_online_users: int = 15000,
    num_epochs: int = 1,
    epoch_with_random_reset: bool = False,
    num_organic_offline_users: int = 100,
    with_cache: bool = False,
) -> dict[AgentStats, Any]:
    """Each agent's CTR interval after training on each number of offline users.

    ``env`` is copied and initialised with ``{**env_args, **extra_env_args}``;
    each agent is built by :func:`build_agents` from the same arguments and,
    for each entry of ``user_samples``, run through :func:`recogym.test_agent`
    on a copy of that env (``num_online_users``, ``num_organic_offline_users``,
    ``num_epochs``, ``epoch_with_random_reset`` and ``with_cache`` are
    test_agent's).

    Returns
    -------
    dict
        ``{AgentStats.SAMPLES: user_samples, AgentStats.AGENTS: {name:
        {AgentStats.Q0_025: [...], AgentStats.Q0_500: [...],
        AgentStats.Q0_975: [...]}}}``, one value per entry of ``user_samples``.
    """
    new_env, new_env_args = _configured_env(env, env_args, extra_env_args)
    agents = build_agents(agents_init_data, new_env_args)
    agent_stats: dict[AgentStats, Any] = {AgentStats.SAMPLES: user_samples, AgentStats.AGENTS: {}}
    for agent_key, agent in agents.items():
        stats: dict[AgentStats, list[float]] = {AgentStats.Q0_025: [], AgentStats.Q0_500: [], AgentStats.Q0_975: []}
        for num_offline_users in user_samples:
            median, low, high = test_agent(copy.deepcopy(new_env), copy.deepcopy(agent), num_offline_users,
                                           num_online_users, num_organic_offline_users, num_epochs,
                                           epoch_with_random_reset, with_cache)
            stats[AgentStats.Q0_025].append(low)
            stats[AgentStats.Q0_500].append(median)
            stats[AgentStats.Q0_975].append(high)
        agent_stats[AgentStats.AGENTS][agent_key] = stats
    return agent_stats


# -- the explore/exploit evolution -----------------------------------------------


class _GreedyAction(Action):
    """An :class:`~recogym.Action` that also says whether it followed the
    wrapped agent, as 0.1.3.0's ``EpsilonGreedy`` dicts did (``'greedy'``)."""

    greedy: bool

    def __getitem__(self, key: str) -> Any:
        if key == "greedy":
            return self.greedy
        return super().__getitem__(key)


class _BranchReporting(EpsilonGreedy):
    """recogym's EpsilonGreedy, whose actions say which branch they took."""

    _explored: np.ndarray

    def draw(self, batch: Any, probabilities: np.ndarray) -> np.ndarray:
        actions, _, explored = self.decide(batch)
        self._explored = explored
        return actions

    def act(self, observation: Any, reward: int | None, done: bool) -> Any:
        choice = super().act(observation, reward, done)
        greedy = not bool(self._explored[0])
        if isinstance(choice, Mapping):
            return {**choice, "greedy": greedy}
        action = _GreedyAction(int(choice), getattr(choice, "ps", 1.0), getattr(choice, "ps_all", ()),
                               getattr(choice, "t", None), getattr(choice, "u", None))
        action.greedy = greedy
        return action


def _reporting_branches(agent: Any) -> Any:
    if isinstance(agent, EpsilonGreedy) and not isinstance(agent, _BranchReporting):
        return _BranchReporting(agent.config, agent.agent)
    return agent


def _product(action: Any) -> int:
    return int(action["a"] if isinstance(action, Mapping) else action)


def _greedy(action: Any) -> bool | None:
    value = action.get("greedy") if isinstance(action, Mapping) else getattr(action, "greedy", None)
    return None if value is None else bool(value)


def _with_context(action: Any, observation: Any) -> Any:
    """``action`` stamped with the time and user of ``observation`` when it
    lacks them, so an agent trained on a selection of steps still knows
    whose impression each is."""
    if isinstance(action, Mapping):
        return action if "u" in action else {"t": observation.context().time(), "u": observation.context().user(),
                                             **action}
    if isinstance(action, Action) and getattr(action, "u", None) is None:
        context = observation.context()
        return Action(int(action), action.ps, action.ps_all, t=context.time(), u=context.user())
    return action


def _is_legacy(env: Any) -> bool:
    simulation = getattr(env, "simulation", None)
    return bool(getattr(simulation, "legacy", True))


# A step an agent may train on: (observation, action, reward, done, explored).
_Sample = tuple[Any, Any, Any, bool, bool]

_INCREMENTAL = (TrainingApproach.ALL_DATA, TrainingApproach.ALL_EXPLORATION_DATA, TrainingApproach.LAST_STEP)


def evaluate_agent(
    env: Any,
    agent: Any,
    num_initial_train_users: int = 100,
    num_step_users: int = 1000,
    num_steps: int = 10,
    training_approach: TrainingApproach = TrainingApproach.ALL_DATA,
    sliding_window_samples: int = 10000,
) -> dict[EvolutionCase, Any]:
    """0.1.3.0's explore/exploit evolution of ``agent``, as its dict.

    ``agent`` first trains on ``num_initial_train_users`` users of the env's
    logging policy (``step_offline``); then each of ``num_steps`` steps shows
    it ``num_step_users`` new users, while a copy learns from the step's data
    that ``training_approach`` selects, and acts in the next step. User ids
    count from 0 (``env.reset(user_id)``), as 0.1.3.0's did. The native,
    batch form is :func:`recogym.evaluation.evolution.evolve_agent`.

    ``ALL_DATA``, ``ALL_EXPLORATION_DATA`` and ``LAST_STEP`` follow 0.1.3.0
    step for step (the learning copy trains on each selected step as it
    happens). The ``SLIDING_WINDOW_*`` approaches and ``MOST_VALUABLE``
    retrain a copy of the untrained agent, after each step, on the steps
    :func:`~recogym.evaluation.evolution.select_impressions` chooses from the
    initial training and every step so far; as 0.1.3.0 did with the steps it
    skipped, a step left out takes its observation with it.

    An agent's action says whether it explored with ``'greedy'`` (0.1.3.0's
    ``EpsilonGreedy`` dicts); a recogym :class:`~recogym.agents.EpsilonGreedy`
    is acted through a wrapper that reports it.

    Returns
    -------
    dict
        ``EvolutionCase.SUCCESS``, ``FAILURE``, ``SUCCESS_GREEDY`` and
        ``FAILURE_GREEDY``: clicks and misses per step (all, and those of
        greedy actions); ``EvolutionCase.ACTIONS``: for each product, its
        clicks per step (``num_steps + 1`` counts, the last always 0, as in
        0.1.3.0).

    Raises
    ------
    ValueError
        If ``training_approach`` is not a TrainingApproach, a count is
        negative, or an approach that selects explored data meets an action
        that does not say whether it explored.
    """
    if not isinstance(training_approach, TrainingApproach):
        raise ValueError(f"training_approach must be a TrainingApproach, got {training_approach!r}")
    num_initial_train_users = check_count("num_initial_train_users", num_initial_train_users)
    num_step_users = check_count("num_step_users", num_step_users)
    num_steps = check_count("num_steps", num_steps)
    check_positive_int("sliding_window_samples", sliding_window_samples)
    agent = _reporting_branches(agent)
    initial_agent = copy.deepcopy(agent)
    legacy = _is_legacy(env)
    history: list[_Sample] = []

    for user in range(num_initial_train_users):
        env.reset(user)
        agent.reset()
        observation, reward, done, _ = env.step(None)
        while True:
            old_observation = observation
            if done and not legacy:
                # 0.1.3.0 stepped once more after a user who left on arrival; outside
                # legacy mode there is nothing to step, and the session is what is learnt.
                action, reward = None, None
            else:
                action, observation, reward, done, _ = env.step_offline(observation, reward, False)
            agent.train(old_observation, action, reward, done)
            history.append((old_observation, action, reward, done, True))
            if done:
                break
    unique_user_id = num_initial_train_users

    num_products = int(env.config.num_products)
    rewards: dict[EvolutionCase, Any] = {
        EvolutionCase.SUCCESS: [],
        EvolutionCase.SUCCESS_GREEDY: [],
        EvolutionCase.FAILURE: [],
        EvolutionCase.FAILURE_GREEDY: [],
        EvolutionCase.ACTIONS: {product: [0] for product in range(num_products)},
    }
    training_agent = copy.deepcopy(agent)
    for _ in range(num_steps):
        successes = successes_greedy = failures = failures_greedy = 0
        for user in range(unique_user_id, unique_user_id + num_step_users):
            env.reset(user)
            agent.reset()
            observation, reward, done, _ = env.step(None)
            while not done:
                old_observation = observation
                action = agent.act(old_observation, reward, done)
                product = _product(action)
                observation, reward, done, _ = env.step(product)
                greedy = _greedy(action)
                needs_branch = training_approach in (TrainingApproach.ALL_EXPLORATION_DATA,
                                                     TrainingApproach.SLIDING_WINDOW_EXPLORATION_DATA)
                if greedy is None and needs_branch:
                    raise ValueError(f"training_approach {training_approach.name} trains on explored actions, "
                                     f"but {type(agent).__name__}.act() does not say whether it explored (0.1.3.0's "
                                     f"'greedy'): wrap the agent in recogym.agents.EpsilonGreedy")
                sample = (old_observation, _with_context(action, old_observation), reward, done, greedy is False)
                if training_approach in _INCREMENTAL:
                    if training_approach is not TrainingApproach.ALL_EXPLORATION_DATA or not greedy:
                        training_agent.train(*sample[:4])
                else:
                    history.append(sample)
                if reward:
                    successes += 1
                    successes_greedy += bool(greedy)
                    rewards[EvolutionCase.ACTIONS][product][-1] += 1
                else:
                    failures_greedy += bool(greedy)
                    failures += 1
        unique_user_id += num_step_users

        if training_approach not in _INCREMENTAL:
            training_agent = _retrained(initial_agent, history, training_approach, sliding_window_samples)
        agent = training_agent
        for product in range(num_products):
            rewards[EvolutionCase.ACTIONS][product].append(0)
        training_agent = copy.deepcopy(initial_agent if training_approach is TrainingApproach.LAST_STEP else agent)

        rewards[EvolutionCase.SUCCESS].append(successes)
        rewards[EvolutionCase.SUCCESS_GREEDY].append(successes_greedy)
        rewards[EvolutionCase.FAILURE].append(failures)
        rewards[EvolutionCase.FAILURE_GREEDY].append(failures_greedy)
    return rewards


def _retrained(initial_agent: Any, history: list[_Sample], approach: TrainingApproach,
               sliding_window_samples: int) -> Any:
    impressions = [sample for sample in history if sample[1] is not None]
    chosen = select_impressions(approach, np.array([sample[4] for sample in impressions], dtype=bool),
                                np.array([sample[2] == 1 for sample in impressions], dtype=bool),
                                sliding_window_samples)
    agent = copy.deepcopy(initial_agent)
    for sample, keep in zip(impressions, chosen):
        if keep:
            agent.train(*sample[:4])
    return agent


def generate_epsilons(epsilon_step: float = EpsilonDelta, iterations: int = EpsilonSteps) -> list[float]:
    """0.1.3.0's epsilons, :data:`EvolutionEpsilons` (its arguments were
    never used)."""
    return list(EvolutionEpsilons)


def format_epsilon(epsilon: float) -> str:
    """``epsilon`` as the key of :func:`gather_exploration_stats`' dict, such as ``'0.05'``."""
    return ("{0:." + f"{EpsilonPrecision}" + "f}").format(round(epsilon, EpsilonPrecision))


def gather_exploration_stats(
    env: Any,
    env_args: Mapping[str, Any],
    extra_env_args: Mapping[str, Any],
    agents_init_data: Mapping[str, Mapping[AgentInit, Any]],
    training_approach: TrainingApproach,
    num_initial_train_users: int = 1000,
    num_step_users: int = 1000,
    epsilons: Iterable[float] = EvolutionEpsilons,
    num_evolution_steps: int = 6,
) -> dict[str, dict[str, dict[EvolutionCase, Any]]]:
    """:func:`evaluate_agent` of each agent under
    :class:`~recogym.agents.EpsilonGreedy` for each epsilon, each on a copy
    of the env initialised with ``{**env_args, **extra_env_args}``.

    The wrapper is built as 0.1.3.0 built it, from
    ``{**epsilon_greedy_args, **env args, 'epsilon': epsilon}`` (so its
    seed is the env's ``random_seed``).

    Returns
    -------
    dict
        ``{agent name: {format_epsilon(epsilon): evaluate_agent's dict}}``.
    """
    new_env, new_env_args = _configured_env(env, env_args, extra_env_args)
    agents = build_agents(agents_init_data, new_env_args)
    agent_evolution_stats: dict[str, dict[str, dict[EvolutionCase, Any]]] = {}
    for agent_key, agent in agents.items():
        agent_stats = {}
        for epsilon in epsilons:
            explorer = _BranchReporting(Configuration({**epsilon_greedy_args, **new_env_args, "epsilon": epsilon}),
                                        copy.deepcopy(agent))
            rewards = evaluate_agent(copy.deepcopy(new_env), explorer, num_initial_train_users, num_step_users,
                                     num_evolution_steps, training_approach)
            agent_stats[format_epsilon(epsilon)] = rewards
        agent_evolution_stats[agent_key] = agent_stats
    return agent_evolution_stats


# -- online and off-policy tables --------------------------------------------------


def _quantile_frame(names: list[str], quantiles: list[tuple[float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "Agent": names,
        "0.025": [low for low, _, _ in quantiles],
        "0.500": [median for _, median, _ in quantiles],
        "0.975": [high for _, _, high in quantiles],
    })


def _check_agents(agents: Any) -> None:
    if not isinstance(agents, Mapping) or not agents:
        raise TypeError(f"agents must be a non-empty dict of names and agents, got {agents!r}")
    for name, agent in agents.items():
        if not callable(getattr(agent, "act", None)):
            raise TypeError(f"agents[{name!r}] must have an act() method, got {agent!r}")


def verify_agents(env: Any, number_of_users: int, agents: Mapping[str, Any]) -> pd.DataFrame:
    """Each agent's online CTR interval on the users of a copy of ``env``.

    Each agent, as it is, is the logging policy of
    ``copy.deepcopy(env).generate_logs(number_of_users, agent)``; its clicks
    and misses give the Beta posterior's quantiles. Works in both random-number
    modes (:func:`recogym.evaluation.compare.verify_agents`, the native one,
    pairs users and so needs the default mode).

    In legacy mode the numbers are 0.1.3.0's, which counted one more miss per
    user: the logging action 0.1.3.0's ``generate_logs`` took after the user
    had left, never shown, which legacy ``generate_logs`` logs too. The
    default mode counts only what was shown.

    Returns
    -------
    pandas.DataFrame
        Columns ``Agent``, ``0.025``, ``0.500``, ``0.975``.
    """
    number_of_users = check_positive_int("number_of_users", number_of_users)
    _check_agents(agents)
    names, quantiles = [], []
    for name, agent in agents.items():
        data = copy.deepcopy(env).generate_logs(number_of_users, agent)
        clicks = data.loc[data["z"] == "bandit", "c"]
        successes, failures = int((clicks == 1).sum()), int((clicks == 0).sum())
        median, low, high = ctr_interval(successes, successes + failures)
        names.append(name)
        quantiles.append((low, median, high))
    return _quantile_frame(names, quantiles)


def _policy_vector(choice: Any) -> np.ndarray:
    """The probabilities of every product an agent's action carries
    (``'ps-a'``); empty if it carries none."""
    probabilities = choice["ps-a"] if isinstance(choice, (Mapping, Action)) else ()
    vector = np.asarray(probabilities, dtype=np.float64)
    return vector if vector.ndim == 1 else np.empty(0)


def _require_policy(policy: np.ndarray, agent: Any) -> np.ndarray:
    if not len(policy):
        raise ValueError(f"{type(agent).__name__}.act() gave no probability of every product ('ps-a'): "
                         f"off-policy estimates need them; build the agent with 'with_ps_all': True")
    return policy


def _replay(agent: Any, reco_log: Any) -> Iterator[tuple[Any, int, int, np.ndarray]]:
    """``agent`` acting at each impression of ``reco_log``, user by user
    (ascending ids, rows in log order), after seeing the views since the
    user's last impression: ``(logs, row, next row of the user or -1,
    agent's probabilities)`` for each impression, in that order."""
    logs = as_logs(reco_log)
    if not logs.impressions.any():
        raise ValueError("reco_log holds no impressions (z == 'bandit') to evaluate on")
    order = np.argsort(logs.u, kind="stable")
    starts = np.flatnonzero(np.r_[True, logs.u[order][1:] != logs.u[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    organic = logs.organic
    for start, end in zip(starts, ends):
        rows = order[start:end]
        user = int(logs.u[rows[0]])
        session = OrganicSessions()
        agent.reset()
        for position, row in enumerate(rows):
            if organic[row]:
                session.next(DefaultContext(logs.t[row], user), int(logs.v[row]))
                continue
            choice = agent.act(Observation(DefaultContext(logs.t[row], user), session), 0, False)
            following = int(rows[position + 1]) if position + 1 < len(rows) else -1
            yield logs, int(row), following, _policy_vector(choice)
            session = OrganicSessions()


def evaluate_IPS(agent: Any, reco_log: Any) -> list[float]:
    """The IPS terms ``c * pi(a) / ps`` of ``agent`` at each impression of
    ``reco_log`` (a ``generate_logs`` DataFrame or Logs); ``agent.act`` must
    give every product's probability (``'ps-a'``, ``with_ps_all``)."""
    return [float(logs.c[row] * _require_policy(policy, agent)[logs.a[row]] / logs.ps[row])
            for logs, row, _, policy in _replay(agent, reco_log)]


def evaluate_SNIPS(agent: Any, reco_log: Any) -> tuple[list[float], list[float]]:
    """The clicks and the weights ``pi(a) / ps`` of ``agent`` at each
    impression of ``reco_log`` (see :func:`evaluate_IPS`)."""
    rewards, p_ratio = [], []
    for logs, row, _, policy in _replay(agent, reco_log):
        rewards.append(float(logs.c[row]))
        p_ratio.append(float(_require_policy(policy, agent)[logs.a[row]] / logs.ps[row]))
    return rewards, p_ratio


def _top_k(policy: np.ndarray, k: int) -> set[int]:
    # Highest probabilities first; equal ones toward the lower product index.
    return {int(product) for product in np.argsort(-policy, kind="stable")[:k]}


def evaluate_recall_at_k(agent: Any, reco_log: Any, k: int = 5) -> list[int]:
    """1 or 0 for each unclicked impression of ``reco_log`` followed by an
    organic view of the same user: whether that view was among ``agent``'s
    ``k`` most probable products there.

    An agent whose actions carry no probabilities (``'ps-a'`` empty: built
    without ``with_ps_all``) has no top ``k``, so it never hits, as in
    0.1.3.0; a warning says so.
    """
    k = check_positive_int("k", k)
    hits = []
    without_policy = False
    for logs, row, following, policy in _replay(agent, reco_log):
        if k > len(policy) and len(policy):
            raise ValueError(f"k must be at most the number of products ({len(policy)}), got {k}")
        without_policy = without_policy or not len(policy)
        if following >= 0 and logs.organic[following] and logs.c[row] != 1:
            hits.append(int(int(logs.v[following]) in _top_k(policy, k)))
    if without_policy:
        warnings.warn(f"{type(agent).__name__}.act() gave no probability of every product ('ps-a'), so its "
                      f"recall@{k} counts no hit there (as in 0.1.3.0); build it with 'with_ps_all': True",
                      UserWarning, stacklevel=2)
    return hits


def _mean_and_two_standard_errors(values: Sequence[float], name: str) -> tuple[float, float, float]:
    if not len(values):
        raise ValueError(f"agent {name!r}: the logs give nothing to average")
    array = np.asarray(values, dtype=np.float64)
    mean, standard_error = float(np.mean(array)), float(np.std(array) / np.sqrt(len(array)))
    return mean - 2 * standard_error, mean, mean + 2 * standard_error


def verify_agents_IPS(reco_log: Any, agents: Mapping[str, Any]) -> pd.DataFrame:
    """0.1.3.0's IPS table: for each agent the mean of :func:`evaluate_IPS`
    and that mean -/+ two standard errors (``np.std / sqrt(n)``).

    :func:`recogym.evaluation.ope.verify_agents_IPS` is recogym's, from
    agents' batch policies, with intervals that sum each user's terms.
    """
    _check_agents(agents)
    names = list(agents)
    return _quantile_frame(names, [_mean_and_two_standard_errors(evaluate_IPS(agents[name], reco_log), name)
                                   for name in names])


def verify_agents_SNIPS(reco_log: Any, agents: Mapping[str, Any]) -> pd.DataFrame:
    """0.1.3.0's SNIPS table: ``sum(c * w) / sum(w)`` with -/+ two standard
    errors of the IPS terms ``c * w`` (0.1.3.0's interval)."""
    _check_agents(agents)
    names, quantiles = list(agents), []
    for name in names:
        rewards, p_ratio = evaluate_SNIPS(agents[name], reco_log)
        terms = np.asarray(rewards) * np.asarray(p_ratio)
        if not len(terms):
            raise ValueError(f"agent {name!r}: the logs give nothing to average")
        estimate = float(np.sum(terms) / np.sum(p_ratio))
        standard_error = float(np.std(terms) / np.sqrt(len(terms)))
        quantiles.append((estimate - 2 * standard_error, estimate, estimate + 2 * standard_error))
    return _quantile_frame(names, quantiles)


def verify_agents_recall_at_k(reco_log: Any, agents: Mapping[str, Any], k: int = 5) -> pd.DataFrame:
    """0.1.3.0's recall@k table: the mean of :func:`evaluate_recall_at_k`
    -/+ two standard errors."""
    _check_agents(agents)
    names = list(agents)
    return _quantile_frame(names, [_mean_and_two_standard_errors(evaluate_recall_at_k(agents[name], reco_log, k=k),
                                                                 name) for name in names])


# -- plots (matplotlib's pyplot, as 0.1.3.0 drew them) -----------------------------------


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("0.1.3.0's plots need matplotlib: pip install recogym[plot]") from None
    return plt


def _grid(plt: Any, panels: int, per_row: int, figsize: tuple[float, float]) -> tuple[Any, Any]:
    per_row = check_positive_int("max_agents_per_row", per_row)
    grid: tuple[Any, Any] = plt.subplots(max(1, math.ceil(panels / per_row)), per_row, figsize=figsize,
                                         squeeze=False)
    return grid


def plot_agent_stats(agent_stats: Mapping[AgentStats, Any]) -> Figure:
    """CTR median and 95% band against the number of training users, one line
    per agent of :func:`gather_agent_stats`' result."""
    plt = _pyplot()
    figure: Figure
    figure, ax = plt.subplots(1, 1, figsize=(16, 8))
    user_samples = agent_stats[AgentStats.SAMPLES]
    for stats in agent_stats[AgentStats.AGENTS].values():
        ax.fill_between(user_samples, stats[AgentStats.Q0_975], stats[AgentStats.Q0_025], alpha=.05)
        ax.plot(user_samples, stats[AgentStats.Q0_500])
    ax.set_xlabel("Samples #")
    ax.set_ylabel("CTR")
    ax.legend(["$C^{CTR}_{0.5}$: " + f"{agent_key}" for agent_key in agent_stats[AgentStats.AGENTS]])
    plt.show()
    return figure


def _beta_quantiles(successes: int, failures: int) -> tuple[float, float, float]:
    median, low, high = ctr_interval(successes, successes + failures)
    return median, low, high


def plot_evolution_stats(
    agent_evolution_stats: Mapping[str, Mapping[str, Mapping[EvolutionCase, Any]]],
    max_agents_per_row: int = 2,
    epsilons: Iterable[float] = EvolutionEpsilons,
    plot_min: float = GraphCTRMin,
    plot_max: float = GraphCTRMax,
) -> Figure:
    """The CTR per evolution step, one panel per agent and one line per
    epsilon, of :func:`gather_exploration_stats`' result."""
    plt = _pyplot()
    epsilons = list(epsilons)
    figure: Figure
    figure, axs = _grid(plt, len(agent_evolution_stats), max_agents_per_row, (16, 10))
    labels = [(r"$\epsilon=$" + format_epsilon(epsilon)) for epsilon in epsilons]
    for ix, (agent_key, agent_evolution_stat) in enumerate(agent_evolution_stats.items()):
        ax = axs[ix // max_agents_per_row, ix % max_agents_per_row]
        ctr_means = []
        for epsilon in epsilons:
            evolution_stat = agent_evolution_stat[format_epsilon(epsilon)]
            quantiles = [_beta_quantiles(successes, failures) for successes, failures in
                         zip(evolution_stat[EvolutionCase.SUCCESS], evolution_stat[EvolutionCase.FAILURE])]
            ms = [median for median, _, _ in quantiles]
            ctr_means.append(np.mean(ms))
            ax.fill_between(range(len(quantiles)), [high for _, _, high in quantiles],
                            [low for _, low, _ in quantiles], alpha=.05)
            ax.plot(range(len(quantiles)), ms)
        ax.set_title(f"Agent: {agent_key}\n" + r"$\hat{Q}^{CTR}_{0.5}=" + f"{np.mean(ctr_means):.5f}" + "$, "
                     + r"$\hat{\sigma}^{CTR}_{0.5}=" + f"{np.sqrt(np.var(ctr_means)):.5f}" + "$")
        ax.legend(labels)
        ax.set_ylabel("CTR")
        ax.set_ylim([plot_min, plot_max])
    plt.subplots_adjust(hspace=.5)
    plt.show()
    return figure


def plot_heat_actions(
    agent_evolution_stats: Mapping[str, Mapping[str, Mapping[EvolutionCase, Any]]],
    epsilons: Iterable[float] = EvolutionEpsilons,
) -> Figure:
    """Clicks per product and evolution step as heat maps, one per agent and
    epsilon, of :func:`gather_exploration_stats`' result."""
    plt = _pyplot()
    per_row = len(list(epsilons))
    panels = sum(len(stat) for stat in agent_evolution_stats.values())
    rows = max(1, math.ceil(panels / max(per_row, 1)))
    figure: Figure
    figure, axs = _grid(plt, panels, max(per_row, 1), (16, 4 * rows))
    flat_index = 0
    for agent_key, agent_evolution_stat in agent_evolution_stats.items():
        for epsilon_key, evolution_stat in agent_evolution_stat.items():
            ax = axs[flat_index // max(per_row, 1), flat_index % max(per_row, 1)]
            flat_index += 1
            action_stats = evolution_stat[EvolutionCase.ACTIONS]
            heat_data = np.array([action_stats[product] for product in range(len(action_stats))])
            image = ax.imshow(heat_data)
            ax.set_yticks(np.arange(len(action_stats)))
            ax.set_yticklabels([f"{product}" for product in range(len(action_stats))])
            ax.set_title(f"Agent: {agent_key}\n" + r"$\epsilon=$" + f"{epsilon_key}")
            ax.figure.colorbar(image, ax=ax)
    plt.show()
    return figure


def _roi(epsilon: float, previous_zero: float, current_zero: float, current_epsilon_greedy: float) -> float:
    """0.1.3.0's return on investment of exploring with ``epsilon``: the
    gain of its greedy actions over the ε = 0 run's, per unit of what the
    exploration cost (epsilon times the ε = 0 run's previous step)."""
    cost = epsilon * previous_zero
    gain = current_epsilon_greedy / (1 - epsilon) - current_zero
    return gain / cost if cost else math.nan


def plot_roi(
    agent_evolution_stats: Mapping[str, Mapping[str, Mapping[EvolutionCase, Any]]],
    epsilons: Iterable[float] = EvolutionEpsilons,
    max_agents_per_row: int = 2,
) -> dict[str, dict[str, dict[RoiMetrics, list[float]]]]:
    """The return on investment of each epsilon > 0 at each evolution step
    from the second, against the ε = 0 run, plotted per agent; ``epsilons``
    must include 0.

    Returns
    -------
    dict
        ``{agent: {format_epsilon(epsilon): {RoiMetrics.ROI_MEAN: [ROI per
        step from the second], RoiMetrics.ROI_0_025: [], RoiMetrics.ROI_0_975: []}}}``
        (0.1.3.0 left the interval lists empty too).
    """
    plt = _pyplot()
    epsilons = list(epsilons)
    zero_epsilon_key = format_epsilon(0)
    _, axs = _grid(plt, len(agent_evolution_stats), max_agents_per_row, (16, 8))
    labels = [(r"$\epsilon=$" + format_epsilon(epsilon)) for epsilon in epsilons
              if format_epsilon(epsilon) != zero_epsilon_key]
    agent_roi_stats = {}
    for ix, (agent_key, agent_stat) in enumerate(agent_evolution_stats.items()):
        ax = axs[ix // max_agents_per_row, ix % max_agents_per_row]
        if zero_epsilon_key not in agent_stat:
            raise ValueError(f"agent {agent_key!r}: the ROI is measured against epsilon 0, which its stats lack")
        zero_successes = agent_stat[zero_epsilon_key][EvolutionCase.SUCCESS]
        agent_stats: dict[str, dict[RoiMetrics, list[float]]] = {}
        roi_mean_means: list[float] = []
        for epsilon in epsilons:
            epsilon_key = format_epsilon(epsilon)
            if epsilon_key == zero_epsilon_key:
                continue
            greedy_successes = agent_stat[epsilon_key][EvolutionCase.SUCCESS_GREEDY]
            if len(greedy_successes) != len(zero_successes):
                raise ValueError(f"agent {agent_key!r}: epsilon {epsilon_key} has {len(greedy_successes)} steps, "
                                 f"epsilon 0 has {len(zero_successes)}")
            roi_means = [_roi(epsilon, zero_successes[step - 1], zero_successes[step], greedy_successes[step])
                         for step in range(1, len(greedy_successes))]
            agent_stats[epsilon_key] = {RoiMetrics.ROI_0_025: [], RoiMetrics.ROI_MEAN: roi_means,
                                        RoiMetrics.ROI_0_975: []}
            roi_mean_means.append(float(np.mean(roi_means)) if roi_means else math.nan)
            ax.plot(range(1, len(greedy_successes)), roi_means)
        ax.set_title("$ROI_{t+1}$ of Agent: " + f"'{agent_key}'\n" + r"$\hat{\mu}_{ROI}="
                     + f"{np.mean(roi_mean_means) if roi_mean_means else math.nan:.5f}" + "$, "
                     + r"$\hat{\sigma}_{ROI}=" + f"{np.sqrt(np.var(roi_mean_means)) if roi_mean_means else math.nan:.5f}"
                     + "$")
        ax.legend(labels, loc=10)
        ax.set_ylabel("ROI")
        agent_roi_stats[agent_key] = agent_stats
    plt.subplots_adjust(hspace=.5)
    plt.show()
    return agent_roi_stats


def plot_verify_agents(result: pd.DataFrame) -> Figure:
    """The ``0.500`` estimate of each agent of a ``verify_agents*`` table
    with its ``0.025``-``0.975`` interval as error bars."""
    plt = _pyplot()
    figure: Figure
    figure, ax = plt.subplots()
    ax.set_title("CTR Estimate for Different Agents")
    plt.errorbar(result["Agent"], result["0.500"],
                 yerr=(result["0.500"] - result["0.025"], result["0.975"] - result["0.500"]), fmt="o", capsize=4)
    plt.xticks(result["Agent"], result["Agent"], rotation="vertical")
    return figure
