"""Helpers of the boundary tests (tests/boundary/): envs to break, and checks
that a rejected call left them as they were."""
import re

import pytest

import recogym
from recogym.agents import Agent

MODELS = ("reco-gym-v1", "reco-gym-v0")
RNGS = ("default", "legacy")
NUM_PRODUCTS = 10  # both models' default
PROBABILITIES = ("prob_leave_bandit", "prob_leave_organic", "prob_bandit_to_organic", "prob_organic_to_bandit")
MAX_USER_ID = 2**63 - 1
NAN = float("nan")
INF = float("inf")



def all_of(*parts):
    """A regex that matches text containing every one of ``parts`` literally, in any order."""
    return "(?s)" + "".join(f"(?=.*{re.escape(str(part))})" for part in parts)


def make_env(model, **args):
    env = recogym.make(model)
    env.init_gym(args)
    return env


def started_env(model, user=0, **args):
    """An env whose user ``user`` has taken its first step (step(None))."""
    env = make_env(model, **args)
    env.reset(user)
    env.step(None)
    return env


def snapshot(result):
    """A comparable form of what step() returns."""
    observation, reward, done, info = result
    if observation is None:
        return None, None, reward, done, info
    return list(observation), list(observation.times), observation.user, reward, done, info


def assert_env_works(env):
    env.reset()
    observation, reward, done, _ = env.step(None)
    assert reward is None
    if not done:
        _, reward, _, _ = env.step(0)
        assert reward in (0, 1)


def run_user_to_done(env, max_steps=100_000):
    env.reset()
    _, _, done, _ = env.step(None)
    steps = 0
    while not done:
        _, _, done, _ = env.step(steps % env.num_products)
        steps += 1
        assert steps < max_steps, "user never left"


def run_user_offline_to_done(env, max_steps=100_000):
    env.reset()
    done = env.step_offline()[3]
    steps = 0
    while not done:
        done = env.step_offline()[3]
        steps += 1
        assert steps < max_steps, "user never left"


def assert_rejected_init_keeps_env(env, bad_args, exception, match):
    """init_gym(bad_args) raises, and leaves a configured env as it was."""
    before = dict(env.config)
    with pytest.raises(exception, match=match):
        env.init_gym(bad_args)
    assert dict(env.config) == before
    assert_env_works(env)


class FixedAgent(Agent):
    """An agent whose act() always returns ``choice``."""

    def __init__(self, choice, num_products=NUM_PRODUCTS):
        super().__init__({"num_products": num_products})
        self.choice = choice

    def act(self, observation, reward, done):
        return self.choice
