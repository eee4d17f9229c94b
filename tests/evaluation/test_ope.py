"""Off-policy estimates against the simulator's truth.

Where a test bounds an error by a number of standard deviations, the
standard deviation is the exact one, computed from the true click
probabilities of every product (``expected_rewards``) and the known logging
and target probabilities: given everything before an impression, each
estimator's term minus its expectation has mean 0, so the error is a sum of
martingale differences whose variance is the sum of the terms' conditional
variances. A bound of 6 such deviations fails by chance with probability
2e-9.
"""
import dataclasses

import numpy as np
import pandas as pd
import pytest

import recogym
from recogym.agents import RandomAgent
from recogym.agents.features import impression_features
from recogym.logs import Logs
from recogym.obp import expected_rewards
from recogym.ope import ESTIMATORS, evaluate_policy, verify_agents_IPS

P = 10
SKEWED = np.array([0.5, 0.2, 0.1, 0.05, 0.05, 0.04, 0.03, 0.01, 0.01, 0.01])


class FixedPolicy:
    """The same probabilities for every user."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, dtype=np.float64)
        self.num_products = len(self.probabilities)

    def policy(self, batch):
        return np.broadcast_to(self.probabilities, (len(batch.user_ids), self.num_products))


class ViewProportional:
    """A stochastic target that depends on the user: in proportion to the
    user's view counts plus one."""

    num_products = P

    def policy(self, batch):
        return proportional_to_views(batch.view_counts)


def proportional_to_views(view_counts):
    weights = np.asarray(view_counts) + 1.0
    return weights / weights.sum(axis=1, keepdims=True)


def simulated(seed, users=200, policy=None, model="reco-gym-v1", **args):
    env = recogym.make(model)
    env.init_gym({"random_seed": seed, **args})
    logs = env.simulate(users, policy=policy)
    assert np.all(np.diff(logs.u) >= 0)   # the tests' own per-impression arrays follow the logs' order
    return env, logs


def logged(logs):
    impression = logs.z == 1
    return logs.a[impression].astype(np.int64), logs.c[impression].astype(np.float64), logs.ps[impression]


# -- IPS is unbiased ------------------------------------------------------------

COVERAGE_SEEDS = range(12)


@pytest.fixture(scope="module")
def ips_runs():
    """IPS of a user-dependent stochastic target on uniform logs, one run per
    seed, with the exact standard deviation of its error."""
    runs = []
    for seed in COVERAGE_SEEDS:
        env, logs = simulated(seed)
        frame = evaluate_policy(logs, ViewProportional(), env=env).set_index("estimator")
        target = proportional_to_views(impression_features(logs, P).views)
        truth = expected_rewards(env, logs)
        uniform = 1.0 / P
        # Var(w c | past) = sum_a mu_a (pi_a / mu_a)^2 p_a - (sum_a pi_a p_a)^2, with mu = 1/P.
        variance = (target**2 / uniform * truth).sum(axis=1) - ((target * truth).sum(axis=1)) ** 2
        runs.append((frame.loc["IPS"], np.sqrt(variance.sum()) / len(variance)))
    return runs


def test_ips_interval_covers_the_truth(ips_runs):
    """The truth lies in IPS's 95% interval for at least 7 of 12 seeds.

    If the interval had exactly its nominal coverage, the count would be
    Binomial(12, 0.95), and P(count <= 6) = 1.1e-5 (7.5e-5 at a coverage of
    93%). The interval is if anything conservative here: it is meant for
    the value over the logging policy's population of users, which varies
    more than the truth on the logged users does. A biased IPS, or target
    probabilities misaligned with the impressions, would miss most seeds.
    """
    covered = sum(row["low"] <= row["truth"] <= row["high"] for row, _ in ips_runs)
    assert covered >= 7


def test_ips_error_is_within_its_exact_deviation(ips_runs):
    z = np.array([row["error"] / deviation for row, deviation in ips_runs])
    assert np.abs(z).max() <= 6
    assert abs(z.sum()) / np.sqrt(len(z)) <= 6      # pooled: a bias of 1.7 deviations per seed fails


# -- SNIPS -----------------------------------------------------------------------


def synthetic_logs(generator, users, impressions_per_user, click_rate):
    """Logs whose clicks are independent of everything at ``click_rate``,
    under the skewed logging policy: one organic view, then the impressions."""
    rows_per_user = impressions_per_user + 1
    n = users * rows_per_user
    z = np.tile(np.r_[0, np.ones(impressions_per_user)], users).astype(np.int8)
    impression = z == 1
    actions = np.full(n, -1, dtype=np.int32)
    actions[impression] = generator.choice(P, size=impression.sum(), p=SKEWED)
    clicks = np.full(n, -1, dtype=np.int8)
    clicks[impression] = generator.random(impression.sum()) < click_rate
    return Logs(
        t=np.tile(np.arange(rows_per_user, dtype=np.float64), users),
        u=np.repeat(np.arange(users, dtype=np.int64), rows_per_user),
        z=z,
        v=np.where(impression, -1, 0).astype(np.int32),
        a=actions,
        c=clicks,
        ps=np.where(impression, SKEWED[np.maximum(actions, 0)], np.nan),
        click_probability=np.where(impression, click_rate, np.nan),
    )


@pytest.mark.parametrize("seed", range(3))
def test_snips_has_lower_variance_than_ips_under_skewed_weights(seed):
    """With weights w (a uniform target on skewed logs) and clicks at rate q
    independent of the action, IPS's term ``w c`` has variance
    ``q E[w^2] - q^2`` and SNIPS's (delta method) ``q (1 - q) E[w^2]``:
    SNIPS drops the noise of the weights' total, ``q^2 Var(w)``. Both
    reported standard errors must match these within 5% (on 40,000
    impressions their own relative noise is under 1%).

    The gain grows with the CTR: at RecoGym's CTRs of 1-3% it is about 1%
    of the variance, too small to show reliably, so the clicks here are
    synthetic, at q = 0.5.
    """
    generator = np.random.Generator(np.random.PCG64(seed))
    q = 0.5
    logs = synthetic_logs(generator, users=2000, impressions_per_user=20, click_rate=q)
    frame = evaluate_policy(logs, RandomAgent()).set_index("estimator")
    mean_square_weight = float((SKEWED * (0.1 / SKEWED) ** 2).sum())
    n = int((logs.z == 1).sum())
    expected_ips = np.sqrt((q * mean_square_weight - q**2) / n)
    expected_snips = np.sqrt(q * (1 - q) * mean_square_weight / n)
    assert frame.loc["IPS", "std_error"] == pytest.approx(expected_ips, rel=0.05)
    assert frame.loc["SNIPS", "std_error"] == pytest.approx(expected_snips, rel=0.05)
    assert frame.loc["SNIPS", "std_error"] < 0.85 * frame.loc["IPS", "std_error"]   # expected ratio 0.75


def test_snips_is_nan_when_the_target_never_takes_a_logged_action():
    env, logs = simulated(0, users=50, policy=np.r_[1.0, np.zeros(P - 1)])
    frame = evaluate_policy(logs, FixedPolicy(np.r_[0.0, 1.0, np.zeros(P - 2)]), env=env).set_index("estimator")
    assert np.isnan(frame.loc["SNIPS", "estimate"])
    assert frame.loc["IPS", "estimate"] == 0.0


# -- DM and DR -----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_dm_and_dr_with_the_true_reward_model(seed):
    """With the true click probabilities as reward model, DM is the truth
    and DR's error is the weighted click noise ``w_i (c_i - p(a_i|x_i))``."""
    env, logs = simulated(seed, policy=SKEWED)
    truth = expected_rewards(env, logs)
    frame = evaluate_policy(logs, ViewProportional(), env=env, reward_model=truth).set_index("estimator")
    assert frame.loc["DM", "error"] == 0.0
    actions, _, propensities = logged(logs)
    target = proportional_to_views(impression_features(logs, P).views)
    rows = np.arange(len(actions))
    weights = target[rows, actions] / propensities
    p = truth[rows, actions]
    deviation = np.sqrt((weights**2 * p * (1 - p)).sum()) / len(actions)
    assert abs(frame.loc["DR", "error"]) <= 6 * deviation


def test_dr_weights_the_residuals_of_any_reward_model():
    """With a constant reward model k, DR = k + IPS - k mean(w): exactly IPS
    for k = 0, and the weights' mean enters for any other k."""
    env, logs = simulated(4, policy=SKEWED)
    actions, _, propensities = logged(logs)
    target = proportional_to_views(impression_features(logs, P).views)
    mean_weight = (target[np.arange(len(actions)), actions] / propensities).mean()
    for k in (0.0, 0.3):
        frame = evaluate_policy(logs, ViewProportional(), reward_model=np.full((len(actions), P), k))
        frame = frame.set_index("estimator")["estimate"]
        assert frame["DM"] == pytest.approx(k, rel=1e-12, abs=0)
        assert frame["DR"] == pytest.approx(k + frame["IPS"] - k * mean_weight, rel=1e-12)
        if k == 0.0:
            assert frame["DR"] == frame["IPS"]


def test_default_reward_model_is_the_shrunk_ctr_of_last_view_and_action():
    """Checked against pandas: with almost no shrinkage, DM of "always
    product k" is the mean over impressions of the logged CTR of (last view,
    k), or of k alone where that pair was never logged; with overwhelming
    shrinkage, every pair's CTR is the overall CTR."""
    env, logs = simulated(2, users=300, model="reco-gym-v0", phi_var=4.0)
    features = impression_features(logs, P)
    data = pd.DataFrame({"last_view": features.last_view, "action": features.actions, "click": features.clicks})
    pair_ctr = data.groupby(["last_view", "action"])["click"].mean()
    action_ctr = data.groupby("action")["click"].mean()
    for k in (0, 7):
        always_k = FixedPolicy(np.eye(P)[k])
        expected = np.mean([pair_ctr.get((view, k), action_ctr[k]) for view in features.last_view])
        dm = evaluate_policy(logs, always_k, shrinkage=1e-9).set_index("estimator").loc["DM", "estimate"]
        assert dm == pytest.approx(expected, rel=1e-6)
        flat = evaluate_policy(logs, always_k, shrinkage=1e12).set_index("estimator").loc["DM", "estimate"]
        assert flat == pytest.approx(features.clicks.mean(), rel=1e-6)


# -- the truth -------------------------------------------------------------------


def test_truth_of_a_deterministic_logging_policy_is_its_mean_click_probability():
    product = np.eye(P)[3]
    env, logs = simulated(5, policy=product)
    frame = evaluate_policy(logs, FixedPolicy(product), env=env).set_index("estimator")
    impression = logs.z == 1
    assert frame["truth"].iloc[0] == pytest.approx(logs.click_probability[impression].mean(), rel=1e-12)
    assert frame.loc["IPS", "estimate"] == logs.c[impression].mean()


@pytest.mark.parametrize("seed", range(3))
def test_truth_of_a_stochastic_logging_policy_is_its_expected_click_probability(seed):
    """The logs' click_probability is p(a_i|x_i) for the drawn a_i; the truth
    is its expectation over the policy, sum_a mu_a p(a|x_i)."""
    env, logs = simulated(seed, policy=SKEWED)
    frame = evaluate_policy(logs, FixedPolicy(SKEWED), env=env)
    truth = expected_rewards(env, logs)
    variance = (SKEWED * truth**2).sum(axis=1) - (truth @ SKEWED) ** 2
    deviation = np.sqrt(variance.sum()) / len(truth)
    impression = logs.z == 1
    assert abs(frame["truth"].iloc[0] - logs.click_probability[impression].mean()) <= 6 * deviation
    assert frame["truth"].iloc[0] == pytest.approx((truth @ SKEWED).mean(), rel=1e-12)


def test_uniform_target_on_uniform_logs_estimates_the_observed_ctr():
    env, logs = simulated(7)
    frame = evaluate_policy(logs, RandomAgent(), env=env).set_index("estimator")
    _, clicks, _ = logged(logs)
    observed = clicks.sum() / len(clicks)
    for estimator in ("IPS", "clipped IPS", "SNIPS"):
        assert frame.loc[estimator, "estimate"] == observed
    assert list(frame.index) == list(ESTIMATORS)
    assert ((frame["low"] < frame["estimate"]) & (frame["estimate"] < frame["high"])).all()


def test_users_may_be_interleaved_in_the_logs():
    """Rows ordered by time across users (each user's own rows still in
    order) give the same estimates and truth: the reward model and the
    truth are aligned with each impression wherever it sits in the logs."""
    env, logs = simulated(8, policy=SKEWED)
    order = np.lexsort((logs.u, logs.t))
    interleaved = Logs(**{name: column[order] for name, column in logs.columns().items()})
    assert not np.all(np.diff(interleaved.u) >= 0)
    expected = evaluate_policy(logs, ViewProportional(), env=env)
    got = evaluate_policy(interleaved, ViewProportional(), env=env)
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, atol=0)
    model = expected_rewards(env, interleaved)
    perfect = evaluate_policy(interleaved, ViewProportional(), env=env, reward_model=model)
    assert perfect.set_index("estimator").loc["DM", "error"] == 0.0


class Recorder:
    """A uniform target that keeps every batch it is shown."""

    num_products = P

    def __init__(self):
        self.batches = []

    def policy(self, batch):
        self.batches.append(batch)
        return np.full((len(batch.user_ids), P), 1.0 / P)


def test_the_target_sees_what_each_user_had_shown_before_each_impression():
    """Checked against a plain loop over the logs' rows, on logs whose users
    are interleaved."""
    _, logs = simulated(13, users=30, policy=SKEWED)
    order = np.lexsort((logs.u, logs.t))
    logs = Logs(**{name: column[order] for name, column in logs.columns().items()})
    views, last_view, steps, seen = {}, {}, {}, []
    for u, z, v in zip(logs.u.tolist(), logs.z.tolist(), logs.v.tolist()):
        if z == 0:
            views.setdefault(u, np.zeros(P))[v] += 1
            last_view[u] = v
        else:
            seen.append((u, views.get(u, np.zeros(P)).copy(), last_view.get(u, -1), steps.get(u, 0)))
            steps[u] = steps.get(u, 0) + 1
    recorder = Recorder()
    evaluate_policy(logs, recorder)
    shown = {(int(u), int(step)): (counts, int(view))
             for batch in recorder.batches
             for u, step, counts, view in zip(batch.user_ids, batch.steps, batch.view_counts, batch.last_view)}
    assert len(shown) == len(seen)
    for u, counts, view, step in seen:
        np.testing.assert_array_equal(shown[u, step][0], counts)
        assert shown[u, step][1] == view


def test_clipping_caps_the_weights():
    env, logs = simulated(9, policy=SKEWED)
    target = RandomAgent()
    frame = evaluate_policy(logs, target, env=env, clip=2.0).set_index("estimator")
    _, clicks, propensities = logged(logs)
    assert frame.loc["clipped IPS", "estimate"] == pytest.approx(
        (np.minimum(0.1 / propensities, 2.0) * clicks).mean(), rel=1e-12)
    assert frame.loc["clipped IPS", "estimate"] < frame.loc["IPS", "estimate"]


# -- 0.1.3.0's table ---------------------------------------------------------------


def test_verify_agents_ips_from_logs_or_generate_logs_frame():
    env, logs = simulated(10)
    agents = {"random": RandomAgent(), "views": ViewProportional()}
    table = verify_agents_IPS(logs, agents)
    assert list(table.columns) == ["Agent", "0.025", "0.500", "0.975"]
    assert list(table["Agent"]) == ["random", "views"]
    for _, row in table.iterrows():
        ips = evaluate_policy(logs, agents[row["Agent"]]).set_index("estimator").loc["IPS"]
        assert (row["0.025"], row["0.500"], row["0.975"]) == (ips["low"], ips["estimate"], ips["high"])
    frame = env.generate_logs(200)
    pd.testing.assert_frame_equal(verify_agents_IPS(frame, agents), table)


# -- bad inputs --------------------------------------------------------------------


class Broken:
    num_products = P

    def __init__(self, output):
        self.output = output

    def policy(self, batch):
        return self.output(len(batch.user_ids))


@pytest.fixture(scope="module")
def small():
    return simulated(11, users=20)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"clip": 0.0}, ValueError, "clip"),
    ({"clip": True}, ValueError, "clip"),
    ({"shrinkage": float("inf")}, ValueError, "shrinkage"),
    ({"reward_model": np.zeros((3, P))}, ValueError, "reward_model"),
    ({"reward_model": "nan"}, ValueError, "reward_model"),
    ({"env": "env"}, TypeError, "env"),
])
def test_bad_options_name_the_parameter(small, kwargs, error, match):
    _, logs = small
    with pytest.raises(error, match=match):
        evaluate_policy(logs, RandomAgent(), **kwargs)


@pytest.mark.parametrize("agent, error, match", [
    (object(), TypeError, "agent must have num_products and policy"),
    (recogym.agents.PolicyAgent(object(), num_products=P), TypeError, "agent must have"),
    (Broken(lambda b: np.full((b, P - 1), 1.0 / (P - 1))), ValueError, r"agent.policy\(batch\).*shape"),
    (Broken(lambda b: np.full((b, P), 0.2)), ValueError, r"agent.policy\(batch\).*summing to 1"),
    (Broken(lambda b: np.full((b, P), np.nan)), ValueError, r"agent.policy\(batch\)"),
])
def test_bad_targets_are_named(small, agent, error, match):
    _, logs = small
    with pytest.raises(error, match=match):
        evaluate_policy(logs, agent)
    with pytest.raises(error, match=match.replace("agent", r"agents\['x'\]", 1) if error is TypeError else match):
        verify_agents_IPS(logs, {"x": agent})


def test_bad_logs_are_named(small):
    env, logs = small
    with pytest.raises(ValueError, match="logs.ps"):
        evaluate_policy(dataclasses.replace(logs, ps=np.where(logs.z == 1, 0.0, np.nan)), RandomAgent())
    with pytest.raises(ValueError, match=r"logs\.[va] holds products outside"):
        evaluate_policy(logs, RandomAgent({"num_products": 5, "random_seed": 0}))
    organic = logs.z == 0
    only_views = Logs(**{name: column[organic] for name, column in logs.columns().items()})
    with pytest.raises(ValueError, match="no impression"):
        evaluate_policy(only_views, RandomAgent())
    with pytest.raises(TypeError, match="logs must be"):
        evaluate_policy({"u": logs.u}, RandomAgent())
    with pytest.raises(ValueError, match="columns"):
        evaluate_policy(pd.DataFrame({"u": logs.u}), RandomAgent())
    with pytest.raises(TypeError, match="agents"):
        verify_agents_IPS(logs, {})


def test_the_truth_needs_the_logs_env(small):
    env, logs = small
    with pytest.raises(ValueError, match="env has 10 products"):
        evaluate_policy(logs, FixedPolicy(np.full(P + 2, 1.0 / (P + 2))), env=env)
    with pytest.raises(ValueError, match="env: .*click_probability"):
        evaluate_policy(env.generate_logs(20), RandomAgent(), env=env)
    other, _ = simulated(12, users=1)
    with pytest.raises(ValueError, match="replayed"):
        evaluate_policy(logs, RandomAgent(), env=other)
