"""Model arguments: the defaults of RecoGym 0.1.3.0, and their resolution.

:func:`resolve_env_args` merges an env's arguments with its model's defaults
and checks every value an :class:`~recogym._core.Engine` trusts, through the
contracts of :mod:`recogym._checks`.
"""
from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from ._checks import RNG_MODES, check_choice, check_flag, check_int_at_least, check_positive_int
from ._checks import check_probability_vector, check_real_in, check_seed
# Importable from here before the checks moved to recogym._checks.
from ._checks import check_count as check_count, is_integer as is_integer, seed_limit as seed_limit
from .time_generators import DefaultTimeGenerator, NormalTimeGenerator, time_generator_kind

__all__ = [
    "MODEL_IDS",
    "Configuration",
    "env_0_args",
    "env_1_args",
    "env_args",
    "resolve_env_args",
    "RNG_MODES",
    "DefaultTimeGenerator",
    "NormalTimeGenerator",
    "ORGANIC_AFTER_CLICK",
    "CONVERSION_DEFAULTS",
    "CLICK_MODELS",
    "slate_size_of",
]

#: The models: the latent-factor model and the cluster model.
MODEL_IDS = ("reco-gym-v1", "reco-gym-v0")

#: A chain whose users are expected to log more events than this (as the
#: fundamental matrix of the organic/bandit/leave chain says) is refused: one
#: such user's logs would not fit in memory.
MAX_EXPECTED_EVENTS_PER_USER = 1e8
#: Standard deviations and time parameters are at most this in magnitude,
#: which keeps omega, the logits and the times finite over any user.
MAX_SCALE = 1e6
#: Products are int32 in the logs.
MAX_PRODUCTS = 2**31 - 1

#: Arguments shared by both models (0.1.3.0's ``env_args``, with a fixed seed
#: instead of one drawn at import time, and the random-number mode).
env_args: dict[str, Any] = {
    "num_products": 10,
    "num_users": 100,
    "random_seed": 42,
    "rng": "default",
    # Markov state transition probabilities.
    "prob_leave_bandit": 0.01,
    "prob_leave_organic": 0.01,
    "prob_bandit_to_organic": 0.05,
    "prob_organic_to_bandit": 0.25,
    "normalize_beta": False,
    "with_ps_all": False,
    # 0.1.3.0 adds the cluster model's arguments to the shared dict, so both
    # models carry them.
    "num_clusters": 2,
    "phi_var": 0.1,
}

#: reco-gym-v0, the cluster model.
env_0_args: dict[str, Any] = dict(env_args)

#: reco-gym-v1, the latent-factor model.
env_1_args: dict[str, Any] = {
    **env_args,
    "K": 5,
    "sigma_omega_initial": 1.0,
    "sigma_omega": 0.1,
    "number_of_flips": 0,
    "sigma_mu_organic": 3.0,
    "change_omega_for_bandits": False,
    "normalize_beta": False,
}

#: ``organic_after_click``: the organic session after a click starts with a
#: view drawn from the model (RecoGym), or with the clicked product.
ORGANIC_AFTER_CLICK = ("drawn", "clicked")

#: The conversion model's parameters (PR #26's names) and their defaults,
#: which apply with ``with_conversions=True``.
CONVERSION_DEFAULTS: dict[str, float] = {
    "psale_scale": 0.25,    # the conversion probability's scale: at most this
    "kappa": 0.5,           # how far a click moves the purchase state to the product's embedding
    "sigma_Lambda": 1.0,    # the standard deviation of the products' sale embeddings
}

# Arguments with no default that an env still understands; with them absent
# the model is RecoGym's, and the resolved args hold none of them.
# Slates' arguments (docs/slates.md) are among them.
OPTIONAL_ARGS = ("time_generator", "normal_time_mu", "normal_time_sigma", "agent", "organic_after_click",
                 "with_conversions", *CONVERSION_DEFAULTS,
                 "slate_size", "click_model", "examination", "position_decay", "cascade_continuation")
#: The click models of slates (env arg ``click_model``).
CLICK_MODELS = ("pbm", "cascade")
#: Where the resolved args keep a time generator object given as
#: ``time_generator`` (whose key then holds its kind).
TIME_GENERATOR_OBJECT = "time_generator_object"

_PROBABILITIES = (
    "prob_leave_bandit",
    "prob_leave_organic",
    "prob_bandit_to_organic",
    "prob_organic_to_bandit",
)
_SIGMAS = ("sigma_omega_initial", "sigma_omega", "sigma_mu_organic", "phi_var")
_FLAGS = ("normalize_beta", "with_ps_all", "change_omega_for_bandits")


class Configuration(Mapping[str, Any]):
    """Read-only arguments, readable as attributes (``config.num_products``)
    or as a mapping (``config['num_products']``).

    Agents and envs accept a plain dict wherever they accept a Configuration.
    """

    __slots__ = ("_args",)

    def __init__(self, args: Mapping[str, Any] | None = None, **overrides: Any) -> None:
        object.__setattr__(self, "_args", {**(args or {}), **overrides})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._args[name]
        except KeyError:
            raise AttributeError(name) from None

    @property  # 0.1.3.0 code reads config.__dict__ (or vars(config)) as the args
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        """The arguments as a new dict, as 0.1.3.0's ``config.__dict__`` gave them."""
        return dict(self._args)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Configuration is read-only; build a new one with Configuration(old, key=value)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Configuration is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._args[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._args)

    def __len__(self) -> int:
        return len(self._args)

    def __repr__(self) -> str:
        return f"Configuration({self._args!r})"

    def __reduce__(self) -> tuple[type[Configuration], tuple[dict[str, Any]]]:
        return (Configuration, (self._args,))


def as_configuration(args: Mapping[str, Any] | None) -> Configuration:
    return args if isinstance(args, Configuration) else Configuration(args)


def defaults_for(model: str) -> dict[str, Any]:
    return dict(env_1_args if model == "reco-gym-v1" else env_0_args)


def resolve_env_args(model: str, args: Mapping[str, Any] | None) -> Configuration:
    """The model's defaults updated with ``args``, validated.

    Raises
    ------
    ValueError, TypeError
        For any argument outside its allowed values, naming it.
    """
    if args is not None and not isinstance(args, Mapping):
        raise TypeError(f"env args must be a dict or Configuration, got {type(args).__name__}")
    merged = {**defaults_for(model), **(args or {})}
    _warn_unknown(model, merged)
    _check_integer(merged, "num_products", 1)
    if merged["num_products"] > MAX_PRODUCTS:
        raise ValueError(f"env arg 'num_products' must be in [1, {MAX_PRODUCTS}] (products are int32 in the "
                         f"logs), got {merged['num_products']}")
    _check_integer(merged, "num_users", 0)
    _check_integer(merged, "num_clusters", 1)
    _check_integer(merged, "random_seed", 0)
    merged["rng"] = check_choice("env arg 'rng'", merged["rng"], RNG_MODES)
    merged["random_seed"] = check_seed("env arg 'random_seed'", merged["random_seed"], merged["rng"])
    for name in _PROBABILITIES:
        _check_real(merged, name, 0.0, 1.0)
    leave_from_bandit = merged["prob_leave_organic" if merged["rng"] == "legacy" else "prob_leave_bandit"]
    _check_row(merged, "organic", merged["prob_organic_to_bandit"] + merged["prob_leave_organic"],
               "prob_organic_to_bandit + prob_leave_organic")
    _check_row(merged, "bandit", merged["prob_bandit_to_organic"] + leave_from_bandit,
               "prob_bandit_to_organic + "
               + ("prob_leave_organic (legacy rng uses it for the bandit row, as 0.1.3.0 does)"
                  if merged["rng"] == "legacy" else "prob_leave_bandit"))
    _check_chain(merged, leave_from_bandit)
    for name in _SIGMAS:
        if name in merged:
            _check_real(merged, name, 0.0, MAX_SCALE)
    for name in _FLAGS:
        if name in merged:
            merged[name] = check_flag(f"env arg {name!r}", merged[name])
    if model == "reco-gym-v1":
        _check_integer(merged, "K", 1)
        if merged["K"] > MAX_PRODUCTS:
            raise ValueError(f"env arg 'K' must be in [1, {MAX_PRODUCTS}], got {merged['K']}")
        _check_integer(merged, "number_of_flips", 0)
        if merged["number_of_flips"] > merged["num_products"] // 2:
            raise ValueError(
                "env arg 'number_of_flips' swaps pairs of products, so it must be in "
                f"[0, num_products // 2 = {merged['num_products'] // 2}], got {merged['number_of_flips']}"
            )
    elif merged["num_products"] % merged["num_clusters"]:
        raise ValueError(
            "env arg 'num_clusters' must divide 'num_products' (the cluster model has equal "
            f"clusters), got num_clusters={merged['num_clusters']} with num_products={merged['num_products']}"
        )
    generator = merged.pop(TIME_GENERATOR_OBJECT, None) or merged.get("time_generator")
    merged["time_generator"] = time_generator_kind(generator)
    if not (generator is None or isinstance(generator, str)):
        merged[TIME_GENERATOR_OBJECT] = generator
    if merged["time_generator"] == "normal":
        # An object's own parameters win, as in 0.1.3.0, where the env never read the args'.
        for name, default in (("normal_time_mu", 0.0), ("normal_time_sigma", 1.0)):
            if isinstance(generator, NormalTimeGenerator):
                merged[name] = getattr(generator, name)
            merged.setdefault(name, default)
    if "normal_time_mu" in merged:
        _check_real(merged, "normal_time_mu", -MAX_SCALE, MAX_SCALE)
    if "normal_time_sigma" in merged:
        _check_real(merged, "normal_time_sigma", 0.0, MAX_SCALE)
    _check_post_click(model, merged)
    _check_slate_args(merged)
    agent = merged.get("agent")
    if agent is not None and not callable(getattr(agent, "act", None)):
        raise TypeError(f"env arg 'agent' must be an agent with an act() method (the logging policy), got {agent!r}")
    return Configuration(merged)


def _check_post_click(model: str, args: dict[str, Any]) -> None:
    """Post-click landing and conversions: off unless asked for, and only
    with the default rng (RecoGym 0.1.3.0, which legacy mode reproduces,
    has neither); conversions need the latent-factor model."""
    if "organic_after_click" in args:
        args["organic_after_click"] = check_choice("env arg 'organic_after_click'", args["organic_after_click"],
                                                   ORGANIC_AFTER_CLICK)
    if "with_conversions" in args:
        args["with_conversions"] = check_flag("env arg 'with_conversions'", args["with_conversions"])
    for name in ("psale_scale", "kappa"):
        if name in args:
            _check_real(args, name, 0.0, 1.0)
    if "sigma_Lambda" in args:
        _check_real(args, "sigma_Lambda", 0.0, MAX_SCALE)
    landing = args.get("organic_after_click", "drawn") == "clicked"
    conversions = bool(args.get("with_conversions", False))
    if args["rng"] == "legacy":
        for name, on, off in (("organic_after_click", landing, "'drawn'"), ("with_conversions", conversions, "False")):
            if on:
                raise ValueError(f"env arg {name!r} must be {off} with rng='legacy': RecoGym 0.1.3.0, which "
                                 f"legacy mode reproduces, has no such feature; use rng='default'")
    if conversions:
        if model != "reco-gym-v1":
            raise ValueError("env arg 'with_conversions' must be False for reco-gym-v0: a conversion's "
                             "probability depends on the user's latent state, which only reco-gym-v1 has")
        for name, default in CONVERSION_DEFAULTS.items():
            args.setdefault(name, default)
def _check_slate_args(args: dict[str, Any]) -> None:
    """Slates (docs/slates.md): ``slate_size`` products per impression, a
    ``click_model`` and its position parameters. Absent, nothing is added, so
    the resolved args of a one-product env are what they were."""
    given = [name for name in ("slate_size", "click_model", "examination", "position_decay",
                               "cascade_continuation") if args.get(name) is not None]
    if not given:
        return
    k = check_int_at_least("env arg 'slate_size'", args.get("slate_size", 1), 1)
    if k > args["num_products"]:
        raise ValueError(f"env arg 'slate_size' must be in [1, num_products = {args['num_products']}] (a slate "
                         f"shows distinct products), got {k}")
    if k > 1 and args["rng"] == "legacy":
        raise ValueError(f"env arg 'slate_size' must be 1 with rng='legacy' (RecoGym 0.1.3.0 has no slates), "
                         f"got {k}; use rng='default' for slates")
    if k > 1 and args.get("with_conversions"):
        raise ValueError(f"env arg 'with_conversions' must be False with slates (slate_size = {k}): "
                         "conversions are modelled for one product per impression only")
    click_model = check_choice("env arg 'click_model'", args.get("click_model", "pbm"), CLICK_MODELS)
    for name in ("examination", "position_decay", "cascade_continuation"):
        if args.get(name) is not None and k == 1:
            raise ValueError(f"env arg {name!r} applies to slates only: set slate_size > 1 (it is 1)")
    if click_model == "cascade":
        for name in ("examination", "position_decay"):
            if args.get(name) is not None:
                raise ValueError(f"env arg {name!r} is the position-based model's (click_model='pbm'); "
                                 "the cascade examines positions top-down (see 'cascade_continuation')")
    elif args.get("cascade_continuation") is not None:
        raise ValueError("env arg 'cascade_continuation' applies to click_model='cascade' only, "
                         "not 'pbm' (see 'examination' and 'position_decay')")
    if args.get("examination") is not None and args.get("position_decay") is not None:
        raise ValueError("env args 'examination' and 'position_decay' both set the examination probabilities "
                         "of the positions: give one of them")
    args["slate_size"] = k
    args["click_model"] = click_model
    if args.get("examination") is not None:
        examination = args["examination"]
        try:
            values = [float(value) for value in examination]
        except (TypeError, ValueError):
            raise TypeError(f"env arg 'examination' must be a sequence of slate_size = {k} probabilities "
                            f"(position j examined w.p. examination[j]), got {examination!r}") from None
        if len(values) != k or any(not (0.0 <= value <= 1.0) for value in values):
            raise ValueError(f"env arg 'examination' must hold slate_size = {k} probabilities in [0, 1], "
                             f"got {examination!r}")
        args["examination"] = tuple(values)
    if args.get("position_decay") is not None:
        decay = check_real_in("env arg 'position_decay'", args["position_decay"], 0.0, 1.0)
        if decay == 0.0:
            raise ValueError("env arg 'position_decay' must be in (0, 1] (position j is examined w.p. "
                             "position_decay ** j), got 0.0")
        args["position_decay"] = decay
    if args.get("cascade_continuation") is not None:
        continuation = check_real_in("env arg 'cascade_continuation'", args["cascade_continuation"], 0.0, 1.0)
        args["cascade_continuation"] = continuation


def slate_size_of(config: Mapping[str, Any]) -> int:
    """The products shown per impression (env arg ``slate_size``, 1 when absent)."""
    return int(config.get("slate_size") or 1)


def _warn_unknown(model: str, merged: Mapping[str, Any]) -> None:
    known = set(defaults_for(model)) | set(OPTIONAL_ARGS) | {TIME_GENERATOR_OBJECT}
    for key in merged:
        if key in known:
            continue
        nearest = difflib.get_close_matches(str(key), sorted(known), n=1)
        hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
        warnings.warn(f"unknown env arg {key!r} for {model} is ignored{hint}", UserWarning, stacklevel=4)


def _check_integer(args: dict[str, Any], name: str, minimum: int) -> None:
    args[name] = check_int_at_least(f"env arg {name!r}", args[name], minimum)


def _check_real(args: dict[str, Any], name: str, low: float, high: float) -> None:
    args[name] = check_real_in(f"env arg {name!r}", args[name], low, high)


def expected_events(organic_to_bandit: float, leave_organic: float, bandit_to_organic: float,
                    leave_bandit: float) -> tuple[float, float]:
    """Expected events of a whole user and of a first organic session under
    the organic/bandit/leave chain's transition probabilities; ``inf`` where
    users never leave.

    A user logs one event per step until they leave, so the first is the
    expected number of steps of the chain started in the organic state: the
    first row of its fundamental matrix ``(I - Q)^-1``, a 2 x 2 system solved
    by Cramer's rule (its determinant written so that it is exactly 0 when
    users never leave). Clicks, which send a user back to organic, are left out.
    """
    leaving_organic = organic_to_bandit + leave_organic
    session = 1.0 / leaving_organic if leaving_organic > 0 else math.inf
    if organic_to_bandit == 0.0:
        return session, session           # the bandit state is never reached
    determinant = (organic_to_bandit * leave_bandit + leave_organic * bandit_to_organic
                   + leave_organic * leave_bandit)
    whole = (bandit_to_organic + leave_bandit + organic_to_bandit) / determinant if determinant > 0 else math.inf
    return whole, session


def _check_chain(args: Mapping[str, Any], leave_from_bandit: float) -> None:
    whole, _ = expected_events(args["prob_organic_to_bandit"], args["prob_leave_organic"],
                               args["prob_bandit_to_organic"], leave_from_bandit)
    if not math.isfinite(whole):
        raise ValueError("the transition probabilities let users stay forever: from a state they reach "
                         "(organic, or bandit if prob_organic_to_bandit > 0) they never leave; raise "
                         "prob_leave_organic or prob_leave_bandit (or prob_bandit_to_organic)")
    if whole > MAX_EXPECTED_EVENTS_PER_USER:
        raise ValueError(f"the transition probabilities give users {whole:.3g} expected events each, above the "
                         f"bound of {MAX_EXPECTED_EVENTS_PER_USER:.0e}: raise prob_leave_organic or "
                         "prob_leave_bandit")


def _check_row(args: Mapping[str, Any], state: str, total: float, terms: str) -> None:
    if total > 1.0:
        raise ValueError(
            f"the {state} row of the transition matrix sums above 1: {terms} = {total!r}; "
            "lower these probabilities"
        )


# Checks importable from here before they moved to recogym._checks.
check_positive = check_positive_int


def check_policy(policy: Any, num_products: int) -> Any:
    """``policy`` as a probability vector over the products."""
    return check_probability_vector("policy", policy, num_products)
