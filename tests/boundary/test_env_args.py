"""Env arguments: every model argument is checked by init_gym, with an
exception that names it and its allowed values, and a rejected init_gym
leaves the env as it was."""
import warnings

import numpy as np
import pytest

import recogym
from recogym import Configuration, DefaultTimeGenerator, NormalTimeGenerator
from recogym.agents import RandomAgent
from recogym.params import MAX_SCALE
from support.boundary import MODELS, RNGS, NUM_PRODUCTS, PROBABILITIES, NAN, INF, all_of, make_env, assert_env_works, assert_rejected_init_keeps_env


# -- the transition probabilities ------------------------------------------------

BAD_PROBABILITIES = [
    pytest.param(-0.1, ValueError, id="negative"),
    pytest.param(-1e-12, ValueError, id="tiny-negative"),
    pytest.param(1.5, ValueError, id="above-1"),
    pytest.param(NAN, ValueError, id="nan"),
    pytest.param(INF, ValueError, id="inf"),
    pytest.param("0.5", TypeError, id="string"),
    pytest.param(None, TypeError, id="None"),
    pytest.param(True, TypeError, id="bool"),
]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", PROBABILITIES)
@pytest.mark.parametrize("value, exception", BAD_PROBABILITIES)
def test_probability_outside_unit_interval_is_rejected(model, name, value, exception):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {name: value}, exception, all_of(f"'{name}'", "[0.0, 1.0]"))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", PROBABILITIES)
def test_probability_rejected_on_a_fresh_env_leaves_it_unconfigured(model, name):
    env = recogym.make(model)
    with pytest.raises(ValueError, match=f"'{name}'"):
        env.init_gym({name: -1})
    with pytest.raises(RuntimeError, match="init_gym"):
        env.reset()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
def test_organic_row_above_one_is_rejected(model, rng):
    env = make_env(model)
    args = {"rng": rng, "prob_organic_to_bandit": 0.6, "prob_leave_organic": 0.5}
    assert_rejected_init_keeps_env(env, args, ValueError,
                                   all_of("organic row", "prob_organic_to_bandit + prob_leave_organic"))


@pytest.mark.parametrize("model", MODELS)
def test_bandit_row_above_one_is_rejected_in_default_rng(model):
    env = make_env(model)
    args = {"prob_bandit_to_organic": 0.9, "prob_leave_bandit": 0.5}
    assert_rejected_init_keeps_env(env, args, ValueError,
                                   all_of("bandit row", "prob_bandit_to_organic + prob_leave_bandit"))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("args", [
    {"prob_organic_to_bandit": 0.75, "prob_leave_organic": 0.25},
    {"prob_organic_to_bandit": 0.0, "prob_leave_organic": 1.0, "prob_bandit_to_organic": 0.0},
    {"prob_bandit_to_organic": 0.5, "prob_leave_bandit": 0.5},
    {"prob_bandit_to_organic": 0.0, "prob_leave_bandit": 1.0, "prob_leave_organic": 0.01},
], ids=["organic-sums-to-1", "organic-always-leaves", "bandit-sums-to-1", "bandit-always-leaves"])
def test_rows_summing_to_exactly_one_are_accepted(model, rng, args):
    assert_env_works(make_env(model, rng=rng, **args))


@pytest.mark.parametrize("model", MODELS)
def test_legacy_bandit_row_ignores_prob_leave_bandit(model):
    # 0.1.3.0 uses prob_leave_organic in the bandit row: 0.9 + 0.01 <= 1.
    env = make_env(model, rng="legacy", prob_bandit_to_organic=0.9, prob_leave_bandit=0.5)
    assert_env_works(env)


@pytest.mark.parametrize("model", MODELS)
def test_legacy_bandit_row_uses_prob_leave_organic(model):
    env = make_env(model, rng="legacy")
    args = {"rng": "legacy", "prob_bandit_to_organic": 0.995, "prob_leave_organic": 0.01,
            "prob_leave_bandit": 0.0}
    assert_rejected_init_keeps_env(env, args, ValueError,
                                   all_of("bandit row", "prob_bandit_to_organic + prob_leave_organic"))


@pytest.mark.parametrize("model", MODELS)
def test_default_bandit_row_does_not_use_prob_leave_organic(model):
    # The same arguments legacy rejects are fine when the bandit row uses prob_leave_bandit.
    env = make_env(model, prob_bandit_to_organic=0.995, prob_leave_organic=0.01, prob_leave_bandit=0.005)
    assert_env_works(env)

# -- integer sizes ------------------------------------------------------------------

INTEGER_PARAMS = [("reco-gym-v1", "num_products"), ("reco-gym-v1", "K"), ("reco-gym-v1", "num_clusters"),
                  ("reco-gym-v0", "num_products"), ("reco-gym-v0", "num_clusters")]


@pytest.mark.parametrize("model, name", INTEGER_PARAMS)
@pytest.mark.parametrize("value", [0, -1, -(2**70)])
def test_size_below_one_is_rejected(model, name, value):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {name: value}, ValueError, all_of(f"'{name}'", "integer >= 1"))


@pytest.mark.parametrize("model, name", INTEGER_PARAMS)
@pytest.mark.parametrize("value", [2.5, 2.0, "3", True, None, np.float64(2.0)],
                         ids=["2.5", "2.0", "str", "True", "None", "np.float64"])
def test_size_not_an_integer_is_rejected(model, name, value):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {name: value}, TypeError, all_of(f"'{name}'", "integer >= 1"))


@pytest.mark.parametrize("model, name", INTEGER_PARAMS)
@pytest.mark.parametrize("cast", [np.int64, np.int32, np.uint16])
def test_size_as_numpy_integer_is_accepted(model, name, cast):
    value = 6 if name != "num_clusters" else 2
    env = make_env(model, **{name: cast(value)})
    assert env.config[name] == value and type(env.config[name]) is int
    assert_env_works(env)


def test_smallest_sizes_are_accepted():
    assert_env_works(make_env("reco-gym-v1", num_products=1, K=1, num_clusters=1))
    assert_env_works(make_env("reco-gym-v0", num_products=1, num_clusters=1))


@pytest.mark.parametrize("num_products, num_clusters", [(10, 3), (10, 4), (7, 2), (10, 20), (1, 2)])
def test_v0_num_clusters_must_divide_num_products(num_products, num_clusters):
    env = make_env("reco-gym-v0")
    assert_rejected_init_keeps_env(
        env, {"num_products": num_products, "num_clusters": num_clusters}, ValueError,
        all_of("'num_clusters' must divide 'num_products'",
               f"num_clusters={num_clusters} with num_products={num_products}"))


@pytest.mark.parametrize("num_products, num_clusters", [(10, 1), (10, 2), (10, 5), (10, 10), (12, 3)])
def test_v0_num_clusters_dividing_num_products_is_accepted(num_products, num_clusters):
    assert_env_works(make_env("reco-gym-v0", num_products=num_products, num_clusters=num_clusters))

# -- sigmas and variances -----------------------------------------------------------

SIGMAS = [("reco-gym-v1", "sigma_omega"), ("reco-gym-v1", "sigma_omega_initial"),
          ("reco-gym-v1", "sigma_mu_organic"), ("reco-gym-v1", "phi_var"), ("reco-gym-v0", "phi_var")]

BAD_SIGMAS = [
    pytest.param(-0.1, ValueError, id="negative"),
    pytest.param(-INF, ValueError, id="-inf"),
    pytest.param(NAN, ValueError, id="nan"),
    pytest.param("1.0", TypeError, id="string"),
    pytest.param(None, TypeError, id="None"),
    pytest.param(True, TypeError, id="bool"),
]
# Note: +inf is accepted for every sigma (see the report); it is not asserted here.


@pytest.mark.parametrize("model, name", SIGMAS)
@pytest.mark.parametrize("value, exception", BAD_SIGMAS)
def test_bad_sigma_is_rejected(model, name, value, exception):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {name: value}, exception, all_of(f"'{name}'", f"[0.0, {MAX_SCALE}]"))


@pytest.mark.parametrize("model, name", SIGMAS)
def test_zero_sigma_is_accepted(model, name):
    assert_env_works(make_env(model, **{name: 0.0}))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("value, exception", BAD_SIGMAS)
def test_bad_normal_time_sigma_is_rejected(model, rng, value, exception):
    env = make_env(model)
    args = {"rng": rng, "time_generator": "normal", "normal_time_sigma": value}
    assert_rejected_init_keeps_env(env, args, exception, all_of("'normal_time_sigma'", f"[0.0, {MAX_SCALE}]"))


@pytest.mark.parametrize("model", MODELS)
def test_bad_normal_time_sigma_in_a_generator_object_is_rejected(model):
    env = make_env(model)
    generator = NormalTimeGenerator({"normal_time_mu": 0.0, "normal_time_sigma": -1.0})
    assert_rejected_init_keeps_env(env, {"time_generator": generator}, ValueError, "'normal_time_sigma'")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("value, exception", [(NAN, ValueError), ("0", TypeError), (None, TypeError)],
                         ids=["nan", "string", "None"])
def test_bad_normal_time_mu_is_rejected(model, value, exception):
    env = make_env(model)
    args = {"time_generator": "normal", "normal_time_mu": value}
    assert_rejected_init_keeps_env(env, args, exception, "'normal_time_mu'")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
def test_normal_time_generator_is_accepted(model, rng):
    assert_env_works(make_env(model, rng=rng, time_generator="normal", normal_time_mu=0.5, normal_time_sigma=2.0))
    assert_env_works(make_env(model, rng=rng, time_generator=NormalTimeGenerator({"normal_time_sigma": 0.0})))

# -- number_of_flips ------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, -5])
def test_negative_number_of_flips_is_rejected(value):
    env = make_env("reco-gym-v1")
    assert_rejected_init_keeps_env(env, {"number_of_flips": value}, ValueError,
                                   all_of("'number_of_flips'", "integer >= 0"))


@pytest.mark.parametrize("num_products, flips", [(10, 6), (10, 10), (4, 3), (1, 1), (11, 6)])
def test_number_of_flips_above_half_num_products_is_rejected(num_products, flips):
    env = make_env("reco-gym-v1")
    assert_rejected_init_keeps_env(
        env, {"num_products": num_products, "number_of_flips": flips}, ValueError,
        all_of("'number_of_flips'", f"num_products // 2 = {num_products // 2}", f"got {flips}"))


@pytest.mark.parametrize("value", [1.5, "2", True])
def test_number_of_flips_not_an_integer_is_rejected(value):
    env = make_env("reco-gym-v1")
    assert_rejected_init_keeps_env(env, {"number_of_flips": value}, TypeError, "'number_of_flips'")


@pytest.mark.parametrize("num_products, flips", [(10, 5), (11, 5), (10, 1)])
def test_number_of_flips_up_to_half_num_products_is_accepted(num_products, flips):
    assert_env_works(make_env("reco-gym-v1", num_products=num_products, number_of_flips=flips))

# -- rng, random_seed, time_generator ----------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("value", ["numpy", None, 1, "Legacy", "", ["default"]],
                         ids=["numpy", "None", "1", "Legacy", "empty", "list"])
def test_unknown_rng_is_rejected(model, value):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {"rng": value}, ValueError, all_of("'rng'", "('default', 'legacy')"))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("value, exception", [(-1, ValueError), (1.5, TypeError), ("42", TypeError),
                                              (True, TypeError), (None, TypeError)],
                         ids=["negative", "float", "string", "bool", "None"])
def test_bad_random_seed_is_rejected(model, rng, value, exception):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {"rng": rng, "random_seed": value}, exception, "'random_seed'")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", [2**32, 2**40, 2**64 - 1])
def test_legacy_random_seed_must_fit_in_32_bits(model, seed):
    env = make_env(model, rng="legacy")
    assert_rejected_init_keeps_env(env, {"rng": "legacy", "random_seed": seed}, ValueError,
                                   all_of("'random_seed'", f"[0, {2**32})", "'legacy'"))


@pytest.mark.parametrize("model", MODELS)
def test_largest_legacy_random_seed_is_accepted(model):
    assert_env_works(make_env(model, rng="legacy", random_seed=2**32 - 1))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", [2**32, 2**63, 2**64 - 1, np.uint64(2**64 - 1)],
                         ids=["2**32", "2**63", "2**64-1", "np.uint64-max"])
def test_default_random_seed_up_to_64_bits_is_accepted(model, seed):
    assert_env_works(make_env(model, random_seed=seed))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", [2**64, 2**70])
def test_default_random_seed_above_64_bits_is_rejected(model, seed):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {"random_seed": seed}, ValueError,
                                   all_of("'random_seed'", f"[0, {2**64})", "'default'"))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("value", ["uniform", "Normal"])
def test_unknown_time_generator_name_is_rejected(model, value):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {"time_generator": value}, ValueError,
                                   all_of("'time_generator'", "'default', 'normal'", repr(value)))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("value", [1, object()], ids=["1", "object"])
def test_time_generator_without_new_time_and_reset_is_rejected(model, value):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {"time_generator": value}, TypeError,
                                   all_of("'time_generator'", "new_time() and reset()"))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("value", [None, "default", "normal", DefaultTimeGenerator(), NormalTimeGenerator()],
                         ids=["None", "default", "normal", "DefaultTimeGenerator", "NormalTimeGenerator"])
def test_known_time_generators_are_accepted(model, value):
    assert_env_works(make_env(model, time_generator=value))

# -- misspelled keys and the shape of the args --------------------------------------


@pytest.mark.parametrize("model, key, nearest", [
    ("reco-gym-v1", "prob_leave_organc", "prob_leave_organic"),
    ("reco-gym-v0", "prob_leave_organc", "prob_leave_organic"),
    ("reco-gym-v1", "num_product", "num_products"),
    ("reco-gym-v0", "num_product", "num_products"),
    ("reco-gym-v1", "sigma_omga", "sigma_omega"),
    ("reco-gym-v1", "random_sed", "random_seed"),
    ("reco-gym-v0", "num_cluster", "num_clusters"),
    ("reco-gym-v1", "time_generater", "time_generator"),
])
def test_misspelled_key_warns_with_the_nearest_valid_key(model, key, nearest):
    env = recogym.make(model)
    with pytest.warns(UserWarning, match=all_of(f"'{key}'", f"did you mean '{nearest}'")) as record:
        env.init_gym({key: 3})
    # The warning points at the caller, not into recogym.
    assert record[0].filename == __file__
    # The misspelled key is ignored: the real one keeps its default.
    assert env.config[nearest] == make_env(model).config[nearest]
    assert_env_works(env)


def test_unknown_key_with_no_near_match_warns_without_a_suggestion():
    env = recogym.make("reco-gym-v1")
    with pytest.warns(UserWarning, match="'zzz'") as record:
        env.init_gym({"zzz": 1})
    assert "did you mean" not in str(record[0].message)


def test_v1_only_key_warns_for_v0():
    env = recogym.make("reco-gym-v0")
    with pytest.warns(UserWarning, match=all_of("'K'", "reco-gym-v0")):
        env.init_gym({"K": 3})


@pytest.mark.parametrize("model, args", [
    ("reco-gym-v1", dict(recogym.env_1_args)),
    ("reco-gym-v0", dict(recogym.env_0_args)),
    ("reco-gym-v1", {"prob_leave_organic": 0.02, "num_products": 6}),
    ("reco-gym-v0", {"prob_leave_organic": 0.02, "num_products": 6, "num_clusters": 3}),
    ("reco-gym-v1", {"time_generator": "normal", "normal_time_mu": 1.0, "normal_time_sigma": 0.5}),
    ("reco-gym-v1", Configuration(recogym.env_1_args, K=3)),
], ids=["env_1_args", "env_0_args", "v1-some", "v0-some", "v1-optional", "Configuration"])
def test_correct_keys_give_no_warning(model, args):
    env = recogym.make(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.init_gym(args)
        assert_env_works(env)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("args", [[("num_products", 5)], ["num_products"], "num_products", 5, {"num_products"}],
                         ids=["list-of-pairs", "list", "str", "int", "set"])
def test_args_that_are_not_a_mapping_are_rejected(model, args):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, args, TypeError, all_of("args", "dict or Configuration"))


@pytest.mark.parametrize("model", MODELS)
def test_args_none_and_configuration_are_accepted(model):
    env = recogym.make(model)
    env.init_gym(None)
    assert env.config.num_products == NUM_PRODUCTS
    env.init_gym(Configuration(num_products=4, num_clusters=2))
    assert env.config.num_products == 4
    assert_env_works(env)


def test_init_gym_does_not_mutate_the_callers_args():
    args = {"num_products": np.int64(6), "normalize_beta": 1, "time_generator": "normal"}
    copy = dict(args)
    env = recogym.make("reco-gym-v1")
    env.init_gym(args)
    assert args == copy and set(args) == set(copy)

# -- Configuration --------------------------------------------------------------------------


def test_configuration_is_read_only():
    config = Configuration({"num_products": 3}, K=2)
    with pytest.raises(AttributeError, match="read-only"):
        config.num_products = 4
    with pytest.raises(AttributeError, match="read-only"):
        config.new_key = 1
    with pytest.raises(TypeError):
        config["num_products"] = 4
    assert config.num_products == 3 and config["K"] == 2 and dict(config) == {"num_products": 3, "K": 2}
    with pytest.raises(AttributeError, match="missing"):
        config.missing


def test_env_config_is_read_only():
    env = make_env("reco-gym-v1")
    with pytest.raises(AttributeError, match="read-only"):
        env.config.num_products = 3
    assert env.config.num_products == NUM_PRODUCTS
    assert_env_works(env)


def test_configuration_does_not_alias_its_source():
    source = {"num_products": 3}
    config = Configuration(source)
    source["num_products"] = 99
    assert config.num_products == 3

# -- make --------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ["reco-gym-v2", "RecoGym-v1", "", None])
def test_unknown_env_id_is_rejected(env_id):
    with pytest.raises(ValueError, match=all_of("env id", "reco-gym-v1", "reco-gym-v0")):
        recogym.make(env_id)


@pytest.mark.parametrize("name", ["sigma_omega", "sigma_omega_initial", "sigma_mu_organic", "phi_var",
                                  "normal_time_sigma", "normal_time_mu"])
@pytest.mark.parametrize("value", [INF, -INF])
def test_infinite_values_are_rejected(name, value):
    with pytest.raises(ValueError, match=all_of(name, "finite")):
        make_env("reco-gym-v1", time_generator="normal", **{name: value})


@pytest.mark.parametrize("rng,seed,epoch", [("default", 0, -1), ("default", 2**64 - 1, 1), ("legacy", 2**32 - 1, 1),
                                            ("default", 0, 1.5)])
def test_reset_random_seed_checks_epoch(rng, seed, epoch):
    env = make_env("reco-gym-v1", rng=rng, random_seed=seed)
    with pytest.raises((TypeError, ValueError), match="epoch"):
        env.reset_random_seed(epoch)


def test_configuration_cannot_lose_attributes():
    config = Configuration({"a": 1})
    with pytest.raises(AttributeError):
        del config._args
    assert config.a == 1


def test_agents_take_numpy_integers_and_flags_take_numpy_bools():
    assert RandomAgent({"num_products": np.int64(7)}).num_products == 7
    env = make_env("reco-gym-v1", normalize_beta=np.True_)
    assert env.config.normalize_beta is True
    with pytest.raises(TypeError, match="normalize_beta"):
        make_env("reco-gym-v1", normalize_beta=5)
    with pytest.raises(ValueError, match="rng"):
        make_env("reco-gym-v1", rng=np.array([1, 2]))


# -- chains that never end, and scales that overflow ------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng, args", [
    ("default", {"prob_leave_organic": 0.0, "prob_leave_bandit": 0.0}),
    ("legacy", {"prob_leave_organic": 0.0}),               # legacy leaves the bandit row with it too
    ("default", {"prob_leave_bandit": 0.0, "prob_bandit_to_organic": 0.0}),
    ("default", {"prob_organic_to_bandit": 0.0, "prob_leave_organic": 0.0}),
    ("default", {"prob_leave_organic": 5e-324, "prob_leave_bandit": 5e-324}),
], ids=["no-leave", "legacy-no-leave", "bandit-absorbs", "organic-absorbs", "denormal-leave"])
def test_chains_whose_users_never_leave_are_refused(model, rng, args):
    env = make_env(model)
    assert_rejected_init_keeps_env(env, {"rng": rng, **args}, ValueError, "never leave")


@pytest.mark.parametrize("model", MODELS)
def test_chains_with_too_many_expected_events_are_refused(model):
    with pytest.raises(ValueError, match=all_of("expected events", "1e+08")):
        make_env(model, prob_leave_organic=1e-12, prob_leave_bandit=1e-12)


def test_a_chain_without_bandit_state_is_accepted():
    env = make_env("reco-gym-v1", prob_organic_to_bandit=0.0, prob_leave_organic=0.1, prob_leave_bandit=0.0,
                   prob_bandit_to_organic=0.0)
    logs = env.simulate(50)
    assert not logs.impressions.any() and len(logs) > 50


@pytest.mark.parametrize("name", ["sigma_omega", "sigma_omega_initial", "sigma_mu_organic", "phi_var",
                                  "normal_time_sigma", "normal_time_mu"])
def test_huge_scales_are_refused_naming_their_bound(name):
    with pytest.raises(ValueError, match=all_of(f"'{name}'", "1000000.0")):
        make_env("reco-gym-v1", time_generator="normal", **{name: 1e308})


def test_the_largest_scales_keep_the_model_finite():
    env = make_env("reco-gym-v1", sigma_omega=1e6, sigma_omega_initial=1e6, sigma_mu_organic=1e6,
                   time_generator="normal", normal_time_mu=1e6, normal_time_sigma=1e6)
    logs = env.simulate(20)
    assert np.isfinite(logs.t).all()
    assert np.isfinite(logs.click_probability[logs.impressions]).all()


def test_num_products_beyond_int32_is_refused():
    with pytest.raises(ValueError, match=all_of("'num_products'", "int32")):
        make_env("reco-gym-v1", num_products=2**63)
