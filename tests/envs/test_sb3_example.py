"""PolicyAgent, and the Stable-Baselines3 example on a tiny budget."""
import ast
import copy
import runpy
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import recogym.agents.policy_agent
from recogym.agents.policy_agent import PolicyAgent
from recogym.batch import evaluate_batch
from recogym.evaluation import evaluate_online

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stable_baselines3_ppo.py"


class MostViewedModel:
    """A stand-in for an SB3 model: recommends each user's most viewed product."""

    observation_space = gymnasium.spaces.Box(0.0, 1e30, (10,), np.float32)

    def __init__(self):
        self.observations = []

    def predict(self, observation, deterministic=True):
        assert observation.dtype == np.float32 and deterministic
        self.observations.append(observation.copy())
        return np.argmax(observation, axis=-1), None


def test_policy_agent_acts_on_cumulative_view_counts(make_env):
    model = MostViewedModel()
    agent = PolicyAgent(model)
    assert agent.num_products == 10
    env = make_env(random_seed=3)
    env.reset(5)
    observation, reward, done, _ = env.step(None)
    counts = np.zeros(10)
    while not done:
        if observation:
            np.add.at(counts, observation.get_views(), 1)
        action = agent.act(observation, reward, done)
        np.testing.assert_array_equal(model.observations[-1], counts)
        assert action == np.argmax(counts)
        observation, reward, done, _ = env.step(action)
    agent.reset()
    agent.act(None, None, False)
    np.testing.assert_array_equal(model.observations[-1], np.zeros(10))


def test_policy_agent_batch_path_gives_the_per_user_clicks(make_env):
    agent = PolicyAgent(MostViewedModel())
    env = make_env(random_seed=8)
    per_user = evaluate_online(copy.deepcopy(env), WithoutBatch(agent), 100)
    assert evaluate_batch(copy.deepcopy(env), agent, 100, num_envs=16) == per_user
    assert per_user[1] > 1000
    copied = copy.deepcopy(agent)
    assert copied.model is agent.model


class WithoutBatch:
    def __init__(self, agent):
        self.agent = agent

    def act(self, *step):
        return self.agent.act(*step)

    def reset(self):
        self.agent.reset()


def test_policy_agent_does_not_import_sb3_or_torch():
    source = Path(recogym.agents.policy_agent.__file__).read_text()
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(source))
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in getattr(node, "names", [])}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"stable_baselines3", "torch"}


def test_example_trains_and_tests_ppo(capsys):
    pytest.importorskip("stable_baselines3", reason="stable-baselines3 is not installed")
    module = runpy.run_path(str(EXAMPLE), run_name="stable_baselines3_example")
    results = module["main"](["--timesteps", "256", "--num-envs", "2", "--offline-users", "20",
                              "--online-users", "30"])
    out = capsys.readouterr().out
    assert set(results) == {"PPO (cumulative view counts)", "user's most viewed product", "PopularityAgent",
                            "RandomAgent"}
    impressions = {result.impressions for result in results.values()}
    assert min(impressions) > 500
    for name, (median, low, high) in results.items():
        assert 0 <= low <= median <= high < 0.2
        assert name in out
