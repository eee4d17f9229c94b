"""The Cython kernel against the plain numpy reference, bit for bit."""
import numpy as np
import pytest

from recogym._reference import reference_logs
from recogym.logs import Logs

CASES = [
    ("reco-gym-v1", {}),
    ("reco-gym-v1", {"num_products": 25, "K": 3, "number_of_flips": 4, "normalize_beta": True,
                     "change_omega_for_bandits": True, "sigma_omega": 0.3}),
    ("reco-gym-v1", {"time_generator": "normal", "normal_time_mu": 1.0, "normal_time_sigma": 2.0}),
    ("reco-gym-v1", {"num_products": 1}),
    ("reco-gym-v1", {"num_products": 300, "K": 7, "prob_leave_bandit": 0.05}),
    ("reco-gym-v0", {}),
    ("reco-gym-v0", {"num_products": 20, "num_clusters": 4, "phi_var": 0.5}),
]


def assert_logs_equal(logs: Logs, expected: dict) -> None:
    for name, column in expected.items():
        np.testing.assert_array_equal(getattr(logs, name), column, err_msg=name)


@pytest.mark.parametrize("model,args", CASES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CASES)])
@pytest.mark.parametrize("seed", [0, 7, 2**63 + 5])
def test_kernel_matches_reference(make_env, config_of, model, args, seed):
    env = make_env(model, random_seed=seed, **args)
    logs = env.simulate(12, num_organic_users=3, first_user=40)
    expected = reference_logs(model, config_of(model, random_seed=seed, **args), 12, 3, first_user=40)
    assert len(logs) > 100
    assert_logs_equal(logs, expected)


def test_user_stream_is_numpy_philox(make_env):
    """A v1 user's first latent draw is Generator(Philox(key=[seed, user])).standard_normal()."""
    env = make_env(random_seed=123, sigma_omega_initial=2.0)
    env.reset(99)
    generator = np.random.Generator(np.random.Philox(key=np.array([123, 99], dtype=np.uint64)))
    np.testing.assert_array_equal(env._slots.engine.state["omega"][0], 2.0 * generator.standard_normal(5))


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
@pytest.mark.parametrize("epsilon", [0.0, 0.01, 5.0])
def test_user_popularity_policy_matches_reference(make_env, config_of, model, epsilon):
    from recogym.policies import UserPopularity

    policy = UserPopularity(epsilon)
    logs = make_env(model, random_seed=3).simulate(15, num_organic_users=2, policy=policy)
    expected = reference_logs(model, config_of(model, random_seed=3), 15, 2, policy=policy)
    assert_logs_equal(logs, expected)
    impressions = logs.z == 1
    assert np.all((logs.ps[impressions] > 0) & (logs.ps[impressions] <= 1))
    if epsilon == 0.0:
        # Only products the user has viewed are recommended.
        for row in np.flatnonzero(impressions)[:200]:
            earlier = (logs.u[:row] == logs.u[row]) & (logs.z[:row] == 0)
            assert logs.a[row] in set(logs.v[:row][earlier])
