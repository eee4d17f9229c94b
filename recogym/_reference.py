"""A plain numpy/Python model of the default-mode kernels, event by event.

It draws from ``Generator(Philox(key=[seed, user_id]))`` in the order the
Cython kernel does and does the same arithmetic, so for the same arguments it
produces the same logs bit for bit, post-click landing and conversions
included. Tests use it as the oracle of
``Engine.simulate_logs``; ``bench/`` times the kernel against it.
"""
from __future__ import annotations

import math

import numpy as np

from .model import StaticParameters, _choice_cdf, build_static, transition_cdf
from .params import Configuration
from .policies import UserPopularity

__all__ = ["reference_logs", "reference_slate_logs", "reference_slate_steps", "show_slate"]

ORGANIC, BANDIT, STOP = 0, 1, 2


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _click_curve(x: float) -> float:
    return _sigmoid(5.0 * _sigmoid(2.0 * _sigmoid(0.3 * x) - 2.0) - 6.0)


def _search_right(cdf: np.ndarray, x: float) -> int:
    return min(int(np.searchsorted(cdf, x, side="right")), len(cdf) - 1)


class _User:
    def __init__(self, model: str, config: Configuration, static: StaticParameters, user_id: int) -> None:
        key = np.array([config.random_seed, user_id], dtype=np.uint64)
        self.rng = np.random.Generator(np.random.Philox(key=key))
        self.model, self.config, self.static = model, config, static
        self.state = ORGANIC
        self.next_time = 0.0
        self.time = self.new_time()
        self.landing = config.get("organic_after_click", "drawn") == "clicked"
        self.conversions = bool(config.get("with_conversions", False))
        self.landing_view: int | None = None
        if model == "reco-gym-v1":
            self.omega = np.array([0.0 + config.sigma_omega_initial * self.rng.standard_normal()
                                   for _ in range(config.K)])
            # The purchase state of the conversion model starts at the first tastes.
            self.purchase_state = self.omega.copy()
        else:
            P = config.num_products
            self.last_view = _search_right(_choice_cdf(np.ones(P) / P), self.rng.random())

    def new_time(self) -> float:
        t = self.next_time
        if self.config.time_generator == "normal":
            self.next_time = t + abs(self.config.normal_time_mu
                                     + self.config.normal_time_sigma * self.rng.standard_normal())
        else:
            self.next_time = t + 1.0
        return t

    def transition(self, cdf: np.ndarray) -> None:
        u = self.rng.random()
        row = cdf[self.state]
        self.state = int(row[0] <= u) + int(row[1] <= u)
        if self.model != "reco-gym-v1":
            return
        old_time = self.time
        self.time = self.new_time()
        delta = self.time - old_time
        if self.config.change_omega_for_bandits or self.state == ORGANIC:
            scale = self.config.sigma_omega * (1.0 if delta == 0.0 else delta)
            self.omega = np.array([w + scale * self.rng.standard_normal() for w in self.omega])

    def view(self) -> int:
        if self.landing_view is not None:
            # Post-click landing: the clicked product, drawn from nothing.
            self.last_view, self.landing_view = self.landing_view, None
            return self.last_view
        if self.model != "reco-gym-v1":
            cdf = _choice_cdf(self.static["view_transition"][self.last_view])
            self.last_view = _search_right(cdf, self.rng.random())
            return self.last_view
        gamma = self.static["gamma"]
        logits = np.zeros(gamma.shape[0])
        for k in range(gamma.shape[1]):
            logits = logits + gamma[:, k] * self.omega[k]
        logits = logits + self.static["mu_organic"]
        cumulative = np.cumsum(np.exp(logits - logits.max()))
        total = cumulative[-1]
        threshold = self.rng.random() * total
        if threshold >= total:
            threshold = np.nextafter(total, 0.0)
        self.last_view = _search_right(cumulative, threshold)
        return self.last_view

    def click_probability(self, action: int) -> float:
        if self.model != "reco-gym-v1":
            return float(self.static["click_table"][action, self.last_view])
        score = 0.0
        for k in range(self.omega.shape[0]):
            score = score + self.static["beta"][action, k] * self.omega[k]
        return _click_curve(score + self.static["mu_bandit"][action])

    def conversion_probability(self, action: int, clicked: bool) -> float:
        """``psale_scale * sigmoid(Lambda_a . delta')``, ``delta'`` the purchase
        state moved towards ``Lambda_a`` by ``kappa``; a click keeps it."""
        kappa = self.config.kappa
        embedding = self.static["sale_embeddings"][action]
        moved = np.array([(1.0 - kappa) * self.purchase_state[k] + kappa * embedding[k]
                          for k in range(len(embedding))])
        score = 0.0
        for k in range(len(embedding)):
            score = score + embedding[k] * moved[k]
        if clicked:
            self.purchase_state = moved
        return float(self.config.psale_scale * _sigmoid(score))

    def recommend(self, action: int, cdf: np.ndarray) -> tuple[int, float, int, float]:
        """The click, its probability, the conversion and the probability
        that a click converts (-1 and NaN without conversions)."""
        p = self.click_probability(action)
        click = int(self.rng.random() < p)
        conversion, q = -1, math.nan
        if self.conversions:
            q = self.conversion_probability(action, bool(click))
            conversion = int(self.rng.random() < q) if click else 0
        self.transition(cdf)
        if click:
            self.state = ORGANIC
            if self.landing:
                self.landing_view = action
        return click, p, conversion, q


def _user_popularity_action(counts: np.ndarray, epsilon: float, u: float) -> tuple[int, float]:
    total = 0.0
    for count in counts:
        total = total + (count + epsilon)
    threshold = u * total
    for action in range(len(counts) - 1):
        threshold = threshold - (counts[action] + epsilon)
        if threshold < 0.0:
            break
    else:
        action = len(counts) - 1
        while counts[action] + epsilon == 0.0:
            action -= 1
    return action, (counts[action] + epsilon) / total


def reference_logs(model: str, config: Configuration, num_users: int, num_organic_users: int = 0,
                   first_user: int = 0, policy: UserPopularity | None = None) -> dict[str, np.ndarray]:
    """Logs of the default mode under the uniform policy or ``policy``, as
    ``Logs`` columns."""
    if config.rng != "default":
        raise ValueError("the reference models rng='default' only")
    static = build_static(model, config)
    cdf = transition_cdf(config)
    P = config.num_products
    names = ["t", "u", "z", "v", "a", "c", "ps", "click_probability"]
    conversions = bool(config.get("with_conversions", False))
    if conversions:
        names += ["conversion", "conversion_probability"]
    rows: dict[str, list[float]] = {name: [] for name in names}
    for user_id in range(first_user, first_user + num_organic_users + num_users):
        organic_only = user_id < first_user + num_organic_users
        user = _User(model, config, static, user_id)
        counts = np.zeros(P)
        while user.state != STOP and not (organic_only and user.state == BANDIT):
            time = user.time
            if user.state == ORGANIC:
                view = user.view()
                counts[view] += 1
                values: tuple[float, ...] = (time, user_id, ORGANIC, view, -1, -1, np.nan, np.nan, -1, np.nan)
                user.transition(cdf)
            else:
                if policy is None:
                    action, ps = min(int(user.rng.random() * P), P - 1), 1.0 / P
                else:
                    action, ps = _user_popularity_action(counts, policy.epsilon, user.rng.random())
                click, p, conversion, q = user.recommend(action, cdf)
                values = (time, user_id, BANDIT, -1, action, click, ps, p, conversion, q)
            for name, value in zip(rows, values):
                rows[name].append(value)
    dtypes = dict(t=np.float64, u=np.int64, z=np.int8, v=np.int32, a=np.int32, c=np.int8, ps=np.float64,
                  click_probability=np.float64, conversion=np.int8, conversion_probability=np.float64)
    return {name: np.array(values, dtype=dtypes[name]) for name, values in rows.items()}


# -- slates (slate_size > 1) --------------------------------------------------

def _slate_parameters(config: Configuration) -> tuple[int, str, np.ndarray, float]:
    from .model import examination_probabilities

    return (int(config.slate_size), str(config.click_model), examination_probabilities(config),
            float(config.get("cascade_continuation", 1.0)))


def show_slate(user: _User, config: Configuration, cdf: np.ndarray, slate: list[int]) -> tuple[int, list[int], list[float]]:
    """The reference of the kernel's ``show_slate``: ``(any click, clicks,
    click probabilities)`` per position, after which the chain steps."""
    k, click_model, examination, continuation = _slate_parameters(config)
    attraction = [user.click_probability(product) for product in slate]
    clicks = [0] * k
    probabilities = [0.0] * k
    if click_model == "pbm":
        for j in range(k):
            probabilities[j] = float(examination[j]) * attraction[j]
            clicks[j] = int(user.rng.random() < probabilities[j])
    else:
        reach, scanning = 1.0, True
        for j in range(k):
            probabilities[j] = reach * attraction[j]
            reach = reach * (1.0 - attraction[j]) * continuation
            if not scanning:
                continue
            if user.rng.random() < attraction[j]:
                clicks[j], scanning = 1, False
            elif j + 1 < k and continuation < 1.0:
                scanning = user.rng.random() < continuation
    clicked = int(any(clicks))
    user.transition(cdf)
    if clicked:
        user.state = ORGANIC
        if user.landing:
            user.landing_view = slate[clicks.index(1)]
    return clicked, clicks, probabilities


def any_click_probability(click_model: str, probabilities: list[float]) -> float:
    if click_model == "pbm":
        none = 1.0
        for q in probabilities:
            none = none * (1.0 - q)
        return 1.0 - none
    total = 0.0
    for q in probabilities:
        total = total + q
    return total


def uniform_slate(rng: np.random.Generator, num_products: int, k: int) -> list[int]:
    """k distinct products, one uniform per position: the i-th of those not yet taken."""
    taken: list[int] = []
    slate = []
    for j in range(k):
        i = min(int(rng.random() * (num_products - j)), num_products - j - 1)
        for product in sorted(taken):
            if product <= i:
                i += 1
            else:
                break
        slate.append(i)
        taken.append(i)
    return slate


def popularity_ranking(counts: np.ndarray, k: int) -> list[int]:
    """The k most viewed products, ties to the lower id."""
    order = sorted(range(len(counts)), key=lambda product: (-counts[product], product))
    return order[:k]


def reference_slate_logs(model: str, config: Configuration, num_users: int, num_organic_users: int = 0,
                         first_user: int = 0, explore: float | None = None) -> dict[str, np.ndarray]:
    """Slate logs (``slate_size`` > 1) of the default mode under uniform
    slates, or the popularity ranking with ``explore``: ``Logs`` columns,
    and the per-position ones as ``slate_<name>``."""
    if config.rng != "default":
        raise ValueError("the reference models rng='default' only")
    static = build_static(model, config)
    cdf = transition_cdf(config)
    P = config.num_products
    k, click_model, _, _ = _slate_parameters(config)
    names = ("t", "u", "z", "v", "a", "c", "ps", "click_probability", "slate_a", "slate_c",
             "slate_pscore_item_position", "slate_pscore_cascade", "slate_click_probability")
    rows: dict[str, list[object]] = {name: [] for name in names}
    missing_int, missing_float = [-1] * k, [np.nan] * k
    for user_id in range(first_user, first_user + num_organic_users + num_users):
        organic_only = user_id < first_user + num_organic_users
        user = _User(model, config, static, user_id)
        counts = np.zeros(P)
        while user.state != STOP and not (organic_only and user.state == BANDIT):
            time = user.time
            values: tuple[object, ...]
            if user.state == ORGANIC:
                view = user.view()
                counts[view] += 1
                values = (time, user_id, ORGANIC, view, -1, -1, np.nan, np.nan, missing_int, missing_int,
                          missing_float, missing_float, missing_float)
                user.transition(cdf)
            else:
                greedy = False
                if explore is not None:
                    ranking = popularity_ranking(counts, k)
                    greedy = user.rng.random() >= explore
                slate = list(ranking) if greedy else uniform_slate(user.rng, P, k)
                item_position, cascade = [], []
                uniform_prefix, matches = 1.0, True
                for j in range(k):
                    uniform_prefix = uniform_prefix / float(P - j)
                    if explore is not None:
                        matches = matches and slate[j] == ranking[j]
                        item_position.append((1.0 - explore) * float(slate[j] == ranking[j]) + explore / float(P))
                        cascade.append((1.0 - explore) * float(matches) + explore * uniform_prefix)
                    else:
                        item_position.append(1.0 / float(P))
                        cascade.append(uniform_prefix)
                clicked, clicks, probabilities = show_slate(user, config, cdf, slate)
                values = (time, user_id, BANDIT, -1, slate[0], clicked, cascade[-1],
                          any_click_probability(click_model, probabilities), slate, clicks, item_position, cascade,
                          probabilities)
            for name, value in zip(names, values):
                rows[name].append(value)
    dtypes = {"t": np.float64, "u": np.int64, "z": np.int8, "v": np.int32, "a": np.int32, "c": np.int8,
              "ps": np.float64, "click_probability": np.float64, "slate_a": np.int32, "slate_c": np.int8,
              "slate_pscore_item_position": np.float64, "slate_pscore_cascade": np.float64,
              "slate_click_probability": np.float64}
    out = {name: np.array(values, dtype=dtypes[name]) for name, values in rows.items()}
    for name in names[8:]:
        out[name] = out[name].reshape(-1, k)
    return out


def reference_slate_steps(model: str, config: Configuration, user_id: int,
                          slates: list[list[int]]) -> list[tuple[list[int], int, list[int], list[float]]]:
    """One user stepped through the classic env with ``slates``, one per
    recommendation, until they leave or the slates run out: per step (the
    first is the first organic session) the views, whether any position was
    clicked, and the clicks and click probabilities per position."""
    static = build_static(model, config)
    cdf = transition_cdf(config)
    user = _User(model, config, static, user_id)

    def session() -> list[int]:
        views = []
        while user.state == ORGANIC:
            views.append(user.view())
            user.transition(cdf)
        return views

    steps: list[tuple[list[int], int, list[int], list[float]]] = [(session(), 0, [], [])]
    for slate in slates:
        if user.state == STOP:
            break
        clicked, clicks, probabilities = show_slate(user, config, cdf, slate)
        steps.append((session(), clicked, clicks, probabilities))
    return steps
