"""rng='legacy' follows RecoGym 0.1.3.0 to the last draw where plain logs
are not enough: reseeding a normal time generator, stepping after a user
left, the phantom logging action, test_agent's epochs and custom time
generators.

The fixtures come from tests/fixtures/compat/make_fidelity_fixtures.py, run
under the original package (see tests/fixtures/legacy/README.md).
"""
import gzip
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recogym
from recogym import Configuration, NormalTimeGenerator
from recogym.agents import OrganicCount, OrganicUserEventCounterAgent, RandomAgent
from recogym.agents import organic_count_args, organic_user_count_args, random_args
from recogym.envs.features.time import TimeGenerator

FIXTURES = Path(__file__).parent.parent / "fixtures" / "compat"


def load(name):
    with gzip.open(FIXTURES / f"fidelity_{name}.json.gz", "rt") as handle:
        return json.load(handle)


def legacy_env(seed, **overrides):
    env = recogym.make("reco-gym-v1")
    env.init_gym({**recogym.env_1_args, "random_seed": seed, "rng": "legacy", **overrides})
    return env


def normal_time_args(seed, generator_time, env_time):
    args = {**recogym.env_1_args, "random_seed": seed, "rng": "legacy", **env_time}
    args["time_generator"] = NormalTimeGenerator(Configuration({**args, **generator_time}))
    return args


def assert_logs_equal(logs, expected):
    assert logs["z"].astype(str).tolist() == expected["z"]
    assert logs["u"].tolist() == expected["u"]
    np.testing.assert_array_equal(logs["t"].to_numpy(), np.array(expected["t"], dtype=float))
    for column in ("v", "a", "c"):
        assert [None if pd.isna(value) else int(value) for value in logs[column]] == expected[column], column
    assert [None if np.isnan(value) else value for value in logs["ps"]] == expected["ps"]


def test_normal_time_generator_keeps_its_stream_across_reseeding():
    fixture = load("normal_time_reseed")
    for case in fixture["cases"]:
        env = recogym.make("reco-gym-v1")
        env.init_gym(normal_time_args(case["random_seed"], fixture["env_time"], fixture["env_time"]))
        for part, reseed in zip(case["parts"], case["reseeds"]):
            if reseed is not None:
                env.reset_random_seed(reseed)
            organic = 1 if reseed in (None, 0) else 0
            # simulate: generate_logs' draws without 0.1.3.0's phantom rows (tests/core/test_legacy_parity.py).
            assert_logs_equal(env.simulate(4, organic).to_pandas(), part)


def session_record(observation):
    return {"views": observation.get_views(), "times": observation.times,
            "context_time": observation.context().time()}


def test_the_notebook_loop_steps_once_after_a_user_left_as_0_1_3_0():
    fixture = load("online_after_done")
    for case in fixture["cases"]:
        env = legacy_env(case["random_seed"], **case["overrides"])
        num_products = env.config.num_products
        for user, steps in enumerate(case["users"]):
            env.reset()
            observation, reward, done, _ = env.step(None)
            assert {"action": None, "reward": reward, "done": done, **session_record(observation)} == steps[0]
            reward, done, i = None, None, 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the step after a user left warns
                while not done:
                    action = (5 * i + 3 * user) % num_products
                    observation, reward, done, _ = env.step(action)
                    assert {"action": action, "reward": reward, "done": done,
                            **session_record(observation)} == steps[i + 1], (user, i)
                    i += 1
            assert i + 1 == len(steps)


def test_step_offline_after_done_returns_what_0_1_3_0_returns():
    fixture = load("step_offline_after_done")
    for case in fixture["cases"]:
        env = legacy_env(case["random_seed"])
        for user, steps in enumerate(case["users"]):
            env.reset(user)
            observation, _, done, reward = env.step(None)
            got = [{"action": None, "reward": None, "done": done, **session_record(observation)}]
            while not done:
                action, observation, reward, done, info = env.step_offline(observation, reward, done)
                got.append(record(action, reward, done, info, observation))
            action, observation, reward, done, info = env.step_offline(observation, reward, done)
            got.append(record(action, reward, done, info, observation))
            assert got == steps, user


def record(action, reward, done, info, observation):
    return {"action": {"a": action["a"], "ps": action["ps"], "t": action["t"], "u": action["u"]},
            "reward": reward, "done": done, "info": info, **session_record(observation)}


#: As in the fixture script.
AGENTS = {
    "random": lambda seed: RandomAgent(Configuration({**random_args, "random_seed": seed + 1})),
    "organic_user_count": lambda seed: OrganicUserEventCounterAgent(Configuration({
        **organic_user_count_args, **recogym.env_1_args, "select_randomly": True, "random_seed": seed + 1})),
    "organic_count": lambda seed: OrganicCount(Configuration({**organic_count_args, **recogym.env_1_args})),
}


def test_agent_follows_0_1_3_0_with_and_without_random_reset():
    for run in load("test_agent")["runs"]:
        seed = run["random_seed"]
        env = legacy_env(seed)
        agent = AGENTS[run["agent"]](seed)
        result = recogym.test_agent(env, agent, run["num_offline_users"], run["num_online_users"],
                                    run["num_organic_offline_users"], run["num_epochs"],
                                    run["epoch_with_random_reset"])
        assert list(result) == pytest.approx(run["result"], rel=1e-9, abs=0), run


def test_with_cache_trains_on_the_same_logs_and_writes_them_once(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    agent = OrganicUserEventCounterAgent(Configuration({**organic_user_count_args, **recogym.env_1_args,
                                                        "select_randomly": True, "random_seed": 3}))
    plain = recogym.test_agent(legacy_env(42), agent, 20, 15, 4)
    cached = recogym.test_agent(legacy_env(42), agent, 20, 15, 4, with_cache=True)
    files = list((tmp_path / ".reco-gym" / "cache").glob("*"))
    assert len(files) == 1
    again = recogym.test_agent(legacy_env(42), agent, 20, 15, 4, with_cache=True)
    assert list(cached) == list(again) == pytest.approx(list(plain), rel=1e-12)


class StepTimeGenerator(TimeGenerator):
    """As in the fixture script: steps of 0.5 and 2 in turn, from 0 per user."""

    def __init__(self, config):
        super().__init__(config)
        self.reset()

    def new_time(self):
        time = self.current_time
        self.current_time += 0.5 if self.count % 2 == 0 else 2.0
        self.count += 1
        return time

    def reset(self):
        self.current_time = 0.0
        self.count = 0


def test_time_generator_objects_are_followed_as_0_1_3_0_does():
    for case in load("custom_time")["cases"]:
        seed = case["random_seed"]
        if case["generator"] == "normal":
            args = normal_time_args(seed, case["generator_time"], case["env_time"])
        else:
            args = {**recogym.env_1_args, "random_seed": seed, "rng": "legacy"}
            args["time_generator"] = StepTimeGenerator(Configuration(args))
        env = recogym.make("reco-gym-v1")
        env.init_gym(args)
        assert_logs_equal(env.simulate(8, 1).to_pandas(), case["logs"])
