"""The classic API as RecoGym's notebook uses it."""
import numpy as np
import pandas as pd
import pytest

import recogym
from recogym import Action, Configuration, Session
from recogym.agents import Agent, PopularityAgent, RandomAgent, popularity_args, random_args


def run_user(env):
    """Step the current user to the end under the logging policy."""
    steps = [env.step_offline()]
    while not steps[-1][3]:
        steps.append(env.step_offline())
    return steps


def test_public_names():
    for name in ("make", "env_0_args", "env_1_args", "test_agent", "Configuration", "Session", "Action"):
        assert name in recogym.__all__ and hasattr(recogym, name)
    assert recogym.env_1_args["K"] == 5 and "num_clusters" in recogym.env_0_args
    assert recogym.make("reco-gym-v0").model == "reco-gym-v0"
    with pytest.raises(ValueError, match="reco-gym-v1"):
        recogym.make("reco-gym-v2")


def test_reset_counts_users_up_from_zero(make_env):
    env = make_env()
    users = set()
    for _ in range(1000):
        env.reset()
        observation, _, _, _ = env.step(None)
        users.add(env._user)
    assert users == set(range(1000))
    env.reset_random_seed()
    env.reset()
    assert env._user == 0
    env.reset(12345)
    env.reset()
    assert env._user == 12346


def test_first_step_and_observations(make_env):
    env = make_env(random_seed=1)
    env.reset()
    observation, reward, done, info = env.step(None)
    assert reward is None and info == {}
    assert isinstance(observation, Session) and observation
    assert all(event == "pageview" and 0 <= product < 10 for event, product in observation)
    assert observation.get_views() == [product for _, product in observation]
    assert repr(observation).startswith("[('pageview', ")
    saw_none = saw_click = False
    for _ in range(200):
        env.reset()
        observation, reward, done, _ = env.step(None)
        while not done:
            observation, reward, done, _ = env.step(3)
            assert reward in (0, 1)
            assert isinstance(observation, Session)  # never None: empty when nothing was viewed
            saw_none |= not observation
            saw_click |= reward == 1
            if reward == 1 and not done:
                assert observation  # a click always leads to views
    assert saw_none and saw_click


def test_step_offline_actions_carry_propensities(make_env):
    env = make_env(random_seed=2, with_ps_all=True)
    env.reset()
    steps = run_user(env)
    assert steps[0][0] is None and steps[0][2] is None
    for action, observation, reward, done, info in steps[1:]:
        assert isinstance(action, int) and isinstance(action, Action)
        assert 0 <= action < 10 and action.ps == pytest.approx(0.1)
        assert action["a"] == int(action) and action["ps"] == action.ps
        np.testing.assert_allclose(action.ps_all, np.full(10, 0.1))
        assert f"{action}" == str(int(action))


def test_logging_agent_from_args_is_used(make_env):
    class AlwaysSeven(Agent):
        def act(self, observation, reward, done):
            return Action(7, 0.9)

    env = make_env(agent=AlwaysSeven({"num_products": 10}))
    env.reset()
    actions = [step[0] for step in run_user(env)[1:]]
    assert actions and all(a == 7 and a.ps == 0.9 for a in actions)


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
def test_generate_logs_frame(make_env, model):
    env = make_env(model, random_seed=4)
    logs = env.generate_logs(20, num_organic_offline_users=3)
    assert list(logs.columns) == ["t", "u", "z", "v", "a", "c", "ps", "ps-a"]
    assert set(logs["u"]) == set(range(23))
    # 0.1.3.0's values: NaN where an event has none (iterrows rows pass math.isnan), ps-a () without with_ps_all.
    assert [str(logs[column].dtype) for column in ("v", "a", "c")] == ["float64", "float64", "float32"]
    organic = logs["z"] == "organic"
    assert logs.loc[organic, "v"].notna().all() and logs.loc[organic, ["a", "c"]].isna().all().all()
    assert logs.loc[~organic, "v"].isna().all() and logs.loc[~organic, "a"].between(0, 9).all()
    assert logs.loc[~organic, "ps"].eq(0.1).all() and logs.loc[organic, "ps"].isna().all()
    assert set(logs.loc[~organic, "c"]) <= {0, 1}
    assert all(value == () for value in logs.loc[~organic, "ps-a"]) and logs.loc[organic, "ps-a"].isna().all()
    # Organic-only users show one session and no impressions.
    assert (logs.loc[logs["u"] < 3, "z"] == "organic").all()


def test_generate_logs_with_ps_all_and_agent(make_env):
    env = make_env(random_seed=4, with_ps_all=True)
    logs = env.generate_logs(5)
    assert "ps-a" in logs.columns
    np.testing.assert_allclose(logs.loc[logs["z"] == "bandit", "ps-a"].iloc[0], np.full(10, 0.1))
    agent_logs = make_env(random_seed=4).generate_logs(5, agent=RandomAgent(random_args))
    assert list(agent_logs.columns) == ["t", "u", "z", "v", "a", "c", "ps", "ps-a"]
    assert agent_logs.loc[agent_logs["z"] == "bandit", "ps"].eq(0.1).all()


def test_agent_logs_match_kernel_logs_for_the_same_policy(make_env):
    """A Python agent that draws what the uniform policy draws gives the kernel's logs."""
    class EnvUniform(Agent):
        def __init__(self, env):
            super().__init__({"num_products": 10})
            self.env = env

        def act(self, observation, reward, done):
            return Action(self.env._slots.uniform_action(0), 0.1)

    kernel_logs = make_env(random_seed=9).generate_logs(15, num_organic_offline_users=2)
    env = make_env(random_seed=9)
    agent_logs = env.generate_logs(15, agent=EnvUniform(env), num_organic_offline_users=2)
    pd.testing.assert_frame_equal(agent_logs, kernel_logs)


def test_generate_logs_has_no_user_limit(make_env):
    env = make_env(random_seed=3)
    logs = env.simulate(3, first_user=70_000)
    assert logs.u.dtype == np.int64 and logs.u.min() == 70_000


def test_configuration_and_dict_agents_agree():
    args = {**popularity_args, "num_products": 5}
    for config in (args, Configuration(args)):
        agent = PopularityAgent(config)
        assert agent.config.num_products == 5 and agent.config["num_products"] == 5
    config = Configuration(args)
    assert dict(Configuration(config, random_seed=3)) == {**args, "random_seed": 3}


def test_popularity_agent_learns_views():
    agent = PopularityAgent({**popularity_args, "with_ps_all": True})
    agent.train(Session([2, 2, 3]), None, None, False)
    np.testing.assert_allclose(agent.probabilities()[[2, 3]], [2 / 3, 1 / 3])
    counts = np.bincount([int(agent.act(None, None, False)) for _ in range(3000)], minlength=10)
    assert set(np.flatnonzero(counts)) == {2, 3}
    action = agent.act(None, None, False)
    assert action.ps == pytest.approx(agent.probabilities()[action])


def test_test_agent_returns_the_beta_interval(make_env):
    env = make_env(random_seed=5)
    result = recogym.test_agent(env, RandomAgent(random_args), 50, 200)
    median, low, high = result
    assert low < median < high
    assert result.impressions > 1000 and 0 < result.clicks < result.impressions
    assert (median, low, high) == recogym.ctr_interval(result.clicks, result.impressions)


def test_test_agent_counts_only_shown_impressions(make_env):
    """Impressions are the steps taken online, not 0.1.3.0's extra row per user."""
    class Counting(Agent):
        acts = 0

        def act(self, observation, reward, done):
            Counting.acts += 1
            return Counting.acts % self.num_products

    env = make_env(random_seed=6)
    result = recogym.test_agent(env, Counting(random_args), 0, 100)
    assert result.impressions == Counting.acts


def test_test_agent_trains_on_logging_steps(make_env):
    class Recorder(Agent):
        def __init__(self):
            super().__init__({"num_products": 10})
            self.calls = []

        def train(self, observation, action, reward, done):
            self.calls.append((observation, action, reward, done))

        def act(self, observation, reward, done):
            return 0

    recorder = Recorder()
    env = make_env(random_seed=7)
    recogym.evaluation.train_offline(env, recorder, 20, num_organic_offline_users=5)
    ends = [call for call in recorder.calls if call[3]]
    assert len(ends) == 25 and all(call[1] is None for call in ends)
    steps = [call for call in recorder.calls if not call[3]]
    assert steps and all(isinstance(call[1], Action) and call[1].ps == 0.1 for call in steps)
    assert all(call[2] in (0, 1) for call in steps)


def test_epochs_with_random_reset(make_env):
    env = make_env(random_seed=8)
    one = recogym.test_agent(env, RandomAgent(random_args), 10, 50, num_epochs=1)
    two = recogym.test_agent(make_env(random_seed=8), RandomAgent(random_args), 10, 50, num_epochs=2,
                             epoch_with_random_reset=True)
    assert two.impressions > one.impressions


def test_notebook_step_after_first_session_leave_warns_once(make_env):
    env = make_env(random_seed=0, prob_leave_organic=1.0, prob_organic_to_bandit=0.0)
    env.reset()
    assert env.step(None)[2] is True
    with pytest.warns(UserWarning, match="first organic session"):
        observation, reward, done, info = env.step(4)
    assert (observation, reward, done, info) == ([], None, True, {})
    assert observation.sessions() == [] and observation.context().user() == 0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(4)


def test_click_probability_is_the_models(make_env):
    env = make_env(random_seed=3)
    env.reset()
    env.step(None)
    p = [env.click_probability(a) for a in range(10)]
    assert all(0 < x < 1 for x in p)


def test_import_recogym_loads_no_optional_package():
    import subprocess
    import sys

    code = ("import sys, recogym, recogym.agents; "
            "print(sorted(m for m in ('torch', 'sklearn', 'matplotlib', 'dask', 'stable_baselines3') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_agents_need_only_act(make_env):
    class OnlyActs:
        def act(self, observation, reward, done):
            return 0

    result = recogym.test_agent(make_env(random_seed=2), OnlyActs(), 20, 20)
    assert result.impressions > 100
