"""Logs as OBP bandit feedback: checked with OBP's own validation rules,
reimplemented here (from obp 0.5.7's ``obp/utils.py`` and
``obp/ope/meta.py``), so the checks run without OBP; and with OBP itself
when it is installed."""
import importlib
import os

import numpy as np
import pytest

import recogym
from recogym.agents import PopularityAgent
from recogym.logs import Logs
from recogym.obp import action_dist, to_obp


def import_obp(module):
    """OBP's ``module``; under RECOGYM_REQUIRE_OBP=1 (.ci/run installs obp and
    sets it), a missing obp is a failure, not a skip."""
    if os.environ.get("RECOGYM_REQUIRE_OBP") == "1":
        return importlib.import_module(module)
    return pytest.importorskip(module, reason="obp is not installed: pip install --no-deps "
                                              "--ignore-requires-python obp==0.5.7 seaborn")

# -- OBP's checks, as obp 0.5.7 makes them ------------------------------------


def obp_check_array(array, name, expected_dim):
    if not isinstance(array, np.ndarray):
        raise ValueError(f"`{name}` must be {expected_dim}D array, but got {type(array)}")
    if array.ndim != expected_dim:
        raise ValueError(f"`{name}` must be {expected_dim}D array, but got {array.ndim}D array")


def obp_check_bandit_feedback_inputs(context, action, reward, expected_reward=None, position=None,
                                     pscore=None, action_context=None):
    """obp.utils.check_bandit_feedback_inputs."""
    obp_check_array(context, "context", 2)
    obp_check_array(action, "action", 1)
    obp_check_array(reward, "reward", 1)
    if expected_reward is not None:
        obp_check_array(expected_reward, "expected_reward", 2)
        assert context.shape[0] == action.shape[0] == reward.shape[0] == expected_reward.shape[0]
        assert np.issubdtype(action.dtype, np.integer) and action.min() >= 0
        assert action.max() < expected_reward.shape[1]
    else:
        assert np.issubdtype(action.dtype, np.integer) and action.min() >= 0
    if pscore is not None:
        obp_check_array(pscore, "pscore", 1)
        assert context.shape[0] == action.shape[0] == reward.shape[0] == pscore.shape[0]
        assert not np.any(pscore <= 0), "`pscore` must be positive"
    if position is not None:
        obp_check_array(position, "position", 1)
        assert context.shape[0] == action.shape[0] == reward.shape[0] == position.shape[0]
        assert np.issubdtype(position.dtype, np.integer) and position.min() >= 0
    else:
        assert context.shape[0] == action.shape[0] == reward.shape[0]
    if action_context is not None:
        obp_check_array(action_context, "action_context", 2)
        assert np.issubdtype(action.dtype, np.integer) and action.min() >= 0
        assert action.max() < action_context.shape[0]


def obp_check_ope_inputs(action_dist, position=None, action=None, reward=None, pscore=None):
    """obp.utils.check_ope_inputs."""
    obp_check_array(action_dist, "action_dist", 3)
    assert np.allclose(action_dist.sum(axis=1), 1), "`action_dist` must be a probability distribution"
    if position is not None:
        obp_check_array(position, "position", 1)
        assert position.shape[0] == action_dist.shape[0]
        assert np.issubdtype(position.dtype, np.integer) and position.min() >= 0
        assert position.max() < action_dist.shape[2]
    else:
        assert action_dist.shape[2] == 1
    if action is not None or reward is not None:
        obp_check_array(action, "action", 1)
        obp_check_array(reward, "reward", 1)
        assert action.shape[0] == reward.shape[0]
        assert np.issubdtype(action.dtype, np.integer) and action.min() >= 0
        assert action.max() < action_dist.shape[1]
    if pscore is not None:
        assert pscore.ndim == 1
        assert action.shape[0] == reward.shape[0] == pscore.shape[0]
        assert not np.any(pscore <= 0)


def obp_ipw(bandit_feedback, action_dist):
    """OffPolicyEvaluation.estimate_policy_values with InverseProbabilityWeighting:
    the keys it reads, its checks, and its estimate."""
    for key in ("action", "position", "reward", "context"):
        assert key in bandit_feedback, f"Missing key of {key} in 'bandit_feedback'."
    action, position = bandit_feedback["action"], bandit_feedback["position"]
    reward, pscore = bandit_feedback["reward"], bandit_feedback["pscore"]
    obp_check_ope_inputs(action_dist, position, action, reward, pscore)
    weights = action_dist[np.arange(action.shape[0]), action, position] / pscore
    return float((reward * weights).mean())


# -- tests ---------------------------------------------------------------------


def views_before_reference(logs, num_products):
    """Row by row: each user's views so far, read at each impression."""
    seen, context = {}, []
    for user, z, view in zip(logs.u.tolist(), logs.z.tolist(), logs.v.tolist()):
        counts = seen.setdefault(user, np.zeros(num_products))
        if z == 0:
            counts[view] += 1
        else:
            context.append(counts.copy())
    return np.array(context).reshape(-1, num_products)


def shuffle_users(logs, seed):
    """The same rows with users interleaved, each user's rows still in
    order, and the rows' old positions."""
    keys = np.random.Generator(np.random.PCG64(seed)).random(len(logs))
    rank = np.empty(len(logs))
    for user in np.unique(logs.u):
        rows = np.flatnonzero(logs.u == user)
        rank[rows] = np.sort(keys[rows])
    order = np.argsort(rank, kind="stable")
    return Logs(**{name: column[order] for name, column in logs.columns().items()}), order


@pytest.fixture
def logs(make_env):
    env = make_env("reco-gym-v1", random_seed=6, num_products=12)
    return env.simulate(300, num_organic_users=20)


def test_bandit_feedback_passes_obp_checks(logs):
    feedback = to_obp(logs, 12)
    impressions = logs.z == 1
    n = int(impressions.sum())
    assert feedback["n_rounds"] == n > 10_000 and feedback["n_actions"] == 12
    assert set(feedback) >= {"n_rounds", "n_actions", "action", "position", "reward", "pscore", "context",
                             "action_context"}
    dtypes = {"action": np.int64, "position": np.int64, "reward": np.int64, "pscore": np.float64,
              "context": np.float64, "action_context": np.float64, "click_probability": np.float64}
    shapes = {"context": (n, 12), "action_context": (12, 12)}
    for key, dtype in dtypes.items():
        assert feedback[key].dtype == dtype, key
        assert feedback[key].shape == shapes.get(key, (n,)), key
    assert isinstance(feedback["n_rounds"], int) and isinstance(feedback["n_actions"], int)
    obp_check_bandit_feedback_inputs(
        feedback["context"], feedback["action"], feedback["reward"], position=feedback["position"],
        pscore=feedback["pscore"], action_context=feedback["action_context"])
    np.testing.assert_array_equal(feedback["action"], logs.a[impressions])
    np.testing.assert_array_equal(feedback["reward"], logs.c[impressions])
    np.testing.assert_array_equal(feedback["pscore"], np.full(n, 1 / 12))
    np.testing.assert_array_equal(feedback["position"], 0)
    np.testing.assert_array_equal(feedback["action_context"], np.eye(12))


def test_context_counts_each_users_views_before_the_impression(logs):
    feedback = to_obp(logs, 12)
    expected = views_before_reference(logs, 12)
    np.testing.assert_array_equal(feedback["context"], expected)
    assert expected.sum(axis=1).min() >= 1    # every impression follows a session
    shuffled, _ = shuffle_users(logs, 1)
    assert not np.array_equal(shuffled.u, logs.u)
    np.testing.assert_array_equal(to_obp(shuffled, 12)["context"], views_before_reference(shuffled, 12))


def test_ipw_of_the_logging_policy_is_the_mean_reward(logs):
    feedback = to_obp(logs, 12)
    uniform = np.full((feedback["n_rounds"], 12, 1), 1 / 12)
    assert obp_ipw(feedback, uniform) == pytest.approx(feedback["reward"].mean(), rel=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_ipw_estimates_the_true_click_probability(make_env, seed):
    # Seed contract: any seed passes; the margin is 6 standard deviations.
    # Under uniform logging, rounds showing product k are a fair sample of all
    # rounds, so the IPW value of "always k" and the mean true click
    # probability of those rounds estimate the same number.
    env = make_env("reco-gym-v1", random_seed=seed, num_products=5)
    feedback = to_obp(env.simulate(2000), 5)
    n, product = feedback["n_rounds"], 2
    always = np.zeros((n, 5, 1))
    always[:, product, 0] = 1.0
    ipw = obp_ipw(feedback, always)
    shown = feedback["action"] == product
    truth = feedback["click_probability"][shown].mean()
    p = feedback["click_probability"][shown]
    sd = np.sqrt((p * (1 - p)).sum()) * 5 / n
    assert abs(ipw - truth * shown.mean() * 5) < 6 * sd
    assert 0.005 < truth < 0.05


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
def test_expected_reward_is_the_true_click_probability_of_every_product(make_env, model):
    env = make_env(model, random_seed=6, num_products=12, num_clusters=3)
    logs = env.simulate(150, num_organic_users=5)
    feedback = to_obp(logs, env=env)
    n = feedback["n_rounds"]
    expected = feedback["expected_reward"]
    assert expected.dtype == np.float64 and expected.shape == (n, 12) and feedback["n_actions"] == 12
    obp_check_bandit_feedback_inputs(
        feedback["context"], feedback["action"], feedback["reward"], expected_reward=expected,
        position=feedback["position"], pscore=feedback["pscore"], action_context=feedback["action_context"])
    np.testing.assert_allclose(expected[np.arange(n), feedback["action"]], feedback["click_probability"],
                               rtol=1e-13, atol=0)
    assert np.all((0 < expected) & (expected < 1)) and expected.std(axis=1).mean() > 1e-3
    # Interleaved users give the same rounds, in the new order.
    shuffled, order = shuffle_users(logs, 2)
    original_round = (np.cumsum(logs.z == 1) - 1)[order[shuffled.z == 1]]
    np.testing.assert_array_equal(to_obp(shuffled, env=env)["expected_reward"], expected[original_round])


def test_expected_reward_needs_the_env_that_simulated_the_logs(make_env, logs):
    with pytest.raises(ValueError, match="replayed"):
        to_obp(logs, env=make_env("reco-gym-v1", random_seed=7, num_products=12))
    with pytest.raises(ValueError, match="rng='default'"):
        to_obp(logs, env=make_env("reco-gym-v1", random_seed=6, num_products=12, rng="legacy"))
    with pytest.raises(ValueError, match="num_products"):
        to_obp(logs, 13, env=make_env("reco-gym-v1", random_seed=6, num_products=12))


def test_num_products_is_inferred_or_checked(logs):
    assert to_obp(logs)["n_actions"] == 12
    assert to_obp(logs, 20)["context"].shape[1] == 20
    with pytest.raises(ValueError, match="num_products"):
        to_obp(logs, 5)
    with pytest.raises(ValueError, match="num_products"):
        to_obp(logs, 0)


def test_propensities_must_be_positive(logs):
    bad = Logs(**{name: column.copy() for name, column in logs.columns().items()})
    bad.ps[np.flatnonzero(bad.z == 1)[3]] = 0.0
    with pytest.raises(ValueError, match="ps"):
        to_obp(bad, 12)


def test_organic_only_logs_have_no_rounds(make_env):
    logs = make_env(random_seed=1).simulate(0, num_organic_users=10)
    feedback = to_obp(logs, 10)
    assert feedback["n_rounds"] == 0 and feedback["context"].shape == (0, 10)


def test_with_obp(make_env):
    obp_ope = import_obp("obp.ope")
    check_bandit_feedback_inputs = import_obp("obp.utils").check_bandit_feedback_inputs

    env = make_env("reco-gym-v1", random_seed=6, num_products=12)
    feedback = to_obp(env.simulate(300), env=env)
    check_bandit_feedback_inputs(
        context=feedback["context"], action=feedback["action"], reward=feedback["reward"],
        expected_reward=feedback["expected_reward"], position=feedback["position"], pscore=feedback["pscore"],
        action_context=feedback["action_context"])
    action_dist = np.zeros((feedback["n_rounds"], 12, 1))
    action_dist[:, 4, 0] = 1.0
    ope = obp_ope.OffPolicyEvaluation(bandit_feedback=feedback,
                                      ope_estimators=[obp_ope.InverseProbabilityWeighting()])
    estimate = ope.estimate_policy_values(action_dist=action_dist)["ipw"]
    assert estimate == pytest.approx(obp_ipw(feedback, action_dist), rel=1e-12)


def test_a_generate_logs_dataframe_gives_the_same_feedback(make_env):
    frame = make_env("reco-gym-v1", random_seed=6, num_products=12).generate_logs(200, num_organic_offline_users=10)
    logs = make_env("reco-gym-v1", random_seed=6, num_products=12).simulate(200, num_organic_users=10)
    from_frame, from_logs = to_obp(frame, 12), to_obp(logs, 12)
    assert from_frame.keys() == from_logs.keys() and from_frame["n_rounds"] > 100
    for key in from_logs.keys() - {"click_probability", "n_rounds", "n_actions"}:
        np.testing.assert_array_equal(from_frame[key], from_logs[key], err_msg=key)
    assert np.isnan(from_frame["click_probability"]).all()
    with pytest.raises(ValueError, match="lack the columns"):
        to_obp(frame.drop(columns="ps"), 12)


@pytest.fixture
def trained(make_env):
    env = make_env("reco-gym-v1", random_seed=6, num_products=12)
    agent = PopularityAgent({"num_products": 12})
    agent.train_logs(env.simulate(300, first_user=10_000))
    return env, agent


def test_action_dist_in_obp_form_gives_evaluate_policys_ips(trained):
    env, agent = trained
    logs = env.simulate(300)
    shuffled, _ = shuffle_users(logs, seed=3)
    for source in (logs, shuffled, shuffled.to_pandas()):
        feedback, dist = to_obp(source, 12), action_dist(agent, source)
        assert dist.shape == (feedback["n_rounds"], 12, 1)
        obp_check_ope_inputs(dist, feedback["position"], feedback["action"], feedback["reward"], feedback["pscore"])
        table = recogym.evaluate_policy(source, agent).set_index("estimator")
        assert obp_ipw(feedback, dist) == pytest.approx(table.loc["IPS", "estimate"], rel=1e-12)
    with pytest.raises(TypeError, match="policy"):
        action_dist(object(), logs)


def test_obp_estimators_equal_evaluate_policy(trained):
    """OBP's IPW, SNIPW, DM and DR on to_obp's feedback and action_dist equal
    recogym.evaluate_policy's IPS, SNIPS, DM and DR with the same reward model."""
    obp_ope = import_obp("obp.ope")
    env, agent = trained
    logs = env.simulate(400)
    feedback = to_obp(logs, env=env)
    reward_model = feedback["expected_reward"]  # the truth: any (rounds, P) model would do
    ope = obp_ope.OffPolicyEvaluation(bandit_feedback=feedback, ope_estimators=[
        obp_ope.InverseProbabilityWeighting(), obp_ope.SelfNormalizedInverseProbabilityWeighting(),
        obp_ope.DirectMethod(), obp_ope.DoublyRobust()])
    theirs = ope.estimate_policy_values(action_dist=action_dist(agent, logs),
                                        estimated_rewards_by_reg_model=reward_model[:, :, np.newaxis])
    ours = recogym.evaluate_policy(logs, agent, reward_model=reward_model).set_index("estimator")["estimate"]
    for obp_name, name in (("ipw", "IPS"), ("snipw", "SNIPS"), ("dm", "DM"), ("dr", "DR")):
        assert theirs[obp_name] == pytest.approx(ours[name], rel=1e-10), name
