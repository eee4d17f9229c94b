"""Offline training and online testing of an agent: ``test_agent``."""
from __future__ import annotations

import copy
import time
from typing import Any

from tqdm.auto import tqdm

from .._checks import check_count
from ..envs.batch import evaluate_batch
from ..envs.classic import RecoEnv
from ..session import as_action

__all__ = ["test_agent", "AgentResult", "ctr_interval"]


class AgentResult(tuple[float, float, float]):
    """``(median, q0.025, q0.975)`` of the CTR's Beta(clicks + 1, misses + 1)
    posterior, which also tells ``clicks``, ``impressions`` and ``seconds``."""

    clicks: int
    impressions: int
    seconds: float

    def __new__(cls, clicks: int, impressions: int, seconds: float) -> "AgentResult":
        result = super().__new__(cls, ctr_interval(clicks, impressions))
        result.clicks, result.impressions, result.seconds = clicks, impressions, seconds
        return result

    @property
    def median(self) -> float:
        return self[0]

    def __reduce__(self) -> tuple[type[AgentResult], tuple[int, int, float]]:
        return (AgentResult, (self.clicks, self.impressions, self.seconds))


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
    num_organic_offline_users: int = 0,
    num_epochs: int = 1,
    epoch_with_random_reset: bool = False,
) -> AgentResult:
    """Train a copy of ``agent`` offline on the env's logging policy, then
    measure its click-through rate online.

    Training feeds ``agent.train(observation, action, reward, done)`` user by
    user; testing calls ``agent.act(observation, reward, done)`` at every
    impression and counts the clicks of the impressions shown. Each epoch
    trains a fresh copy of ``agent``; with ``epoch_with_random_reset`` it also
    uses a copy of the env reseeded with ``random_seed + epoch``. Both phases
    take the env's next users, so the env passed in moves on.

    Returns
    -------
    AgentResult
        Unpacks as ``(median, q0.025, q0.975)`` of the CTR posterior.
    """
    num_offline_users = check_count("num_offline_users", num_offline_users)
    num_online_users = check_count("num_online_users", num_online_users)
    num_organic_offline_users = check_count("num_organic_offline_users", num_organic_offline_users)
    num_epochs = check_count("num_epochs", num_epochs)
    start = time.perf_counter()
    clicks = impressions = 0
    for epoch in range(num_epochs):
        trained = copy.deepcopy(agent)
        epoch_env = env
        if epoch_with_random_reset:
            epoch_env = copy.deepcopy(env)
            epoch_env.reset_random_seed(epoch)
        train_offline(epoch_env, trained, num_offline_users, num_organic_offline_users)
        epoch_clicks, epoch_impressions = evaluate_online(epoch_env, trained, num_online_users)
        clicks += epoch_clicks
        impressions += epoch_impressions
    return AgentResult(clicks, impressions, time.perf_counter() - start)


setattr(test_agent, "__test__", False)  # not a pytest test, despite its name


def train_offline(env: RecoEnv, agent: Any, num_offline_users: int, num_organic_offline_users: int = 0) -> None:
    """Feed ``agent.train`` the logging policy's steps on the env's next users.

    An agent with ``train_logs`` gets the same steps at once, as columnar logs
    simulated without Python per event.
    """
    if hasattr(agent, "train_logs"):
        total = num_organic_offline_users + num_offline_users
        first = env.take_users(total)
        agent.train_logs(env.simulate(num_offline_users, num_organic_offline_users, first_user=first))
        return
    # An agent without train still meets the same users, so the online users that follow do not change.
    train = getattr(agent, "train", lambda *step: None)
    for user in tqdm(range(num_organic_offline_users + num_offline_users), desc="Training", disable=None,
                     leave=False):
        env.reset()
        _, observation, _, done, _ = env.step_offline()
        if user >= num_organic_offline_users:
            while not done:
                action, next_observation, reward, done, _ = env.step_offline()
                train(observation, action, reward, False)
                observation = next_observation
            env.finish_offline_user()
        train(observation, None, None, True)


def evaluate_online(env: RecoEnv, agent: Any, num_users: int) -> tuple[int, int]:
    """Clicks and impressions of ``agent.act`` on the env's next users.

    In the default random-number mode an agent with ``act_batch`` is run on
    all users at once in the batch env, which gives the same clicks.
    """
    if hasattr(agent, "act_batch") and not env.simulation.legacy:
        return evaluate_batch(env, agent, num_users, first_user=env.take_users(num_users))
    clicks = impressions = 0
    num_products = env.num_products
    reset_agent = getattr(agent, "reset", None)  # the notebook's agents have none
    for _ in tqdm(range(num_users), desc="Testing", disable=None, leave=False):
        env.reset()
        if reset_agent is not None:
            reset_agent()
        observation, reward, done, _ = env.step(None)
        while not done:
            action = as_action(agent.act(observation, reward, done), num_products, agent)
            observation, reward, done, _ = env.step(int(action))
            assert reward is not None  # only a user's first step has none
            clicks += reward
            impressions += 1
    return clicks, impressions
