"""Evaluating agents: online (:mod:`~recogym.evaluation.online`'s
``test_agent``), paired A/B tests (:mod:`~recogym.evaluation.compare`),
off-policy estimators against the truth (:mod:`~recogym.evaluation.ope`),
the explore/exploit evolution (:mod:`~recogym.evaluation.evolution`) and
grids of runs (:mod:`~recogym.evaluation.sweep`)."""
from .online import AgentResult, ctr_interval, evaluate_online, test_agent, train_offline

__all__ = ["test_agent", "AgentResult", "ctr_interval", "train_offline", "evaluate_online"]
