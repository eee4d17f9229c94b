"""The default mode against the model's analytic values.

Each test holds for every seed of its range; bounds are six standard errors
(or a chi-square tail of 1e-9), so a correct simulator fails one of these
with probability below about 1e-8.
"""
import numpy as np
import pytest
from scipy import stats

from recogym import _core

SEEDS = range(3)
Z = 6.0


def assert_proportion(successes, trials, p, what):
    se = np.sqrt(p * (1 - p) / trials)
    assert abs(successes / trials - p) < Z * se, f"{what}: {successes / trials:.5f} vs {p:.5f} (se {se:.5f})"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
def test_organic_session_length_is_geometric(make_env, seed, model):
    to_bandit, leave = 0.25, 0.01
    env = make_env(model, random_seed=seed, prob_organic_to_bandit=to_bandit, prob_leave_organic=leave)
    logs = env.simulate(0, num_organic_users=20_000)
    lengths = np.bincount(logs.u)
    p_end = to_bandit + leave
    mean, var = 1 / p_end, (1 - p_end) / p_end**2
    assert abs(lengths.mean() - mean) < Z * np.sqrt(var / len(lengths))
    assert_proportion((lengths == 1).sum(), len(lengths), p_end, "P(L = 1)")
    assert_proportion((lengths == 2).sum(), len(lengths), (1 - p_end) * p_end, "P(L = 2)")


@pytest.mark.parametrize("seed", SEEDS)
def test_fraction_leaving_before_any_bandit_event(make_env, seed):
    to_bandit, leave = 0.25, 0.01
    users = 20_000
    env = make_env(random_seed=seed, prob_organic_to_bandit=to_bandit, prob_leave_organic=leave)
    logs = env.simulate(users)
    with_impressions = np.unique(logs.u[logs.z == _core.BANDIT_STATE]).size
    assert_proportion(users - with_impressions, users, leave / (to_bandit + leave), "left before a bandit event")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("model,rng", [("reco-gym-v1", "default"), ("reco-gym-v0", "default"),
                                       ("reco-gym-v1", "legacy"), ("reco-gym-v0", "legacy")])
def test_ctr_equals_mean_true_click_probability(make_env, seed, model, rng):
    env = make_env(model, random_seed=seed, rng=rng, num_products=10)
    logs = env.simulate(5_000)
    impressions = logs.z == _core.BANDIT_STATE
    p = logs.click_probability[impressions]
    clicks = logs.c[impressions].sum()
    assert abs(clicks - p.sum()) < Z * np.sqrt((p * (1 - p)).sum())
    assert 0.005 < p.mean() < 0.2


@pytest.mark.parametrize("seed", SEEDS)
def test_bandit_row_uses_prob_leave_bandit(make_env, seed):
    """0.1.3.0 used prob_leave_organic here; the default mode uses prob_leave_bandit."""
    leave_bandit = 0.2
    env = make_env(random_seed=seed, prob_leave_bandit=leave_bandit, prob_bandit_to_organic=0.05)
    logs = env.simulate(20_000)
    impressions = np.flatnonzero((logs.z == _core.BANDIT_STATE) & (logs.c == 0))
    last_of_user = np.append(logs.u[1:] != logs.u[:-1], True)
    assert_proportion(last_of_user[impressions].sum(), impressions.size, leave_bandit, "P(leave | bandit)")


@pytest.mark.parametrize("seed", SEEDS)
def test_organic_views_follow_the_softmax(make_env, seed):
    """With a frozen omega, view frequencies match softmax(Gamma omega + mu)."""
    env = make_env(random_seed=seed, sigma_omega=0.0, prob_organic_to_bandit=0.0, prob_leave_organic=1e-5,
                   sigma_mu_organic=1.0)
    env.reset(0)
    omega = env._slots.engine.state["omega"][0].copy()
    views = np.array(env.step(None)[0].get_views())
    assert views.size > 20_000
    static = env.simulation.static
    logits = static["gamma"] @ omega + static["mu_organic"]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    counts = np.bincount(views, minlength=p.size)
    statistic = ((counts - views.size * p) ** 2 / (views.size * p)).sum()
    assert statistic < stats.chi2.isf(1e-9, p.size - 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_cluster_model_views_stay_in_cluster(make_env, seed):
    env = make_env("reco-gym-v0", random_seed=seed, num_products=12, num_clusters=3)
    logs = env.simulate(200)
    organic = logs.z == _core.ORGANIC_STATE
    for user in np.unique(logs.u[organic]):
        assert np.unique(logs.v[organic & (logs.u == user)] // 4).size == 1
