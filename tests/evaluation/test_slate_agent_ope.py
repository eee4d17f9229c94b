"""A ranking agent evaluated off-policy on slate logs, against the
simulator's truth; and the command's slate paths (run, sweep, logs, ope)."""
import numpy as np
import pytest

import recogym
from recogym.agents import BanditCount, PopularityAgent
from recogym.evaluation.slate_agents import (
    evaluate_slate_agent,
    logged_user_batch,
    target_rankings,
)
from recogym.io.parquet import writes_null_fixed_size_lists

ARGS = {"num_products": 8, "slate_size": 3, "random_seed": 11}


def make(**args):
    env = recogym.make("reco-gym-v1")
    env.init_gym({**ARGS, **args})
    return env


def test_the_logged_user_batch_is_what_the_batch_env_showed():
    """The view counts, last views and steps rebuilt from the logs are the
    batch env's at the same impressions of the same users."""
    env = make()
    logs = env.simulate(30)
    batch = logged_user_batch(logs, 8)
    batch_env = recogym.BatchEnv(env, num_envs=30)
    batch_env.start(30)
    slots = batch_env.active_slots()
    seen = batch_env.observe(slots)
    first_rows = {}
    for row, user in enumerate(batch.user_ids.tolist()):
        first_rows.setdefault(user, row)
    for slot_row, user in enumerate(seen.user_ids.tolist()):
        row = first_rows[user]
        np.testing.assert_array_equal(batch.view_counts[row], seen.view_counts[slot_row])
        assert batch.last_view[row] == seen.last_view[slot_row] and batch.steps[row] == 0
    assert batch.steps.max() > 10


@pytest.mark.parametrize("click_model,unbiased", [("pbm", "IIPS"), ("cascade", "RIPS")])
def test_agent_estimates_cover_the_truth(click_model, unbiased):
    env = make(click_model=click_model, num_products=6)
    agent = BanditCount({"num_products": 6, "slate_size": 3})
    agent.train_logs(env.simulate(500, first_user=10**6))
    logs = env.simulate(4000)
    table = evaluate_slate_agent(logs, agent, env)
    row = table[table.estimator == unbiased].iloc[0]
    assert np.isfinite(row.truth) and row.truth > 0
    assert abs(row.estimate - row.truth) < 6 * row.std_error
    # The target is the agent's own ranking at each impression.
    rankings = target_rankings(logs, agent)
    assert rankings.shape == (int(logs.impressions.sum()), 3)


def test_evaluate_slate_agent_checks_its_inputs():
    env = make()
    logs = env.simulate(5)
    with pytest.raises(ValueError, match="slate_size = 3"):
        evaluate_slate_agent(logs, PopularityAgent({"num_products": 8}))
    plain = recogym.make("reco-gym-v1")
    plain.init_gym({"num_products": 8})
    with pytest.raises(ValueError, match="slate logs"):
        evaluate_slate_agent(plain.simulate(3), PopularityAgent({"num_products": 8, "slate_size": 3}))


@pytest.mark.skipif(not writes_null_fixed_size_lists(),
                    reason="this pyarrow's Parquet writer refuses null fixed-size lists (pyarrow 21 does)")
def test_the_command_runs_and_evaluates_slates(tmp_path, capsys):
    from recogym.cli import main

    main(["run", "--set", "slate_size=3", "--set", "click_model=cascade", "--agents", "random,popularity",
          "--offline-users", "50", "--online-users", "50"])
    out = capsys.readouterr().out
    assert "clicks@1" in out and "clicks_per_impression" in out
    path = tmp_path / "slates.parquet"
    main(["logs", "--set", "slate_size=3", "--users", "200", "--out", str(path)])
    capsys.readouterr()
    main(["ope", "--logs", str(path), "--agent", "popularity", "--train-users", "100"])
    out = capsys.readouterr().out
    assert "IIPS" in out and "RIPS" in out and "truth" in out
    with pytest.raises(SystemExit):
        main(["run", "--set", "slate_size=3", "--agents", "epsilon-greedy", "--offline-users", "5",
              "--online-users", "5"])
    assert "cannot rank slates" in capsys.readouterr().err


def test_a_sweep_over_slate_sizes(tmp_path):
    from recogym.evaluation.sweep import sweep

    frame = sweep({"num_products": [8], "slate_size": [1, 3], "click_model": ["pbm", "cascade"]},
                  {"popularity": PopularityAgent({"num_products": 8})}, offline_users=[50], online_users=100,
                  seeds=[1])
    assert frame["error"].isna().all()
    one = frame[frame.slate_size == 1]
    # slate_size=1 ignores the click model: the same users click the same.
    assert one["clicks"].nunique() == 1


def test_compare_pairs_ranking_agents():
    from recogym.evaluation.compare import compare

    args = {"num_products": 8, "slate_size": 3, "click_model": "cascade", "random_seed": 4}
    from recogym.agents import RandomAgent

    result = compare(args, {"random": RandomAgent({"num_products": 8}),
                            "popularity": PopularityAgent({"num_products": 8})}, 300, num_offline_users=100,
                     num_bootstrap=200, seed=1)
    table = result.table
    assert set(table["agent"]) == {"random", "popularity"}
    assert (table["clicks"] <= table["impressions"]).all()
    # The per-user loop (no act_batch) gives the same clicks as the batch env.

    class PerUser:
        def __init__(self, agent):
            self.agent = agent

        def train_logs(self, logs):
            self.agent.train_logs(logs)

        def reset(self):
            self.agent.reset()

        def act(self, observation, reward, done):
            return self.agent.act(observation, reward, done)

    again = compare(args, {"popularity": PerUser(PopularityAgent({"num_products": 8, "slate_size": 3}))}, 300,
                    num_offline_users=100, num_bootstrap=200, seed=1)
    again_table = again.table
    assert int(again_table["clicks"].iloc[0]) == int(table.loc[table.agent == "popularity", "clicks"].iloc[0])
