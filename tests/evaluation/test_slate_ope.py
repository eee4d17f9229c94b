"""Slate off-policy estimators (recogym.evaluation.slate_ope) against the
analytic truth of small click models: SIPS unbiased under any, IIPS under the
PBM, RIPS under the cascade; IIPS biased under the cascade where it must be;
intervals that cover; the propensity helpers against enumeration of every
slate; and OBP's slate estimators on the same data when OBP is installed.

The synthetic data come from this file alone: every slate of P products and
k positions is enumerated, a policy is its probability vector over them (a
plain loop for Plackett-Luce, independent of the module's vectorised
formula), and the click models are simulated position by position.
"""
import importlib
import importlib.util
import itertools
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from recogym.evaluation.slate_ope import (
    SLATE_ESTIMATORS,
    SlatePropensities,
    epsilon_greedy_slate_propensities,
    evaluate_slate_policy,
    plackett_luce_position_marginals,
    plackett_luce_slate_propensities,
    ranking_slate_propensities,
    uniform_slate_propensities,
)

SIGMAS = 5.5           # statistical bounds: a false failure is below 1e-7 per check
P, K = 5, 3
ATTRACTION = np.array([0.8, 0.5, 0.3, 0.15, 0.05])
EXAMINATION = np.array([1.0, 0.6, 0.3])
LOGGING_SCORES = np.array([0.0, 0.2, -0.1, 0.3, 0.1])
TARGET_SCORES = np.array([1.5, 1.0, 0.3, -0.3, -1.0])


def rng_of(seed):
    return np.random.Generator(np.random.PCG64(seed))


# -- enumeration: every slate, a policy's distribution over them -----------------


def all_slates(num_products, k):
    return np.array(list(itertools.permutations(range(num_products), k)), dtype=np.int64)


def plackett_luce_distribution(slates, scores):
    """pi(s) for each slate, by the sequential definition, one slate at a time."""
    weights = np.exp(scores - scores.max())
    out = np.empty(len(slates))
    for i, slate in enumerate(slates):
        left = list(range(len(scores)))
        probability = 1.0
        for item in slate:
            probability *= weights[item] / weights[left].sum()
            left.remove(item)
        out[i] = probability
    return out


def point_mass(slates, top):
    return np.all(slates == np.asarray(top)[None, :], axis=1).astype(np.float64)


def enumerated_propensities(slates, probabilities):
    """The three propensities of each slate, summed over the enumeration."""
    n, k = slates.shape
    item = np.empty((n, k))
    cascade = np.empty((n, k))
    for j in range(k):
        same_item = slates[:, j][:, None] == slates[:, j][None, :]
        same_prefix = np.all(slates[:, None, :j + 1] == slates[None, :, :j + 1], axis=2)
        item[:, j] = same_item @ probabilities
        cascade[:, j] = same_prefix @ probabilities
    return SlatePropensities(pscore=probabilities.copy(), pscore_item_position=item, pscore_cascade=cascade)


# -- click models ------------------------------------------------------------------


def pbm_click_probability(slates):
    return EXAMINATION[None, : slates.shape[1]] * ATTRACTION[slates]


def cascade_click_probability(slates, stop):
    """The dependent click model: positions examined top-down; after a click
    the user stops with probability ``stop``."""
    reach = 1.0 - stop * ATTRACTION[slates[:, :-1]]
    examined = np.cumprod(np.c_[np.ones(len(slates)), reach], axis=1)
    return examined * ATTRACTION[slates]


def draw_pbm(rng, slates):
    return (rng.random(slates.shape) < pbm_click_probability(slates)).astype(np.int64)


def draw_cascade(rng, slates, stop):
    n, k = slates.shape
    clicks = np.zeros((n, k), dtype=np.int64)
    scanning = np.ones(n, dtype=bool)
    for j in range(k):
        click = scanning & (rng.random(n) < ATTRACTION[slates[:, j]])
        clicks[:, j] = click
        scanning &= ~(click & (rng.random(n) < stop))
    return clicks


class World:
    """Logging and target policies over every slate, their propensities, and
    the target's truth under a click model."""

    def __init__(self, logging, target, model, stop=1.0):
        self.slates = all_slates(P, K)
        self.logging_probability = logging
        self.target_probability = target
        self.logging = enumerated_propensities(self.slates, logging)
        self.target = enumerated_propensities(self.slates, target)
        self.model, self.stop = model, stop
        self.click_probability = (pbm_click_probability(self.slates) if model == "pbm"
                                  else cascade_click_probability(self.slates, stop))
        self.truth = target @ self.click_probability                # (k,)

    def sample(self, rng, n):
        index = rng.choice(len(self.slates), size=n, p=self.logging_probability)
        slates = self.slates[index]
        clicks = draw_pbm(rng, slates) if self.model == "pbm" else draw_cascade(rng, slates, self.stop)
        return index, slates, clicks

    def rows(self, propensities, index):
        return SlatePropensities(**{field: getattr(propensities, field)[index]
                                    for field in ("pscore", "pscore_item_position", "pscore_cascade")})

    def expected_estimate(self, field):
        """The estimator's expectation (IPS of ``field``) under the logging policy."""
        ratio = getattr(self.target, field) / getattr(self.logging, field)
        if ratio.ndim == 1:
            ratio = ratio[:, None]
        return self.logging_probability @ (ratio * self.click_probability)


def pl_world(model, stop=1.0):
    slates = all_slates(P, K)
    return World(plackett_luce_distribution(slates, LOGGING_SCORES),
                 plackett_luce_distribution(slates, TARGET_SCORES), model, stop)


def estimate(world, rng, n, **kwargs):
    index, slates, clicks = world.sample(rng, n)
    return evaluate_slate_policy(slates, clicks, world.rows(world.logging, index),
                                 world.rows(world.target, index), truth=world.truth, **kwargs)


# -- unbiasedness, and the bias IIPS must have ---------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_all_three_unbiased_under_pbm(seed):
    world = pl_world("pbm")
    for by_position in (False, True):
        table = estimate(world, rng_of(seed), 200_000, by_position=by_position)
        assert list(table["estimator"].unique()) == list(SLATE_ESTIMATORS)
        # IIPS and RIPS are unbiased under the PBM, SIPS under anything; the
        # self-normalised variants are consistent, with a bias of order 1/n.
        assert np.all(np.abs(table["error"]) < SIGMAS * table["std_error"]), table
    # Under the PBM IIPS weighs each click by its own item only: the least variance.
    totals = table.groupby("estimator", sort=False)["std_error"].sum()
    assert totals["IIPS"] < totals["RIPS"] < totals["SIPS"]


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize("stop", [1.0, 0.6])
def test_sips_and_rips_unbiased_under_cascade_and_iips_biased(seed, stop):
    world = pl_world("cascade", stop)
    table = estimate(world, rng_of(seed), 200_000, by_position=True)
    unbiased = table["estimator"].isin(["SIPS", "RIPS", "SNSIPS", "SNRIPS"])
    assert np.all(np.abs(table["error"][unbiased]) < SIGMAS * table["std_error"][unbiased]), table
    # IIPS estimates sum_j sum_a pi_e(a at j) E_0[c_j | a at j]: a click at j
    # under the logging policy's items above j. The target ranks attractive
    # products first, so below the top its users stop earlier than the
    # logging policy's, and IIPS overstates positions 2 and 3.
    iips = table[table["estimator"] == "IIPS"]
    limit = world.expected_estimate("pscore_item_position")
    assert np.all(np.abs(iips["estimate"] - limit) < SIGMAS * iips["std_error"]), (iips, limit)
    assert abs(iips["error"].iloc[0]) < SIGMAS * iips["std_error"].iloc[0]      # the top is as PBM
    assert np.all(iips["error"].iloc[1:] > 10 * iips["std_error"].iloc[1:]), iips
    assert limit.sum() - world.truth.sum() > 0.1                             # analytic, not sampled


def test_totals_are_sums_of_positions_and_match_the_formulas():
    world = pl_world("pbm")
    index, slates, clicks = world.sample(rng_of(5), 3000)
    logging, target = world.rows(world.logging, index), world.rows(world.target, index)
    total = evaluate_slate_policy(slates, clicks, logging, target)
    by_position = evaluate_slate_policy(slates, clicks, logging, target, by_position=True)
    for name, field in (("SIPS", "pscore"), ("IIPS", "pscore_item_position"), ("RIPS", "pscore_cascade")):
        weights = getattr(target, field) / getattr(logging, field)
        weights = np.repeat(weights[:, None], K, axis=1) if weights.ndim == 1 else weights
        rows = by_position[by_position["estimator"] == name]
        np.testing.assert_allclose(rows["estimate"], (weights * clicks).mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(rows["estimate"].sum(), total.set_index("estimator").at[name, "estimate"],
                                   rtol=1e-13)
        terms = (weights * clicks).sum(axis=1)
        np.testing.assert_allclose(total.set_index("estimator").at[name, "std_error"],
                                   terms.std(ddof=1) / math.sqrt(len(terms)), rtol=1e-12)
        sn = by_position[by_position["estimator"] == "SN" + name]
        np.testing.assert_allclose(sn["estimate"], (weights * clicks).sum(axis=0) / weights.sum(axis=0),
                                   rtol=1e-13)
    assert np.all(np.isnan(total["truth"])) and np.all(np.isnan(total["error"]))
    assert list(by_position["position"]) == [0, 1, 2] * len(SLATE_ESTIMATORS)


def test_truth_forms_and_intervals():
    world = pl_world("pbm")
    index, slates, clicks = world.sample(rng_of(6), 2000)
    logging, target = world.rows(world.logging, index), world.rows(world.target, index)
    per_impression = world.truth * (1.0 + 0.5 * (-1.0) ** np.arange(2000))[:, None]   # averages to it
    for truth in (world.truth, per_impression, float(world.truth.sum())):
        table = evaluate_slate_policy(slates, clicks, logging, target, truth=truth)
        np.testing.assert_allclose(table["truth"], world.truth.sum(), rtol=1e-14)
        np.testing.assert_allclose(table["error"], table["estimate"] - world.truth.sum(), rtol=0, atol=1e-14)
    scalar = evaluate_slate_policy(slates, clicks, logging, target, truth=1.0, by_position=True)
    assert np.all(np.isnan(scalar["truth"]))
    for level in (0.95, 0.8):
        table = evaluate_slate_policy(slates, clicks, logging, target, level=level)
        z = {0.95: 1.959963984540054, 0.8: 1.2815515655446004}[level]
        np.testing.assert_allclose(table["high"] - table["estimate"], z * table["std_error"], rtol=1e-12)
        np.testing.assert_allclose(table["estimate"] - table["low"], z * table["std_error"], rtol=1e-12)


def test_users_cluster_the_standard_error():
    world = pl_world("pbm")
    index, slates, clicks = world.sample(rng_of(7), 1000)
    logging, target = world.rows(world.logging, index), world.rows(world.target, index)
    alone = evaluate_slate_policy(slates, clicks, logging, target, users=np.arange(1000) * 7)
    default = evaluate_slate_policy(slates, clicks, logging, target)
    np.testing.assert_allclose(alone["std_error"], default["std_error"], rtol=1e-14)
    # Every impression twice, by one user: the same estimate, and (summing the
    # user's terms) the same standard error as the impressions once; treated
    # as independent, it would shrink by about sqrt(2).
    def twice(values):
        return np.repeat(values, 2, axis=0)

    doubled = [SlatePropensities(*(twice(getattr(p, f)) for f in ("pscore", "pscore_item_position",
                                                                   "pscore_cascade"))) for p in (logging, target)]
    clustered = evaluate_slate_policy(twice(slates), twice(clicks), *doubled, users=twice(np.arange(1000)))
    np.testing.assert_allclose(clustered["estimate"], default["estimate"], rtol=1e-13)
    np.testing.assert_allclose(clustered["std_error"], default["std_error"], rtol=1e-12)
    naive = evaluate_slate_policy(twice(slates), twice(clicks), *doubled)
    assert np.all(naive["std_error"] < 0.75 * default["std_error"])


def test_intervals_cover_at_the_nominal_rate():
    world = pl_world("pbm")
    rng = rng_of(8)
    replications, n = 1000, 2000
    covered = np.zeros(len(SLATE_ESTIMATORS))
    for _ in range(replications):
        table = estimate(world, rng, n)
        covered += (table["low"] <= world.truth.sum()) & (world.truth.sum() <= table["high"])
    coverage = covered / replications
    # The binomial sd of a coverage near 95% over 1000 replications is 0.007:
    # the bounds leave 5 of them either side of 0.94-0.95 (the normal
    # approximation's own shortfall at n = 2000 is about 0.005-0.01).
    assert np.all((coverage > 0.905) & (coverage < 0.985)), dict(zip(SLATE_ESTIMATORS, coverage))


def test_self_normalised_is_nan_without_weight_and_estimators_follow_the_propensities_given():
    slates = np.array([[0, 1], [1, 0], [2, 0]])
    clicks = np.array([[1, 0], [0, 1], [0, 0]])
    logging = uniform_slate_propensities(slates, 3)
    target = ranking_slate_propensities(slates, [0.0, 0.0, 1.0])      # ranks (2, 0): the last slate
    table = evaluate_slate_policy(slates, clicks, logging, target).set_index("estimator")["estimate"]
    assert table["SIPS"] == 0.0 and table["SNSIPS"] == 0.0            # its slate got no click
    # IIPS: product 0 at position 1 (row 2, clicked) is the target's; RIPS
    # needs the prefix (2, 0) too.
    assert table["IIPS"] == pytest.approx((1 / (1 / 3)) / 3) and table["RIPS"] == 0.0
    # No logged slate is the target's: the self-normalised SIPS has no weight.
    table = evaluate_slate_policy(slates[:2], clicks[:2], uniform_slate_propensities(slates[:2], 3),
                                  ranking_slate_propensities(slates[:2], [0.0, 0.0, 1.0]))
    table = table.set_index("estimator")
    assert math.isnan(table.at["SNSIPS", "estimate"]) and math.isnan(table.at["SNSIPS", "std_error"])
    assert table.at["SIPS", "estimate"] == 0.0
    only_rips = evaluate_slate_policy(slates, clicks, {"pscore_cascade": logging.pscore_cascade}, target)
    assert list(only_rips["estimator"]) == ["RIPS", "SNRIPS"]


# -- the propensity helpers against enumeration -------------------------------------


def assert_same_propensities(got, expected, rtol=1e-12):
    for field in ("pscore", "pscore_item_position", "pscore_cascade"):
        np.testing.assert_allclose(getattr(got, field), getattr(expected, field), rtol=rtol, atol=1e-15,
                                   err_msg=field)


SIZES = [(3, 1), (4, 2), (5, 3), (4, 4), (6, 2)]


@pytest.mark.parametrize(("num_products", "k"), SIZES)
def test_uniform_against_enumeration(num_products, k):
    slates = all_slates(num_products, k)
    expected = enumerated_propensities(slates, np.full(len(slates), 1.0 / len(slates)))
    assert_same_propensities(uniform_slate_propensities(slates, num_products), expected)


@pytest.mark.parametrize(("num_products", "k"), SIZES)
@pytest.mark.parametrize("epsilon", [0.0, 0.3, 1.0])
def test_ranking_and_epsilon_greedy_against_enumeration(num_products, k, epsilon):
    slates = all_slates(num_products, k)
    scores = rng_of(num_products * 10 + k).normal(size=num_products)
    top = np.argsort(-scores)[:k]
    mixture = epsilon / len(slates) + (1 - epsilon) * point_mass(slates, top)
    expected = enumerated_propensities(slates, mixture)
    assert_same_propensities(epsilon_greedy_slate_propensities(slates, scores, epsilon), expected)
    if epsilon == 0.0:
        assert_same_propensities(ranking_slate_propensities(slates, scores), expected, rtol=0)
    if epsilon == 1.0:
        assert_same_propensities(uniform_slate_propensities(slates, num_products), expected)


def test_ranking_breaks_ties_to_the_lower_product_and_takes_a_score_row_per_impression():
    slates = np.array([[1, 2], [2, 1], [0, 3]])
    got = ranking_slate_propensities(slates, [[0.0, 5.0, 5.0, 0.0], [0.0, 5.0, 5.0, 0.0], [1.0, 0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(got.pscore, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(got.pscore_item_position, [[1, 1], [0, 0], [1, 1]])
    np.testing.assert_array_equal(got.pscore_cascade, [[1, 1], [0, 0], [1, 1]])


@pytest.mark.parametrize(("num_products", "k"), SIZES)
def test_plackett_luce_against_enumeration(num_products, k):
    slates = all_slates(num_products, k)
    rng = rng_of(num_products * 100 + k)
    scores = 2.0 * rng.normal(size=num_products)
    probabilities = plackett_luce_distribution(slates, scores)
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-12)
    expected = enumerated_propensities(slates, probabilities)
    assert_same_propensities(plackett_luce_slate_propensities(slates, scores), expected)
    marginals = plackett_luce_position_marginals(scores, k)
    np.testing.assert_allclose(marginals.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(marginals[np.arange(k), slates], expected.pscore_item_position, rtol=1e-12)
    # One score row per impression: each row its own policy.
    rows = rng.normal(size=(len(slates), num_products))
    got = plackett_luce_slate_propensities(slates, rows)
    for i in rng.choice(len(slates), size=min(5, len(slates)), replace=False):
        own = enumerated_propensities(slates, plackett_luce_distribution(slates, rows[i]))
        for field in ("pscore", "pscore_item_position", "pscore_cascade"):
            np.testing.assert_allclose(getattr(got, field)[i], getattr(own, field)[i], rtol=1e-12)
    np.testing.assert_allclose(plackett_luce_position_marginals(rows[:3], k)[1], plackett_luce_position_marginals(
        rows[1], k), rtol=1e-14)


def test_plackett_luce_is_the_softmax_without_replacement():
    """The Gumbel-max trick samples a Plackett-Luce ranking: each slate's
    frequency matches its pscore."""
    slates = all_slates(P, K)
    got = plackett_luce_slate_propensities(slates, TARGET_SCORES)
    n = 400_000
    rng = rng_of(9)
    drawn = np.argsort(-(TARGET_SCORES + rng.gumbel(size=(n, P))), axis=1)[:, :K]
    code = (drawn * np.array([P * P, P, 1])).sum(axis=1)
    counts = np.bincount(code, minlength=P ** 3)[(slates * np.array([P * P, P, 1])).sum(axis=1)]
    assert counts.sum() == n
    sd = np.sqrt(n * got.pscore * (1 - got.pscore))
    assert np.all(np.abs(counts - n * got.pscore) < SIGMAS * sd)


def test_plackett_luce_extreme_scores_stay_finite():
    slates = all_slates(4, 3)
    scores = np.array([800.0, 0.0, -800.0, 790.0])
    got = plackett_luce_slate_propensities(slates, scores)
    for field in ("pscore", "pscore_item_position", "pscore_cascade"):
        assert np.all(np.isfinite(getattr(got, field)))
    np.testing.assert_allclose(got.pscore.sum(), 1.0, rtol=1e-12)
    expected = enumerated_propensities(slates, got.pscore)
    assert_same_propensities(got, expected, rtol=1e-9)


def test_plackett_luce_enumeration_limit():
    slates = np.array([[0, 1, 2, 3]])
    with pytest.raises(ValueError, match="item_position=False"):
        plackett_luce_slate_propensities(slates, np.zeros(100))
    got = plackett_luce_slate_propensities(slates, np.zeros(100), item_position=False)
    assert got.pscore_item_position is None
    np.testing.assert_allclose(got.pscore, 1 / (100 * 99 * 98 * 97), rtol=1e-12)
    table = evaluate_slate_policy(np.r_[slates, slates + 4], np.zeros((2, 4)),
                                  uniform_slate_propensities(np.r_[slates, slates + 4], 100),
                                  plackett_luce_slate_propensities(np.r_[slates, slates + 4], np.zeros(100),
                                                                   item_position=False))
    assert list(table["estimator"]) == ["SIPS", "RIPS", "SNSIPS", "SNRIPS"]


# -- validation ---------------------------------------------------------------------


def valid_inputs():
    slates = np.array([[0, 1], [2, 3], [1, 3]])
    clicks = np.array([[1, 0], [0, 0], [0, 1]])
    return {"slates": slates, "clicks": clicks, "logging": uniform_slate_propensities(slates, 4),
            "target": plackett_luce_slate_propensities(slates, [0.0, 1.0, 2.0, 3.0])}


def with_field(policy, **fields):
    return SlatePropensities(**{**{f: getattr(policy, f) for f in ("pscore", "pscore_item_position",
                                                                   "pscore_cascade")}, **fields})


@pytest.mark.parametrize(("change", "error", "match"), [
    (lambda a: {"slates": a["slates"][:, 0]}, ValueError, r"slates must be a 2-d integer array"),
    (lambda a: {"slates": a["slates"] * 1.0}, ValueError, r"slates must be a 2-d integer array"),
    (lambda a: {"slates": np.zeros((3, 0), dtype=int), "clicks": np.zeros((3, 0))}, ValueError, r"k >= 1"),
    (lambda a: {"slates": a["slates"] - 1}, ValueError, r"slates must hold product ids >= 0"),
    (lambda a: {"slates": np.array([[0, 1], [2, 2], [1, 3]])}, ValueError, r"row 1 repeats one"),
    (lambda a: {"clicks": a["clicks"][:2]}, ValueError, r"clicks must be an array of 0s and 1s of shape \(3, 2\)"),
    (lambda a: {"clicks": a["clicks"] * 2}, ValueError, r"clicks must hold only 0 and 1, got 2"),
    (lambda a: {"clicks": np.where(a["clicks"], np.nan, 0.0)}, ValueError, r"clicks must hold only 0 and 1"),
    (lambda a: {"logging": with_field(a["logging"], pscore=np.zeros(3))}, ValueError,
     r"logging.pscore must hold probabilities in \(0, 1\], got 0.0"),
    (lambda a: {"logging": with_field(a["logging"], pscore_item_position=np.ones((3, 3)))}, ValueError,
     r"logging.pscore_item_position must be an array of probabilities of shape \(3, 2\)"),
    (lambda a: {"target": with_field(a["target"], pscore_cascade=a["target"].pscore_cascade + 1)}, ValueError,
     r"target.pscore_cascade must hold probabilities in \[0, 1\]"),
    (lambda a: {"target": with_field(a["target"], pscore=np.full(3, np.nan))}, ValueError,
     r"target.pscore must hold probabilities in \[0, 1\], got nan"),
    (lambda a: {"target": with_field(a["target"], pscore_cascade=a["target"].pscore_cascade[:, ::-1])},
     ValueError, r"target.pscore_cascade must not increase along the slate"),
    (lambda a: {"logging": with_field(a["logging"], pscore=a["logging"].pscore / 2)}, ValueError,
     r"logging.pscore must equal logging.pscore_cascade at the last position"),
    (lambda a: {"target": with_field(a["target"], pscore_item_position=a["target"].pscore_item_position[:, ::-1])},
     ValueError, r"target.pscore_item_position must equal target.pscore_cascade at the top"),
    (lambda a: {"logging": {"pscore": a["logging"].pscore, "pscore_slate": 1}}, ValueError,
     r"logging: unknown propensity 'pscore_slate'"),
    (lambda a: {"target": [0.5, 0.5, 0.5]}, TypeError, r"target must be SlatePropensities or a dict"),
    (lambda a: {"logging": {"pscore": a["logging"].pscore},
                "target": {"pscore_item_position": a["target"].pscore_item_position}}, ValueError,
     r"logging and target must both give one of"),
    (lambda a: {"users": [0, 1]}, ValueError, r"users must be a 1-d integer array of user ids of shape \(3,\)"),
    (lambda a: {"users": [4, 4, 4]}, ValueError, r"users must hold at least two users"),
    (lambda a: {"truth": np.zeros(3)}, ValueError, r"truth must be a float .* got shape \(3,\)"),
    (lambda a: {"truth": np.inf}, ValueError, r"truth must hold finite expected clicks"),
    (lambda a: {"level": 1.0}, ValueError, r"level must be a confidence level in \(0, 1\)"),
    (lambda a: {"level": "0.95"}, TypeError, r"level must be a real number"),
    (lambda a: {"by_position": "yes"}, TypeError, r"by_position must be True or False"),
    (lambda a: {"slates": a["slates"][:1], "clicks": a["clicks"][:1],
                "logging": uniform_slate_propensities(a["slates"][:1], 4),
                "target": uniform_slate_propensities(a["slates"][:1], 4)}, ValueError, r"at least two impressions"),
])
def test_evaluate_validation(change, error, match):
    inputs = valid_inputs()
    evaluate_slate_policy(**inputs)
    with pytest.raises(error, match=match):
        evaluate_slate_policy(**{**inputs, **change(inputs)})


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: uniform_slate_propensities([[0, 1]], 1), ValueError, r"num_products must be an integer >= 2"),
    (lambda: uniform_slate_propensities([[0, 4]], 4), ValueError, r"slates must hold products in \[0, 4\)"),
    (lambda: uniform_slate_propensities([[0, 1]], 4.0), TypeError, r"num_products must be an integer"),
    (lambda: ranking_slate_propensities([[0, 1]], [1.0]), ValueError, r"scores must score at least k = 2"),
    (lambda: ranking_slate_propensities([[0, 1]], [1.0, np.nan]), ValueError, r"scores must be finite"),
    (lambda: ranking_slate_propensities([[0, 1], [1, 0]], np.zeros((3, 2))), ValueError,
     r"scores must be a \(P,\) array \(shared\) or a \(2, P\) array"),
    (lambda: ranking_slate_propensities([[0, 2]], [0.0, 1.0]), ValueError, r"slates must hold products in \[0, 2\)"),
    (lambda: epsilon_greedy_slate_propensities([[0, 1]], [0.0, 1.0], 1.5), ValueError,
     r"epsilon must be a probability in \[0, 1\]"),
    (lambda: plackett_luce_slate_propensities([[0, 1]], [0.0, 1.0], item_position=None), TypeError,
     r"item_position must be True or False"),
    (lambda: plackett_luce_position_marginals([0.0, 1.0], 3), ValueError, r"slate_size must be in \[1, 2\]"),
    (lambda: plackett_luce_position_marginals([[[0.0]]], 1), ValueError, r"scores must be a \(P,\) or \(rows, P\)"),
    (lambda: plackett_luce_position_marginals(np.zeros((200, 20)), 5), ValueError,
     r"200 score vector\(s\); the limits are"),
])
def test_helper_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_import_recogym_leaves_the_module_for_later():
    code = "import sys, recogym; assert 'recogym.evaluation.slate_ope' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- OBP's slate estimators on the same data ----------------------------------------


def import_obp(module):
    """OBP's ``module``; under RECOGYM_REQUIRE_OBP=1 (.ci/run installs obp and
    sets it), a missing obp is a failure, not a skip."""
    if os.environ.get("RECOGYM_REQUIRE_OBP") != "1" and importlib.util.find_spec("obp") is None:
        pytest.skip("obp is not installed: pip install --no-deps --ignore-requires-python obp==0.5.7 seaborn")
    return importlib.import_module(module)


def test_matches_obp_slate_estimators():
    ope = import_obp("obp.ope")
    rng = rng_of(10)
    n, num_products, k = 1500, 6, 3
    # Context-dependent policies: a score row per impression.
    logging_scores = rng.normal(size=(n, num_products))
    target_scores = logging_scores + rng.normal(size=(n, num_products))
    slates = np.argsort(-(logging_scores + rng.gumbel(size=(n, num_products))), axis=1)[:, :k]
    clicks = (rng.random((n, k)) < 0.3 * np.array([1.0, 0.7, 0.4])).astype(np.int64)
    logging = plackett_luce_slate_propensities(slates, logging_scores)
    target = epsilon_greedy_slate_propensities(slates, target_scores, 0.5)
    ours = evaluate_slate_policy(slates, clicks, logging, target).set_index("estimator")["estimate"]

    # OBP's long format: one row per (slate, position).
    slate_id = np.repeat(np.arange(n), k)
    position = np.tile(np.arange(k), n)
    reward = clicks.ravel().astype(np.float64)
    sips = ope.SlateStandardIPS(len_list=k).estimate_policy_value(
        slate_id=slate_id, reward=reward, position=position, pscore=np.repeat(logging.pscore, k),
        evaluation_policy_pscore=np.repeat(target.pscore, k))
    iips = ope.SlateIndependentIPS(len_list=k).estimate_policy_value(
        slate_id=slate_id, reward=reward, position=position,
        pscore_item_position=logging.pscore_item_position.ravel(),
        evaluation_policy_pscore_item_position=target.pscore_item_position.ravel())
    rips = ope.SlateRewardInteractionIPS(len_list=k).estimate_policy_value(
        slate_id=slate_id, reward=reward, position=position, pscore_cascade=logging.pscore_cascade.ravel(),
        evaluation_policy_pscore_cascade=target.pscore_cascade.ravel())
    for name, theirs in (("SIPS", sips), ("IIPS", iips), ("RIPS", rips)):
        assert ours[name] == pytest.approx(theirs, rel=1e-12, abs=1e-15), name
