"""PyTorchMLRAgent and pytorch_mlr_args, 0.1.3.0's agent on recogym.

The loss is checked against a numpy transcription of its definition for
every option; the fit against closed forms (one context: the optimum of
each loss is known) and scikit-learn (where the loss is a logistic
regression); the agent against 0.1.3.0's own numbers on the same logs
(tests/fixtures/compat/make_mlr_fixtures.py) and, end to end, against the
random agent through test_agent.
"""
import gzip
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import recogym
from recogym.agents import PyTorchMLRAgent, RandomAgent, pytorch_mlr_args, random_args
from recogym.agents.pytorch_mlr import (
    MLRLoss,
    clipping_constant,
    fit_mlr,
    mlr_objective,
)

FIXTURE = Path(__file__).parent.parent / "fixtures" / "compat" / "mlr_vb.json.gz"

# pytorch_mlr_args of 0.1.3.0, with its values.
LEGACY_ARGS = {"n_epochs": 30, "learning_rate": 0.01, "logIPS": False, "variance_penalisation_strength": 0.0,
               "clip_weights": False, "alpha": 0.0, "ll_IPS": True, "with_ps_all": False}


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="PyTorchMLRAgent fits with PyTorch: pip install recogym[torch]")


def agent_args(**overrides):
    return {**pytorch_mlr_args, "num_products": 5, **overrides}


# -- the 0.1.3.0 surface ------------------------------------------------------


def test_importable_from_the_0_1_3_0_paths():
    import recogym.agents.pytorch_mlr as module

    assert module.PyTorchMLRAgent is PyTorchMLRAgent and module.pytorch_mlr_args is pytorch_mlr_args
    for key, value in LEGACY_ARGS.items():
        assert pytorch_mlr_args[key] == value, key
    assert set(pytorch_mlr_args) == set(LEGACY_ARGS) | {"random_seed", "l2"}


def test_neither_importing_nor_building_the_agent_imports_torch():
    code = ("import sys, recogym, recogym.agents.pytorch_mlr as m; "
            "m.PyTorchMLRAgent({**m.pytorch_mlr_args, 'num_products': 3}); "
            "print('torch' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False"


@pytest.mark.parametrize("name, value, error", [
    ("alpha", 1.5, ValueError), ("alpha", -0.1, ValueError), ("alpha", "half", TypeError),
    ("alpha", math.nan, ValueError), ("logIPS", "yes", TypeError), ("ll_IPS", None, TypeError),
    ("variance_penalisation_strength", -1.0, ValueError), ("variance_penalisation_strength", True, ValueError),
    ("clip_weights", 0, ValueError), ("clip_weights", -2.0, ValueError), ("clip_weights", "POEM", ValueError),
    ("l2", -0.5, ValueError), ("random_seed", -1, ValueError), ("random_seed", 1.5, TypeError),
    ("with_ps_all", "no", TypeError), ("num_products", 0, ValueError),
])
def test_bad_args_raise_naming_the_arg(name, value, error):
    with pytest.raises(error, match=name):
        PyTorchMLRAgent(agent_args(**{name: value}))


def test_a_config_without_num_products_is_refused():
    with pytest.raises(ValueError, match="num_products"):
        PyTorchMLRAgent(pytorch_mlr_args)
    with pytest.raises(ValueError, match="num_products"):
        PyTorchMLRAgent()


def test_a_trailing_comma_reads_as_0_1_3_0_read_it():
    # leaderboard_entries/pytorch_likelihood.py sets ll_IPS = False, (a tuple, true).
    with pytest.warns(UserWarning, match="ll_IPS.*tuple"):
        agent = PyTorchMLRAgent(agent_args(ll_IPS=(False,), alpha=1.0, learning_rate=(0.01,)))
    assert agent.model_builder.loss.ll_ips is True


def test_the_clipping_constant():
    pss = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.05])
    deltas = np.array([1, 1, 1, 1, 1, 0, 0])
    assert clipping_constant(False, pss, deltas) == math.inf
    assert clipping_constant(3.5, pss, deltas) == 3.5
    clicked = pss[:5]
    assert clipping_constant(True, pss, deltas) == pytest.approx(np.percentile(clicked, 90) / np.percentile(clicked, 10))
    assert clipping_constant(True, pss, np.zeros(7)) == math.inf


# -- the loss -----------------------------------------------------------------


def reference_loss(weight, bias, x, a, y, ps, loss, clip):
    """The loss, transcribed from its definition in numpy."""
    w = 1.0 / ps
    total = loss.l2 * np.sum(weight**2)
    if loss.alpha < 1:
        clicked = y != 0
        scores = x[clicked] @ weight.T
        scores -= scores.max(axis=1, keepdims=True)
        pi_all = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        pi = pi_all[np.arange(clicked.sum()), a[clicked]]
        wc = w[clicked]
        u = np.minimum(pi * wc, clip)
        if loss.log_ips:
            policy = -np.mean(np.minimum(wc, clip) * np.log(np.maximum(pi, 1e-10)))
        else:
            policy = -np.mean(u)
        if loss.variance_penalisation_strength:
            n = len(u)
            policy += loss.variance_penalisation_strength * np.sqrt(np.sum((u - u.mean()) ** 2) / (n - 1) / n)
        total += (1 - loss.alpha) * policy
    if loss.alpha > 0:
        p = 1 / (1 + np.exp(-((x * weight[a]).sum(axis=1) + bias)))
        bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        total += loss.alpha * np.mean(bce * w if loss.ll_ips else bce)
    return total


def random_logs(seed, n=400, p=4):
    rng = np.random.Generator(np.random.PCG64(seed))
    x = rng.poisson(1.0, (n, p)).astype(float)
    a = rng.integers(0, p, n)
    ps = rng.uniform(0.05, 0.9, n)
    y = (rng.random(n) < 0.3).astype(float)
    return x, a, y, ps


LOSSES = [
    MLRLoss(),
    MLRLoss(log_ips=True),
    MLRLoss(variance_penalisation_strength=0.7),
    MLRLoss(log_ips=True, variance_penalisation_strength=0.7),
    MLRLoss(clip_weights=3.0),
    MLRLoss(clip_weights=True),
    MLRLoss(log_ips=True, clip_weights=2.0),
    MLRLoss(alpha=1.0),
    MLRLoss(alpha=1.0, ll_ips=False),
    MLRLoss(alpha=0.3, log_ips=True, clip_weights=4.0, variance_penalisation_strength=0.2),
    MLRLoss(alpha=0.6, ll_ips=False, l2=0.05),
]


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_the_loss_is_its_definition(torch, loss):
    x, a, y, ps = random_logs(1)
    rng = np.random.Generator(np.random.PCG64(2))
    weight, bias = rng.normal(size=(4, 4)), rng.normal(size=1)
    objective = mlr_objective(x, a, y, ps, loss)
    got = float(objective(torch.from_numpy(weight), torch.from_numpy(bias)))
    clip = clipping_constant(loss.clip_weights, ps, y)
    assert got == pytest.approx(reference_loss(weight, bias[0], x, a, y, ps, loss, clip), rel=1e-10)


def test_the_options_change_the_loss(torch):
    x, a, y, ps = random_logs(3)
    weight, bias = torch.from_numpy(np.random.Generator(np.random.PCG64(4)).normal(size=(4, 4))), torch.zeros(1)
    values = [float(mlr_objective(x, a, y, ps, loss)(weight, bias)) for loss in LOSSES]
    assert len(set(np.round(values, 12))) == len(LOSSES)


# -- the fit ------------------------------------------------------------------


def one_context_logs(clicks, impressions, propensities):
    """Logs with one context (x = e_0): ``clicks[a]`` of ``impressions[a]``
    impressions of action a clicked, the propensity of each row from
    ``propensities[a]`` (one value, or one per impression)."""
    rows_a, rows_y, rows_ps = [], [], []
    for action, (c, n) in enumerate(zip(clicks, impressions)):
        rows_a += [action] * n
        rows_y += [1] * c + [0] * (n - c)
        rows_ps += list(np.broadcast_to(propensities[action], n))
    x = np.zeros((len(rows_a), len(clicks)))
    x[:, 0] = 1.0
    return x, np.array(rows_a), np.array(rows_y, dtype=float), np.array(rows_ps)


def policy_of(fit, x):
    scores = x @ fit.weight.T
    scores -= scores.max(axis=1, keepdims=True)
    return np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)


def gradient_at(torch, fit, x, a, y, ps, loss):
    weight = torch.tensor(fit.weight, requires_grad=True)
    bias = torch.tensor([fit.bias], requires_grad=True)
    mlr_objective(x, a, y, ps, loss)(weight, bias).backward()
    return max(float(weight.grad.abs().max()), float(bias.grad.abs().max()) if bias.grad is not None else 0.0)


# Action 0: many clicks at a high propensity; action 1: few at a low one.
SKEWED = one_context_logs(clicks=[40, 5, 10], impressions=[200, 12, 100], propensities=[0.8, 0.05, 0.15])


def test_log_ips_fits_the_weighted_click_shares(torch):
    x, a, y, ps = SKEWED
    fit = fit_mlr(x, a, y, ps, MLRLoss(log_ips=True), random_seed=0)
    weighted = np.bincount(a[y == 1], 1 / ps[y == 1], minlength=3)
    assert policy_of(fit, x[:1])[0] == pytest.approx(weighted / weighted.sum(), abs=1e-6)
    assert gradient_at(torch, fit, x, a, y, ps, MLRLoss(log_ips=True)) < 1e-6


def test_ips_picks_the_action_of_highest_ips_estimate(torch):
    x, a, y, ps = SKEWED
    fit = fit_mlr(x, a, y, ps, MLRLoss(), random_seed=0)
    # IPS estimates: 40 * 1.25 = 50, 5 * 20 = 100, 10 / 0.15 = 67: action 1, though action 0 has most clicks.
    assert policy_of(fit, x[:1])[0, 1] > 0.99


def test_clipping_caps_the_rare_actions_weight(torch):
    x, a, y, ps = SKEWED
    fit = fit_mlr(x, a, y, ps, MLRLoss(clip_weights=2.0), random_seed=0)
    # min(pi w, 2): action 1 earns its cap at pi = 0.1, action 2 at 0.3; the rest goes to action 0.
    assert policy_of(fit, x[:1])[0] == pytest.approx([0.6, 0.1, 0.3], abs=1e-3)


def test_variance_penalisation_trades_estimate_for_standard_error(torch):
    x, a, y, ps = SKEWED
    clicked = y == 1

    def estimate_and_error(fit):
        u = policy_of(fit, x[clicked])[np.arange(clicked.sum()), a[clicked]] / ps[clicked]
        return u.mean(), u.std(ddof=1) / np.sqrt(len(u))

    plain = estimate_and_error(fit_mlr(x, a, y, ps, MLRLoss(l2=1e-3), random_seed=0))
    penalised = estimate_and_error(fit_mlr(x, a, y, ps, MLRLoss(l2=1e-3, variance_penalisation_strength=3.0),
                                           random_seed=0))
    assert penalised[1] < 0.5 * plain[1]
    assert penalised[0] < plain[0]


def test_the_likelihood_fits_each_actions_click_rate(torch):
    # Each action's propensity varies with its clicks, so weighting matters.
    rng = np.random.Generator(np.random.PCG64(5))
    x, a, y, _ = one_context_logs(clicks=[30, 10, 20], impressions=[100, 80, 90], propensities=[1, 1, 1])
    ps = np.where(y == 1, 0.1, 0.5) * rng.uniform(0.8, 1.2, len(y))
    for ll_ips, w in [(False, np.ones_like(ps)), (True, 1 / ps)]:
        loss = MLRLoss(alpha=1.0, ll_ips=ll_ips)
        fit = fit_mlr(x, a, y, ps, loss, random_seed=0)
        rates = np.bincount(a, w * y) / np.bincount(a, w)
        fitted = 1 / (1 + np.exp(-(fit.weight[:, 0] + fit.bias)))
        assert fitted == pytest.approx(rates, abs=1e-5)
        assert gradient_at(torch, fit, x, a, y, ps, loss) < 1e-6


def test_log_ips_is_scikit_learns_weighted_multinomial_regression(torch):
    sklearn = pytest.importorskip("sklearn.linear_model", reason="the comparison needs scikit-learn")
    x, a, y, ps = random_logs(6, n=3000)
    l2 = 0.01
    fit = fit_mlr(x, a, y, ps, MLRLoss(log_ips=True, l2=l2), random_seed=0)
    clicked = y == 1
    # sklearn minimises |W|^2 / 2 + C sum w loss; ours mean_clicked(w loss) + l2 |W|^2.
    reference = sklearn.LogisticRegression(C=1 / (2 * l2 * clicked.sum()), fit_intercept=False, tol=1e-12,
                                           max_iter=10000).fit(x[clicked], a[clicked], sample_weight=1 / ps[clicked])
    assert fit.weight == pytest.approx(reference.coef_, abs=1e-5)


def test_the_likelihood_is_scikit_learns_logistic_regression_on_views_times_action(torch):
    sklearn = pytest.importorskip("sklearn.linear_model", reason="the comparison needs scikit-learn")
    x, a, y, ps = random_logs(7, n=3000)
    l2 = 0.002
    fit = fit_mlr(x, a, y, ps, MLRLoss(alpha=1.0, ll_ips=True, l2=l2), random_seed=0)
    psi = np.zeros((len(a), 4, 4))
    psi[np.arange(len(a)), a] = x  # row a of W meets x
    reference = sklearn.LogisticRegression(C=1 / (2 * l2 * len(a)), tol=1e-12, max_iter=10000).fit(
        psi.reshape(len(a), 16), y, sample_weight=1 / ps)
    assert fit.weight.ravel() == pytest.approx(reference.coef_[0], abs=1e-5)
    assert fit.bias == pytest.approx(reference.intercept_[0], abs=1e-5)


def test_the_blend_is_a_stationary_point_between_its_ends(torch):
    x, a, y, ps = random_logs(8, n=2000)
    blend = MLRLoss(alpha=0.5, log_ips=True)
    fits = {alpha: fit_mlr(x, a, y, ps, MLRLoss(alpha=alpha, log_ips=True), random_seed=0) for alpha in (0.0, 1.0)}
    fit = fit_mlr(x, a, y, ps, blend, random_seed=0)
    assert gradient_at(torch, fit, x, a, y, ps, blend) < 1e-6
    objective = mlr_objective(x, a, y, ps, blend)
    for end in fits.values():
        assert fit.loss < float(objective(torch.from_numpy(end.weight), torch.tensor([end.bias]))) - 1e-3


def test_the_fit_is_seeded(torch):
    x, a, y, ps = random_logs(9)
    first, again = (fit_mlr(x, a, y, ps, MLRLoss(), random_seed=4) for _ in range(2))
    other = fit_mlr(x, a, y, ps, MLRLoss(), random_seed=5)
    assert np.array_equal(first.weight, again.weight)
    assert not np.array_equal(first.weight, other.weight)


def test_bad_training_arrays_raise(torch):
    x, a, y, ps = random_logs(10, n=20)
    with pytest.raises(ValueError, match="actions"):
        fit_mlr(x, a + 4, y, ps, MLRLoss())
    with pytest.raises(ValueError, match="pss"):
        fit_mlr(x, a, y, ps * 0, MLRLoss())
    with pytest.raises(ValueError, match="deltas"):
        fit_mlr(x, a, y * 2, ps, MLRLoss())


# -- the agent ----------------------------------------------------------------


def test_the_agent_fits_what_it_was_trained_on_and_acts_greedily(torch):
    args = {**recogym.env_1_args, "num_products": 5, "random_seed": 3}
    env = recogym.make("reco-gym-v1")
    env.init_gym(args)
    agent = PyTorchMLRAgent(agent_args(logIPS=True, with_ps_all=True))
    logging = RandomAgent({**random_args, "num_products": 5, "random_seed": 1})
    for user in range(30):
        env.reset(user)
        observation, reward, done, _ = env.step(None)
        while not done:
            action = logging.act(observation, reward, done)
            next_observation, reward, done, _ = env.step(action)
            agent.train(observation, action, reward, done)
            observation = next_observation
    features, actions, deltas, pss = agent.model_builder.train_data()
    assert len(actions) > 100 and deltas.sum() > 0
    env.reset(100)
    observation, _, _, _ = env.step(None)
    acted = agent.act(observation, 0, False)
    expected = fit_mlr(features, actions, deltas, pss, MLRLoss(log_ips=True), random_seed=42)
    assert np.array_equal(agent.model.W, expected.weight)
    views = np.bincount(observation.get_views(), minlength=5)
    assert acted["a"] == np.argmax(expected.weight @ views) and acted["ps"] == 1.0
    assert list(acted["ps-a"]) == [float(i == acted["a"]) for i in range(5)]
    assert acted["u"] == 100


ONLINE_P, ONLINE_SEED = 10, 2  # seeds 0 and 4 are envs where no agent does much better than random


def online_env():
    env = recogym.make("reco-gym-v1")
    env.init_gym({**recogym.env_1_args, "num_products": ONLINE_P, "random_seed": ONLINE_SEED})
    return env


@pytest.fixture(scope="module")
def random_ctr():
    return recogym.test_agent(online_env(), RandomAgent({**random_args, "num_products": ONLINE_P}), 300, 300)


@pytest.mark.parametrize("overrides", [{}, {"alpha": 1.0}, {"logIPS": True}], ids=["IPS", "likelihood", "logIPS"])
def test_the_agent_beats_random_online(torch, random_ctr, overrides):
    agent = PyTorchMLRAgent({**pytorch_mlr_args, "num_products": ONLINE_P, **overrides})
    assert recogym.test_agent(online_env(), agent, 300, 300)[0] > random_ctr[2]


# -- parity with 0.1.3.0 ------------------------------------------------------


def legacy_fixture():
    with gzip.open(FIXTURE, "rt") as handle:
        return json.load(handle)


@pytest.mark.parametrize("case", ["logIPS/uniform", "likelihood_ips/uniform", "likelihood_ips/skewed",
                                  "likelihood/uniform", "likelihood/skewed", "blend/uniform"])
def test_parity_with_0_1_3_0(torch, case):
    fixture = legacy_fixture()
    legacy = fixture["mlr"][case]
    agent = PyTorchMLRAgent(agent_args(**legacy["overrides"], num_products=fixture["num_products"]))
    agent.model_builder.data = {name: list(values) for name, values in fixture["logs"][case.split("/")[1]].items()}
    _, model = agent.model_builder.build()
    probes = np.array(fixture["probes"], dtype=float)
    scores = probes @ model.W.T
    policy = np.exp(scores - scores.max(axis=1, keepdims=True))
    policy /= policy.sum(axis=1, keepdims=True)
    # 0.1.3.0 fitted in float32.
    assert policy == pytest.approx(np.array(legacy["policy"]), abs=1e-4)
    assert list(scores.argmax(axis=1)) == legacy["action"]
    if agent.model_builder.loss.alpha > 0:
        # The policy loss alone leaves the bias, and W up to a vector added to every row, free.
        clicks = 1 / (1 + np.exp(-(scores + model.bias)))
        assert clicks == pytest.approx(np.array(legacy["click_probability"]), abs=1e-4)
        assert model.fit.loss == pytest.approx(legacy["loss"], rel=1e-6)
