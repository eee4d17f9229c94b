"""RecoGym 0.1.3.0's ``recogym.constants``: the enums that key the dicts of
:mod:`recogym.compat.evaluate_agent` (compatibility only).

The names and values are 0.1.3.0's. :class:`TrainingApproach` is recogym's
own enum of :mod:`recogym.evaluation.evolution`, re-exported, so one enum
drives both the native evolution loop and 0.1.3.0's ``evaluate_agent``.
"""
from __future__ import annotations

from enum import Enum

from ..evaluation.evolution import TrainingApproach

__all__ = ["AgentStats", "AgentInit", "TrainingApproach", "EvolutionCase", "RoiMetrics"]


class AgentStats(Enum):
    """Keys of :func:`~recogym.compat.evaluate_agent.gather_agent_stats`'s dict."""

    #: The CTR's Beta posterior quantiles.
    Q0_025 = 0
    Q0_500 = 1
    Q0_975 = 2
    #: The numbers of offline (training) users tried.
    SAMPLES = 3
    #: The per-agent stats.
    AGENTS = 4
    #: Clicks.
    SUCCESSES = 5
    #: Impressions without a click.
    FAILURES = 6


class AgentInit(Enum):
    """Keys of a :func:`~recogym.compat.evaluate_agent.build_agent_init` entry."""

    #: The agent's class (called with a Configuration).
    CTOR = 0
    #: The agent's default arguments.
    DEF_ARGS = 1


class EvolutionCase(Enum):
    """Keys of :func:`~recogym.compat.evaluate_agent.evaluate_agent`'s dict."""

    SUCCESS = 0
    FAILURE = 1
    ACTIONS = 2
    SUCCESS_GREEDY = 3
    FAILURE_GREEDY = 4


class RoiMetrics(Enum):
    """Keys of :func:`~recogym.compat.evaluate_agent.plot_roi`'s dict."""

    ROI_MEAN = 0
    ROI_0_025 = 1
    ROI_0_975 = 2
    ROI_SUCCESS = 3
    ROI_FAILURE = 4
