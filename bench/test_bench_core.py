"""Core throughput: log generation, the step loop, and the notebook's
test_agent scenario, each beside a reference timed in the same run."""
import copy

import pytest

import recogym
from recogym._reference import reference_logs
from recogym.sim.simulate import LOCKSTEP_SLOTS, simulate_logs
from recogym.agents import PopularityAgent, RandomAgent, popularity_args, random_args
from recogym.params import resolve_env_args


def env_for(rng="default", **args):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 42, "rng": rng, **args})
    return env


USERS = {10: 20_000, 100: 10_000, 1000: 2_000, 10_000: 300}


@pytest.mark.parametrize("num_products", [10, 100, 1000, 10_000])
def test_reference_numpy(throughput, num_products):
    config = resolve_env_args("reco-gym-v1", {"random_seed": 42, "num_products": num_products})
    logs = throughput(f"logs P={num_products}", "numpy reference (per event)",
                      lambda: reference_logs("reco-gym-v1", config, 20), lambda logs: len(logs["t"]),
                      rounds=1, reference=True)
    assert len(logs["t"]) > 500


@pytest.mark.parametrize("num_products", [10, 100, 1000, 10_000])
def test_simulate_arrays(throughput, num_products):
    env = env_for(num_products=num_products)
    logs = throughput(f"logs P={num_products}", "simulate -> numpy arrays",
                      lambda: env.simulate(USERS[num_products]), len)
    assert len(logs) > 50 * USERS[num_products]


@pytest.mark.parametrize("num_products", [10, 100, 1000])
def test_generate_logs_dataframe(throughput, num_products):
    env = env_for(num_products=num_products)
    logs = throughput(f"logs P={num_products}", "generate_logs -> DataFrame",
                      lambda: env.generate_logs(USERS[num_products]), len)
    assert set(logs["z"].unique()) == {"organic", "bandit"}


def test_legacy_simulate(throughput):
    env = env_for(rng="legacy")
    logs = throughput("logs P=10", "simulate, rng='legacy'", lambda: env.simulate(USERS[10]), len)
    assert len(logs) > 50 * USERS[10]


def test_legacy_generate_logs(throughput):
    """0.1.3.0's logs row for row (its phantom rows included), stepped in Python."""
    env = env_for(rng="legacy")
    users = USERS[10] // 10
    logs = throughput("logs P=10", "generate_logs, rng='legacy' (0.1.3.0's rows, Python per event)",
                      lambda: env.generate_logs(users), len)
    assert len(logs) > 50 * users


@pytest.mark.parametrize("num_products, K, users", [(10_000, 20, 300), (100_000, 50, 20)],
                         ids=["gamma-1.6MB", "gamma-40MB"])
@pytest.mark.parametrize("lockstep", [False, True], ids=["one-user-at-a-time", "lockstep"])
def test_large_catalogue(throughput, num_products, K, users, lockstep):
    """The log driver's two strategies on large catalogues: users in lockstep
    sharing each block of Gamma, against one user at a time (the
    reference). ``simulate`` takes lockstep once Gamma outgrows the cache."""
    env = env_for(num_products=num_products, K=K)
    engine = lambda: env.simulation.engine(LOCKSTEP_SLOTS if lockstep else 1)  # noqa: E731
    name = "users in lockstep" if lockstep else "one user at a time"
    logs = throughput(f"logs P={num_products} K={K}", name, lambda: simulate_logs(engine(), 0, users), len,
                      rounds=2, warmup_rounds=0, reference=not lockstep)
    assert len(logs) > 30 * users


def step_loop(env, users, action=3):
    steps = 0
    for _ in range(users):
        env.reset()
        _, _, done, _ = env.step(None)
        while not done:
            _, _, done, _ = env.step(action)
            steps += 1
    return steps


def test_step_loop(throughput):
    env = env_for()
    steps = throughput("logs P=10", "env.step(action) loop, steps", lambda: step_loop(env, 2000), lambda n: n)
    assert steps > 100_000


class PerUser:
    """An agent without its batch methods: test_agent's per-user loops."""

    def __init__(self, agent):
        self.train, self.act, self.reset = agent.train, agent.act, agent.reset


@pytest.mark.parametrize("agent_name", ["random", "popularity"])
@pytest.mark.parametrize("batch", [False, True], ids=["per-user", "batch"])
def test_notebook_test_agent(throughput, agent_name, batch):
    """The notebook's scenario, 1000 offline and 1000 online users: the batch
    paths (train_logs, act_batch) against the per-user loops (the reference)."""
    env = env_for()
    agent = RandomAgent(random_args) if agent_name == "random" else PopularityAgent(popularity_args)
    name = "batch paths (train_logs/act_batch)" if batch else "per-user loops (train/act)"
    result = throughput(f"test_agent {agent_name} 1000/1000", name,
                        lambda: recogym.test_agent(copy.deepcopy(env), agent if batch else PerUser(agent), 1000, 1000),
                        lambda result: result.impressions, rounds=3 if batch else 1, reference=not batch)
    median, low, high = result
    assert 0.005 < low < median < high < 0.05


POST_CLICK = {
    "plain model": {},
    "organic_after_click='clicked'": {"organic_after_click": "clicked"},
    "with_conversions=True": {"with_conversions": True},
    "both": {"organic_after_click": "clicked", "with_conversions": True},
}


@pytest.mark.parametrize("num_products", [10, 1000])
@pytest.mark.parametrize("feature", list(POST_CLICK))
def test_post_click_features_simulate(throughput, num_products, feature):
    """The cost of post-click landing and conversions in the log driver,
    against the plain model (the reference) on the same users."""
    env = env_for(num_products=num_products, **POST_CLICK[feature])
    logs = throughput(f"post-click logs P={num_products}", f"simulate, {feature}",
                      lambda: env.simulate(USERS[num_products]), len, reference=feature == "plain model")
    assert len(logs) > 50 * USERS[num_products]
    assert logs.has_conversions == ("with_conversions" in POST_CLICK[feature] or feature == "both")


@pytest.mark.parametrize("feature", list(POST_CLICK))
def test_post_click_features_step_loop(throughput, feature):
    """The same in the stepping driver: the classic env's step loop, which
    reports the conversion in ``info`` with conversions."""
    env = env_for(**POST_CLICK[feature])
    steps = throughput("post-click steps P=10", f"env.step loop, {feature}", lambda: step_loop(env, 2000),
                       lambda n: n, reference=feature == "plain model")
    assert steps > 100_000


SLATES = {
    "plain model": {},
    "slate_size=3 pbm": {"slate_size": 3},
    "slate_size=5 pbm": {"slate_size": 5},
    "slate_size=5 cascade": {"slate_size": 5, "click_model": "cascade"},
}


@pytest.mark.parametrize("num_products", [10, 1000])
@pytest.mark.parametrize("feature", list(SLATES))
def test_slates_simulate(throughput, num_products, feature):
    """The cost of slates in the log driver (a uniform slate per impression,
    its propensities and per-position clicks), in rows per second, against
    the plain model (the reference) on the same users."""
    env = env_for(num_products=num_products, **SLATES[feature])
    logs = throughput(f"slate logs P={num_products}", f"simulate, {feature}",
                      lambda: env.simulate(USERS[num_products]), len, reference=feature == "plain model")
    assert len(logs) > 50 * USERS[num_products]
    assert (logs.slate is None) == (feature == "plain model")


def slate_step_loop(env, users, slate):
    steps = 0
    for _ in range(users):
        env.reset()
        _, _, done, _ = env.step(None)
        while not done:
            _, _, done, _ = env.step(slate)
            steps += 1
    return steps


@pytest.mark.parametrize("feature", list(SLATES))
def test_slates_step_loop(throughput, feature):
    """The same in the stepping driver: the classic env's step loop with a
    fixed slate (checked at every step), against ``env.step(3)``."""
    env = env_for(**SLATES[feature])
    k = SLATES[feature].get("slate_size", 1)
    action = 3 if k == 1 else [3, 1, 4, 0, 2][:k]
    steps = throughput("slate steps P=10", f"env.step loop, {feature}", lambda: slate_step_loop(env, 2000, action),
                       lambda n: n, reference=feature == "plain model")
    assert steps > 100_000
