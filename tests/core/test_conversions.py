"""Conversions (env arg ``with_conversions``): a click on ``a`` converts
with probability ``psale_scale * sigmoid(Lambda_a . delta')``, ``delta'``
the user's purchase state moved towards ``Lambda_a`` by ``kappa``.

The kernel against the numpy reference (log driver and stepping driver), the
feature off against the model without it, the conversion probability
against its closed form, the conversion rate against the true
probabilities, every front end's report of it, and the validation of its
arguments."""
import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from support.stepping import stepped_logs

import recogym
from recogym import _core
from recogym._reference import reference_logs
from recogym.logs import CONVERSION_DTYPES, Logs
from recogym.model import Simulation
from recogym.sim import simulate

CONVERSIONS = {"with_conversions": True}
CLICKY = {"prob_bandit_to_organic": 0.2, "prob_leave_bandit": 0.02}
Z = 6.0

CASES = [
    {},
    {"kappa": 0.0, "psale_scale": 1.0, "sigma_Lambda": 2.0},
    {"kappa": 1.0, "num_products": 30, "K": 2},
    {"num_products": 25, "K": 3, "change_omega_for_bandits": True, "sigma_omega": 0.3,
     "time_generator": "normal", "normal_time_mu": 1.0, "normal_time_sigma": 2.0, "number_of_flips": 3},
    {"num_products": 1},
    {"organic_after_click": "clicked", "kappa": 0.7},
]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def assert_columns_equal(logs, expected):
    assert set(logs.column_names) == set(expected)
    for name, column in expected.items():
        np.testing.assert_array_equal(getattr(logs, name), column, err_msg=name)


@pytest.mark.parametrize("args", CASES, ids=[str(i) for i in range(len(CASES))])
@pytest.mark.parametrize("seed", [0, 2**63 + 5])
def test_log_driver_matches_reference(make_env, config_of, args, seed):
    args = {**CONVERSIONS, **CLICKY, **args}
    logs = make_env(random_seed=seed, **args).simulate(25, num_organic_users=3, first_user=40)
    expected = reference_logs("reco-gym-v1", config_of("reco-gym-v1", random_seed=seed, **args), 25, 3,
                              first_user=40)
    assert logs.has_conversions
    assert_columns_equal(logs, expected)


@pytest.mark.parametrize("args", CASES, ids=[str(i) for i in range(len(CASES))])
@pytest.mark.parametrize("num_slots", [1, 3])
def test_stepping_driver_matches_reference(config_of, args, num_slots):
    config = config_of("reco-gym-v1", random_seed=9, **CONVERSIONS, **CLICKY, **args)
    stepped = stepped_logs(Simulation.create("reco-gym-v1", config), 25, first_user=7, num_slots=num_slots)
    expected = reference_logs("reco-gym-v1", config, 25, 0, first_user=7)
    assert set(stepped) == set(expected)
    for name, column in expected.items():
        np.testing.assert_array_equal(stepped[name], column, err_msg=name)


def test_user_popularity_policy_matches_reference(make_env, config_of):
    from recogym.policies import UserPopularity

    policy = UserPopularity(0.1)
    args = {**CONVERSIONS, **CLICKY, "organic_after_click": "clicked"}
    logs = make_env(random_seed=3, **args).simulate(20, num_organic_users=2, policy=policy)
    expected = reference_logs("reco-gym-v1", config_of("reco-gym-v1", random_seed=3, **args), 20, 2,
                              policy=policy)
    assert_columns_equal(logs, expected)


@pytest.mark.parametrize("slots", [2, 7])
def test_lockstep_log_driver_gives_the_sequential_rows(config_of, slots):
    simulation = Simulation.create("reco-gym-v1", config_of("reco-gym-v1", random_seed=4, num_products=40,
                                                            **CONVERSIONS, **CLICKY))
    lockstep = simulate.simulate_logs(simulation.engine(slots), 3, 30, 2)
    sequential = simulate.simulate_logs(simulation.engine(1), 3, 30, 2)
    assert_columns_equal(lockstep, sequential.columns())


def test_parallel_logs_do_not_depend_on_workers_or_chunks(make_env):
    from recogym.sim.parallel import simulate_parallel

    args = {**CONVERSIONS, **CLICKY, "random_seed": 6}
    whole = make_env(**args).simulate(300, num_organic_users=5)
    for workers, chunk_users in ((1, 7), (2, 40)):
        logs = simulate_parallel(args, 300, num_organic_users=5, workers=workers, chunk_users=chunk_users)
        assert_columns_equal(logs, whole.columns())


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
@pytest.mark.parametrize("rng", ["default", "legacy"])
def test_off_is_the_model_without_it(make_env, model, rng):
    plain = make_env(model, random_seed=3, rng=rng).simulate(40, num_organic_users=2)
    off = make_env(model, random_seed=3, rng=rng, with_conversions=False, psale_scale=0.5).simulate(
        40, num_organic_users=2)
    assert not off.has_conversions and off.column_names == plain.column_names
    assert_columns_equal(off, plain.columns())
    frame = make_env(model, random_seed=3, rng=rng, with_conversions=False).generate_logs(10)
    assert list(frame.columns) == ["t", "u", "z", "v", "a", "c", "ps", "ps-a"]


def test_the_model_parameters_are_unchanged(config_of):
    """Lambda is drawn after the other fixed parameters."""
    plain = Simulation.create("reco-gym-v1", config_of("reco-gym-v1", random_seed=2)).static
    with_conversions = Simulation.create("reco-gym-v1", config_of("reco-gym-v1", random_seed=2,
                                                                  **CONVERSIONS)).static
    assert set(with_conversions) == set(plain) | {"sale_embeddings"}
    for name, value in plain.items():
        np.testing.assert_array_equal(with_conversions[name], value)


def test_rows_before_the_first_click_are_unchanged(make_env):
    """The conversion draw follows a click: before the first click no draw moves."""
    plain = make_env(random_seed=8, **CLICKY).simulate(60)
    converting = make_env(random_seed=8, **CLICKY, **CONVERSIONS).simulate(60)
    for user in np.unique(plain.u):
        rows, other = np.flatnonzero(plain.u == user), np.flatnonzero(converting.u == user)
        clicks = np.flatnonzero(plain.c[rows] == 1)
        end = clicks[0] + 1 if clicks.size else len(rows)
        for name in plain.column_names:
            np.testing.assert_array_equal(getattr(plain, name)[rows[:end]], getattr(converting, name)[other[:end]])


def test_columns_and_their_missing_values(make_env):
    logs = make_env(random_seed=1, **CLICKY, **CONVERSIONS).simulate(500)
    organic, impressions = logs.organic, logs.impressions
    assert logs.conversion.dtype == np.int8 and logs.conversion_probability.dtype == np.float64
    assert (logs.conversion[organic] == -1).all() and np.isnan(logs.conversion_probability[organic]).all()
    assert np.isin(logs.conversion[impressions], [0, 1]).all()
    # Only a click converts.
    assert (logs.c[logs.conversion == 1] == 1).all()
    assert (logs.conversion[impressions & (logs.c == 0)] == 0).all()
    q = logs.conversion_probability[impressions]
    assert ((q > 0) & (q < 0.25)).all()       # psale_scale's default bounds them


@pytest.mark.parametrize("seed", range(3))
def test_conversion_rate_among_clicks_is_the_mean_true_probability(make_env, seed):
    logs = make_env(random_seed=seed, psale_scale=0.6, **CLICKY, **CONVERSIONS).simulate(8_000)
    clicked = logs.impressions & (logs.c == 1)
    q = logs.conversion_probability[clicked]
    conversions = logs.conversion[clicked].sum()
    assert clicked.sum() > 1_000
    assert abs(conversions - q.sum()) < Z * np.sqrt((q * (1 - q)).sum())
    # Per impression: the click's probability times the conversion's.
    impressions = logs.impressions
    joint = logs.click_probability[impressions] * logs.conversion_probability[impressions]
    assert abs(logs.conversion[impressions].sum() - joint.sum()) < Z * np.sqrt((joint * (1 - joint)).sum())


def test_conversion_probability_has_its_closed_form(make_env):
    """Before any click the purchase state is the user's first omega:
    q(a) = psale_scale * s(Lambda_a . ((1 - kappa) omega_0 + kappa Lambda_a));
    a click on b moves it to (1 - kappa) omega_0 + kappa Lambda_b."""
    psale, kappa, sigma0 = 0.4, 0.3, 1.5
    env = make_env(random_seed=12, psale_scale=psale, kappa=kappa, sigma_omega_initial=sigma0, **CLICKY,
                   **CONVERSIONS)
    Lambda = env.simulation.static["sale_embeddings"]
    P, K = Lambda.shape
    checked = 0
    for user in range(200):
        generator = np.random.Generator(np.random.Philox(key=np.array([12, user], dtype=np.uint64)))
        delta = sigma0 * generator.standard_normal(K)     # the user's first draws: omega_0
        env.reset(user)
        _, _, done, _ = env.step(None)
        while not done:
            moved = (1 - kappa) * delta[None, :] + kappa * Lambda
            expected = psale * sigmoid(np.einsum("pk,pk->p", Lambda, moved))
            np.testing.assert_allclose([env.conversion_probability(a) for a in range(P)], expected, rtol=1e-12)
            action = user % P
            _, reward, done, info = env.step(action)
            assert info["conversion_probability"] == pytest.approx(expected[action], rel=1e-12)
            if reward:
                delta = moved[action]
                checked += 1
    assert checked > 10


def test_kappa_one_gives_each_product_one_probability(make_env):
    """With kappa = 1 the state after a click on a is Lambda_a itself:
    q(a) = psale_scale * s(|Lambda_a|^2) for every user at every impression."""
    env = make_env(random_seed=5, kappa=1.0, **CONVERSIONS)
    logs = env.simulate(300)
    Lambda = env.simulation.static["sale_embeddings"]
    impressions = logs.impressions
    expected = 0.25 * sigmoid((Lambda**2).sum(axis=1))[logs.a[impressions]]
    np.testing.assert_allclose(logs.conversion_probability[impressions], expected, rtol=1e-12)


def test_kappa_zero_keeps_the_first_state(make_env):
    """With kappa = 0 clicks do not move the purchase state: one probability
    per (user, product) for the user's whole timeline, whatever omega does."""
    logs = make_env(random_seed=5, kappa=0.0, sigma_omega=1.0, **CLICKY, **CONVERSIONS).simulate(300)
    impressions = logs.impressions
    frame = pd.DataFrame({"u": logs.u[impressions], "a": logs.a[impressions],
                          "q": logs.conversion_probability[impressions]})
    spread = frame.groupby(["u", "a"])["q"].agg(lambda q: q.max() - q.min())
    assert (spread == 0).all()
    assert (frame.groupby("u")["q"].nunique() > 1).any()


def test_psale_scale_bounds_and_zero(make_env):
    logs = make_env(random_seed=5, psale_scale=0.0, **CLICKY, **CONVERSIONS).simulate(300)
    assert (logs.conversion[logs.impressions] == 0).all() and (logs.conversion_probability[logs.impressions] == 0).all()
    logs = make_env(random_seed=5, psale_scale=0.1, **CLICKY, **CONVERSIONS).simulate(300)
    q = logs.conversion_probability[logs.impressions]
    assert ((q > 0) & (q < 0.1)).all()


def test_step_reports_the_conversion_in_info(make_env):
    env = make_env(random_seed=4, psale_scale=1.0, **CLICKY, **CONVERSIONS)
    plain = make_env(random_seed=4, **CLICKY)
    converted = 0
    for user in range(300):
        env.reset(user)
        plain.reset(user)
        _, _, done, info = env.step(None)
        assert info == {}
        plain.step(None)
        while not done:
            _, reward, done, info = env.step(3)
            assert set(info) == {"conversion", "conversion_probability"}
            assert info["conversion"] in (0, 1) and (reward or info["conversion"] == 0)
            converted += info["conversion"]
            if not converted:
                # Until the first conversion the user is the plain model's.
                assert plain.step(3)[1:3] == (reward, done)
    assert converted > 5
    # Without conversions the info stays empty.
    plain.reset(0)
    plain.step(None)
    assert plain.step(1)[3] == {}


def test_agent_logs_carry_conversions(make_env):
    """generate_logs with an agent steps the classic env: its rows carry the
    conversions the steps report, those of the log driver's rows."""
    from recogym.agents import RandomAgent

    env = make_env(random_seed=4, **CLICKY, **CONVERSIONS)
    frame = env.generate_logs(30, agent=RandomAgent(recogym.Configuration(num_products=10, random_seed=1)))
    assert {"conversion", "conversion_probability"} <= set(frame.columns)
    impressions = frame["z"] == "bandit"
    assert frame.loc[impressions, "conversion"].isin([0, 1]).all()
    assert frame.loc[~impressions, "conversion"].isna().all()
    assert (frame.loc[impressions, "conversion_probability"] > 0).all()
    logs = env.simulate(30)
    assert set(logs.to_pandas().columns) == {"t", "u", "z", "v", "a", "c", "ps", "conversion",
                                             "conversion_probability"}


def test_batch_and_vector_envs_report_the_classic_envs_conversions(make_env):
    gymnasium = pytest.importorskip("gymnasium")
    env = make_env(random_seed=5, psale_scale=1.0, **CLICKY, **CONVERSIONS)
    classic = {}
    for user in range(80):
        env.reset(user)
        _, _, done, _ = env.step(None)
        step = 0
        while not done:
            _, reward, done, info = env.step((user + step) % 10)
            classic.setdefault(user, []).append((reward, info["conversion"], info["conversion_probability"]))
            step += 1
    batch = recogym.BatchEnv(env, 8)
    batch.start(80)
    batched = {}
    slots = batch.active_slots()
    while slots.size:
        users = batch.observe(slots).user_ids
        steps = batch.steps[slots].copy()
        clicks, _ = batch.recommend(slots, (users + steps) % 10)
        conversions, probabilities = batch.last_conversions()
        for user, click, conversion, q in zip(users.tolist(), clicks.tolist(), conversions.tolist(),
                                              probabilities.tolist()):
            batched.setdefault(user, []).append((click, conversion, q))
        slots = batch.active_slots()
    assert batched == classic
    assert sum(c for rows in classic.values() for _, c, _ in rows) > 3

    vector = gymnasium.make_vec("recogym/RecoGym-v1", num_envs=3, vectorization_mode="vector_entry_point",
                                random_seed=5, psale_scale=1.0, **CLICKY, **CONVERSIONS)
    _, info = vector.reset(seed=0)
    assert (info["conversion"] == 0).all() and np.isnan(info["conversion_probability"]).all()
    assert not info["_conversion"].any()
    converted = 0
    for _ in range(2_000):
        _, rewards, _, _, info = vector.step(np.array([1, 2, 3]))
        shown = info["_click_probability"]
        np.testing.assert_array_equal(info["_conversion"], shown)
        assert (info["conversion"][rewards == 0] == 0).all()
        assert np.isnan(info["conversion_probability"][~shown]).all()
        assert (info["conversion_probability"][shown] > 0).all()
        converted += int(info["conversion"].sum())
    assert converted > 0


def test_gymnasium_env_reports_conversions_and_passes_check_env():
    gymnasium = pytest.importorskip("gymnasium")
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make("recogym/RecoGym-v1", random_seed=5, psale_scale=1.0, **CLICKY, **CONVERSIONS)
    check_env(env.unwrapped)
    _, info = env.reset(seed=1)
    assert info["conversion"] == 0 and np.isnan(info["conversion_probability"])
    keys = set(info)
    converted = 0
    for _ in range(3_000):
        _, reward, terminated, truncated, info = env.step(2)
        assert set(info) == keys
        assert 0 < info["conversion_probability"] <= 1.0
        assert reward or info["conversion"] == 0
        converted += info["conversion"]
        if terminated or truncated:
            env.reset()
    assert converted > 0
    plain = gymnasium.make("recogym/RecoGym-v1", random_seed=5)
    assert set(plain.reset(seed=1)[1]) == {"user_id", "click_probability"}


def test_logs_round_trip_through_pandas_arrow_and_parquet(make_env, tmp_path):
    from recogym.io.parquet import read_logs, write_logs

    args = {**CONVERSIONS, **CLICKY, "random_seed": 3}
    logs = make_env(**args).simulate(50)
    again = Logs.from_arrow(logs.to_arrow())
    assert_columns_equal(again, logs.columns())
    frame = logs.to_pandas()
    assert str(frame["conversion"].dtype) == "Int8"
    assert frame["conversion"].isna().sum() == logs.organic.sum()
    path = tmp_path / "logs.parquet"
    write_logs(path, args, 50)
    read, metadata = read_logs(path)
    assert metadata["env_args"]["with_conversions"] is True
    assert_columns_equal(read, logs.columns())
    assert str(pd.read_parquet(path)["conversion"].dtype) == "Int8"
    plain = tmp_path / "plain.parquet"
    write_logs(plain, {"random_seed": 3}, 20)
    assert not read_logs(plain)[0].has_conversions
    assert "conversion" not in pd.read_parquet(plain).columns


def test_logs_concatenate_take_and_refuse_mixing(make_env):
    logs = make_env(random_seed=3, **CONVERSIONS).simulate(20)
    plain = make_env(random_seed=3).simulate(20)
    both = Logs.concatenate([logs, logs.take(logs.impressions)])
    assert both.has_conversions and len(both) == len(logs) + logs.impressions.sum()
    with pytest.raises(ValueError, match="conversion"):
        Logs.concatenate([logs, plain])
    assert set(CONVERSION_DTYPES) <= set(logs.column_names)


def test_engine_state_pickles_with_the_purchase_state(make_env):
    env = make_env(random_seed=2, **CLICKY, **CONVERSIONS)
    for user in range(100):
        env.reset(user)
        _, _, done, _ = env.step(None)
        clicks = 0
        for _ in range(30):
            if done:
                break
            _, reward, done, _ = env.step(user % 10)
            clicks += reward
        if clicks and not done:
            break
    assert clicks and not done
    copied, pickled = copy.deepcopy(env), pickle.loads(pickle.dumps(env))
    for other in (copied, pickled):
        np.testing.assert_array_equal(other._slots.engine.state["purchase_state"],
                                      env._slots.engine.state["purchase_state"])
        assert other.conversion_probability(4) == env.conversion_probability(4)


def test_test_agent_and_compare_score_the_conversion_rate(make_env):
    from recogym.agents import PopularityAgent, RandomAgent

    args = {**CONVERSIONS, **CLICKY, "psale_scale": 1.0, "random_seed": 3}
    env = make_env(**args)
    agent = RandomAgent(recogym.Configuration(num_products=10, random_seed=1))
    ctr = recogym.test_agent(copy.deepcopy(env), agent, 50, 300, 0)
    rate = recogym.test_agent(copy.deepcopy(env), agent, 50, 300, 0, metric="conversion")
    assert ctr.clicks == rate.clicks and ctr.impressions == rate.impressions
    assert ctr.conversions == rate.conversions and 0 < rate.conversions <= rate.clicks
    assert rate.metric == "conversion" and rate.conversion_rate == rate.conversions / rate.impressions
    assert rate.median < ctr.median
    assert pickle.loads(pickle.dumps(rate)) == rate and pickle.loads(pickle.dumps(rate)).conversions == rate.conversions
    plain = recogym.test_agent(make_env(random_seed=3), agent, 50, 100, 0)
    assert plain.conversions is None
    with pytest.raises(ValueError, match="metric='conversion'.*with_conversions"):
        recogym.test_agent(make_env(random_seed=3), agent, 50, 100, 0, metric="conversion")
    with pytest.raises(ValueError, match="metric must be one of"):
        recogym.test_agent(env, agent, 50, 100, 0, metric="sales")

    agents = {"random": RandomAgent(recogym.Configuration(num_products=10, random_seed=1)),
              "popularity": PopularityAgent(recogym.Configuration(num_products=10))}
    by_ctr = recogym.compare(args, agents, 400, seed=3, num_offline_users=50, num_bootstrap=200)
    by_rate = recogym.compare(args, agents, 400, seed=3, num_offline_users=50, num_bootstrap=200,
                              metric="conversion")
    assert list(by_rate.table.columns) == ["agent", "clicks", "conversions", "impressions", "median", "q0.025",
                                           "q0.975"]
    np.testing.assert_array_equal(by_rate.conversions, by_ctr.conversions)
    assert (by_rate.conversions <= by_rate.clicks).all() and by_rate.conversions.sum() > 0
    totals = by_rate.conversions.sum(axis=0) / by_rate.impressions.sum(axis=0)
    assert by_rate.differences["difference"].iloc[0] == pytest.approx(totals[1] - totals[0])
    assert by_rate.metric == "conversion" and by_ctr.metric == "ctr"
    assert by_ctr.differences["difference"].iloc[0] != by_rate.differences["difference"].iloc[0]


@pytest.mark.parametrize("rng", ["legacy"])
def test_legacy_mode_refuses_it(rng):
    env = recogym.make("reco-gym-v1")
    with pytest.raises(ValueError, match="'with_conversions'.*rng='legacy'.*0.1.3.0"):
        env.init_gym({"rng": rng, **CONVERSIONS})


def test_v0_refuses_it():
    env = recogym.make("reco-gym-v0")
    with pytest.raises(ValueError, match="'with_conversions' must be False for reco-gym-v0.*latent state"):
        env.init_gym(CONVERSIONS)


@pytest.mark.parametrize("name,value,error,message", [
    ("with_conversions", "yes", TypeError, r"env arg 'with_conversions' must be True or False"),
    ("with_conversions", 2, TypeError, r"env arg 'with_conversions' must be True or False"),
    ("psale_scale", 1.5, ValueError, r"env arg 'psale_scale' must be a finite number in \[0.0, 1.0\]"),
    ("psale_scale", -0.1, ValueError, r"env arg 'psale_scale' must be a finite number in \[0.0, 1.0\]"),
    ("psale_scale", "0.2", TypeError, r"env arg 'psale_scale' must be a real number"),
    ("kappa", 1.01, ValueError, r"env arg 'kappa' must be a finite number in \[0.0, 1.0\]"),
    ("kappa", float("nan"), ValueError, r"env arg 'kappa' must be a finite number"),
    ("sigma_Lambda", -1.0, ValueError, r"env arg 'sigma_Lambda' must be a finite number in \[0.0, 1000000.0\]"),
    ("sigma_Lambda", float("inf"), ValueError, r"env arg 'sigma_Lambda' must be a finite number"),
])
def test_bad_values_are_refused_naming_the_argument(name, value, error, message):
    env = recogym.make("reco-gym-v1")
    with pytest.raises(error, match=message):
        env.init_gym({**CONVERSIONS, name: value})


def test_defaults_apply_only_with_conversions(config_of):
    config = config_of("reco-gym-v1", **CONVERSIONS)
    assert (config.psale_scale, config.kappa, config.sigma_Lambda) == (0.25, 0.5, 1.0)
    plain = config_of("reco-gym-v1")
    assert not {"with_conversions", "psale_scale", "kappa", "sigma_Lambda", "organic_after_click"} & set(plain)


def test_asking_for_conversions_without_them_is_refused(make_env):
    env = make_env(random_seed=1)
    env.reset(0)
    env.step(None)
    with pytest.raises(ValueError, match="with_conversions"):
        env.conversion_probability(1)
    batch = recogym.BatchEnv(env, 2)
    with pytest.raises(ValueError, match="with_conversions"):
        batch.last_conversions()


def test_the_engine_tells_whether_it_converts(config_of):
    engine = Simulation.create("reco-gym-v1", config_of("reco-gym-v1", **CONVERSIONS)).engine(1)
    assert engine.params["conversions"] is True and engine.state["purchase_state"].shape == (1, 5)
    assert _core.Engine is type(engine)


def test_the_command_runs_and_scores_conversions(capsys):
    import json

    from recogym.cli import main

    base = ["run", "--agents", "random,popularity", "--offline-users", "50", "--online-users", "200",
            "--set", "with_conversions=true", "--set", "organic_after_click=clicked", "--set", "psale_scale=1.0"]
    assert main([*base, "--json"]) == 0
    by_ctr = json.loads(capsys.readouterr().out)
    assert main([*base, "--metric", "conversion", "--json"]) == 0
    by_rate = json.loads(capsys.readouterr().out)
    for ctr, rate in zip(by_ctr, by_rate):
        assert ctr["conversions"] == rate["conversions"] <= rate["clicks"] == ctr["clicks"]
        assert rate["median"] < ctr["median"]
    assert by_rate[0]["config"]["metric"] == "conversion" and "metric" not in by_ctr[0]["config"]
    with pytest.raises(SystemExit) as exit:
        main(["run", "--agents", "random", "--online-users", "10", "--metric", "conversion"])
    assert exit.value.code == 2
    assert "with_conversions" in capsys.readouterr().err
