"""The getting-started walkthrough: one user step by step, then the random
and popularity agents through ``test_agent``."""
from __future__ import annotations

import copy
from collections.abc import Callable

from .agents import PopularityAgent, RandomAgent, popularity_args, random_args
from .envs.classic import make
from .evaluation.online import AgentResult, test_agent
from .params import env_1_args

__all__ = ["run_demo"]


def run_demo(seed: int = 42, num_offline_users: int = 1000, num_online_users: int = 1000,
             max_steps: int = 12, echo: Callable[[str], object] = print) -> dict[str, AgentResult]:
    """Print the walkthrough and return each agent's :class:`~recogym.AgentResult`."""
    env = make("reco-gym-v1")
    env.init_gym({**env_1_args, "random_seed": seed})

    echo(f"reco-gym-v1, {env.num_products} products, random_seed={seed}: one user under the logging policy")
    env.reset()
    done, step = False, 0
    while not done and step < max_steps:
        action, observation, reward, done, _ = env.step_offline()
        echo(f"Step: {step} - Action: {action} - Observation: {observation} - Reward: {reward}")
        step += 1
    if not done:
        echo("...")

    echo(f"\ntest_agent: {num_offline_users} offline users, {num_online_users} online users")
    agents = {
        "RandomAgent": RandomAgent({**random_args, "num_products": env.num_products}),
        "PopularityAgent": PopularityAgent({**popularity_args, "num_products": env.num_products}),
    }
    echo(f"{'agent':<16} {'CTR median':>10} {'q0.025':>8} {'q0.975':>8} {'clicks':>7} {'impressions':>11} {'seconds':>8}")
    results: dict[str, AgentResult] = {}
    for name, agent in agents.items():
        result = test_agent(copy.deepcopy(env), agent, num_offline_users, num_online_users)
        median, low, high = result
        echo(f"{name:<16} {median:>10.4%} {low:>8.4%} {high:>8.4%} {result.clicks:>7} "
             f"{result.impressions:>11} {result.seconds:>8.2f}")
        results[name] = result
    return results
