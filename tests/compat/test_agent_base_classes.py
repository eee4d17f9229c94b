"""0.1.3.0's agent base classes (``recogym.agents.abstract``), subclassed the
way third-party agents and the original notebooks do, trained and tested
through ``recogym.test_agent``; ``LogregPolyAgent``'s 0.1.3.0 arguments; and
``to_categorical``.

The agents below are modelled on the notebooks of criteo-research/reco-gym
(Apache-2.0): ``Getting Started.ipynb`` (PopularityAgent), ``Organic best of
vs Bandit best of.ipynb`` (GreedySingleActionAgent), ``Likelihood
Agents.ipynb`` (OrganicEventCounterAgent, a ModelBasedAgent of its own over a
FeatureProvider), ``ContextualBandits.ipynb`` (ProductCountFeatureProvider,
build_rectangular_data) and 0.1.3.0's own agents on ModelBuilder
(OrganicUserEventCounterAgent, LogregPolyAgent).

The parity numbers come from tests/fixtures/compat/make_agent_fixtures.py,
run under the original package.
"""
import copy
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.random.mtrand import RandomState
from scipy import sparse

import recogym
from recogym import Configuration, env_1_args
from recogym.agents import (
    AbstractFeatureProvider,
    Agent,
    FeatureProvider,
    LogFittedAgent,
    LogregPolyAgent,
    Model,
    ModelBasedAgent,
    ModelBuilder,
    ViewsFeaturesProvider,
    logreg_poly_args,
)
from recogym.agents.organic_count import to_categorical
from recogym.logs import as_logs
from recogym.session import (
    Action,
    Context,
    DefaultContext,
    Observation,
    OrganicSessions,
    Session,
    as_action,
)

P = 10
FIXTURES = Path(__file__).parent.parent / "fixtures" / "compat"


def make_env(seed=1, **args):
    env = recogym.make("reco-gym-v1")
    env.init_gym({**env_1_args, "num_products": P, "random_seed": seed, **args})
    return env


def offline_logs(env, num_offline_users, num_organic_offline_users=0):
    """The logs of the users ``test_agent`` trains on, from a copy of the env."""
    return copy.deepcopy(env).generate_logs(num_offline_users, num_organic_offline_users=num_organic_offline_users)


def reference_views_before(rows, num_products, weight=None):
    """Per impression, in 0.1.3.0's order (users by first appearance, then
    their rows in order), the user's views before it, one event at a time.

    ``rows``: (t, u, z, v) tuples, z in 'organic'/'bandit'."""
    users = {}
    for row in rows:
        users.setdefault(row[1], []).append(row)
    features = []
    for user_rows in users.values():
        views = []
        for t, _, z, v in user_rows:
            if z == "organic":
                views.append((t, int(v)))
                continue
            counts = np.zeros(num_products)
            ages = np.array([t - time for time, _ in views])
            weights = np.ones(len(views)) if weight is None or not views else weight(ages)
            for (_, view), w in zip(views, weights):
                counts[view] += w
            features.append(counts)
    return np.array(features).reshape(-1, num_products)


def data_rows(data):
    return list(zip(data["t"], data["u"], data["z"], data["v"]))


def assert_data_matches_logs(data, logs):
    """ModelBuilder.data holds the logs' rows, user by user; a user may end
    with one more impression, unclicked: the logging action 0.1.3.0's
    training loop drew after the user left."""
    frame = pd.DataFrame(data)
    assert list(frame.columns) == ["t", "u", "z", "v", "a", "c", "ps"] == list(logs.columns)[:7]
    assert list(dict.fromkeys(frame["u"])) == list(dict.fromkeys(logs["u"]))
    for user, logged in logs.groupby("u", sort=False):
        trained = frame[frame["u"] == user].reset_index(drop=True)
        logged = logged.reset_index(drop=True)
        assert len(trained) - len(logged) in (0, 1)
        if len(trained) > len(logged):
            assert trained["z"].iloc[-1] == "bandit" and trained["c"].iloc[-1] == 0
        head = trained.iloc[:len(logged)]
        np.testing.assert_array_equal(head["t"].to_numpy(float), logged["t"].to_numpy(float))
        assert head["z"].tolist() == logged["z"].astype(str).tolist()
        organic = logged["z"] == "organic"
        assert head.loc[organic, "v"].tolist() == logged.loc[organic, "v"].tolist()
        assert head.loc[~organic, "a"].tolist() == logged.loc[~organic, "a"].tolist()
        assert head.loc[~organic, "c"].tolist() == logged.loc[~organic, "c"].tolist()
        np.testing.assert_allclose(head.loc[~organic, "ps"].to_numpy(float), logged.loc[~organic, "ps"])
        assert head.loc[organic, ["a", "c", "ps"]].isna().all().all()
        assert head.loc[~organic, "v"].isna().all()


# -- Agent: {'t', 'u'} -----------------------------------------------------------


class GreedySingleActionAgent(Agent):
    """'Organic best of vs Bandit best of.ipynb'."""

    acts = []

    def __init__(self, preferred_action, config=Configuration({"num_products": P})):
        super(GreedySingleActionAgent, self).__init__(config)
        self.preferred_action = preferred_action

    def act(self, observation, reward, done):
        prob = np.zeros(self.config.num_products)
        prob[self.preferred_action] = 1.
        action = {
            **super().act(observation, reward, done),
            **{
                "a": self.preferred_action,
                "ps": prob[self.preferred_action],
                "ps-a": prob,
            },
        }
        GreedySingleActionAgent.acts.append((observation.context().time(), observation.context().user(), action))
        return action


def test_base_act_heads_the_action_with_the_observations_time_and_user():
    GreedySingleActionAgent.acts = []
    result = recogym.test_agent(make_env(), GreedySingleActionAgent(3), 0, 20, num_organic_offline_users=0)
    acts = GreedySingleActionAgent.acts
    assert result.impressions == len(acts) > 100
    for time, user, action in acts:
        assert set(action) == {"t", "u", "a", "ps", "ps-a"}
        assert (action["t"], action["u"], action["a"], action["ps"]) == (time, user, 3, 1.0)
    assert len({user for _, user, _ in acts}) == 20
    # Each user's impressions come at increasing times.
    for user in {user for _, user, _ in acts}:
        times = [time for time, u, _ in acts if u == user]
        assert times == sorted(times) and len(set(times)) == len(times)


def test_base_act_reads_any_observation_context():
    agent = Agent(Configuration({"num_products": P}))
    assert agent.act(Observation(Context(7.5, 42), []), None, False) == {"t": 7.5, "u": 42}
    assert agent.act(Session([1, 2], [3.0, 4.0], user=5, context_time=6.0), 0, False) == {"t": 6.0, "u": 5}
    assert agent.act(None, None, False) == {}
    # The merged dict is a valid action, its 't' and 'u' ignored.
    action = as_action({**agent.act(Observation(Context(1.0, 2), []), 0, False), "a": np.int64(4), "ps": 0.5}, P)
    assert isinstance(action, Action) and (int(action), action.ps) == (4, 0.5)


def test_agent_config_is_what_0_1_3_0_accepted():
    assert not hasattr(Agent(Configuration({"random_seed": 3})), "num_products")
    assert Agent({"num_products": 4}).num_products == 4 and Agent().config == Configuration({})

    class WithItsOwnNumProducts(Agent):
        @property
        def num_products(self):
            return 11

    assert WithItsOwnNumProducts({"num_products": 4}).num_products == 11
    with pytest.raises(ValueError, match="num_products"):
        Agent({"num_products": 0})
    with pytest.raises(TypeError, match="config"):
        Agent([("num_products", 3)])


# -- Agent subclasses that learn in train() ----------------------------------------


class PopularityAgent(Agent):
    """'Getting Started.ipynb'."""

    learnt = []

    def __init__(self, config):
        super(PopularityAgent, self).__init__(config)
        self.organic_views = np.zeros(self.config.num_products)

    def train(self, observation, action, reward, done):
        if observation:
            for session in observation.sessions():
                self.organic_views[session["v"]] += 1

    def act(self, observation, reward, done):
        if not PopularityAgent.learnt:
            PopularityAgent.learnt.append(self.organic_views.copy())
        prob = self.organic_views / sum(self.organic_views)
        action = RandomState(int(observation.context().time())).choice(self.config.num_products, p=prob)
        return {**super().act(observation, reward, done), **{"a": action, "ps": prob[action]}}


def test_a_notebook_agent_learns_the_views_of_the_offline_users():
    env = make_env(seed=2)
    logs = offline_logs(env, 50, 5)
    PopularityAgent.learnt = []
    result = recogym.test_agent(env, PopularityAgent(Configuration(env_1_args)), 50, 50,
                                num_organic_offline_users=5)
    expected = np.bincount(logs.loc[logs["z"] == "organic", "v"].astype(int), minlength=P)
    np.testing.assert_array_equal(PopularityAgent.learnt[0], expected)
    assert result.impressions > 100


class OrganicEventCounterAgent(Agent):
    """'Likelihood Agents.ipynb': counts in act() the views of every user."""

    def __init__(self, config):
        super(OrganicEventCounterAgent, self).__init__(config)
        self.rng = RandomState(self.config.random_seed)
        self.organic_views = np.zeros(self.config.num_products)
        self.seen = np.zeros(self.config.num_products)

    def observe(self, observation):
        for session in observation.sessions():
            self.organic_views[session["v"]] += 1

    def act(self, observation, reward, done):
        self.observe(observation)
        self.seen += np.bincount(observation.get_views(), minlength=self.config.num_products)
        assert np.array_equal(self.organic_views, self.seen)
        prob = self.organic_views / sum(self.organic_views)
        action = self.rng.choice(self.config.num_products, p=prob)
        return {**super().act(observation, reward, done), **{"a": action, "ps": prob[action], "ps-a": prob}}


def test_observation_sessions_are_the_views_of_the_observation():
    result = recogym.test_agent(make_env(seed=3), OrganicEventCounterAgent(Configuration(env_1_args)), 0, 30)
    assert result.impressions > 100


# -- ModelBuilder, ViewsFeaturesProvider, Model, ModelBasedAgent ------------------------


class CounterModelBuilder(AbstractFeatureProvider):
    """0.1.3.0's OrganicUserEventCounterModelBuilder, greedy, recording."""

    built = []

    def build(self):
        CounterModelBuilder.built.append({key: list(values) for key, values in self.data.items()})

        class CounterModel(Model):
            def act(self, observation, features):
                features = features.flatten()
                action = int(np.argmax(features))
                return {**super().act(observation, features), **{"a": action, "ps": 1.0, "ps-a": ()}}

        return ViewsFeaturesProvider(self.config, is_sparse=False), CounterModel(self.config)


class CounterAgent(ModelBasedAgent):
    acts = []

    def __init__(self, config):
        super(CounterAgent, self).__init__(config, CounterModelBuilder(config))
        self.views = np.zeros(P)

    def act(self, observation, reward, done):
        self.views += np.bincount(observation.get_views(), minlength=P)
        action = super().act(observation, reward, done)
        CounterAgent.acts.append((self.views.copy(), self.feature_provider.features(observation).copy(), action))
        return action

    def reset(self):
        super().reset()
        self.views = np.zeros(P)


def test_a_model_based_agent_collects_the_logs_and_acts_on_each_users_views():
    env = make_env(seed=4)
    logs = offline_logs(env, 50, 5)
    CounterModelBuilder.built, CounterAgent.acts = [], []
    result = recogym.test_agent(env, CounterAgent(Configuration({"num_products": P})), 50, 50,
                                num_organic_offline_users=5)
    assert len(CounterModelBuilder.built) == 1
    assert_data_matches_logs(CounterModelBuilder.built[0], logs)
    assert result.impressions == len(CounterAgent.acts) > 100
    for views, features, action in CounterAgent.acts:
        np.testing.assert_array_equal(features, views[None, :])
        assert action["a"] == np.argmax(views) and action["ps"] == 1.0 and {"t", "u"} <= set(action)


def test_the_model_is_built_at_the_first_act_and_reset_per_user():
    builder = CounterModelBuilder(Configuration({"num_products": 4}))
    agent = ModelBasedAgent(Configuration({"num_products": 4}), builder)
    agent.reset()  # before the model exists: nothing to reset
    agent.train(Session([1, 1], [0.0, 1.0], user=3, context_time=2.0), None, None, False)
    agent.train(Session([], [], user=3, context_time=2.0), Action(2, 0.25, t=2.0, u=3), 1, False)
    assert builder.data == {"t": [0.0, 1.0, 2.0], "u": [3, 3, 3], "z": ["organic", "organic", "bandit"],
                            "v": [1, 1, None], "a": [None, None, 2], "c": [None, None, 1],
                            "ps": [None, None, 0.25]}
    action = agent.act(Session([3], [5.0], user=9, context_time=6.0), None, False)
    assert action == {"t": 6.0, "u": 9, "a": 3, "ps": 1.0, "ps-a": ()}
    assert agent.act(Session([2, 2], [6.0, 7.0], user=9, context_time=8.0), 0, False)["a"] == 2
    agent.reset()
    assert agent.act(Session([0], [0.0], user=10, context_time=1.0), None, False)["a"] == 0
    # A 0.1.3.0 action dict, or an Action without time, gets the observation's context.
    builder.reset()
    builder.train(Observation(Context(4.0, 8), []), {"a": 1, "ps": 0.5}, 0, False)
    builder.train(Observation(Context(5.0, 8), []), Action(0, 0.5), 0, False)
    builder.train(Observation(Context(6.0, 8), []), None, None, True)
    assert (builder.data["t"], builder.data["u"], builder.data["a"]) == ([4.0, 5.0], [8, 8], [1, 0])


def test_unimplemented_base_methods_say_so():
    with pytest.raises(NotImplementedError, match="build"):
        ModelBuilder(Configuration({})).build()
    provider = FeatureProvider(Configuration({}))
    for call in (lambda: provider.observe(None), lambda: provider.features(None), provider.reset):
        with pytest.raises(NotImplementedError):
            call()


# -- AbstractFeatureProvider.train_data: a likelihood agent -------------------------


class LikelihoodModelBuilder(AbstractFeatureProvider):
    """A click model on views crossed with the action, fitted on train_data()
    (0.1.3.0's LogregPolyModelBuilder, with numpy's kron)."""

    built = []

    def __init__(self, config):
        super(LikelihoodModelBuilder, self).__init__(config, is_sparse=False)

    def build(self):
        from sklearn.linear_model import LogisticRegression

        features, actions, deltas, pss = self.train_data()
        LikelihoodModelBuilder.built.append((data_rows(self.data), features, actions, deltas, pss))
        num_products = self.config.num_products
        one_hot = np.eye(num_products)[actions]
        design = np.hstack([one_hot, np.vstack([np.kron(a, f) for a, f in zip(one_hot, features)])])
        logreg = LogisticRegression(max_iter=5000).fit(design, deltas)

        class LikelihoodModel(Model):
            def act(self, observation, features):
                all_actions = np.eye(num_products)
                candidates = np.hstack([all_actions, np.kron(all_actions, features)])
                probability = logreg.predict_proba(candidates)[:, 1]
                action = int(np.argmax(probability))
                return {**super().act(observation, features), **{"a": action, "ps": 1.0, "ps-a": (),
                                                                 "probability": probability}}

        return ViewsFeaturesProvider(self.config), LikelihoodModel(self.config)


class LikelihoodAgent(ModelBasedAgent):
    def __init__(self, config):
        super(LikelihoodAgent, self).__init__(config, LikelihoodModelBuilder(config))


def test_train_data_gives_each_impression_the_users_views_before_it():
    pytest.importorskip("sklearn")
    env = make_env(seed=5)
    logs = offline_logs(env, 50)
    LikelihoodModelBuilder.built = []
    result = recogym.test_agent(env, LikelihoodAgent(Configuration({**env_1_args, "num_products": P})), 50, 50,
                                num_organic_offline_users=0)
    rows, features, actions, deltas, pss = LikelihoodModelBuilder.built[0]
    np.testing.assert_array_equal(features, reference_views_before(rows, P))
    bandit = [i for i, row in enumerate(rows) if row[2] == "bandit"]
    assert len(actions) == len(deltas) == len(pss) == len(bandit) >= int((logs["z"] == "bandit").sum())
    assert actions.dtype.kind == "i" and set(np.unique(deltas)) == {0, 1} and np.allclose(pss, 1 / P)
    assert deltas.sum() == logs["c"].sum()
    assert result.impressions > 100


def test_train_data_is_sparse_on_request_and_refuses_impressions_without_a_click():
    builder = AbstractFeatureProvider(Configuration({"num_products": 3}), is_sparse=True)
    builder.train(Session([0, 2, 2], [0.0, 1.0, 2.0], user=1, context_time=3.0), Action(1, 0.5, t=3.0, u=1), 0,
                  False)
    builder.train(Session([], user=1, context_time=4.0), Action(2, 0.25, t=4.0, u=1), 1, False)
    features, actions, deltas, pss = builder.train_data()
    assert sparse.issparse(features)
    np.testing.assert_array_equal(features.toarray(), [[1, 0, 2], [1, 0, 2]])
    assert actions.tolist() == [1, 2] and deltas.tolist() == [0, 1] and pss.tolist() == [0.5, 0.25]
    builder.train(Session([], user=1, context_time=5.0), Action(0, 0.5, t=5.0, u=1), None, False)
    with pytest.raises(ValueError, match="row 5 .*reward None"):
        builder.train_data()


def halve_every_step(ages):
    return 0.5 ** ages


def test_weighted_views_follow_the_impression_time():
    config = Configuration({"num_products": 3, "weight_history_function": halve_every_step})
    builder = AbstractFeatureProvider(config)
    builder.train(Session([0, 2], [0.0, 1.0], user=1, context_time=2.0), Action(1, 0.5, t=2.0, u=1), 0, False)
    builder.train(Session([], user=1, context_time=4.0), Action(2, 0.5, t=4.0, u=1), 1, False)
    np.testing.assert_allclose(builder.train_data()[0], [[0.25, 0, 0.5], [1 / 16, 0, 1 / 8]])
    for is_sparse in (False, True):
        provider = ViewsFeaturesProvider(config, is_sparse=is_sparse)
        provider.observe(Session([0, 2], [0.0, 1.0], user=1, context_time=2.0))
        features = provider.features(Session([], user=1, context_time=3.0))
        assert sparse.issparse(features) == is_sparse
        np.testing.assert_allclose(sparse.csr_matrix(features).toarray(), [[1 / 8, 0, 1 / 4]])
        with pytest.raises(ValueError, match="context"):
            provider.features(None)
    # None in the config is no weighting, in both.
    config = Configuration({"num_products": 3, "weight_history_function": None})
    provider = ViewsFeaturesProvider(config, is_sparse=True)
    provider.observe(Session([0, 2, 2], [0.0, 1.0, 5.0], user=1))
    np.testing.assert_array_equal(provider.features(None).toarray(), [[1, 0, 2]])
    builder = AbstractFeatureProvider(config)
    builder.train(Session([0, 2, 2], [0.0, 1.0, 5.0], user=1, context_time=6.0), Action(1, 0.5, t=6.0, u=1), 0,
                  False)
    np.testing.assert_array_equal(builder.train_data()[0], [[1, 0, 2]])


# -- A FeatureProvider over hand-built observations: ContextualBandits.ipynb ---------


class ProductCountFeatureProvider(FeatureProvider):
    def __init__(self, config):
        super(ProductCountFeatureProvider, self).__init__(config)
        self.feature_data = np.zeros((self.config.num_products)).astype(int)

    def observe(self, observation):
        for session in observation.sessions():
            self.feature_data[int(session["v"])] += 1

    def features(self, observation):
        return self.feature_data.copy()

    def reset(self):
        self.feature_data[:] = 0


def build_rectangular_data(logs, feature_provider):
    user_states, actions, rewards, proba_actions = [], [], [], []
    current_user = None
    for _, row in logs.iterrows():
        if current_user != row["u"]:
            current_user = row["u"]
            sessions = OrganicSessions()
            feature_provider.reset()
        context = DefaultContext(row["u"], row["t"])  # sic: the notebook swaps time and user
        if row["z"] == "organic":
            sessions.next(context, row["v"])
        else:
            feature_provider.observe(Observation(context, sessions))
            user_states += [feature_provider.features(None)]
            actions += [row["a"]]
            rewards += [row["c"]]
            proba_actions += [row["ps"]]
            sessions = OrganicSessions()
    return np.array(user_states), np.array(actions).astype(int), np.array(rewards), np.array(proba_actions)


def test_a_feature_provider_over_hand_built_observations():
    logs = make_env(seed=6).generate_logs(20)
    states, actions, rewards, _ = build_rectangular_data(logs, ProductCountFeatureProvider(
        Configuration({"num_products": P})))
    rows = list(logs[["t", "u", "z", "v"]].itertuples(index=False, name=None))
    np.testing.assert_array_equal(states, reference_views_before(rows, P))
    bandit = logs["z"] == "bandit"
    np.testing.assert_array_equal(actions, logs.loc[bandit, "a"])
    np.testing.assert_array_equal(rewards, logs.loc[bandit, "c"])


# -- An agent that never calls Agent.__init__: 'Likelihood Agents.ipynb' --------------


class ViewsAndActionAsVectorFeatureProvider(FeatureProvider):
    def __init__(self, config):
        super().__init__(config)
        self.feature_data = None

    def observe(self, observation):
        for session in observation.sessions():
            self.feature_data[:, session["v"]] += 1

    def features(self, observation):
        return self.feature_data

    def reset(self):
        self.feature_data = np.zeros((self.config.num_products, 2 * self.config.num_products))
        for ix in range(self.config.num_products):
            self.feature_data[ix, self.config.num_products + ix] = 1


class MostViewedModel:
    """Stands in for the notebook's fitted LogisticRegression: row ``a`` of
    the features (the views, then action ``a`` one-hot) clicks in proportion
    to the views of ``a``."""

    def predict_proba(self, features):
        views = features[:, :P]
        scores = views[np.arange(P), np.argmax(features[:, P:], axis=1)] / (1 + views.sum(axis=1))
        return np.stack([1 - scores, scores], axis=1)


class NotebookModelBasedAgent(Agent):
    def __init__(self, env, feature_provider, model):
        self.env = env
        self.feature_provider = feature_provider
        self.model = model
        self.reset()

    def act(self, observation, reward, done):
        self.feature_provider.observe(observation)
        prob = self.model.predict_proba(self.feature_provider.features(observation))[:, 1]
        action = np.argmax(prob)
        return {**super().act(observation, reward, done), **{"a": action, "ps": prob[action], "ps-a": prob}}

    def reset(self):
        self.feature_provider.reset()


def test_an_agent_without_agent_init_acts_through_test_agent():
    agent = NotebookModelBasedAgent(env_1_args, ViewsAndActionAsVectorFeatureProvider(Configuration(
        {**env_1_args, "num_products": P})), MostViewedModel())
    result = recogym.test_agent(make_env(seed=7), agent, 0, 30)
    assert result.impressions > 100
    action = agent.act(Session([4, 4, 1], [0.0, 1.0, 2.0], user=0, context_time=3.0), None, False)
    assert (action["t"], action["u"], action["a"]) == (3.0, 0, 4)


# -- Parity with 0.1.3.0 -------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture():
    with gzip.open(FIXTURES / "agent_base_classes.json.gz", "rt") as handle:
        return json.load(handle)


# The weight functions of make_agent_fixtures.py, by name.
WEIGHTS = {
    "None": None,
    "exp": lambda t: np.exp(-t),
    "inverse": lambda t: 1.0 / (1.0 + t),
    "window": lambda t: (t < 6).astype(float),
}


@pytest.mark.parametrize("weight", list(WEIGHTS))
def test_train_data_equals_0_1_3_0s(fixture, weight):
    config = Configuration({"num_products": fixture["num_products"], "weight_history_function": WEIGHTS[weight]})
    builder = AbstractFeatureProvider(config)
    builder.data = {key: list(values) for key, values in fixture["logs"].items()}
    features, actions, deltas, pss = builder.train_data()
    expected = fixture["train_data"][weight]
    # 0.1.3.0 summed weights in float32.
    np.testing.assert_allclose(features, expected["features"], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(actions, expected["actions"])
    np.testing.assert_array_equal(deltas, expected["deltas"])
    np.testing.assert_array_equal(pss, expected["pss"])
    assert features.sum() > 0


@pytest.mark.parametrize("weight", list(WEIGHTS))
def test_views_features_provider_equals_0_1_3_0s(fixture, weight):
    config = Configuration({"num_products": fixture["num_products"], "weight_history_function": WEIGHTS[weight]})
    provider = ViewsFeaturesProvider(config)
    compared = 0
    for user, (steps, expected) in enumerate(zip(fixture["walk"], fixture["views_provider"][weight])):
        provider.reset()
        assert len(steps) == len(expected)
        for step, row in zip(steps, expected):
            sessions = OrganicSessions()
            for time, view in step["views"]:
                sessions.next(Context(time, user), view)
            observation = Observation(Context(step["time"], user), sessions)
            provider.observe(observation)
            np.testing.assert_allclose(np.ravel(provider.features(observation)), row, rtol=1e-6, atol=1e-7)
            compared += 1
    assert compared > 50


def test_logreg_poly_weighted_features_are_what_0_1_3_0_fitted(fixture):
    """0.1.3.0's design on recogym's weighted features gives 0.1.3.0's
    coefficients; recogym's own design differs only in its action block (a
    one-hot, where 0.1.3.0 put the action's index)."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    from recogym.agents.abstract import views_before_impressions
    from recogym.logs import EventKind

    num_products = fixture["num_products"]
    logs = as_logs(pd.DataFrame(fixture["logs"]))
    rows, views = views_before_impressions(logs.t, logs.u, logs.z == EventKind.ORGANIC, logs.v, num_products,
                                           WEIGHTS["exp"])
    actions, clicks, n = logs.a[rows], logs.c[rows], len(rows)
    indexed = sparse.csr_matrix((actions.astype(float), (np.arange(n), actions)), shape=(n, num_products))
    cross = sparse.csr_matrix((views.data, views.indices + np.repeat(actions * num_products, np.diff(views.indptr)),
                               views.indptr), shape=(n, num_products ** 2))
    design = sparse.hstack([views, indexed, cross], format="csr")
    model = linear_model.LogisticRegression(solver="lbfgs", max_iter=5000, random_state=0).fit(design, clicks)
    np.testing.assert_allclose(model.coef_[0], fixture["logreg_poly"]["exp"]["coef"], atol=1e-5)
    np.testing.assert_allclose(model.intercept_[0], fixture["logreg_poly"]["exp"]["intercept"], atol=1e-5)


def test_to_categorical_equals_0_1_3_0s(fixture):
    for case in fixture["to_categorical"]:
        out = to_categorical(case["y"], case["num_classes"])
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, case["out"])
        assert out.shape == np.shape(case["out"])


def test_to_categorical_refuses_classes_out_of_range():
    assert to_categorical([1, 0], 2, dtype="int64").dtype == np.int64
    assert to_categorical([], 3).shape == (0, 3)
    with pytest.raises(ValueError, match=r"\[0, 3\).*-1"):
        to_categorical([0, -1], 3)
    with pytest.raises(ValueError, match=r"\[0, 2\).*2"):
        to_categorical([0, 2], 2)
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([])


# -- LogregPolyAgent: 0.1.3.0's arguments -------------------------------------------


def test_recogyms_model_agents_are_log_fitted_and_model_based_agent_is_0_1_3_0s():
    from recogym.agents import abstract

    assert recogym.agents.ModelBasedAgent is abstract.ModelBasedAgent
    assert issubclass(LogregPolyAgent, LogFittedAgent) and not issubclass(LogregPolyAgent, ModelBasedAgent)


def test_logreg_poly_refuses_misspelt_args_and_warns_of_others():
    with pytest.raises(ValueError, match=r"'with_ipss' for LogregPolyAgent \(did you mean 'with_ips'\?\); "
                                         r"allowed: .*ips_clipping_value.*weight_history_function"):
        LogregPolyAgent({**logreg_poly_args, "with_ipss": True})
    # A key like none of its args (0.1.3.0's evaluation helpers pass their extras along) is ignored, with a warning.
    with pytest.warns(UserWarning, match="'zzz' is not one of LogregPolyAgent's and is ignored"):
        LogregPolyAgent(Configuration({"zzz": 1}))
    # 0.1.3.0's notebooks pass the env's args along.
    LogregPolyAgent(Configuration({**env_1_args, **logreg_poly_args, "time_generator": None}))
    LogregPolyAgent({**logreg_poly_args, "poly_degree": 2, "ips_numerator_is_delta": False})
    with pytest.raises(ValueError, match="'poly_degree' must be 2"):
        LogregPolyAgent({"poly_degree": 3})
    with pytest.raises(ValueError, match="'ips_numerator_is_delta' must be False"):
        LogregPolyAgent({"ips_numerator_is_delta": True})
    with pytest.raises(TypeError, match="weight_history_function"):
        LogregPolyAgent({"weight_history_function": 0.5})


def no_decay(ages):
    return np.ones_like(ages)


def forget_everything(ages):
    return np.zeros_like(ages)


def test_logreg_poly_weights_views_by_their_age_at_the_impression():
    linear_model = pytest.importorskip("sklearn.linear_model")
    from recogym.agents.logreg_poly import cross_features

    logs = make_env(seed=8).simulate(200)
    plain = LogregPolyAgent({"num_products": P})
    plain.train_logs(logs)
    assert np.abs(plain.cross_coef).max() > 0.01

    ones = LogregPolyAgent({"num_products": P, "weight_history_function": no_decay})
    ones.train_logs(logs)
    np.testing.assert_allclose(ones.cross_coef, plain.cross_coef, atol=1e-6)
    np.testing.assert_allclose(ones.action_coef, plain.action_coef, atol=1e-6)

    zeros = LogregPolyAgent({"num_products": P, "weight_history_function": forget_everything})
    zeros.train_logs(logs)
    assert not zeros.cross_coef.any() and zeros.action_coef.any()

    agent = LogregPolyAgent({"num_products": P, "weight_history_function": halve_every_step})
    agent.train_logs(logs)
    frame = logs.to_pandas()
    rows = list(frame[["t", "u", "z", "v"]].itertuples(index=False, name=None))
    views = reference_views_before(rows, P, halve_every_step)
    bandit = (frame["z"] == "bandit").to_numpy()
    actions = frame.loc[bandit, "a"].to_numpy(int)
    model = linear_model.LogisticRegression(max_iter=5000, random_state=42).fit(
        cross_features(sparse.csr_matrix(views), actions, P), frame.loc[bandit, "c"].to_numpy(int))
    np.testing.assert_allclose(agent.cross_coef.ravel(), model.coef_[0][2 * P:], atol=1e-6)
    np.testing.assert_allclose(agent.action_coef, model.coef_[0][P:2 * P], atol=1e-6)
    assert np.abs(agent.cross_coef - plain.cross_coef).max() > 0.01

    # Acting, views age to the observation's context().time().
    agent.reset()
    agent.with_ps_all = True
    action = agent.act(Session([2, 5, 5], [0.0, 1.0, 3.0], user=0, context_time=4.0), None, False)
    weighted = np.zeros(P)
    weighted[[2, 5]] = [0.5 ** 4, 0.5 ** 3 + 0.5 ** 1]
    scores = agent.cross_coef @ weighted + agent.action_coef
    assert int(action) == np.argmax(scores) and action.ps == 1.0 and action.ps_all[int(action)] == 1.0
    later = agent.act(Session([], [], user=0, context_time=9.0), 0, False)
    assert int(later) == np.argmax(agent.cross_coef @ (weighted * 0.5 ** 5) + agent.action_coef)


def test_test_agent_serves_a_weighted_logreg_poly_user_by_user():
    """With weights of 1 the weighted agent, served per user, earns exactly
    the clicks of the plain agent served in batches."""
    pytest.importorskip("sklearn")
    weighted = LogregPolyAgent({"num_products": P, "weight_history_function": no_decay})
    assert not hasattr(weighted, "act_batch") and not hasattr(weighted, "policy")
    with pytest.raises(AttributeError, match="weight_history_function"):
        _ = weighted.policy
    plain = LogregPolyAgent({"num_products": P})
    assert hasattr(plain, "act_batch") and hasattr(plain, "policy")
    env = make_env(seed=9)
    per_user = recogym.test_agent(copy.deepcopy(env), weighted, 100, 50, num_organic_offline_users=0)
    batched = recogym.test_agent(copy.deepcopy(env), plain, 100, 50, num_organic_offline_users=0)
    assert (per_user.clicks, per_user.impressions) == (batched.clicks, batched.impressions)
    assert per_user.impressions > 500


def test_a_subclass_that_overrides_act_is_tested_through_its_act():
    """0.1.3.0's third-party agents subclass its agents and override act: test_agent and
    compare must then serve them user by user, not through the parent's act_batch."""
    from recogym.agents import OrganicCount
    from recogym.agents.base import serves_batches

    calls = []

    class AlwaysZero(OrganicCount):
        def act(self, observation, reward, done):
            calls.append(done)
            return {**super().act(observation, reward, done), "a": 0, "ps": 1.0}

    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 6})
    agent = AlwaysZero({"num_products": 10})
    assert serves_batches(OrganicCount({"num_products": 10})) and not serves_batches(agent)
    result = recogym.test_agent(copy.deepcopy(env), agent, 30, 40)
    assert len(calls) == result.impressions > 0
    # Every impression showed product 0: the clicks are those of a fixed product-0 policy.
    fixed = recogym.compare({}, {"zero": AlwaysZero({"num_products": 10})}, 40, 6,
                            num_offline_users=30, num_organic_offline_users=100, num_bootstrap=10)
    assert (fixed.table.loc[0, "clicks"], fixed.table.loc[0, "impressions"]) == (result.clicks, result.impressions)
