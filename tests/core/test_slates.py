"""Slates in the engine: the kernel against the numpy reference bit for bit,
one-product envs unchanged, and the click models' statistics against their
analytic values."""
import numpy as np
import pytest

from recogym._reference import reference_logs, reference_slate_logs
from recogym.logs import SLATE_COLUMN_DTYPES
from recogym.policies import UserPopularityRanking
from recogym.session import SlateAction

CASES = [
    ("reco-gym-v1", {"slate_size": 3}),
    ("reco-gym-v1", {"slate_size": 5, "click_model": "cascade"}),
    ("reco-gym-v1", {"slate_size": 4, "click_model": "cascade", "cascade_continuation": 0.7,
                     "num_products": 30, "K": 3, "time_generator": "normal"}),
    ("reco-gym-v1", {"slate_size": 2, "examination": [0.9, 0.2], "change_omega_for_bandits": True}),
    ("reco-gym-v1", {"slate_size": 10, "position_decay": 0.8}),          # k = P: every product shown
    ("reco-gym-v1", {"slate_size": 3, "num_products": 300, "K": 7}),
    ("reco-gym-v0", {"slate_size": 3}),
    ("reco-gym-v0", {"slate_size": 4, "num_products": 20, "num_clusters": 4, "click_model": "cascade"}),
    # Post-click landing: the session after a click starts at the top-most clicked product.
    ("reco-gym-v1", {"slate_size": 3, "organic_after_click": "clicked", "examination": [1, 1, 1]}),
    ("reco-gym-v0", {"slate_size": 3, "organic_after_click": "clicked", "click_model": "cascade"}),
]


def assert_slate_logs_equal(logs, expected):
    for name, column in expected.items():
        if name.startswith("slate_"):
            actual = getattr(logs.slate, name[len("slate_"):])
        else:
            actual = getattr(logs, name)
        np.testing.assert_array_equal(actual, column, err_msg=name)
        assert actual.dtype == column.dtype, name


@pytest.mark.parametrize("model,args", CASES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CASES)])
@pytest.mark.parametrize("seed", [0, 11, 2**63 + 5])
def test_slate_kernel_matches_reference(make_env, config_of, model, args, seed):
    env = make_env(model, random_seed=seed, **args)
    logs = env.simulate(10, num_organic_users=2, first_user=30)
    expected = reference_slate_logs(model, config_of(model, random_seed=seed, **args), 10, 2, first_user=30)
    assert logs.impressions.sum() > 50
    assert_slate_logs_equal(logs, expected)


@pytest.mark.parametrize("model,args", CASES[:3] + CASES[6:7], ids=str)
@pytest.mark.parametrize("explore", [0.0, 0.3, 1.0])
def test_popularity_ranking_matches_reference(make_env, config_of, model, args, explore):
    policy = UserPopularityRanking(explore)
    logs = make_env(model, random_seed=5, **args).simulate(10, num_organic_users=1, policy=policy)
    expected = reference_slate_logs(model, config_of(model, random_seed=5, **args), 10, 1, explore=explore)
    assert_slate_logs_equal(logs, expected)


def test_lockstep_slates_match_one_at_a_time(make_env, monkeypatch):
    """The lockstep strategy (large Gamma) writes the same slate rows."""
    from recogym.sim import simulate

    args = {"num_products": 400, "K": 4, "slate_size": 3, "click_model": "cascade", "random_seed": 2}
    one = make_env(**args).simulate(40)
    monkeypatch.setattr(simulate, "LOCKSTEP_MIN_GAMMA_BYTES", 0)
    env = make_env(**args)
    assert simulate.uses_lockstep(env.simulation)
    many = env.simulate(40)
    for name in SLATE_COLUMN_DTYPES:
        np.testing.assert_array_equal(getattr(one.slate, name), getattr(many.slate, name), err_msg=name)
    np.testing.assert_array_equal(one.c, many.c)


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
@pytest.mark.parametrize("click_model", ["pbm", "cascade"])
def test_slate_size_one_is_the_one_product_model(make_env, config_of, model, click_model):
    """slate_size=1 (with either click model) gives the logs of no slate args, bit for bit."""
    plain = make_env(model, random_seed=4).simulate(20, num_organic_users=2)
    one = make_env(model, random_seed=4, slate_size=1, click_model=click_model).simulate(20, num_organic_users=2)
    assert one.slate is None and plain.slate is None
    for name in ("t", "u", "z", "v", "a", "c", "ps", "click_probability"):
        np.testing.assert_array_equal(getattr(one, name), getattr(plain, name), err_msg=name)
    expected = reference_logs(model, config_of(model, random_seed=4), 20, 2)
    np.testing.assert_array_equal(plain.c, expected["c"])


def test_slate_propensities(make_env):
    P, k = 12, 3
    logs = make_env(num_products=P, slate_size=k, random_seed=1).simulate(30)
    feedback = logs.slate_feedback()
    n = len(feedback["pscore"])
    assert n > 100
    # Distinct products in every slate; the top one is logs.a.
    assert all(len(set(row)) == k for row in feedback["slates"].tolist())
    np.testing.assert_array_equal(feedback["slates"][:, 0], logs.a[logs.impressions])
    np.testing.assert_allclose(feedback["pscore_item_position"], 1.0 / P)
    np.testing.assert_allclose(feedback["pscore_cascade"], np.cumprod(1.0 / (P - np.arange(k))) * np.ones((n, 1)))
    np.testing.assert_array_equal(feedback["pscore"], feedback["pscore_cascade"][:, -1])
    assert np.all(logs.slate.a[logs.organic] == -1) and np.all(np.isnan(logs.slate.click_probability[logs.organic]))
    # c is "any position clicked"; click_probability its probability (PBM: 1 - prod(1 - q)).
    np.testing.assert_array_equal(logs.c[logs.impressions], feedback["clicks"].max(axis=1))
    np.testing.assert_allclose(logs.click_probability[logs.impressions],
                               1 - np.prod(1 - feedback["click_probability"], axis=1))


def test_uniform_slates_are_uniform(make_env):
    """Every product equally often at every position (5-sigma bounds)."""
    P, k = 6, 3
    logs = make_env(num_products=P, slate_size=k, random_seed=9, prob_leave_bandit=0.05).simulate(3000)
    slates = logs.slate_feedback()["slates"]
    n = len(slates)
    sigma = np.sqrt(n * (1 / P) * (1 - 1 / P))
    for j in range(k):
        counts = np.bincount(slates[:, j], minlength=P)
        assert np.all(np.abs(counts - n / P) < 5 * sigma), (j, counts)


def _statistics_env(make_env, **args):
    # Long bandit runs, omega fixed while the user is shown slates: many impressions per user.
    return make_env(num_products=8, random_seed=13, prob_leave_bandit=0.002, prob_bandit_to_organic=0.002,
                    **args)


def test_pbm_ctr_per_position_is_examination_times_click_probability(make_env):
    """Under PBM the clicks at position j average examination[j] * p(product at j)."""
    examination = [1.0, 0.6, 0.25, 0.1]
    env = _statistics_env(make_env, slate_size=4, examination=examination)
    logs = env.simulate(400)
    feedback = logs.slate_feedback()
    clicks, q = feedback["clicks"], feedback["click_probability"]
    n = len(clicks)
    assert n > 100_000
    assert np.all(q[:, 0] > 0)   # position 0 is examined with probability 1
    # The clicks follow the logged probabilities (which the next test ties to the
    # products' click probabilities): the sum of Bernoulli(q) against its mean.
    for j in range(4):
        expected, variance = q[:, j].sum(), (q[:, j] * (1 - q[:, j])).sum()
        assert abs(clicks[:, j].sum() - expected) < 6 * np.sqrt(variance), j


def test_pbm_marginals_are_examination_times_product_click_probability(make_env):
    """Each logged per-position probability is examination[j] times the
    user's click probability of that product, as the env reports it."""
    env = make_env(num_products=10, slate_size=3, examination=[0.9, 0.5, 0.3], random_seed=3)
    env.reset(0)
    env.step(None)
    for _ in range(20):
        slate = [1, 7, 4]
        expected = [env.click_probability(a) for a in slate]
        _, _, done, info = env.step(slate)
        np.testing.assert_array_equal(info["slate_click_probability"],
                                      np.array([0.9, 0.5, 0.3]) * np.array(expected))
        if done:
            break


def test_cascade_click_per_position_is_the_cascade_product(make_env):
    """Under the cascade the logged probability of a click at j is
    prod_{i<j} (1 - p_i) c^j p_j, and the clicks follow it (6 sigma);
    never more than one click per slate."""
    for continuation in (1.0, 0.6):
        args = {"cascade_continuation": continuation} if continuation < 1 else {}
        env = _statistics_env(make_env, slate_size=4, click_model="cascade", **args)
        logs = env.simulate(300)
        feedback = logs.slate_feedback()
        clicks, q = feedback["clicks"], feedback["click_probability"]
        assert len(clicks) > 50_000
        assert clicks.sum(axis=1).max() == 1
        p0 = q[:, 0]
        # Recover p_j from the marginals: q_j = q_{j-1} (1 - p_{j-1}) c p_j / p_{j-1}.
        p = np.empty_like(q)
        p[:, 0] = p0
        reach = np.ones(len(q))
        for j in range(1, 4):
            reach = reach * (1 - p[:, j - 1]) * continuation
            p[:, j] = q[:, j] / reach
        assert np.all((p > 0) & (p < 1))
        for j in range(4):
            expected, variance = q[:, j].sum(), (q[:, j] * (1 - q[:, j])).sum()
            assert abs(clicks[:, j].sum() - expected) < 6 * np.sqrt(variance), (continuation, j)
        np.testing.assert_allclose(logs.click_probability[logs.impressions], q.sum(axis=1))


def test_cascade_marginals_match_the_products_click_probabilities(make_env):
    env = make_env(num_products=10, slate_size=3, click_model="cascade", cascade_continuation=0.5, random_seed=8)
    env.reset(2)
    env.step(None)
    slate = [3, 0, 9]
    p = np.array([env.click_probability(a) for a in slate])
    _, _, _, info = env.step(slate)
    expected = [p[0], (1 - p[0]) * 0.5 * p[1], (1 - p[0]) * 0.5 * (1 - p[1]) * 0.5 * p[2]]
    np.testing.assert_allclose(info["slate_click_probability"], expected, rtol=1e-14)


@pytest.mark.parametrize("workers", [1, 2])
def test_slate_logs_do_not_depend_on_workers(workers):
    from recogym.sim.parallel import simulate_parallel

    args = {"num_products": 15, "slate_size": 3, "click_model": "cascade", "random_seed": 21}
    whole = simulate_parallel(args, 60, chunk_users=60)
    parts = simulate_parallel(args, 60, chunk_users=7, workers=workers, policy=None)
    for name in SLATE_COLUMN_DTYPES:
        np.testing.assert_array_equal(getattr(whole.slate, name), getattr(parts.slate, name), err_msg=name)
    np.testing.assert_array_equal(whole.t, parts.t)


def test_landing_follows_the_top_most_click(make_env):
    logs = make_env(slate_size=3, organic_after_click="clicked", examination=[1, 1, 1], random_seed=3).simulate(200)
    rows = np.flatnonzero(logs.impressions & (logs.c == 1))
    assert len(rows) > 20
    for row in rows:
        if row + 1 < len(logs) and logs.u[row + 1] == logs.u[row]:
            first = int(np.argmax(logs.slate.c[row]))
            assert logs.z[row + 1] == 0 and logs.v[row + 1] == logs.slate.a[row, first]


def test_slates_refuse_conversions(make_env):
    with pytest.raises(ValueError, match="with_conversions.*slates"):
        make_env(slate_size=2, with_conversions=True)


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
def test_slate_size_one_leaves_legacy_mode_alone(make_env, model):
    """rng='legacy' takes slate_size=1 and gives 0.1.3.0's logs unchanged."""
    plain = make_env(model, rng="legacy", random_seed=4)
    one = make_env(model, rng="legacy", random_seed=4, slate_size=1)
    a, b = plain.generate_logs(6), one.generate_logs(6)
    assert a.equals(b)
    x, y = plain.simulate(6), one.simulate(6)
    for name in x.column_names:
        np.testing.assert_array_equal(getattr(x, name), getattr(y, name), err_msg=name)
    with pytest.raises(ValueError, match="rng='legacy'"):
        make_env(model, rng="legacy", slate_size=2)


def test_the_public_names():
    import recogym

    assert recogym.SlateAction is SlateAction and recogym.UserPopularityRanking is UserPopularityRanking
