"""0.1.3.0's PyTorchMLRAgent: a linear policy over view counts, fitted by
counterfactual risk minimisation, by click likelihood, or by both at once.

The model has one weight matrix ``W`` (products x products) and one scalar
bias ``b``. The policy is ``pi(a | x) = softmax(W x)[a]`` and the click model
``P(click | x, a) = sigmoid(W[a] . x + b)``: both read the same weights, so
``alpha`` can blend the two losses (the "dual bandit" of Jeunen et al.,
*Joint Policy-Value Learning for Recommendation*, KDD 2020). The agent
recommends ``argmax_a W[a] . x`` with propensity 1.

Imports torch only when the agent trains (``pip install recogym[torch]``).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse

from .. import _checks
from ..params import Configuration
from ._optional import require
from .abstract import (
    AbstractFeatureProvider,
    Model,
    ModelBasedAgent,
    ViewsFeaturesProvider,
)

if TYPE_CHECKING:  # torch is imported only when the agent trains
    import torch

__all__ = [
    "MLRFit",
    "MLRLoss",
    "PyTorchMLRAgent",
    "PyTorchMLRFeaturesProvider",
    "PyTorchMLRModel",
    "PyTorchMLRModelBuilder",
    "clipping_constant",
    "fit_mlr",
    "mlr_loss",
    "mlr_objective",
    "pytorch_mlr_args",
]

pytorch_mlr_args: dict[str, Any] = {
    # Read by 0.1.3.0's leaderboard entries but by none of its code: the fit
    # is L-BFGS with step length 1 for up to MAX_ITERATIONS iterations.
    "n_epochs": 30,
    "learning_rate": 0.01,
    # Seeds the initial weights (0.1.3.0 drew this seed at import and never used it).
    "random_seed": 42,
    # The policy loss: the clipped IPS estimate, or its log form.
    "logIPS": False,
    # Weight of the IPS estimate's standard error in the policy loss (POEM).
    "variance_penalisation_strength": 0.0,
    # False, True (the 90th / 10th percentile ratio of the clicked
    # propensities, as POEM recommends) or the clipping constant M itself.
    "clip_weights": False,
    # 0: the policy loss only; 1: the click likelihood only; between: a blend.
    "alpha": 0.0,
    # Weight the click likelihood by the inverse propensities.
    "ll_IPS": True,
    "with_ps_all": False,
    # recogym's addition: l2 * |W|^2 added to the loss (0 in 0.1.3.0).
    "l2": 0.0,
}

#: The most L-BFGS iterations of a fit, as 0.1.3.0's 300 "epochs".
MAX_ITERATIONS = 300

# Smallest policy probability inside a log (0.1.3.0's clamp).
_LOG_FLOOR = 1e-10


@dataclass(frozen=True)
class MLRLoss:
    """The checked loss settings of :data:`pytorch_mlr_args`.

    Attributes
    ----------
    alpha : float
        In [0, 1]: the weight of the click likelihood against the policy loss.
    log_ips : bool
        The policy loss is ``-mean(min(w, M) log pi)`` over clicks instead of
        ``-mean(min(pi w, M))``.
    ll_ips : bool
        The click likelihood weights each impression by ``w = 1 / ps``.
    variance_penalisation_strength : float
        At least 0: the weight of the IPS estimate's standard error.
    clip_weights : bool or float
        The clipping constant's rule (see :func:`clipping_constant`).
    l2 : float
        At least 0: the weight of ``|W|^2``.
    """

    alpha: float = 0.0
    log_ips: bool = False
    ll_ips: bool = True
    variance_penalisation_strength: float = 0.0
    clip_weights: bool | float = False
    l2: float = 0.0

    @classmethod
    def from_config(cls, config: Any) -> MLRLoss:
        """The settings of an agent's ``config`` (a dict or Configuration),
        checked; missing keys take :data:`pytorch_mlr_args`' values.

        Raises
        ------
        ValueError, TypeError
            Naming the agent arg and the values it may take.
        """
        return cls(
            alpha=_checks.check_real_in(_label("alpha"), _get(config, "alpha"), 0.0, 1.0),
            log_ips=_flag(config, "logIPS"),
            ll_ips=_flag(config, "ll_IPS"),
            variance_penalisation_strength=_checks.check_non_negative_real(
                _label("variance_penalisation_strength"), _get(config, "variance_penalisation_strength")),
            clip_weights=_clip_rule(_get(config, "clip_weights")),
            l2=_checks.check_non_negative_real(_label("l2"), _get(config, "l2")),
        )


def _label(name: str) -> str:
    return f"agent arg {name!r}"


def _get(config: Any, name: str) -> Any:
    if isinstance(config, Mapping):
        return config.get(name, pytorch_mlr_args[name])
    return getattr(config, name, pytorch_mlr_args[name])


def _flag(config: Any, name: str) -> bool:
    value = _get(config, name)
    if isinstance(value, tuple) and len(value) == 1:
        # pytorch_likelihood.py, a leaderboard entry, sets ll_IPS = False,
        # (a tuple): 0.1.3.0 read it as true, and so must its score here.
        warnings.warn(f"{_label(name)} is the tuple {value!r} (a trailing comma?); like 0.1.3.0, recogym "
                      f"reads any non-empty tuple as True", UserWarning, stacklevel=5)
        return True
    return _checks.check_flag(_label(name), value)


def _clip_rule(value: Any) -> bool | float:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if _checks.is_real(value) and math.isinf(value) and value > 0:
        return math.inf
    if not _checks.is_real(value) or not math.isfinite(value) or not value > 0:
        raise ValueError(f"{_label('clip_weights')} must be True, False or a clipping constant > 0, got {value!r}")
    return float(value)


def clipping_constant(clip_weights: bool | float, pss: np.ndarray, deltas: np.ndarray) -> float:
    """The clipping constant ``M`` of the importance weights.

    ``False``: no clipping (``inf``). ``True``: the ratio of the 90th to the
    10th percentile of the clicked impressions' propensities, as POEM
    recommends (``inf`` without clicks). A number: that number.
    """
    if clip_weights is True:
        clicked = np.asarray(pss, dtype=np.float64)[np.asarray(deltas) != 0]
        if not len(clicked):
            return math.inf
        return float(np.percentile(clicked, 90) / np.percentile(clicked, 10))
    if clip_weights is False:
        return math.inf
    return float(clip_weights)


def _training_arrays(features: Any, actions: Any, deltas: Any, pss: Any) -> tuple[np.ndarray, ...]:
    x = features.toarray() if scipy.sparse.issparse(features) else np.asarray(features)
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be a 2-d (impressions, products) array, got shape {x.shape}")
    n, num_products = x.shape
    a = np.asarray(actions)
    if a.shape != (n,) or (n and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= num_products)):
        raise ValueError(f"actions must be {n} integers in [0, {num_products}), got {a!r}")
    y = np.asarray(deltas, dtype=np.float64)
    if y.shape != (n,) or not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"deltas must be {n} clicks, each 0 or 1")
    ps = np.asarray(pss, dtype=np.float64)
    if ps.shape != (n,) or not ((ps > 0) & (ps <= 1)).all():
        raise ValueError(f"pss must be {n} propensities in (0, 1]")
    return x, a.astype(np.int64), y, ps


def mlr_loss(weight: torch.Tensor, bias: torch.Tensor, features: torch.Tensor, actions: torch.Tensor,
             deltas: torch.Tensor, pss: torch.Tensor, loss: MLRLoss, clip: float) -> torch.Tensor:
    """The fit's objective for weights ``weight`` (P, P) and bias ``bias`` (1,).

    With ``w = 1 / ps``, ``pi_n = softmax(weight @ x_n)[a_n]`` and ``C`` the
    clicked impressions:

    * policy loss: ``-mean_C min(pi w, M)`` (IPS), or ``-mean_C min(w, M)
      log pi`` (``log_ips``); plus ``variance_penalisation_strength`` times
      the standard error of the clipped IPS estimate over ``C``, ``sqrt(
      sum_C (u - mean u)^2 / (|C| - 1) / |C|)`` with ``u = min(pi w, M)``;
      zero without clicks;
    * click loss: the mean over all impressions of the binary cross-entropy
      of ``sigmoid(weight[a] . x + bias)``, times ``w`` with ``ll_ips``;
    * ``(1 - alpha) * policy + alpha * click + l2 * |weight|^2``.
    """
    import torch
    import torch.nn.functional as F

    total = loss.l2 * weight.square().sum() if loss.l2 else weight.new_zeros(())
    if loss.alpha < 1.0:
        clicked = deltas != 0
        count = int(clicked.sum())
        policy = weight.new_zeros(())
        if count:
            x, a, w = features[clicked], actions[clicked], 1.0 / pss[clicked]
            log_pi = F.log_softmax(x @ weight.T, dim=1).gather(1, a[:, None])[:, 0]
            rewards = torch.clamp(log_pi.exp() * w, max=clip)
            if loss.log_ips:
                policy = -(torch.clamp(w, max=clip) * log_pi.clamp(min=math.log(_LOG_FLOOR))).mean()
            else:
                policy = -rewards.mean()
            if loss.variance_penalisation_strength:
                squares = (rewards - rewards.mean()).square().sum()
                # Clamped above 0: sqrt has no finite gradient at 0.
                error = torch.sqrt(squares.clamp(min=1e-24) / max(count - 1, 1) / count)
                policy = policy + loss.variance_penalisation_strength * error
        total = total + (1.0 - loss.alpha) * policy
    if loss.alpha > 0.0:
        logits = (features * weight[actions]).sum(dim=1) + bias
        click = F.binary_cross_entropy_with_logits(logits, deltas, reduction="none")
        if loss.ll_ips:
            click = click / pss
        total = total + loss.alpha * click.mean()
    return total


def mlr_objective(features: Any, actions: Any, deltas: Any, pss: Any,
                  loss: MLRLoss) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """:func:`mlr_loss` on these training data, as a function of (weight, bias).

    ``features`` is (N, P), dense or scipy sparse; ``actions``, ``deltas``
    and ``pss`` have N entries: what ``train_data()`` returns.
    """
    import torch

    x, a, y, ps = (torch.from_numpy(array) for array in _training_arrays(features, actions, deltas, pss))
    clip = clipping_constant(loss.clip_weights, ps.numpy(), y.numpy())

    def objective(weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return mlr_loss(weight, bias, x, a, y, ps, loss, clip)

    return objective


@dataclass(frozen=True)
class MLRFit:
    """A fitted model: ``weight`` (P, P) as a numpy array, ``bias``, the
    final ``loss`` and the L-BFGS ``iterations`` it took."""

    weight: np.ndarray
    bias: float
    loss: float
    iterations: int


def fit_mlr(features: Any, actions: Any, deltas: Any, pss: Any, loss: MLRLoss, random_seed: int = 0,
            max_iterations: int = MAX_ITERATIONS) -> MLRFit:
    """Minimise :func:`mlr_loss` on these training data.

    The weights start as 0.1.3.0's did (Kaiming-uniform, the bias uniform in
    ``+-1 / sqrt(P)``), from torch's generator seeded by ``random_seed``; then
    one run of ``torch.optim.LBFGS`` (full batch, step length 1, history 10,
    strong Wolfe line search) for at most ``max_iterations`` iterations, in
    float64 on one thread. It stops earlier once the gradient's largest entry
    is below 1e-9.

    Raises
    ------
    ImportError
        If PyTorch is missing: ``pip install recogym[torch]``.
    ValueError
        If the arrays disagree in length or hold impossible values.
    """
    require("torch", "PyTorchMLRAgent")
    import torch

    from ._torch_models import DTYPE, seeded

    objective = mlr_objective(features, actions, deltas, pss, loss)
    num_products = np.shape(features)[1]
    seed = _checks.check_seed(_label("random_seed"), random_seed)
    max_iterations = _checks.check_positive_int("max_iterations", max_iterations)
    with seeded(seed):
        weight = torch.nn.Parameter(torch.empty(num_products, num_products, dtype=DTYPE))
        torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        bias = torch.nn.Parameter(torch.empty(1, dtype=DTYPE))
        bound = 1.0 / math.sqrt(num_products)
        torch.nn.init.uniform_(bias, -bound, bound)
        optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iterations,
                                      max_eval=20 * max_iterations, tolerance_grad=1e-9,
                                      tolerance_change=1e-14, history_size=10, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            value = objective(weight, bias)
            if value.requires_grad:
                value.backward()  # type: ignore[no-untyped-call]  # torch leaves backward unannotated
            return value

        optimizer.step(closure)  # type: ignore[no-untyped-call]
        with torch.no_grad():
            final = float(objective(weight, bias))
    iterations = int(optimizer.state[weight].get("n_iter", 0))
    return MLRFit(weight.detach().numpy().copy(), float(bias.detach()[0]), final, iterations)


class PyTorchMLRFeaturesProvider(ViewsFeaturesProvider):
    """The user's view counts (or their weighted history), as a sparse row."""

    def __init__(self, config: Any) -> None:
        super().__init__(config, is_sparse=True)


class PyTorchMLRModel(Model):
    """Recommends ``argmax_a W[a] . x``, with propensity 1.

    Attributes
    ----------
    W : ndarray
        The fitted (P, P) weights, as 0.1.3.0 named them.
    bias : float
        The click model's bias.
    """

    def __init__(self, config: Any, fit: MLRFit) -> None:
        super().__init__(config)
        self.W = fit.weight
        self.bias = fit.bias
        self.fit = fit

    def act(self, observation: Any, features: Any) -> dict[str, Any]:
        scores = np.asarray(features @ self.W.T, dtype=np.float64).ravel()
        action = int(np.argmax(scores))
        if _get(self.config, "with_ps_all"):
            ps_all: Any = np.zeros(len(scores))
            ps_all[action] = 1.0
        else:
            ps_all = ()
        return {**super().act(observation, features), "a": action, "ps": 1.0, "ps-a": ps_all}


class PyTorchMLRModelBuilder(AbstractFeatureProvider):
    """Fits :func:`fit_mlr` on the impressions it was trained on."""

    def __init__(self, config: Any) -> None:
        super().__init__(config, is_sparse=True)
        self.loss = MLRLoss.from_config(self.config)
        self.random_seed = _checks.check_seed(_label("random_seed"), _get(self.config, "random_seed"))

    def build(self) -> tuple[PyTorchMLRFeaturesProvider, PyTorchMLRModel]:
        features, actions, deltas, pss = self.train_data()
        fit = fit_mlr(features, actions, deltas, pss, self.loss, random_seed=self.random_seed)
        return PyTorchMLRFeaturesProvider(self.config), PyTorchMLRModel(self.config, fit)


class PyTorchMLRAgent(ModelBasedAgent):
    """0.1.3.0's PyTorch multinomial logistic regression agent.

    Fits :func:`mlr_loss` on everything it was trained on when it first acts
    (see the module's description), then recommends ``argmax_a W[a] . x``
    for the user's view counts ``x``, with propensity 1.

    Parameters
    ----------
    config : dict or Configuration
        :data:`pytorch_mlr_args` with ``num_products``; missing keys take
        :data:`pytorch_mlr_args`' values.

    Raises
    ------
    ValueError, TypeError
        At construction, for a bad argument, naming it.
    ImportError
        When fitting, if PyTorch is missing: ``pip install recogym[torch]``.

    Notes
    -----
    Differences from 0.1.3.0, on purpose:

    * 0.1.3.0 multiplied a column of policy probabilities (N, 1) by a row
      of weights (N,), so its policy loss averaged over every pair of
      clicks: ``mean(pi) * mean(w)``, blind to which impression had which
      propensity; its log form ``log(pi w)`` dropped the weights from the
      gradient altogether; its standard error divided by the number of all
      impressions. The authors fixed this in reco-gym's master
      (2020-02-25); recogym follows their fix: ``pi_n w_n``, ``w_n log pi_n``
      and the standard error over the clicks. With uniform logging (every
      propensity equal) the IPS and log losses of both have the same optimum.
    * The log form clips the weight, ``min(w, M) log pi``; 0.1.3.0 clipped
      ``pi w`` inside the log, and master does not clip it.
    * The optimiser is ``torch.optim.LBFGS`` (full batch, step length 1,
      history 10, strong Wolfe line search) in float64, where 0.1.3.0
      vendored the 1000-line PyTorch-LBFGS (Wolfe line search) in float32
      and ran 300 iterations whatever the gradient. Where the loss has one
      optimum both reach it (the policies agree to 1e-5 on
      tests/fixtures/compat/mlr_vb.json.gz); where it has none (the IPS
      loss of a linear policy grows as the weights do; the likelihood on
      logs with few clicks per weight), the weights each stops at differ.
    * The click likelihood is computed from logits. 0.1.3.0 applied
      ``BCELoss`` to float32 probabilities, which saturate at 0 or 1 once a
      logit passes about 17; ``BCELoss`` then caps the term at 100 and
      stops its gradient. On 300 users of reco-gym-v1 with 5 products (1%
      clicks), its ``ll_IPS`` fit ended in such a region, at 17 to 20 times
      the optimal loss.
    * ``random_seed`` seeds the initial weights (0.1.3.0 left torch unseeded)
      and is 42 by default (0.1.3.0 drew one at import); ``n_epochs`` and
      ``learning_rate`` change nothing, as in 0.1.3.0; ``l2`` is new.
    * It neither prints nor shows a progress bar.
    """

    def __init__(self, config: Any = None) -> None:
        config = _complete(config)
        _checks.check_flag(_label("with_ps_all"), config.with_ps_all)
        super().__init__(config, PyTorchMLRModelBuilder(config))


def _complete(config: Any) -> Configuration:
    if config is None:
        raise ValueError("PyTorchMLRAgent needs a config with 'num_products', such as "
                         "{**pytorch_mlr_args, 'num_products': 10} (0.1.3.0's default config had none)")
    values = dict(config) if isinstance(config, Mapping) else dict(vars(config))
    if "num_products" not in values:
        raise ValueError("PyTorchMLRAgent's config needs 'num_products' (pytorch_mlr_args has none): "
                         "pass {**pytorch_mlr_args, 'num_products': P}")
    _checks.check_positive_int(_label("num_products"), values["num_products"])
    return Configuration({**pytorch_mlr_args, **values})
