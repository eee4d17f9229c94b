"""Property: any env arguments either get a clear error naming an argument,
or give a model whose logs satisfy the invariants."""
import warnings

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the property-based tests need hypothesis (pip install recogym[test])")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import recogym
from recogym.model import expected_events_per_user, transition_cdf
from support.invariants import assert_logs_valid

ODD = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.just(float("nan")), st.just(float("inf")),
                st.just(-float("inf")))
PROBABILITY = st.one_of(st.floats(-0.5, 1.5), st.sampled_from([0.0, 1.0, 5e-324, 1e-12, 0.5]),
                        st.builds(np.float64, st.floats(0, 1)), ODD)
SCALE = st.one_of(st.floats(-1e7, 1e7), st.sampled_from([0.0, 1e6, 1e308, -1e308]), ODD)
SIZE = st.one_of(st.integers(-2, 40), st.sampled_from([2**31, 2**63, 2**64]), st.builds(np.int64, st.integers(1, 30)),
                 st.floats(0, 10), ODD)

ARGS = st.fixed_dictionaries({}, optional={
    "num_products": SIZE, "K": SIZE, "num_clusters": SIZE, "number_of_flips": SIZE,
    "random_seed": st.one_of(st.integers(-2, 2**65), ODD), "rng": st.sampled_from(["default", "legacy", "x", 3]),
    "prob_leave_bandit": PROBABILITY, "prob_leave_organic": PROBABILITY,
    "prob_bandit_to_organic": PROBABILITY, "prob_organic_to_bandit": PROBABILITY,
    "sigma_omega": SCALE, "sigma_omega_initial": SCALE, "sigma_mu_organic": SCALE, "phi_var": SCALE,
    "time_generator": st.sampled_from(["default", "normal", "other", None]),
    "normal_time_mu": SCALE, "normal_time_sigma": SCALE,
    "normalize_beta": st.one_of(st.booleans(), ODD, st.integers(-1, 3)),
    "change_omega_for_bandits": st.one_of(st.booleans(), ODD),
})


@given(model=st.sampled_from(["reco-gym-v1", "reco-gym-v0"]), args=ARGS)
def test_env_args_are_refused_by_name_or_give_valid_logs(model, args):
    env = recogym.make(model)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # v1's args given to v0 are ignored, with a warning
            env.init_gym(args)
    except (TypeError, ValueError) as error:
        message = str(error)
        assert any(f"'{name}'" in message for name in args) or "transition" in message, message
        return
    except MemoryError as error:        # a valid size too large for this machine
        assert "num_products" in str(error)
        return
    events, _ = expected_events_per_user(transition_cdf(env.config))
    if events > 10_000:
        return          # a valid but long-lived chain: constructing it is the property
    logs = env.simulate(3, num_organic_users=1)
    assert_logs_valid(logs, env.num_products, 0, 4)
