"""Post-click landing (env arg ``organic_after_click='clicked'``): the organic
session after a click starts with a view of the clicked product.

The kernel against the numpy reference (log driver and stepping driver), the
feature off against the model without it, and the landing view's place in
each front end and in the v0 view chain."""
import numpy as np
import pytest
from support.stepping import stepped_logs

import recogym
from recogym import _core
from recogym._reference import reference_logs
from recogym.model import Simulation
from recogym.sim import simulate

LANDING = {"organic_after_click": "clicked"}
# Clicks are about 2% of impressions; these make more of them, so that a few
# hundred users show many landings.
CLICKY = {"prob_bandit_to_organic": 0.2, "prob_leave_bandit": 0.02}

CASES = [
    ("reco-gym-v1", {}),
    ("reco-gym-v1", {"num_products": 25, "K": 3, "change_omega_for_bandits": True, "sigma_omega": 0.3,
                     "time_generator": "normal", "normal_time_mu": 1.0, "normal_time_sigma": 2.0}),
    ("reco-gym-v1", {"num_products": 1}),
    ("reco-gym-v0", {}),
    ("reco-gym-v0", {"num_products": 20, "num_clusters": 4, "phi_var": 4.0}),
    ("reco-gym-v1", {"with_conversions": True, "kappa": 0.3}),
]


def assert_columns_equal(logs, expected):
    assert set(logs.column_names) == set(expected)
    for name, column in expected.items():
        np.testing.assert_array_equal(getattr(logs, name), column, err_msg=name)


def landings(logs):
    """Rows of clicked impressions followed by a row of the same user: the
    row after each is the landing view."""
    clicked = np.flatnonzero((logs.z[:-1] == 1) & (logs.c[:-1] == 1) & (logs.u[:-1] == logs.u[1:]))
    return clicked, clicked + 1


@pytest.mark.parametrize("model,args", CASES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CASES)])
@pytest.mark.parametrize("seed", [0, 2**63 + 5])
def test_log_driver_matches_reference(make_env, config_of, model, args, seed):
    args = {**LANDING, **CLICKY, **args}
    logs = make_env(model, random_seed=seed, **args).simulate(25, num_organic_users=3, first_user=40)
    expected = reference_logs(model, config_of(model, random_seed=seed, **args), 25, 3, first_user=40)
    assert len(landings(logs)[0]) > 3 or args.get("num_products") == 1
    assert_columns_equal(logs, expected)


@pytest.mark.parametrize("model,args", CASES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CASES)])
@pytest.mark.parametrize("num_slots", [1, 3])
def test_stepping_driver_matches_reference(config_of, model, args, num_slots):
    config = config_of(model, random_seed=9, **LANDING, **CLICKY, **args)
    stepped = stepped_logs(Simulation.create(model, config), 25, first_user=7, num_slots=num_slots)
    expected = reference_logs(model, config, 25, 0, first_user=7)
    assert set(stepped) == set(expected)
    for name, column in expected.items():
        np.testing.assert_array_equal(stepped[name], column, err_msg=name)


@pytest.mark.parametrize("slots", [2, 7])
def test_lockstep_log_driver_gives_the_sequential_rows(config_of, slots):
    simulation = Simulation.create("reco-gym-v1", config_of("reco-gym-v1", random_seed=4, num_products=40,
                                                            **LANDING, **CLICKY))
    lockstep = simulate.simulate_logs(simulation.engine(slots), 3, 30, 2)
    sequential = simulate.simulate_logs(simulation.engine(1), 3, 30, 2)
    assert_columns_equal(lockstep, sequential.columns())


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
@pytest.mark.parametrize("rng", ["default", "legacy"])
def test_off_is_the_model_without_it(make_env, model, rng):
    """``organic_after_click='drawn'`` is RecoGym's model, row for row."""
    plain = make_env(model, random_seed=3, rng=rng).simulate(40, num_organic_users=2)
    drawn = make_env(model, random_seed=3, rng=rng, organic_after_click="drawn").simulate(40, num_organic_users=2)
    assert_columns_equal(drawn, plain.columns())
    assert not plain.has_conversions


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
def test_rows_before_the_first_click_are_unchanged(make_env, model):
    """Landing draws nothing itself and changes nothing before a click."""
    plain = make_env(model, random_seed=8, **CLICKY).simulate(60)
    landed = make_env(model, random_seed=8, **CLICKY, **LANDING).simulate(60)
    for user in np.unique(plain.u):
        rows, other = np.flatnonzero(plain.u == user), np.flatnonzero(landed.u == user)
        clicks = np.flatnonzero(plain.c[rows] == 1)
        end = clicks[0] + 1 if clicks.size else len(rows)
        for name in plain.column_names:
            np.testing.assert_array_equal(getattr(plain, name)[rows[:end]], getattr(landed, name)[other[:end]])


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
@pytest.mark.parametrize("seed", range(3))
def test_the_view_after_a_click_is_the_clicked_product(make_env, model, seed):
    logs = make_env(model, random_seed=seed, **CLICKY, **LANDING).simulate(2_000)
    clicked, landing = landings(logs)
    assert clicked.size > 200
    # A click always leads to an organic view, the clicked product (in v1 at the time after the click).
    assert (logs.z[landing] == 0).all()
    np.testing.assert_array_equal(logs.v[landing], logs.a[clicked])
    if model == "reco-gym-v1":
        assert (logs.t[landing] > logs.t[clicked]).all()
    # Without landing the view after a click is drawn: mostly another product.
    plain = make_env(model, random_seed=seed, **CLICKY).simulate(2_000)
    clicked, landing = landings(plain)
    assert (plain.v[landing] != plain.a[clicked]).mean() > 0.5


@pytest.mark.parametrize("seed", range(3))
def test_v0_view_chain_continues_from_the_landing_view(make_env, seed):
    """In v0 the landing view is the last view: the next view is drawn in the
    clicked product's cluster, and the click probabilities that follow are
    those after viewing it."""
    P, clusters = 20, 4
    env = make_env("reco-gym-v0", random_seed=seed, num_products=P, num_clusters=clusters, **CLICKY, **LANDING)
    logs = env.simulate(3_000)
    clicked, landing = landings(logs)
    after = landing[(landing + 1 < len(logs)) & (logs.u[np.minimum(landing + 1, len(logs) - 1)] == logs.u[landing])]
    nxt = after + 1
    size = P // clusters
    organic_next = logs.z[nxt] == 0
    assert organic_next.sum() > 100
    np.testing.assert_array_equal(logs.v[nxt][organic_next] // size, logs.v[after][organic_next] // size)
    # The clicked product is often in another cluster than the view before the click.
    before = np.array([np.flatnonzero((logs.u[:row] == logs.u[row]) & (logs.z[:row] == 0))[-1] for row in clicked[:300]])
    assert (logs.v[before] // size != logs.a[clicked[:300]] // size).any()
    # An impression right after the landing view: its click probability is the table's at that view.
    table = env.simulation.static["click_table"]
    bandit_next = ~organic_next
    assert bandit_next.sum() > 10
    np.testing.assert_array_equal(logs.click_probability[nxt][bandit_next],
                                  table[logs.a[nxt][bandit_next], logs.v[after][bandit_next]])


def test_session_length_after_a_click_is_geometric(make_env):
    """The landing view is the session's first; the chain then moves on as
    after any view, so the post-click session has length L with
    P(L = n) = (1 - q)^(n - 1) q, q the organic row's probability of leaving it."""
    to_bandit, leave = 0.25, 0.01
    logs = make_env(random_seed=1, prob_organic_to_bandit=to_bandit, prob_leave_organic=leave, **CLICKY,
                    **LANDING).simulate(4_000)
    _, landing = landings(logs)
    lengths = []
    for row in landing:
        end = row
        while end < len(logs) and logs.u[end] == logs.u[row] and logs.z[end] == 0:
            end += 1
        lengths.append(end - row)
    lengths = np.array(lengths)
    q = to_bandit + leave
    # Sessions cut by the user leaving count too: leaving is one of the ways out.
    se = np.sqrt(q * (1 - q) / len(lengths))
    assert abs((lengths == 1).mean() - q) < 6 * se
    assert abs(lengths.mean() - 1 / q) < 6 * np.sqrt((1 - q) / q**2 / len(lengths))


def test_classic_env_session_after_a_click_starts_with_the_product(make_env):
    env = make_env(random_seed=2, **CLICKY, **LANDING)
    seen = 0
    for user in range(400):
        env.reset(user)
        observation, _, done, _ = env.step(None)
        while not done:
            action = user % env.num_products
            observation, reward, done, _ = env.step(action)
            if reward:
                seen += 1
                assert observation.get_views()[0] == action
                assert env.product_view == observation.get_views()[-1]
    assert seen > 20


def test_gymnasium_envs_count_the_landing_view(config_of):
    gymnasium = pytest.importorskip("gymnasium")
    env = gymnasium.make("recogym/RecoGym-v1", random_seed=2, record_views=True, **CLICKY, **LANDING)
    env.reset(seed=0)
    seen = 0
    for step in range(3_000):
        action = step % 10
        counts, reward, terminated, truncated, info = env.step(action)
        if reward:
            seen += 1
            assert info["views"][0] == action
            assert counts[action] >= 1
            np.testing.assert_array_equal(counts, np.bincount(info["views"], minlength=10))
        if terminated or truncated:
            env.reset()
    assert seen > 20
    vector = gymnasium.make_vec("recogym/RecoGym-v1", num_envs=4, vectorization_mode="vector_entry_point",
                                random_seed=2, **CLICKY, **LANDING)
    vector.reset(seed=0)
    seen = 0
    for step in range(1_000):
        actions = np.arange(4) + step % 6
        counts, rewards, *_ = vector.step(actions)
        for slot in np.flatnonzero(rewards):
            seen += 1
            assert counts[slot, actions[slot]] >= 1
    assert seen > 5


def test_batch_env_meets_the_classic_envs_users(make_env):
    env = make_env(random_seed=5, **CLICKY, **LANDING)
    batch = recogym.BatchEnv(env, 8)
    batch.start(60)
    clicks = {}
    slots = batch.active_slots()
    while slots.size:
        users = batch.observe(slots).user_ids
        actions = (users + batch.steps[slots]) % env.num_products
        outcome, _ = batch.recommend(slots, actions)
        for user, click in zip(users.tolist(), outcome.tolist()):
            clicks.setdefault(user, []).append(click)
        slots = batch.active_slots()
    classic = {}
    for user in range(60):
        env.reset(user)
        _, _, done, _ = env.step(None)
        step = 0
        while not done:
            _, reward, done, _ = env.step((user + step) % env.num_products)
            classic.setdefault(user, []).append(reward)
            step += 1
    assert clicks == classic
    assert sum(map(sum, classic.values())) > 5


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
def test_legacy_mode_refuses_it(model):
    env = recogym.make(model)
    with pytest.raises(ValueError, match="'organic_after_click'.*rng='legacy'.*0.1.3.0"):
        env.init_gym({"rng": "legacy", **LANDING})
    env.init_gym({"rng": "legacy", "organic_after_click": "drawn"})


@pytest.mark.parametrize("value", ["click", "CLICKED", None, 1, True])
def test_bad_values_are_refused_naming_the_argument(value):
    env = recogym.make("reco-gym-v1")
    with pytest.raises(ValueError, match=r"env arg 'organic_after_click' must be one of \('drawn', 'clicked'\)"):
        env.init_gym({"organic_after_click": value})


def test_kernel_landing_state_is_the_engine_state(config_of):
    """The pending landing view lives in the engine's state (so envs pickle
    with it) and is -1 between sessions."""
    import pickle

    simulation = Simulation.create("reco-gym-v1", config_of("reco-gym-v1", random_seed=3, **CLICKY, **LANDING))
    engine = simulation.engine(2)
    assert engine.params["landing"] is True
    engine.step(np.array([0, 1]), np.array([_core.NEW_USER_COMMAND] * 2), 0, 100, True, False)
    assert (engine.state["landing_view"] == -1).all()
    copy = pickle.loads(pickle.dumps(engine))
    for _ in range(300):
        waiting = np.flatnonzero(engine.state["markov_state"] == _core.BANDIT_STATE)
        if not waiting.size:
            break
        commands = np.full(len(waiting), 4, dtype=np.int64)
        engine.step(waiting, commands, 2, 2, False, False)
        copy.step(waiting, commands, 2, 2, False, False)
        assert (engine.state["landing_view"] == -1).all()
        np.testing.assert_array_equal(engine.state["last_view"], copy.state["last_view"])


@pytest.mark.parametrize("model,args", [("reco-gym-v1", {"with_conversions": True}), ("reco-gym-v0", {})])
def test_replayed_users_meet_the_logs(make_env, model, args):
    """The ground truth of OPE replays each user through the stepping
    driver and checks views, clicks and click probabilities against the
    log driver's rows as it goes: with landing (and conversions) too."""
    from recogym.sim.replay import expected_rewards

    env = make_env(model, random_seed=3, **CLICKY, **LANDING, **args)
    logs = env.simulate(150)
    truth = expected_rewards(env.simulation, logs)
    impressions = logs.impressions
    assert len(landings(logs)[0]) > 10
    # expected_rewards computes the v1 curve with numpy's matrix product: equal up to rounding.
    np.testing.assert_allclose(truth[np.arange(impressions.sum()), logs.a[impressions]],
                               logs.click_probability[impressions], rtol=1e-12)
