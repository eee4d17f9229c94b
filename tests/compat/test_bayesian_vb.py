"""BayesianAgentVB, 0.1.3.0's variational Bayes agent, on recogym (numpy
and scipy only).

The fit is checked against a dense transcription of Ormerod and Wand's
Algorithm 6 (0.1.3.0's updates, with explicit inverses) run to convergence,
against the exact posterior of a one-coefficient model, and against 0.1.3.0's
own function on the same logs (tests/fixtures/compat/make_mlr_fixtures.py);
the agent, end to end, against the random agent through test_agent.
"""
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.integrate
import scipy.special

import recogym
from recogym.agents import BayesianAgentVB, RandomAgent, random_args
from recogym.agents.bayesian_poly_vb import (
    PRIOR_MEAN,
    action_features,
    bayesian_logistic,
    bayesian_poly_args,
    click_probabilities,
    jaakkola_jordan,
    prior_covariance,
)

FIXTURE = Path(__file__).parent.parent / "fixtures" / "compat" / "mlr_vb.json.gz"

LEGACY_ARGS = {"num_products": 10, "poly_degree": 2, "max_iter": 5000, "aa": 1.0, "bb": 1.0, "with_ps_all": False}


def test_importable_from_the_0_1_3_0_paths():
    import recogym.agents.bayesian_poly_vb as module

    assert module.BayesianAgentVB is BayesianAgentVB
    assert {key: bayesian_poly_args[key] for key in LEGACY_ARGS} == LEGACY_ARGS
    assert set(bayesian_poly_args) == set(LEGACY_ARGS) | {"random_seed"}


def test_it_imports_neither_torch_nor_pystan():
    code = ("import sys, recogym.agents.bayesian_poly_vb as m; m.BayesianAgentVB(); "
            "print([name for name in ('torch', 'pystan', 'sklearn') if name in sys.modules])")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


@pytest.mark.parametrize("name, value, error", [
    ("aa", 0.0, ValueError), ("aa", -1.0, ValueError), ("aa", "one", ValueError),
    ("bb", -0.5, ValueError), ("bb", float("nan"), ValueError), ("bb", None, ValueError),
    ("max_iter", 0, ValueError), ("max_iter", 2.5, TypeError), ("num_products", 0, ValueError),
    ("with_ps_all", "yes", TypeError),
])
def test_bad_args_raise_naming_the_arg(name, value, error):
    with pytest.raises(error, match=name):
        BayesianAgentVB({**bayesian_poly_args, "num_products": 4, name: value})


def test_a_slightly_negative_bb_still_makes_a_prior():
    # K = aa I + bb ones is positive definite while aa + P bb > 0.
    BayesianAgentVB({**bayesian_poly_args, "num_products": 4, "aa": 1.0, "bb": -0.2})
    with pytest.raises(ValueError, match="bb"):
        BayesianAgentVB({**bayesian_poly_args, "num_products": 4, "aa": 1.0, "bb": -0.25})


def test_jaakkola_jordans_lambda():
    zeta = np.array([1e-9, 1e-3, 0.5, 2.0, 40.0, -2.0])
    legacy = 1 / (2 * np.abs(zeta)) * (scipy.special.expit(np.abs(zeta)) - 0.5)  # 0.1.3.0's JJ
    assert jaakkola_jordan(zeta) == pytest.approx(legacy, rel=1e-6)
    assert jaakkola_jordan(np.zeros(1))[0] == 0.125


def test_action_features_are_0_1_3_0s_kron():
    rng = np.random.Generator(np.random.PCG64(0))
    x = rng.poisson(1.0, (30, 4)).astype(float)
    a = rng.integers(0, 4, 30)
    dense = np.array([np.kron(x[n], np.eye(4)[a[n]]) for n in range(30)])
    assert np.array_equal(action_features(x, a, 4).toarray(), dense)


def reference_vb(psi, y, mu0, cov0, seed=0):
    """Ormerod and Wand's Algorithm 6 as 0.1.3.0 wrote it (explicit
    inverses, a random start), run until it stops moving, minus the rows
    without features (they add nothing, and 0.1.3.0's lambda divided by
    their zeta = 0)."""
    keep = (psi != 0).any(axis=1)
    psi, y = psi[keep], y[keep]
    zeta = np.random.Generator(np.random.PCG64(seed)).random(len(y))
    precision0 = np.linalg.inv(cov0)
    for _ in range(100000):
        lam = np.tanh(zeta / 2) / (4 * zeta)
        cov = np.linalg.inv(precision0 + 2 * (psi.T * lam) @ psi)
        mean = cov @ (psi.T @ (y - 0.5) + precision0 @ mu0)
        zeta, previous = np.sqrt(np.einsum("nd,de,ne->n", psi, cov + np.outer(mean, mean), psi)), zeta
        if np.max(np.abs(zeta - previous)) < 1e-13:
            return mean, cov
    raise AssertionError("the reference did not converge")


def small_logs(seed, n=300, p=3):
    rng = np.random.Generator(np.random.PCG64(seed))
    x = rng.poisson(0.8, (n, p)).astype(float)
    a = rng.integers(0, p, n)
    logits = (x * rng.normal(0.0, 0.7, (p, p))[a]).sum(axis=1) - 1.0
    y = (rng.random(n) < scipy.special.expit(logits)).astype(float)
    return x, a, y


def test_the_fit_is_the_fixed_point_of_0_1_3_0s_updates():
    x, a, y = small_logs(1)
    mu0, cov0 = np.full(9, -1.0), prior_covariance(3, 1.0, 0.5)
    posterior = bayesian_logistic(x, a, y, 3, mu0, cov0)
    assert posterior.converged
    mean, cov = reference_vb(action_features(x, a, 3).toarray(), y, mu0, cov0)
    assert posterior.mean == pytest.approx(mean, abs=1e-7)
    assert posterior.covariance == pytest.approx(cov, abs=1e-8)


def test_the_updates_raise_the_bound_to_its_optimum():
    x, a, y = small_logs(2)
    mu0, cov0 = np.full(9, PRIOR_MEAN), prior_covariance(3, 1.0, 1.0)
    bounds = [bayesian_logistic(x, a, y, 3, mu0, cov0, max_iter=k).bound for k in (1, 2, 5, 20, 100)]
    final = bayesian_logistic(x, a, y, 3, mu0, cov0)
    assert final.converged
    assert np.all(np.diff(bounds + [final.bound]) >= -1e-9)
    assert final.bound > bounds[0] + 1.0


def test_duplicate_rows_and_rows_without_views_change_nothing():
    x, a, y = small_logs(3, n=120)
    mu0, cov0 = np.full(9, -2.0), prior_covariance(3, 1.0, 1.0)
    once = bayesian_logistic(x, a, y, 3, mu0, cov0)
    blank = np.zeros((10, 3))
    padded = bayesian_logistic(np.vstack([x, blank]), np.r_[a, np.zeros(10, int)], np.r_[y, np.ones(10)], 3, mu0, cov0)
    assert padded.mean == pytest.approx(once.mean, abs=1e-9)
    doubled = bayesian_logistic(np.vstack([x, x]), np.r_[a, a], np.r_[y, y], 3, mu0, cov0)
    assert not np.allclose(doubled.mean, once.mean, atol=1e-3)  # twice the data: a sharper posterior
    assert np.trace(doubled.covariance) < np.trace(once.covariance)


def test_one_coefficient_matches_the_exact_posterior():
    # One product: beta is a scalar with prior N(0, 2^2); the exact posterior by quadrature.
    rng = np.random.Generator(np.random.PCG64(4))
    x = rng.poisson(2.0, 60).astype(float)[:, None]
    y = (rng.random(60) < scipy.special.expit(0.4 * x[:, 0] - 0.5)).astype(float)
    posterior = bayesian_logistic(x, np.zeros(60, int), y, 1, np.zeros(1), np.array([[4.0]]))

    def unnormalised(beta):
        logits = beta * x[:, 0]
        return np.exp(np.sum(y * logits - np.logaddexp(0, logits)) - beta**2 / 8)

    z = scipy.integrate.quad(unnormalised, -10, 10)[0]
    exact_mean = scipy.integrate.quad(lambda b: b * unnormalised(b), -10, 10)[0] / z
    exact_var = scipy.integrate.quad(lambda b: (b - exact_mean) ** 2 * unnormalised(b), -10, 10)[0] / z
    assert posterior.mean[0] == pytest.approx(exact_mean, abs=0.1 * np.sqrt(exact_var))
    assert posterior.covariance[0, 0] == pytest.approx(exact_var, rel=0.2)


def test_click_probabilities_are_posterior_means():
    x, a, y = small_logs(5)
    posterior = bayesian_logistic(x, a, y, 3, np.full(9, -1.0), prior_covariance(3, 1.0, 1.0))
    probes = np.array([[1.0, 0, 0], [0, 2, 1], [3, 1, 0]])
    draws = np.random.Generator(np.random.PCG64(6)).multivariate_normal(posterior.mean, posterior.covariance, 200000)
    monte_carlo = np.array([scipy.special.expit(np.kron(row, np.eye(3)) @ draws.T).mean(axis=1) for row in probes])
    assert click_probabilities(posterior, probes) == pytest.approx(monte_carlo, abs=3e-3)


def test_the_agent_fits_what_it_was_trained_on_and_acts_greedily():
    env = recogym.make("reco-gym-v1")
    env.init_gym({**recogym.env_1_args, "num_products": 4, "random_seed": 2})
    agent = BayesianAgentVB({**bayesian_poly_args, "num_products": 4, "with_ps_all": True})
    logging = RandomAgent({**random_args, "num_products": 4, "random_seed": 1})
    for user in range(20):
        env.reset(user)
        observation, reward, done, _ = env.step(None)
        while not done:
            action = logging.act(observation, reward, done)
            next_observation, reward, done, _ = env.step(action)
            agent.train(observation, action, reward, done)
            observation = next_observation
    features, actions, deltas, _ = agent.model_builder.train_data()
    assert deltas.sum() > 0
    env.reset(50)
    observation, _, _, _ = env.step(None)
    acted = agent.act(observation, 0, False)
    expected = bayesian_logistic(features, actions, deltas, 4, np.full(16, PRIOR_MEAN), prior_covariance(4, 1.0, 1.0))
    assert np.array_equal(agent.model.posterior.mean, expected.mean)
    views = np.bincount(observation.get_views(), minlength=4)[None, :]
    assert acted["a"] == np.argmax(click_probabilities(expected, views)[0]) and acted["ps"] == 1.0
    assert list(acted["ps-a"]) == [float(i == acted["a"]) for i in range(4)]


def test_the_agent_beats_random_online():
    P, seed = 10, 2  # seeds 0 and 4 are envs where no agent does much better than random
    env = recogym.make("reco-gym-v1")
    env.init_gym({**recogym.env_1_args, "num_products": P, "random_seed": seed})
    random_ctr = recogym.test_agent(env, RandomAgent({**random_args, "num_products": P}), 300, 300)
    vb_ctr = recogym.test_agent(env, BayesianAgentVB({**bayesian_poly_args, "num_products": P}), 300, 300)
    assert vb_ctr[0] > random_ctr[2]


def test_parity_with_0_1_3_0s_fixed_point():
    with gzip.open(FIXTURE, "rt") as handle:
        fixture = json.load(handle)
    legacy = fixture["vb"]["small"]
    p = fixture["num_products"]
    agent = BayesianAgentVB({**bayesian_poly_args, "num_products": p})
    agent.model_builder.data = {name: list(values) for name, values in fixture["logs"]["small"].items()}
    _, model = agent.model_builder.build()
    converged = legacy["converged"]
    assert model.posterior.mean == pytest.approx(np.array(converged["mean"]), abs=1e-6)
    assert model.posterior.covariance == pytest.approx(np.array(converged["covariance"]), abs=1e-7)
