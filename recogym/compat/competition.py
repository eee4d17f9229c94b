"""RecoGym 0.1.3.0's ``recogym.competition``: the RecoGym challenge's score
of one agent (compatibility only; ``recogym leaderboard`` scores a folder of
entries the same way).

The competition's env is reco-gym-v1 with the given catalogue, latent
factors, flips and ``sigma_omega``; its logging policy is
:class:`~recogym.agents.OrganicUserEventCounterAgent` drawing in proportion
to the user's views, exploring with probability ``log_epsilon``. The agent
trains on the logs of ``num_organic_users_to_train`` organic-only users and
``num_users_to_train`` whole users, then is scored online on
``num_users_to_score`` users, through :func:`recogym.test_agent` with
0.1.3.0's settings (one epoch, ``epoch_with_random_reset``).
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from ..agents.organic_user_count import (
    OrganicUserEventCounterAgent,
    organic_user_count_args,
)
from ..envs.classic import make
from ..evaluation.online import AgentResult, test_agent
from ..params import Configuration, env_1_args
from .evaluate_agent import build_agent_init, build_agents

__all__ = ["competition_score", "competition_env_args", "competition_agent", "competition_test"]


def competition_env_args(num_products: int, random_seed: int, latent_factor: int, num_flips: int,
                         log_epsilon: float, sigma_omega: float,
                         env_args: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The competition's reco-gym-v1 env args, its logging policy as their
    ``agent``; ``env_args`` (such as ``{'rng': 'legacy'}``) are further env
    args."""
    std_env_args = {
        **env_1_args,
        "random_seed": random_seed,
        "num_products": num_products,
        "K": latent_factor,
        "sigma_omega": sigma_omega,
        "number_of_flips": num_flips,
        **(env_args or {}),
    }
    logging_agent = OrganicUserEventCounterAgent(Configuration({
        **organic_user_count_args,
        **std_env_args,
        "select_randomly": True,
        "epsilon": log_epsilon,
        "num_products": num_products,
    }))
    return {**std_env_args, "agent": logging_agent}


def competition_agent(env_args: Mapping[str, Any], agent_class: Callable[..., Any],
                      agent_configs: Mapping[str, Any], agent_name: str = "agent") -> Any:
    """``agent_class`` built as the competition builds it:
    ``agent_class(Configuration({**agent_configs, 'num_products': P, **env_args}))``
    (0.1.3.0's ``build_agents``, so the env's args override the agent's)."""
    init = build_agent_init(agent_name, agent_class, {**agent_configs, "num_products": env_args["num_products"]})
    return build_agents(init, env_args)[agent_name]


def competition_test(env_args: Mapping[str, Any], agent: Any, num_organic_users_to_train: int,
                     num_users_to_train: int, num_users_to_score: int, with_cache: bool = False) -> AgentResult:
    """A copy of ``agent`` trained and scored on a new env of ``env_args``
    (a copy of them), as 0.1.3.0's ``gather_agent_stats`` ran it:
    ``test_agent`` with one epoch and ``epoch_with_random_reset``."""
    env = make("reco-gym-v1")
    env.init_gym(copy.deepcopy(dict(env_args)))
    return test_agent(env, copy.deepcopy(agent), num_users_to_train, num_users_to_score,
                      num_organic_users_to_train, 1, True, with_cache)


def competition_score(
    num_products: int,
    num_organic_users_to_train: int,
    num_users_to_train: int,
    num_users_to_score: int,
    random_seed: int,
    latent_factor: int,
    num_flips: int,
    log_epsilon: float,
    sigma_omega: float,
    agent_class: Callable[..., Any],
    agent_configs: Mapping[str, Any],
    agent_name: str,
    with_cache: bool,
    *,
    env_args: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The competition score of ``agent_class`` built with ``agent_configs``.

    Parameters
    ----------
    num_products, random_seed, latent_factor, num_flips, sigma_omega
        The env's ``num_products``, ``random_seed``, ``K``,
        ``number_of_flips`` and ``sigma_omega`` (the rest are
        ``env_1_args``).
    num_organic_users_to_train, num_users_to_train, num_users_to_score : int
        Organic-only training users, whole training users, and online users.
    log_epsilon : float
        The logging policy's exploration.
    agent_class, agent_configs, agent_name
        The agent (see :func:`competition_agent`).
    with_cache : bool
        Whether ``test_agent`` caches the training logs.
    env_args : mapping, optional
        Further env args (recogym's, such as ``{'rng': 'legacy'}``).

    Returns
    -------
    pandas.DataFrame
        One row: ``q0.025``, ``q0.500``, ``q0.975`` (the CTR's Beta
        posterior quantiles) and ``time``, the seconds the scoring took
        (0.1.3.0 timed only the reading of its results, so its ``time`` was
        about 0).
    """
    start = time.perf_counter()
    args = competition_env_args(num_products, random_seed, latent_factor, num_flips, log_epsilon, sigma_omega,
                                env_args)
    agent = competition_agent(args, agent_class, agent_configs, agent_name)
    median, low, high = competition_test(args, agent, num_organic_users_to_train, num_users_to_train,
                                         num_users_to_score, with_cache)
    return pd.DataFrame({"q0.025": [low], "q0.500": [median], "q0.975": [high],
                         "time": [time.perf_counter() - start]})
