"""The simulator's truth for slate off-policy evaluation: slate logs
replayed, and the slate estimators checked against it."""
import numpy as np
import pytest

import recogym
from recogym.sim.replay import expected_slate_rewards, slate_click_probabilities


def make(**args):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"num_products": 6, "random_seed": 17, "prob_leave_bandit": 0.01, **args})
    return env


@pytest.mark.parametrize("args", [{"slate_size": 3}, {"slate_size": 3, "click_model": "cascade",
                                                        "cascade_continuation": 0.8}], ids=["pbm", "cascade"])
def test_replay_gives_the_logged_click_probabilities(args):
    env = make(**args)
    logs = env.simulate(40, num_organic_users=3, first_user=5)
    rewards = expected_slate_rewards(env.simulation, logs)
    feedback = logs.slate_feedback()
    assert rewards.shape == (len(feedback["slates"]), 6)
    np.testing.assert_allclose(slate_click_probabilities(env.simulation, rewards, feedback["slates"]),
                               feedback["click_probability"], rtol=1e-12)


def test_replay_refuses_other_logs():
    from recogym.policies import UserPopularityRanking

    env = make(slate_size=3)
    with pytest.raises(ValueError, match="slates"):
        expected_slate_rewards(env.simulation, env.simulate(20, policy=UserPopularityRanking(0.5)))
    with pytest.raises(ValueError, match="slate_size > 1"):
        expected_slate_rewards(make().simulation, make().simulate(3))


@pytest.mark.parametrize("click_model,unbiased", [("pbm", "IIPS"), ("cascade", "RIPS")])
def test_slate_estimators_meet_the_simulators_truth(click_model, unbiased):
    """A target that ranks each user's products by their true click
    probability, evaluated on uniform slates: IIPS is unbiased under the
    PBM and RIPS under the cascade (6 standard errors), against the truth
    replayed from the simulator."""
    slate_ope = pytest.importorskip("recogym.evaluation.slate_ope")
    env = make(slate_size=3, click_model=click_model, examination=[1.0, 0.7, 0.4] if click_model == "pbm" else None)
    logs = env.simulate(3000)
    feedback = logs.slate_feedback()
    rewards = expected_slate_rewards(env.simulation, logs)
    target_slates = np.argsort(-rewards, axis=1, kind="stable")[:, :3]
    truth = slate_click_probabilities(env.simulation, rewards, target_slates).sum(axis=1).mean()
    logging = slate_ope.uniform_slate_propensities(feedback["slates"], 6)
    target = slate_ope.ranking_slate_propensities(feedback["slates"], rewards)
    table = slate_ope.evaluate_slate_policy(feedback["slates"], feedback["clicks"], logging, target,
                                            users=feedback["user"], truth=truth)
    row = table[table.estimator == unbiased].iloc[0]
    assert abs(row.estimate - truth) < 6 * row.std_error
    assert row.std_error < 0.2 * truth
