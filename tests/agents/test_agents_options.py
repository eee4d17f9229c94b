"""Agents' options, edge cases and optional dependencies, checked against
their definitions on hand-made inputs."""
import copy
import subprocess
import sys

import numpy as np
import pytest
from scipy import sparse

import recogym
from recogym.agents import (
    BanditCount,
    BanditMFSquare,
    EpsilonGreedy,
    LogregMulticlassIpsAgent,
    LogregPolyAgent,
    NnIpsAgent,
    OrganicCount,
    OrganicMFSquare,
    OrganicUserEventCounterAgent,
    UserBatch,
    organic_user_count_args,
)
from recogym.agents.epsilon_greedy import _explore_other_than_drawn
from recogym.agents.logreg_poly import cross_features
from recogym.logs import logs_from_rows
from recogym.session import Session


def no_decay(ages):
    return np.ones_like(ages)


def halve_every_step(ages):
    return 0.5**ages


def batch_of(view_counts, last_view=None):
    view_counts = np.asarray(view_counts, dtype=float)
    n = len(view_counts)
    last_view = np.argmax(view_counts, axis=1) if last_view is None else np.asarray(last_view)
    return UserBatch(view_counts, last_view, np.arange(n), np.zeros(n, dtype=np.int64))


def make_env(num_products=10, seed=4):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": seed, "num_products": num_products})
    return env


# -- OrganicUserEventCounterAgent ---------------------------------------------

COUNTS = [[2.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]


def organic_user_counter(**args):
    return OrganicUserEventCounterAgent({**organic_user_count_args, "num_products": 4, **args})


def test_organic_user_counter_follows_the_user_views():
    np.testing.assert_allclose(organic_user_counter().policy(batch_of(COUNTS)),
                               [[0.5, 0.25, 0, 0.25], [0.25] * 4, [0.25] * 4])


def test_organic_user_counter_explores_the_unviewed_products():
    policy = organic_user_counter(epsilon=0.2).policy(batch_of(COUNTS))
    np.testing.assert_allclose(policy[0], [0.4, 0.2, 0.2, 0.2])
    # Nothing viewed: both parts are uniform; everything viewed: exploring is uniform.
    np.testing.assert_allclose(policy[1:], 0.25)


def test_organic_user_counter_smooths_and_reverses_popularity():
    smoothed = organic_user_counter(epsilon=1.0, exploit_explore=False).policy(batch_of(COUNTS))
    np.testing.assert_allclose(smoothed[0], [3 / 8, 2 / 8, 1 / 8, 2 / 8])
    reversed_ = organic_user_counter(epsilon=1.0, exploit_explore=False, reverse_pop=True).policy(batch_of(COUNTS))
    np.testing.assert_allclose(reversed_[0], (1 - smoothed[0]) / 3)


def test_organic_user_counter_without_select_randomly_takes_the_most_viewed():
    policy = organic_user_counter(select_randomly=False).policy(batch_of(COUNTS))
    np.testing.assert_array_equal(policy, [[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]])


def test_a_weight_history_function_weights_views_by_age_per_user():
    agent = organic_user_counter(weight_history_function=halve_every_step)
    assert not hasattr(agent, "act_batch")
    with pytest.raises(AttributeError, match="weight_history_function"):
        agent.act_batch(batch_of(COUNTS))
    agent.with_ps_all = True
    agent.reset()
    action = agent.act(Session([1, 1, 3], [0.0, 1.0, 2.0], user=7), None, False)
    np.testing.assert_allclose(action.ps_all, [0, 0.75 / 1.75, 0, 1 / 1.75])
    action = agent.act(Session([0], [3.0], user=7), 0, False)
    np.testing.assert_allclose(action.ps_all, np.array([1, 0.375, 0, 0.5]) / 1.875)
    agent.reset()
    np.testing.assert_allclose(agent.act(None, None, False).ps_all, 0.25)


def test_test_agent_serves_a_weighted_agent_user_by_user():
    """With weights of 1 the weighted agent, served per user, earns exactly
    the clicks of the plain agent served in batches."""
    env = make_env()
    weighted = OrganicUserEventCounterAgent({"num_products": 10, "weight_history_function": no_decay})
    plain = OrganicUserEventCounterAgent({"num_products": 10})
    per_user = recogym.test_agent(copy.deepcopy(env), weighted, 50, 100)
    batched = recogym.test_agent(copy.deepcopy(env), plain, 50, 100)
    assert (per_user.clicks, per_user.impressions) == (batched.clicks, batched.impressions)
    assert per_user.impressions > 1000


# -- EpsilonGreedy ------------------------------------------------------------


def brute_force_exploration(followed, weights):
    """Draw g from ``followed``, then explore among the others by ``weights``."""
    explore = np.zeros_like(followed)
    for row in range(len(followed)):
        for g, p_g in enumerate(followed[row]):
            others = weights[row].copy()
            others[g] = 0.0
            if others.sum() == 0:
                explore[row, g] += p_g
            else:
                explore[row] += p_g * others / others.sum()
    return explore


def test_pure_new_exploration_is_the_average_over_the_drawn_product():
    rng = np.random.Generator(np.random.PCG64(0))
    followed = rng.dirichlet(np.ones(5), size=20)
    followed[0] = [0, 0, 1, 0, 0]
    for weights in (np.ones_like(followed), 1 - followed, rng.random(followed.shape)):
        got = _explore_other_than_drawn(followed, weights)
        np.testing.assert_allclose(got, brute_force_exploration(followed, weights), atol=1e-12)
        np.testing.assert_allclose(got.sum(axis=1), 1.0)


def test_exploration_with_a_single_product_keeps_it():
    np.testing.assert_array_equal(_explore_other_than_drawn(np.ones((2, 1)), np.ones((2, 1))), 1.0)


@pytest.mark.parametrize("pure_new", [True, False])
@pytest.mark.parametrize("select_worse", [True, False])
def test_epsilon_greedy_mixes_the_agent_with_exploration(pure_new, select_worse):
    inner = organic_user_counter()
    agent = EpsilonGreedy({"epsilon": 0.1, "epsilon_pure_new": pure_new, "epsilon_select_worse": select_worse},
                          inner)
    batch = batch_of(COUNTS)
    followed = inner.policy(batch)
    weights = 1 - followed if select_worse else np.ones_like(followed)
    explore = brute_force_exploration(followed, weights) if pure_new else weights / weights.sum(1, keepdims=True)
    np.testing.assert_allclose(agent.policy(batch), 0.9 * followed + 0.1 * explore)
    assert agent.num_products == 4


def test_epsilon_greedy_needs_a_batch_agent_of_the_same_size():
    with pytest.raises(TypeError, match="agent"):
        EpsilonGreedy({}, object())
    with pytest.raises(TypeError, match="agent"):
        EpsilonGreedy({}, organic_user_counter(weight_history_function=no_decay))
    with pytest.raises(ValueError, match="num_products"):
        EpsilonGreedy({"num_products": 5}, organic_user_counter())


# -- count agents ---------------------------------------------------------------


def test_organic_count_counts_co_views_per_session():
    rows = [(0.0, 1, 0, 2, -1, -1, np.nan, np.nan), (1.0, 1, 0, 2, -1, -1, np.nan, np.nan),
            (2.0, 1, 0, 0, -1, -1, np.nan, np.nan), (3.0, 1, 1, -1, 1, 0, 0.25, np.nan),
            (4.0, 1, 0, 0, -1, -1, np.nan, np.nan), (5.0, 2, 0, 3, -1, -1, np.nan, np.nan)]
    agent = OrganicCount({"num_products": 4})
    agent.train_logs(logs_from_rows(rows))
    expected = np.zeros((4, 4))
    expected[np.ix_([0, 2], [0, 2])] = [[1, 2], [2, 4]]
    expected[0, 0] += 1
    expected[3, 3] = 1
    np.testing.assert_array_equal(agent.co_counts, expected)
    # Ties go to the lowest index; a user who viewed nothing gets the uniform policy.
    np.testing.assert_array_equal(agent.policy(batch_of(np.eye(4), [0, 1, 2, -1])),
                                  [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0.25] * 4])


def test_bandit_count_estimates_ctr_per_last_view():
    rows = [(0.0, 1, 0, 2, -1, -1, np.nan, np.nan), (1.0, 1, 1, -1, 3, 1, 0.25, np.nan),
            (2.0, 1, 1, -1, 1, 0, 0.25, np.nan), (3.0, 2, 1, -1, 0, 1, 0.25, np.nan)]
    agent = BanditCount({"num_products": 4})
    agent.train_logs(logs_from_rows(rows))
    ctr = agent.ctr()
    assert ctr[2, 3] == 2 / 3 and ctr[2, 1] == 1 / 3 and ctr[2, 0] == 0.5
    # The impression of user 2, who had viewed nothing, is not counted.
    assert agent.impressions.sum() == 2
    np.testing.assert_array_equal(agent.policy(batch_of([[0, 0, 1, 0]]))[0], [0, 0, 0, 1])


# -- model agents ---------------------------------------------------------------


def test_cross_features_put_view_p_of_action_a_in_column_2p_plus_ap():
    views = sparse.csr_matrix(np.array([[1.0, 0, 2], [0, 3.0, 0]]))
    got = cross_features(views, np.array([2, 0]), 3).toarray()
    assert got.shape == (2, 6 + 9)
    np.testing.assert_array_equal(got[0, :6], [1, 0, 2, 0, 0, 1])
    np.testing.assert_array_equal(np.flatnonzero(got[0, 6:]), [6, 8])
    np.testing.assert_array_equal(got[1, 6:], [0, 3, 0, 0, 0, 0, 0, 0, 0])


def clicked_rows(actions):
    """Logs of one user per action, who viewed product 0 then clicked it."""
    rows = []
    for user, action in enumerate(actions):
        rows += [(0.0, user, 0, 0, -1, -1, np.nan, np.nan), (1.0, user, 1, -1, action, 1, 0.25, np.nan),
                 (2.0, user, 1, -1, (action + 1) % 4, 0, 0.25, np.nan)]
    return logs_from_rows(rows)


@pytest.mark.parametrize("actions, expected", [
    ([], [0.25] * 4),
    ([2, 2], [0, 0, 1, 0]),
])
def test_multiclass_logreg_with_fewer_than_two_clicked_products(actions, expected):
    pytest.importorskip("sklearn", reason="needs scikit-learn: pip install recogym[sklearn]")
    agent = LogregMulticlassIpsAgent({"num_products": 4, "select_randomly": True})
    agent.train_logs(clicked_rows(actions))
    np.testing.assert_allclose(agent.policy(batch_of([[1.0, 0, 0, 0]]))[0], expected)


def test_multiclass_logreg_with_two_clicked_products_never_picks_another():
    pytest.importorskip("sklearn", reason="needs scikit-learn: pip install recogym[sklearn]")
    agent = LogregMulticlassIpsAgent({"num_products": 4, "select_randomly": True})
    agent.train_logs(clicked_rows([1, 3, 3]))
    policy = agent.policy(batch_of([[1.0, 0, 0, 0]]))[0]
    assert policy[0] == policy[2] == 0 and policy[3] > policy[1] > 0


def test_logreg_poly_without_both_clicks_and_misses_learns_nothing():
    pytest.importorskip("sklearn", reason="needs scikit-learn: pip install recogym[sklearn]")
    agent = LogregPolyAgent({"num_products": 4})
    agent.train_logs(logs_from_rows([(0.0, 0, 0, 1, -1, -1, np.nan, np.nan), (1.0, 0, 1, -1, 2, 0, 0.25, np.nan)]))
    np.testing.assert_array_equal(agent.cross_coef, 0)


@pytest.mark.parametrize("cls", [BanditMFSquare, OrganicMFSquare, NnIpsAgent])
def test_untrained_torch_agents_recommend_uniformly(cls):
    agent = cls({"num_products": 4})
    np.testing.assert_array_equal(agent.policy(batch_of(COUNTS)), 0.25)


def test_torch_training_restores_the_global_torch_state():
    torch = pytest.importorskip("torch", reason="needs PyTorch: pip install recogym[torch]")
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    logs = make_env().simulate(50)
    for agent in (BanditMFSquare({"num_products": 10, "num_steps": 5}),
                  OrganicMFSquare({"num_products": 10, "num_steps": 5}),
                  NnIpsAgent({"num_products": 10, "num_epochs": 5})):
        agent.train_logs(logs)
        agent.act_batch(batch_of(np.eye(10)))
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_torch_agents_train_the_same_model_for_the_same_seed():
    pytest.importorskip("torch", reason="needs PyTorch: pip install recogym[torch]")
    logs = make_env().simulate(100)
    first, second, other = (NnIpsAgent({"num_products": 10, "random_seed": seed, "select_randomly": True})
                            for seed in (3, 3, 4))
    for agent in (first, second, other):
        agent.train_logs(logs)
    batch = batch_of(np.eye(10) * 3)
    np.testing.assert_array_equal(first.policy(batch), second.policy(batch))
    assert not np.array_equal(first.policy(batch), other.policy(batch))


# -- arguments and optional dependencies ----------------------------------------


@pytest.mark.parametrize("cls, args, error, name", [
    (OrganicUserEventCounterAgent, {"epsilon": 1.5}, ValueError, "epsilon"),
    (OrganicUserEventCounterAgent, {"select_randomly": "yes"}, TypeError, "select_randomly"),
    (OrganicUserEventCounterAgent, {"weight_history_function": 3}, TypeError, "weight_history_function"),
    (LogregMulticlassIpsAgent, {"max_iter": 0}, ValueError, "max_iter"),
    (LogregPolyAgent, {"ips_clipping_value": -1}, ValueError, "ips_clipping_value"),
    (BanditMFSquare, {"embed_dim": 0}, ValueError, "embed_dim"),
    (OrganicMFSquare, {"l2_regularisation": -1.0}, ValueError, "l2_regularisation"),
    (NnIpsAgent, {"lambda_val": -0.1}, ValueError, "lambda_val"),
    (BanditCount, {"num_products": 0}, ValueError, "num_products"),
])
def test_bad_arguments_are_named(cls, args, error, name):
    with pytest.raises(error, match=name):
        cls({"num_products": 4, **args})


def test_configs_must_be_mappings():
    with pytest.raises(TypeError, match="config"):
        BanditCount([("num_products", 4)])


def test_importing_recogym_imports_neither_torch_nor_sklearn():
    code = ("import sys, recogym, recogym.agents; "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("cls, module, extra", [
    (BanditMFSquare, "torch", "torch"),
    (OrganicMFSquare, "torch", "torch"),
    (NnIpsAgent, "torch", "torch"),
    (LogregMulticlassIpsAgent, "sklearn.linear_model", "sklearn"),
    (LogregPolyAgent, "sklearn.linear_model", "sklearn"),
])
def test_a_missing_extra_names_its_install_command(monkeypatch, cls, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes ``import module`` fail
    agent = cls({"num_products": 10})
    with pytest.raises(ImportError, match=rf"pip install recogym\[{extra}\]"):
        agent.train_logs(make_env().simulate(5))
