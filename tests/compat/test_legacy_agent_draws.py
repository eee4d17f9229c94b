"""Legacy draws: recogym's agents draw their recommendations as 0.1.3.0's
did, from their own RandomState, act for act (issue 15).

The fixture, tests/fixtures/compat/agent_draws.json.gz, holds what
0.1.3.0's agents did on fixed sequences of observations; it is written by
tests/fixtures/compat/make_agent_draw_fixtures.py under the original
package (see tests/fixtures/legacy/README.md).
"""
import copy
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

import recogym
from recogym.agents import (
    BanditCount,
    EpsilonGreedy,
    LogregMulticlassIpsAgent,
    NnIpsAgent,
    OrganicUserEventCounterAgent,
    RandomAgent,
    UserBatch,
    bandit_count_args,
    organic_user_count_args,
    random_args,
)
from recogym.agents.base import choose, keyed_uniform, use_legacy_draws
from recogym.session import DefaultContext, Observation, OrganicSessions

FIXTURES = Path(__file__).parent.parent / "fixtures" / "compat"

with gzip.open(FIXTURES / "agent_draws.json.gz", "rt") as _handle:
    DRAWS = json.load(_handle)
CASES = {case["name"]: case for case in DRAWS["cases"]}

AGENTS = {
    "random": RandomAgent,
    "organic_user_count": OrganicUserEventCounterAgent,
    "logreg_ips": LogregMulticlassIpsAgent,
    "nn_ips": NnIpsAgent,
}

#: Cases whose propensities differ from 0.1.3.0's on purpose: recogym
#: reports its policy's probability of the product, 0.1.3.0 the share of the
#: branch it took (explore or exploit, in OrganicUserEventCounterAgent and
#: EpsilonGreedy), or the network's probability of a product it took by
#: argmax (NnIpsAgent, where recogym's propensity is 1).
OWN_PROPENSITIES = {"ouc_epsilon", "ouc_epsilon_ps_all", "eg_random", "eg_random_same_seed_not_pure", "eg_ouc",
                    "eg_argmax_worse", "eg_random_worse_not_pure", "nn_argmax"}

#: Relative tolerance of the propensities compared: the fixture's model
#: agents compute in float32 (torch) or on sparse rows (sklearn).
PS_TOLERANCE = {"nn_select_randomly": 1e-5}


def build(name, args, config_route):
    """recogym's agent of the fixture's case, legacy draws switched on by
    the config (``rng='legacy'``) or by :func:`use_legacy_draws`."""
    extra = {"rng": "legacy"} if config_route else {}
    agent = AGENTS[name]({**args, **extra})
    if not config_route:
        use_legacy_draws(agent)
    return agent


def agent_of(case, config_route):
    if case["agent"] != "epsilon_greedy":
        agent = build(case["agent"], case["args"], config_route)
    else:
        wrapped = AGENTS[case["wrapped"]["agent"]](case["wrapped"]["args"])
        agent = EpsilonGreedy({**case["args"], **({"rng": "legacy"} if config_route else {})}, wrapped)
        if not config_route:
            use_legacy_draws(agent)
        assert wrapped.legacy_draws
    assert agent.legacy_draws
    load_model(agent, case)
    return agent


def load_model(agent, case):
    """Give recogym's model agent 0.1.3.0's fitted model: only the draws
    are compared (the two packages fit differently)."""
    model = case["model"]
    if case["agent"] == "logreg_ips":
        classes = np.array(model["classes"])
        agent.coef = np.zeros((agent.num_products, agent.num_products))
        agent.intercept = np.full(agent.num_products, -np.inf)
        agent.coef[classes] = model["coef"]
        agent.intercept[classes] = model["intercept"]
    elif case["agent"] == "nn_ips":
        torch = pytest.importorskip("torch")
        from recogym.agents._torch_models import IpsPolicyNet

        agent.model = IpsPolicyNet(agent.num_products, agent.num_hidden)
        agent.model.load_state_dict({f"layers.{key}": torch.tensor(value, dtype=torch.float64)
                                     for key, value in model.items()})


def observation(user, step):
    sessions = OrganicSessions()
    for time, view in zip(step["times"], step["views"]):
        sessions.next(DefaultContext(time, user), view)
    return Observation(DefaultContext(step["time"], user), sessions)


def acts_of(agent, sequence):
    acts = []
    for user, steps in enumerate(DRAWS["sequences"][sequence]):
        agent.reset()
        for step in steps:
            acts.append(agent.act(observation(user, step), None, False))
    return acts


@pytest.mark.parametrize("config_route", [False, True], ids=["use_legacy_draws", "rng_legacy"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_agents_draw_as_0_1_3_0(name, config_route):
    case = CASES[name]
    acts = acts_of(agent_of(case, config_route), case["sequence"])
    expected = case["acts"]
    assert [int(action) for action in acts] == [act["a"] for act in expected]
    assert all(0.0 < action.ps <= 1.0 for action in acts)
    if name in OWN_PROPENSITIES:
        return
    rel = PS_TOLERANCE.get(name, 1e-12)
    assert [action.ps for action in acts] == pytest.approx([act["ps"] for act in expected], rel=rel, abs=0)
    for action, act in zip(acts, expected):
        if act["ps_all"] is not None:
            np.testing.assert_allclose(action.ps_all, act["ps_all"], rtol=rel, atol=1e-300)


def test_the_fixture_covers_exploring_and_both_branches():
    """The cases are worth comparing: the explore branch and epsilon's
    exploration happen, and the draws are not all one product."""
    for name in ("ouc_epsilon", "eg_random", "eg_ouc", "eg_argmax_worse"):
        products = [act["a"] for act in CASES[name]["acts"]]
        assert len(set(products)) >= 5, name
    # 0.1.3.0's branch share (epsilon * ...) marks an explored act.
    epsilon = CASES["ouc_epsilon"]["args"]["epsilon"]
    shares = [act["ps"] for act in CASES["ouc_epsilon"]["acts"]]
    assert any(ps <= epsilon for ps in shares) and any(ps > epsilon for ps in shares)


def test_copies_of_a_fresh_agent_draw_alike_and_reset_keeps_the_stream():
    case = CASES["ouc_epsilon"]
    agent = agent_of(case, config_route=False)
    first, second = copy.deepcopy(agent), copy.deepcopy(agent)
    assert [int(a) for a in acts_of(first, case["sequence"])] == [int(a) for a in acts_of(second, case["sequence"])]
    # A copy taken after drawing goes on from there, as 0.1.3.0's deepcopies did.
    later = copy.deepcopy(first)
    continued = [int(a) for a in acts_of(later, "short")]
    assert continued == [int(a) for a in acts_of(first, "short")]
    assert continued != [int(a) for a in acts_of(copy.deepcopy(agent), "short")]


def batch_of(view_counts):
    view_counts = np.asarray(view_counts, dtype=np.float64)
    users = len(view_counts)
    return UserBatch(view_counts, np.argmax(view_counts, axis=1), np.arange(users), np.zeros(users, dtype=np.int64))


@pytest.mark.parametrize("make", [
    lambda: RandomAgent({**random_args, "random_seed": 4}),
    lambda: OrganicUserEventCounterAgent({**organic_user_count_args, "random_seed": 5, "epsilon": 0.4}),
    lambda: EpsilonGreedy({"random_seed": 6, "epsilon": 0.5},
                          OrganicUserEventCounterAgent({**organic_user_count_args, "random_seed": 7})),
], ids=["random", "organic_user_count", "epsilon_greedy"])
def test_act_batch_draws_user_after_user(make):
    rng = np.random.RandomState(0)
    view_counts = rng.randint(0, 3, size=(9, 10)) * (rng.random_sample((9, 10)) < 0.4)
    view_counts[:, 0] += 1  # a view each, and a product unviewed by each
    view_counts[:, 9] = 0
    batched = make()
    use_legacy_draws(batched)
    actions, propensities = batched.act_batch(batch_of(view_counts))
    one_by_one = make()
    use_legacy_draws(one_by_one)
    for row, counts in enumerate(view_counts):
        action, ps = one_by_one.act_batch(batch_of(counts[None, :]))
        assert (int(action[0]), ps[0]) == (actions[row], propensities[row])
    # A second batch goes on with the agent's stream.
    again, _ = batched.act_batch(batch_of(view_counts))
    assert not np.array_equal(again, actions)


def test_random_agent_draws_masked_integers_from_its_own_stream():
    agent = RandomAgent({**random_args, "random_seed": 43})
    use_legacy_draws(agent)
    actions = [int(agent.act(observation(0, {"views": [1], "times": [0.0], "time": 1.0}), None, False))
               for _ in range(50)]
    reference = np.random.RandomState(43)
    assert actions == [reference.choice(10) for _ in range(50)]


def test_deterministic_agents_take_the_first_argmax_in_legacy_mode():
    agent = OrganicUserEventCounterAgent({**organic_user_count_args, "select_randomly": False,
                                          "exploit_explore": False, "rng": "legacy"})
    actions, propensities = agent.act_batch(batch_of([[0, 2, 0, 2, 1, 0, 0, 0, 0, 0],
                                                      [3, 0, 0, 0, 0, 0, 0, 0, 0, 3]]))
    assert actions.tolist() == [1, 0] and propensities.tolist() == [1.0, 1.0]
    assert agent._legacy_rng is None  # it drew nothing
    # A greedy policy (one-hot rows) drawn through the RandomState gives its product.
    counter = BanditCount({**bandit_count_args, "rng": "legacy"})
    policy = np.eye(10)[[3, 7, 0]]
    assert counter.legacy_draw(batch_of(np.ones((3, 10))), policy).tolist() == [3, 7, 0]


def test_the_default_mode_keeps_its_keyed_draws():
    agent = RandomAgent({**random_args, "random_seed": 11})
    assert not agent.legacy_draws
    counts = np.ones((6, 10))
    batch = UserBatch(counts, np.zeros(6, dtype=np.int64), np.arange(6) * 7, np.arange(6))
    actions, _ = agent.act_batch(batch)
    expected = choose(np.full((6, 10), 0.1), keyed_uniform(11, batch.user_ids, batch.steps))
    assert actions.tolist() == expected.tolist()
    assert agent._legacy_rng is None


def test_use_legacy_draws_leaves_other_agents_alone():
    class NotebookAgent(recogym.agents.Agent):
        pass

    notebook_agent = NotebookAgent({"num_products": 3})
    use_legacy_draws(notebook_agent)
    use_legacy_draws(None)
    assert not hasattr(notebook_agent, "legacy_draws")


def test_a_seed_randomstate_refuses_is_named():
    agent = RandomAgent({**random_args, "random_seed": 2**32, "rng": "legacy"})
    with pytest.raises(ValueError, match=r"agent arg 'random_seed' must be an integer in \[0, 2\*\*32 - 1\]"):
        agent.act(observation(0, {"views": [1], "times": [0.0], "time": 1.0}), None, False)


def load_fidelity():
    with gzip.open(FIXTURES / "fidelity_test_agent.json.gz", "rt") as handle:
        return json.load(handle)["runs"]


@pytest.mark.parametrize("agent_name", ["random", "organic_user_count"])
def test_test_agent_gives_0_1_3_0_numbers_with_legacy_draws(agent_name):
    """test_agent on a legacy env with the agent's legacy draws switched on
    by hand: 0.1.3.0's results (tests/compat/test_fidelity.py checks the
    same with test_agent switching them on itself)."""
    runs = [run for run in load_fidelity() if run["agent"] == agent_name]
    assert runs
    for run in runs:
        seed = run["random_seed"]
        env = recogym.make("reco-gym-v1")
        env.init_gym({**recogym.env_1_args, "random_seed": seed, "rng": "legacy"})
        if agent_name == "random":
            agent = RandomAgent({**random_args, "random_seed": seed + 1})
        else:
            agent = OrganicUserEventCounterAgent({**organic_user_count_args, **recogym.env_1_args,
                                                  "select_randomly": True, "random_seed": seed + 1})
        use_legacy_draws(agent)
        result = recogym.test_agent(env, agent, run["num_offline_users"], run["num_online_users"],
                                    run["num_organic_offline_users"], run["num_epochs"],
                                    run["epoch_with_random_reset"])
        assert list(result) == pytest.approx(run["result"], rel=1e-12, abs=0), run
