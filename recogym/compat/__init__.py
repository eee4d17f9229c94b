"""RecoGym 0.1.3.0's public surface that recogym keeps only so that code
written for 0.1.3.0 runs with its imports changed: its statistics helpers
(``recogym.evaluate_agent``), its enums (``recogym.constants``) and its
competition score (``recogym.competition``).

Each module here is importable from its 0.1.3.0 path (see
:mod:`recogym._moved`) and is a thin layer over recogym's own engine,
agents and evaluation. New code should use :mod:`recogym.evaluation`.
"""
