"""RecoGym 0.1.3.0's ``recogym.evaluate_agent`` module on recogym: its names
at their 0.1.3.0 paths, and its numbers where they are deterministic.

The fixtures come from tests/fixtures/compat/make_evaluate_fixtures.py, run
under the original package (see tests/fixtures/legacy/README.md); recogym's
side runs in legacy mode (``rng='legacy'``).
"""
import copy
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recogym
from recogym import (
    AgentInit,
    AgentStats,
    Configuration,
    EvolutionCase,
    RoiMetrics,
    TrainingApproach,
)
from recogym.agents import (
    Agent,
    EpsilonGreedy,
    OrganicCount,
    OrganicUserEventCounterAgent,
    epsilon_greedy_args,
    organic_count_args,
    organic_user_count_args,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "compat"
P = 10
# The fixtures' scipy (1.11) and ours compute beta.ppf of the same counts a few ulps apart.
RTOL = 1e-12


def load(name):
    with gzip.open(FIXTURES / f"evaluate_{name}.json.gz", "rt") as handle:
        return json.load(handle)


def legacy_args(seed, **overrides):
    return {**recogym.env_1_args, "random_seed": seed, "num_products": P, "rng": "legacy", **overrides}


def legacy_env(seed):
    env = recogym.make("reco-gym-v1")
    env.init_gym(legacy_args(seed))
    return env


class EveryThirdExplores(Agent):
    """The fixture script's agent, on recogym's base class: recommends
    ``(trained + last view) % P`` (``trained`` counts the impressions it
    trained on), except every third action, product ``count % P``, said to be
    explored."""

    def __init__(self, config):
        super().__init__(config)
        self.trained = 0
        self.count = 0
        self.last = 0

    def train(self, observation, action, reward, done=False):
        if action is not None:
            self.trained += 1

    def act(self, observation, reward, done):
        if observation.sessions():
            self.last = observation.sessions()[-1]["v"]
        self.count += 1
        greedy = self.count % 3 != 0
        action = (self.trained + self.last) % P if greedy else self.count % P
        return {**super().act(observation, reward, done), "a": action, "ps": 1.0, "ps-a": (), "greedy": greedy}


AGENT_INITS = {
    **recogym.build_agent_init("OrganicCount", OrganicCount, {**organic_count_args}),
    **recogym.build_agent_init("UserCountArgmax", OrganicUserEventCounterAgent,
                               {**organic_user_count_args, "select_randomly": False, "exploit_explore": False}),
}


# -- names and paths ------------------------------------------------------------


def test_the_0_1_3_0_paths_import_and_the_function_keeps_its_name():
    code = """
import recogym
import recogym.evaluate_agent
import recogym.constants
import recogym.competition
from recogym.evaluate_agent import (verify_agents, verify_agents_IPS, verify_agents_SNIPS,
    verify_agents_recall_at_k, plot_verify_agents, evaluate_IPS, evaluate_SNIPS, evaluate_recall_at_k,
    build_agent_init, build_agents, gather_agent_stats, generate_epsilons, format_epsilon, EvolutionEpsilons,
    GraphCTRMin, GraphCTRMax, EpsilonDelta, EpsilonSteps, EpsilonPrecision)
from recogym.constants import AgentStats, AgentInit, EvolutionCase, TrainingApproach, RoiMetrics
from recogym.competition import competition_score
import recogym.compat.evaluate_agent as module
import recogym.evaluation.evolution as evolution
assert recogym.evaluate_agent is module.evaluate_agent, recogym.evaluate_agent
assert sys.modules['recogym.evaluate_agent'] is module
assert TrainingApproach is evolution.TrainingApproach is recogym.TrainingApproach
assert recogym.competition_score is competition_score and recogym.verify_agents is verify_agents
assert recogym.to_categorical is module.to_categorical
"""
    subprocess.run([sys.executable, "-c", "import sys\n" + code], check=True)


def test_importing_the_function_first_then_the_module_keeps_the_function():
    code = ("import recogym, sys; f = recogym.evaluate_agent; import recogym.evaluate_agent; "
            "assert recogym.evaluate_agent is f and callable(f); "
            "from recogym.evaluate_agent import evaluate_IPS")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_recogym_imports_none_of_it():
    code = ("import sys, recogym; print(sorted(m for m in sys.modules if m.startswith('recogym.compat.') "
            "or m in ('matplotlib', 'torch', 'sklearn')))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def test_the_enums_have_0_1_3_0s_members_and_values():
    assert [(m.name, m.value) for m in AgentStats] == [
        ("Q0_025", 0), ("Q0_500", 1), ("Q0_975", 2), ("SAMPLES", 3), ("AGENTS", 4), ("SUCCESSES", 5),
        ("FAILURES", 6)]
    assert [(m.name, m.value) for m in AgentInit] == [("CTOR", 0), ("DEF_ARGS", 1)]
    assert [(m.name, m.value) for m in TrainingApproach] == [
        ("ALL_DATA", 0), ("SLIDING_WINDOW_ALL_DATA", 1), ("ALL_EXPLORATION_DATA", 2),
        ("SLIDING_WINDOW_EXPLORATION_DATA", 3), ("MOST_VALUABLE", 4), ("LAST_STEP", 5)]
    assert [(m.name, m.value) for m in EvolutionCase] == [
        ("SUCCESS", 0), ("FAILURE", 1), ("ACTIONS", 2), ("SUCCESS_GREEDY", 3), ("FAILURE_GREEDY", 4)]
    assert [(m.name, m.value) for m in RoiMetrics] == [
        ("ROI_MEAN", 0), ("ROI_0_025", 1), ("ROI_0_975", 2), ("ROI_SUCCESS", 3), ("ROI_FAILURE", 4)]


def test_to_categorical_is_0_1_3_0s():
    from recogym.evaluate_agent import to_categorical

    for case in load("to_categorical")["cases"]:
        result = to_categorical(case["y"], case["num_classes"])
        assert list(result.shape) == case["shape"] and result.dtype == np.float32
        np.testing.assert_array_equal(result, np.array(case["result"], dtype=np.float32))


def test_build_agent_init_and_build_agents():
    from recogym.evaluate_agent import build_agents

    init = recogym.build_agent_init("count", OrganicCount, {"num_products": 3, "with_ps_all": True})
    assert init == {"count": {AgentInit.CTOR: OrganicCount,
                              AgentInit.DEF_ARGS: {"num_products": 3, "with_ps_all": True}}}
    agents = build_agents(init, {"num_products": 7})
    # The env's args win over the agent's, as in 0.1.3.0.
    assert agents["count"].num_products == 7 and agents["count"].config["with_ps_all"] is True
    with pytest.raises(TypeError, match="build_agent_init"):
        build_agents({"count": OrganicCount}, {"num_products": 7})


def test_epsilons_and_their_keys():
    from recogym.evaluate_agent import (
        EvolutionEpsilons,
        format_epsilon,
        generate_epsilons,
    )

    assert generate_epsilons() == list(EvolutionEpsilons) == [0.00, 0.01, 0.02, 0.03, 0.05, 0.08]
    assert [format_epsilon(e) for e in EvolutionEpsilons] == ["0.00", "0.01", "0.02", "0.03", "0.05", "0.08"]


# -- gather_agent_stats ----------------------------------------------------------------


@pytest.mark.parametrize("run", load("gather_agent_stats")["runs"],
                         ids=lambda run: f"{run['logging']}-seed{run['random_seed']}-reset{run['epoch_with_random_reset']}")
def test_gather_agent_stats_gives_0_1_3_0s_numbers(run):
    env_args = legacy_args(run["random_seed"])
    extra = {}
    if run["logging"] == "user_count_argmax":
        extra = {"agent": OrganicUserEventCounterAgent(Configuration({
            **organic_user_count_args, **env_args, "select_randomly": False, "exploit_explore": False}))}
    stats = recogym.gather_agent_stats(recogym.make("reco-gym-v1"), env_args, extra, AGENT_INITS,
                                       tuple(run["user_samples"]), run["num_online_users"], run["num_epochs"],
                                       run["epoch_with_random_reset"], run["num_organic_offline_users"])
    assert list(stats[AgentStats.SAMPLES]) == run["user_samples"]
    assert list(stats[AgentStats.AGENTS]) == list(run["stats"]["agents"])
    for name, expected in run["stats"]["agents"].items():
        for key in (AgentStats.Q0_025, AgentStats.Q0_500, AgentStats.Q0_975):
            np.testing.assert_allclose(stats[AgentStats.AGENTS][name][key], expected[key.name], rtol=RTOL)


def test_gather_agent_stats_leaves_the_env_as_it_was():
    env = recogym.make("reco-gym-v1")
    recogym.gather_agent_stats(env, legacy_args(1), {}, AGENT_INITS, (5,), 5, num_organic_offline_users=0)
    assert env.config is None  # it configured a copy


# -- evaluate_agent and gather_exploration_stats ---------------------------------------


def rewards_record(rewards):
    record = {case.name: list(rewards[case]) for case in (EvolutionCase.SUCCESS, EvolutionCase.FAILURE,
                                                          EvolutionCase.SUCCESS_GREEDY, EvolutionCase.FAILURE_GREEDY)}
    record["ACTIONS"] = {str(product): counts for product, counts in rewards[EvolutionCase.ACTIONS].items()}
    return record


@pytest.mark.parametrize("run", load("evaluate_agent")["runs"],
                         ids=lambda run: f"{run['agent']}-{run['approach']}-seed{run['random_seed']}")
def test_evaluate_agent_gives_0_1_3_0s_numbers(run):
    env_args = legacy_args(run["random_seed"])
    if run["agent"] == "epsilon0_organic_count":
        agent = EpsilonGreedy(Configuration({**epsilon_greedy_args, **env_args, "epsilon": 0.0}),
                              OrganicCount(Configuration({**organic_count_args, **env_args})))
    else:
        agent = EveryThirdExplores(Configuration(env_args))
    rewards = recogym.evaluate_agent(legacy_env(run["random_seed"]), agent, run["num_initial_train_users"],
                                     run["num_step_users"], run["num_steps"], TrainingApproach[run["approach"]])
    assert rewards_record(rewards) == run["rewards"]


@pytest.mark.parametrize("approach", ["ALL_DATA", "ALL_EXPLORATION_DATA"])
def test_gather_exploration_stats_gives_0_1_3_0s_numbers(approach, pyplot):
    expected = load("evaluate_agent")["gather_exploration_stats"]
    run = expected["runs"][approach]
    stats = recogym.gather_exploration_stats(
        recogym.make("reco-gym-v1"), legacy_args(expected["random_seed"]), {}, AGENT_INITS,
        TrainingApproach[approach], expected["num_initial_train_users"], expected["num_step_users"],
        tuple(expected["epsilons"]), expected["num_evolution_steps"])
    assert {name: {key: rewards_record(value) for key, value in by_epsilon.items()}
            for name, by_epsilon in stats.items()} == run["stats"]
    if "roi" in run:
        roi = recogym.plot_roi(stats)
        for name, by_epsilon in run["roi"].items():
            for key, values in by_epsilon.items():
                np.testing.assert_allclose(roi[name][key][RoiMetrics.ROI_MEAN], values, rtol=1e-12)


def exploration(approach, agent_inits=AGENT_INITS, users=20):
    """Two epsilons, in the default random-number mode."""
    env_args = {**recogym.env_1_args, "random_seed": 2, "num_products": P}
    return recogym.gather_exploration_stats(recogym.make("reco-gym-v1"), env_args, {}, agent_inits, approach, users,
                                            users, (0.0, 0.2), 3)


@pytest.fixture(scope="module")
def exploration_stats():
    return exploration(TrainingApproach.ALL_DATA)


@pytest.mark.parametrize("approach", list(TrainingApproach))
def test_every_approach_runs_and_counts_greedy_actions(approach):
    stats = exploration(approach, {"OrganicCount": AGENT_INITS["OrganicCount"]}, users=12)
    assert list(stats) == ["OrganicCount"]
    for by_epsilon in stats.values():
        assert list(by_epsilon) == ["0.00", "0.20"]
        for key, rewards in by_epsilon.items():
            successes, failures = np.array(rewards[EvolutionCase.SUCCESS]), np.array(rewards[EvolutionCase.FAILURE])
            greedy = np.array(rewards[EvolutionCase.SUCCESS_GREEDY]) + np.array(rewards[EvolutionCase.FAILURE_GREEDY])
            assert len(successes) == 3 and (successes + failures > 0).all()
            if key == "0.00":
                assert (greedy == successes + failures).all()
            else:  # about 80% greedy
                assert (greedy < successes + failures).all() and (greedy > 0.6 * (successes + failures)).all()
            clicks_per_product = np.array(list(rewards[EvolutionCase.ACTIONS].values()))
            assert clicks_per_product.shape == (P, 4)
            np.testing.assert_array_equal(clicks_per_product.sum(axis=0)[:3], successes)
            assert (clicks_per_product[:, 3] == 0).all()


class CountsTrainingSteps(Agent):
    """Remembers the rewards of the impressions it trained on and whether
    each was explored, so a test can see what a training approach kept."""

    def __init__(self, config):
        super().__init__(config)
        self.trained = []

    def train(self, observation, action, reward, done=False):
        if action is not None:
            self.trained.append((reward, action.get("greedy") if isinstance(action, dict) else None))

    def act(self, observation, reward, done):
        self.step = getattr(self, "step", 0) + 1
        explored = self.step % 2 == 0
        return {**super().act(observation, reward, done), "a": self.step % P, "ps": 1.0, "greedy": not explored}


def test_the_window_approaches_retrain_on_their_window(monkeypatch):
    from recogym.compat import evaluate_agent as module

    seen = {}
    original = module._retrained

    def spy(initial_agent, history, approach, window):
        agent = original(initial_agent, history, approach, window)
        seen.setdefault(approach, []).append(list(agent.trained))
        return agent

    monkeypatch.setattr(module, "_retrained", spy)
    for approach in (TrainingApproach.SLIDING_WINDOW_ALL_DATA, TrainingApproach.SLIDING_WINDOW_EXPLORATION_DATA,
                     TrainingApproach.MOST_VALUABLE):
        recogym.evaluate_agent(legacy_env(4), CountsTrainingSteps({"num_products": P}), 10, 30, 2, approach,
                               sliding_window_samples=40)
    for approach, retrainings in seen.items():
        assert len(retrainings) == 2 and all(len(trained) == 40 for trained in retrainings), approach
    # The exploration window holds explored impressions only (the initial ones have no 'greedy': uniform logging).
    assert all(greedy is not True for retraining in seen[TrainingApproach.SLIDING_WINDOW_EXPLORATION_DATA]
               for _, greedy in retraining)
    # MOST_VALUABLE keeps every click while they fit.
    clicks_window = [sum(reward for reward, _ in retraining) for retraining in seen[TrainingApproach.MOST_VALUABLE]]
    clicks_plain = [sum(reward for reward, _ in retraining) for retraining in
                    seen[TrainingApproach.SLIDING_WINDOW_ALL_DATA]]
    assert all(most >= plain for most, plain in zip(clicks_window, clicks_plain))
    assert clicks_window[-1] > clicks_plain[-1]


def test_exploration_approaches_need_actions_that_say_whether_they_explored():
    class Silent(Agent):
        def act(self, observation, reward, done):
            return {**super().act(observation, reward, done), "a": 0, "ps": 1.0}

    with pytest.raises(ValueError, match="explored"):
        recogym.evaluate_agent(legacy_env(1), Silent({"num_products": P}), 2, 3, 1,
                               TrainingApproach.ALL_EXPLORATION_DATA)
    with pytest.raises(ValueError, match="training_approach"):
        recogym.evaluate_agent(legacy_env(1), Silent({"num_products": P}), 2, 3, 1, "ALL_DATA")


# -- verify_agents ---------------------------------------------------------------------------


@pytest.mark.parametrize("run", load("verify_agents")["runs"], ids=lambda run: f"seed{run['random_seed']}")
def test_verify_agents_is_0_1_3_0s_in_legacy_mode(run):
    env_args = legacy_args(run["random_seed"])
    agents = {"untrained": EveryThirdExplores(Configuration(env_args)),
              "argmax": OrganicUserEventCounterAgent(Configuration({
                  **organic_user_count_args, **env_args, "select_randomly": False, "exploit_explore": False}))}
    table = recogym.verify_agents(legacy_env(run["random_seed"]), run["number_of_users"], agents)
    assert list(table.columns) == ["Agent", "0.025", "0.500", "0.975"]
    assert table["Agent"].tolist() == run["table"]["Agent"]
    for column in ("0.025", "0.500", "0.975"):
        np.testing.assert_allclose(table[column], run["table"][column], rtol=RTOL)


def test_verify_agents_counts_only_what_was_shown_in_the_default_mode():
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 3, "num_products": P})
    agent = OrganicUserEventCounterAgent({"num_products": P, "select_randomly": False})
    table = recogym.verify_agents(env, 40, {"argmax": agent})
    logs = copy.deepcopy(env).generate_logs(40, copy.deepcopy(agent))
    clicks = logs.loc[logs["z"] == "bandit", "c"]
    expected = recogym.ctr_interval(int(clicks.sum()), len(clicks))
    np.testing.assert_allclose(table[["0.500", "0.025", "0.975"]].iloc[0], expected)


# -- off-policy tables -------------------------------------------------------------------------


def fixture_frame(fixture):
    frame = fixture["frame"]
    return pd.DataFrame({
        "t": np.array(frame["t"], dtype=np.float32),
        "u": pd.array(frame["u"], dtype=pd.UInt16Dtype()),
        "z": frame["z"],
        "v": pd.array(frame["v"], dtype=pd.UInt16Dtype()),
        "a": pd.array(frame["a"], dtype=pd.UInt16Dtype()),
        "c": np.array([np.nan if c is None else c for c in frame["c"]], dtype=np.float32),
        "ps": np.array([np.nan if ps is None else ps for ps in frame["ps"]]),
    })


def ope_targets():
    args = {**organic_user_count_args, **legacy_args(21), "with_ps_all": True}
    return {
        "user_count": OrganicUserEventCounterAgent(Configuration({**args, "select_randomly": True})),
        "user_count_argmax": OrganicUserEventCounterAgent(Configuration({**args, "select_randomly": False,
                                                                         "exploit_explore": False})),
    }


def assert_table(table, expected):
    assert table["Agent"].tolist() == expected["Agent"]
    for column in ("0.025", "0.500", "0.975"):
        np.testing.assert_allclose(table[column], expected[column], rtol=1e-12, atol=1e-15)


@pytest.fixture(scope="module")
def off_policy():
    fixture = load("off_policy")
    return fixture, fixture_frame(fixture)


def test_off_policy_tables_are_0_1_3_0s_on_every_user(off_policy):
    from recogym.evaluate_agent import (
        evaluate_IPS,
        evaluate_recall_at_k,
        verify_agents_recall_at_k,
        verify_agents_SNIPS,
    )

    fixture, frame = off_policy
    # 0.1.3.0 skipped the user with the largest id: with an organic-only user appended it saw every real one.
    expected = fixture["results"]["frame_and_dummy_user"]
    assert_table(recogym.verify_agents_IPS(frame, ope_targets()), expected["IPS"])
    assert_table(verify_agents_SNIPS(frame, ope_targets()), expected["SNIPS"])
    assert_table(verify_agents_recall_at_k(frame, ope_targets(), k=3), expected["recall_at_3"])
    for name, agent in ope_targets().items():
        np.testing.assert_allclose(evaluate_IPS(agent, frame), expected["ips_terms"][name], rtol=1e-15)
        assert evaluate_recall_at_k(agent, frame, k=3) == expected["recall_hits"][name]


def test_off_policy_tables_without_the_last_user_are_0_1_3_0s(off_policy):
    from recogym.evaluate_agent import verify_agents_SNIPS

    fixture, frame = off_policy
    expected = fixture["results"]["frame"]
    without_last = frame[frame["u"] < frame["u"].max()]
    assert_table(recogym.verify_agents_IPS(without_last, ope_targets()), expected["IPS"])
    assert_table(verify_agents_SNIPS(without_last, ope_targets()), expected["SNIPS"])


def test_off_policy_tables_read_recogym_logs_and_frames_alike():
    from recogym.evaluate_agent import verify_agents_SNIPS

    env = legacy_env(5)
    frame = env.generate_logs(20)
    logs = recogym.logs.as_logs(frame)
    for verify in (recogym.verify_agents_IPS, verify_agents_SNIPS):
        pd.testing.assert_frame_equal(verify(frame, ope_targets()), verify(logs, ope_targets()))


def test_off_policy_tables_name_what_is_missing(off_policy):
    from recogym.evaluate_agent import verify_agents_recall_at_k

    _, frame = off_policy
    class WithoutPsAll:  # a 0.1.3.0-style agent built without with_ps_all
        def act(self, observation, reward, done):
            return {"a": 0, "ps": 1.0, "ps-a": ()}

        def reset(self):
            pass

    with pytest.raises(ValueError, match="with_ps_all"):
        recogym.verify_agents_IPS(frame, {"plain": WithoutPsAll()})
    # recogym's agents carry the whole vector whether or not with_ps_all is set.
    plain = recogym.verify_agents_IPS(frame, {"agent": OrganicUserEventCounterAgent({"num_products": P})})
    flagged = recogym.verify_agents_IPS(frame, {"agent": OrganicUserEventCounterAgent({"num_products": P,
                                                                                     "with_ps_all": True})})
    pd.testing.assert_frame_equal(plain, flagged)
    with pytest.raises(ValueError, match="no impressions"):
        recogym.verify_agents_IPS(frame[frame["z"] == "organic"], ope_targets())
    with pytest.raises(ValueError, match="k must be"):
        verify_agents_recall_at_k(frame, ope_targets(), k=P + 1)
    # 0.1.3.0's notebooks list such an agent's recall: 0, as 0.1.3.0 gave it (its top k was empty).
    with pytest.warns(UserWarning, match="with_ps_all"):
        table = verify_agents_recall_at_k(frame, {"plain": WithoutPsAll()}, k=3)
    assert table[["0.025", "0.500", "0.975"]].iloc[0].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="agents"):
        recogym.verify_agents_IPS(frame, {})


# -- plots -----------------------------------------------------------------------------------------


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_agent_stats(pyplot):
    stats = recogym.gather_agent_stats(recogym.make("reco-gym-v1"), legacy_args(1), {}, AGENT_INITS, (5, 10), 10,
                                       num_organic_offline_users=0)
    figure = recogym.plot_agent_stats(stats)
    assert len(figure.axes[0].lines) == 2 and figure.axes[0].get_ylabel() == "CTR"


def test_plot_evolution_heat_and_roi(pyplot, exploration_stats):
    stats = exploration_stats
    figure = recogym.plot_evolution_stats(stats, epsilons=(0.0, 0.2))
    assert len([ax for ax in figure.axes if ax.lines]) == 2
    one_agent = {"OrganicCount": stats["OrganicCount"]}
    # One agent, two per row: 0.1.3.0 asked for 0 rows here.
    assert len(recogym.plot_evolution_stats(one_agent, epsilons=(0.0, 0.2)).axes) == 2
    figure = recogym.plot_heat_actions(stats, epsilons=(0.0, 0.2))
    assert len(figure.images) == 0 and sum(len(ax.images) for ax in figure.axes) == 4
    roi = recogym.plot_roi(stats, epsilons=(0.0, 0.2))
    assert list(roi) == ["OrganicCount", "UserCountArgmax"]
    for by_epsilon in roi.values():
        assert list(by_epsilon) == ["0.20"]
        values = by_epsilon["0.20"]
        assert len(values[RoiMetrics.ROI_MEAN]) == 2
        assert values[RoiMetrics.ROI_0_025] == [] and values[RoiMetrics.ROI_0_975] == []


def test_roi_is_0_1_3_0s_formula_and_nan_without_a_previous_click(pyplot):
    def case(successes, greedy_successes):
        return {EvolutionCase.SUCCESS: successes, EvolutionCase.FAILURE: [100] * len(successes),
                EvolutionCase.SUCCESS_GREEDY: greedy_successes, EvolutionCase.FAILURE_GREEDY: [90] * len(successes),
                EvolutionCase.ACTIONS: {0: [0] * (len(successes) + 1)}}

    stats = {"a": {"0.00": case([4, 0, 6], [4, 0, 6]), "0.10": case([5, 5, 5], [5, 9, 3])}}
    roi = recogym.plot_roi(stats, epsilons=(0.0, 0.1))["a"]["0.10"][RoiMetrics.ROI_MEAN]
    # ROI at step t: (greedy clicks / (1 - epsilon) - clicks at epsilon 0) / (epsilon * clicks at epsilon 0, t - 1)
    assert roi[0] == pytest.approx((9 / 0.9 - 0) / (0.1 * 4))
    assert np.isnan(roi[1])
    with pytest.raises(ValueError, match="epsilon 0"):
        recogym.plot_roi({"a": {"0.10": case([5], [5])}}, epsilons=(0.1,))


def test_plot_verify_agents(pyplot, off_policy):
    from recogym.evaluate_agent import plot_verify_agents

    _, frame = off_policy
    figure = plot_verify_agents(recogym.verify_agents_IPS(frame, ope_targets()))
    assert figure.axes[0].get_title() == "CTR Estimate for Different Agents"
