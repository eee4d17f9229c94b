"""Offline training and online testing of an agent: ``test_agent``."""
from __future__ import annotations

import copy
import time
from typing import Any

from .._progress import tqdm

from .._checks import check_choice, check_count
from .._version import __version__
from ..envs.batch import evaluate_batch_outcomes, evaluate_batch_slates
from ..envs.classic import RecoEnv
from ..params import slate_size_of
from ..session import Session, as_action, as_slate_action

__all__ = ["test_agent", "AgentResult", "ctr_interval", "METRICS"]

#: What ``test_agent`` and ``compare`` score: clicks per impression (the
#: CTR), or conversions per impression (env arg ``with_conversions``).
METRICS = ("ctr", "conversion")


class AgentResult(tuple[float, float, float]):
    """``(median, q0.025, q0.975)`` of the CTR's Beta(clicks + 1, misses + 1)
    posterior, which also tells ``clicks``, ``impressions`` and ``seconds``.

    With conversions it also tells ``conversions`` (else None), and with
    ``metric='conversion'`` the tuple is the posterior of the conversion
    rate per impression, Beta(conversions + 1, impressions - conversions + 1).

    With slates (env arg ``slate_size`` k > 1) the CTR is that of
    impressions with at least one click, ``clicks`` counts those
    impressions, and ``clicks_per_position`` (k ints) counts the clicks at
    each position; :attr:`total_clicks` is their sum and
    :attr:`clicks_per_impression` its mean per impression (above the CTR
    when a slate is clicked more than once, as PBM allows).
    ``clicks_per_position`` is None for one product per impression.
    """

    clicks: int
    impressions: int
    seconds: float
    conversions: int | None
    metric: str
    clicks_per_position: tuple[int, ...] | None

    def __new__(cls, clicks: int, impressions: int, seconds: float, conversions: int | None = None,
                metric: str = "ctr", clicks_per_position: tuple[int, ...] | None = None) -> "AgentResult":
        if metric == "conversion" and conversions is None:
            raise ValueError("metric='conversion' needs the conversions")
        successes = conversions if metric == "conversion" and conversions is not None else clicks
        result = super().__new__(cls, ctr_interval(successes, impressions))
        result.clicks, result.impressions, result.seconds = clicks, impressions, seconds
        result.conversions, result.metric = conversions, metric
        result.clicks_per_position = None if clicks_per_position is None else tuple(map(int, clicks_per_position))
        return result

    @property
    def median(self) -> float:
        return self[0]

    @property
    def ctr(self) -> float:
        """Clicks per impression (NaN without impressions)."""
        return self.clicks / self.impressions if self.impressions else float("nan")

    @property
    def conversion_rate(self) -> float | None:
        """Conversions per impression (None without conversions)."""
        if self.conversions is None:
            return None
        return self.conversions / self.impressions if self.impressions else float("nan")

    @property
    def total_clicks(self) -> int:
        """Every click: the clicks per position summed (``clicks`` without slates)."""
        return self.clicks if self.clicks_per_position is None else sum(self.clicks_per_position)

    @property
    def clicks_per_impression(self) -> float:
        """``total_clicks / impressions`` (NaN without impressions)."""
        return self.total_clicks / self.impressions if self.impressions else float("nan")

    def __reduce__(self) -> tuple[Any, ...]:
        arguments: tuple[Any, ...] = (self.clicks, self.impressions, self.seconds, self.conversions, self.metric)
        if self.clicks_per_position is not None:
            arguments += (self.clicks_per_position,)
        return (AgentResult, arguments)


def ctr_interval(clicks: int, impressions: int) -> tuple[float, float, float]:
    """Median and 95% credible interval of a CTR under a uniform prior."""
    from scipy.stats import beta  # scipy.stats takes long to import: only when asked

    a, b = clicks + 1, impressions - clicks + 1
    median, low, high = beta.ppf([0.5, 0.025, 0.975], a, b)
    return float(median), float(low), float(high)


def test_agent(
    env: RecoEnv,
    agent: Any,
    num_offline_users: int = 1000,
    num_online_users: int = 100,
    num_organic_offline_users: int = 100,
    num_epochs: int = 1,
    epoch_with_random_reset: bool = False,
    with_cache: bool = False,
    metric: str = "ctr",
) -> AgentResult:
    """Train a copy of ``agent`` offline on the env's logging policy, then
    measure its click-through rate online (0.1.3.0's arguments and defaults).

    Training feeds ``agent.train(observation, action, reward, done)`` user by
    user, under the env's logging policy (its ``agent``, else uniform);
    testing calls ``agent.act(observation, reward, done)`` at every
    impression and counts the clicks of the impressions shown. Each epoch
    trains a fresh copy of ``agent``; with ``epoch_with_random_reset`` it
    also uses copies of the env reseeded with ``random_seed + epoch``. With
    ``with_cache`` the training data is kept in ``~/.reco-gym/cache`` and
    read back by the next call with the same env, counts and stream
    position, which then goes on exactly as if it had simulated it.

    In legacy mode this is 0.1.3.0's procedure draw for draw: the logging
    policy acts once more after each training user (0.1.3.0's phantom
    action, trained on with reward 0), the online users are those of
    ``env.generate_logs(num_online_users, agent)``, and their phantom
    impressions count as misses; with ``epoch_with_random_reset`` it tests
    on the very users it trained on. The default mode trains and tests on
    distinct users and counts only what was shown.

    With conversions (env arg ``with_conversions``) the online users'
    conversions are counted too; ``metric='conversion'`` scores the
    conversion rate per impression instead of the CTR.

    With slates (env arg ``slate_size`` k > 1) the agent's ``act`` returns a
    ranking; the result then also counts the clicks per position (see
    :class:`AgentResult`).

    Returns
    -------
    AgentResult
        Unpacks as ``(median, q0.025, q0.975)`` of the CTR posterior (of the
        conversion rate with ``metric='conversion'``).

    Raises
    ------
    ValueError
        For ``metric`` not in :data:`METRICS`, or ``'conversion'`` on an env
        without conversions.
    """
    metric = check_metric(metric, env)
    num_offline_users = check_count("num_offline_users", num_offline_users)
    num_online_users = check_count("num_online_users", num_online_users)
    num_organic_offline_users = check_count("num_organic_offline_users", num_organic_offline_users)
    num_epochs = check_count("num_epochs", num_epochs)
    legacy = env.simulation.legacy
    start = time.perf_counter()
    clicks = impressions = conversions = 0
    slate_size = slate_size_of(env.simulation.config)
    per_position = [0] * slate_size
    for epoch in range(num_epochs):
        trained = copy.deepcopy(agent)
        if legacy:
            from ..agents.base import use_legacy_draws  # recogym.agents loads scipy.sparse: only when needed

            use_legacy_draws(trained)
        train_env = test_env = env
        if epoch_with_random_reset:
            train_env = test_env = copy.deepcopy(env)
            train_env.reset_random_seed(epoch)
            if legacy:  # 0.1.3.0 tests on a second copy reseeded alike: the users it trained on
                test_env = copy.deepcopy(env)
                test_env.reset_random_seed(epoch)
        if with_cache:
            train_cached(train_env, trained, num_offline_users, num_organic_offline_users)
        else:
            train_offline(train_env, trained, num_offline_users, num_organic_offline_users)
        if slate_size > 1:
            epoch_positions, epoch_clicks, epoch_impressions = evaluate_online_slates(test_env, trained,
                                                                                       num_online_users)
            per_position = [total + count for total, count in zip(per_position, epoch_positions)]
            epoch_conversions = 0      # slates have no conversions
        else:
            epoch_clicks, epoch_impressions, epoch_conversions = evaluate_online_outcomes(test_env, trained,
                                                                                          num_online_users)
        clicks += epoch_clicks
        impressions += epoch_impressions
        conversions += epoch_conversions
    return AgentResult(clicks, impressions, time.perf_counter() - start,
                       conversions if env.simulation.conversions else None, metric,
                       tuple(per_position) if slate_size > 1 else None)


def check_metric(metric: Any, env: RecoEnv) -> str:
    """``metric``, one of :data:`METRICS`, and one ``env`` can score."""
    checked = check_choice("metric", metric, METRICS)
    if checked == "conversion" and not env.simulation.conversions:
        raise ValueError("metric='conversion' scores conversions, which this env does not draw: set env arg "
                         "'with_conversions' to True")
    return checked


setattr(test_agent, "__test__", False)  # not a pytest test, despite its name

#: One ``agent.train`` call of offline training, as the cache keeps it:
#: (views, times, user, context time, action or None, reward, done).
TrainCall = tuple[list[int], list[float], int, float, Any, Any, bool]


def train_offline(env: RecoEnv, agent: Any, num_offline_users: int, num_organic_offline_users: int = 0,
                  record: list[TrainCall] | None = None) -> None:
    """Feed ``agent.train`` the logging policy's steps on the env's next users
    (0.1.3.0's loop in legacy mode, phantom action included).

    An agent with ``train_logs`` under the uniform logging policy gets the
    same steps at once, as columnar logs simulated without Python per event.
    ``record`` collects the train calls (for the cache).
    """
    legacy = env.simulation.legacy
    if hasattr(agent, "train_logs") and env.agent is None and not legacy and record is None:
        total = num_organic_offline_users + num_offline_users
        first = env.take_users(total)
        agent.train_logs(env.simulate(num_offline_users, num_organic_offline_users, first_user=first))
        return
    agent_train = getattr(agent, "train", lambda *step: None)

    def train(observation: Session, action: Any, reward: Any, done: bool) -> None:
        if record is not None:
            record.append((observation.get_views(), list(observation.times), observation.user,
                           observation.context().time(), action, reward, done))
        agent_train(observation, action, reward, done)

    first = env.take_users(num_organic_offline_users + num_offline_users)
    for user in tqdm(range(first, first + num_organic_offline_users + num_offline_users), desc="Training",
                     disable=None, leave=False):
        env.reset(user)
        _, observation, reward, done, _ = env.step_offline()
        if user < first + num_organic_offline_users:
            train(observation, None, None, True)
            continue
        while not done:
            action, next_observation, reward, done, _ = env.step_offline(observation, reward, done)
            train(observation, action, reward, False)
            observation = next_observation
        if legacy:  # 0.1.3.0's phantom action, trained on with reward 0
            action, _, reward, done, _ = env.step_offline(observation, reward, done)
            train(observation, action, reward, True)
        else:
            train(observation, None, None, True)


def train_cached(env: RecoEnv, agent: Any, num_offline_users: int, num_organic_offline_users: int = 0) -> None:
    """:func:`train_offline` through the on-disk cache of ``test_agent(with_cache=True)``."""
    import hashlib
    import os
    import pickle
    from pathlib import Path

    before = env.rng_state()
    config = sorted((key, value if isinstance(value, (int, float, str, bool, type(None))) else type(value).__name__)
                    for key, value in env.simulation.config.items())
    key = repr((__version__, env.model, config, env.simulation.epoch, num_organic_offline_users,
                num_offline_users, type(env.agent).__name__, type(agent).__name__ if hasattr(agent, "train_logs")
                else "train", hashlib.sha1(pickle.dumps(before)).hexdigest()))
    path = Path.home() / ".reco-gym" / "cache" / f"{hashlib.sha1(key.encode()).hexdigest()}.pkl"
    if path.exists():
        with path.open("rb") as handle:
            calls, after = pickle.load(handle)
        env.set_rng_state(after)
    else:
        calls = []
        train_offline(env, _Recorder(), num_offline_users, num_organic_offline_users, record=calls)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        with partial.open("wb") as handle:
            pickle.dump((calls, env.rng_state()), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)  # whole or not at all
    agent_train = getattr(agent, "train", lambda *step: None)
    for views, times, user, context_time, action, reward, done in calls:
        agent_train(Session(views, times, user, context_time), action, reward, done)


class _Recorder:
    """Stands for the agent while the cache records its training calls."""

    def train(self, *step: Any) -> None:
        pass


def evaluate_online(env: RecoEnv, agent: Any, num_users: int) -> tuple[int, int]:
    """Clicks and impressions of ``agent.act`` on the env's next users
    (:func:`evaluate_online_outcomes` without the conversions)."""
    clicks, impressions, _ = evaluate_online_outcomes(env, agent, num_users)
    return clicks, impressions


def evaluate_online_outcomes(env: RecoEnv, agent: Any, num_users: int) -> tuple[int, int, int]:
    """Clicks, impressions and conversions (0 without them) of ``agent.act``
    on the env's next users.

    In the default random-number mode an agent with ``act_batch`` is run on
    all users at once in the batch env, which gives the same clicks. In
    legacy mode the users are 0.1.3.0's: those of ``generate_logs`` with the
    agent, whose phantom impression after each user counts as a miss.
    """
    if env.simulation.legacy:
        logs = env.generate_logs(num_users, agent=agent)  # with 0.1.3.0's phantom impressions, click 0
        logged = logs["c"].dropna()
        return int(logged.sum()), len(logged), 0     # legacy mode has no conversions
    from ..agents.base import serves_batches  # recogym.agents loads scipy.sparse: only when needed

    if serves_batches(agent):
        return evaluate_batch_outcomes(env, agent, num_users, first_user=env.take_users(num_users))
    clicks = impressions = conversions = 0
    num_products = env.num_products
    reset_agent = getattr(agent, "reset", None)  # the notebook's agents have none
    for _ in tqdm(range(num_users), desc="Testing", disable=None, leave=False):
        env.reset()
        if reset_agent is not None:
            reset_agent()
        observation, reward, done, _ = env.step(None)
        while not done:
            action = as_action(agent.act(observation, reward, done), num_products, agent)
            observation, reward, done, info = env.step(int(action))
            assert reward is not None  # only a user's first step has none
            clicks += reward
            impressions += 1
            conversions += info.get("conversion", 0)
    return clicks, impressions, conversions


def evaluate_online_slates(env: RecoEnv, agent: Any, num_users: int) -> tuple[list[int], int, int]:
    """:func:`evaluate_online` for slates: the clicks at each position, the
    impressions with a click, and the impressions, of ``agent``'s rankings
    on the env's next users (all at once in the batch env for an agent with
    ``act_batch``)."""
    from ..agents.base import serves_batches  # scipy.sparse comes with recogym.agents

    if serves_batches(agent):
        return evaluate_batch_slates(env, agent, num_users, first_user=env.take_users(num_users))
    k, num_products = env.slate_size, env.num_products
    per_position = [0] * k
    clicked = impressions = 0
    reset_agent = getattr(agent, "reset", None)
    for _ in tqdm(range(num_users), desc="Testing", disable=None, leave=False):
        env.reset()
        if reset_agent is not None:
            reset_agent()
        observation, reward, done, _ = env.step(None)
        while not done:
            slate = as_slate_action(agent.act(observation, reward, done), k, num_products, agent)
            observation, reward, done, info = env.step(slate)
            clicks = info["slate_clicks"]
            for position in range(k):
                per_position[position] += int(clicks[position])
            clicked += int(clicks.any())
            impressions += 1
    return per_position, clicked, impressions
