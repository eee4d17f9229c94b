"""Agents: objects with ``train(observation, action, reward, done)`` and
``act(observation, reward, done)``.

Every agent here is a :class:`BatchAgent`: it also acts on a whole
:class:`UserBatch` at once and learns from columnar logs. Agents built on
scikit-learn or PyTorch import them only when they train or act
(``pip install recogym[sklearn]`` / ``recogym[torch]``).

0.1.3.0's base classes, which third-party agents subclass
(``ModelBasedAgent``, ``ModelBuilder``, ``FeatureProvider``...), are in
:mod:`recogym.agents.abstract`.
"""
from . import features
from .abstract import (
    AbstractFeatureProvider,
    FeatureProvider,
    Model,
    ModelBasedAgent,
    ModelBuilder,
    ViewsFeaturesProvider,
)
from .bandit_count import BanditCount, bandit_count_args
from .bandit_mf import BanditMFSquare, bandit_mf_square_args
from .base import Agent, BatchAgent, UserBatch, keyed_uniform
from .bayesian_poly_vb import BayesianAgentVB
from .epsilon_greedy import EpsilonGreedy, epsilon_greedy_args
from .logreg_ips import LogregMulticlassIpsAgent, logreg_multiclass_ips_args
from .logreg_poly import LogregPolyAgent, logreg_poly_args
from .model_based import LogFittedAgent
from .nn_ips import NnIpsAgent, nn_ips_args
from .organic_count import OrganicCount, organic_count_args
from .organic_mf import OrganicMFSquare, organic_mf_square_args
from .organic_user_count import OrganicUserEventCounterAgent, organic_user_count_args
from .policy_agent import PolicyAgent
from .popularity import PopularityAgent, popularity_args
from .pytorch_mlr import PyTorchMLRAgent, pytorch_mlr_args
from .random_agent import RandomAgent, random_args

__all__ = [
    "Agent",
    "BatchAgent",
    "UserBatch",
    "keyed_uniform",
    "LogFittedAgent",
    "ModelBasedAgent",
    "ModelBuilder",
    "Model",
    "FeatureProvider",
    "AbstractFeatureProvider",
    "ViewsFeaturesProvider",
    "features",
    "RandomAgent",
    "random_args",
    "PopularityAgent",
    "popularity_args",
    "OrganicCount",
    "organic_count_args",
    "OrganicUserEventCounterAgent",
    "organic_user_count_args",
    "BanditCount",
    "bandit_count_args",
    "EpsilonGreedy",
    "epsilon_greedy_args",
    "LogregMulticlassIpsAgent",
    "logreg_multiclass_ips_args",
    "LogregPolyAgent",
    "logreg_poly_args",
    "BanditMFSquare",
    "bandit_mf_square_args",
    "OrganicMFSquare",
    "organic_mf_square_args",
    "NnIpsAgent",
    "nn_ips_args",
    "PyTorchMLRAgent",
    "pytorch_mlr_args",
    "BayesianAgentVB",
    "PolicyAgent",
]
