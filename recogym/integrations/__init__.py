"""Bridges to reinforcement-learning libraries, imported only on demand, so
that ``import recogym`` never imports them: :mod:`~recogym.integrations.sb3`,
a Stable-Baselines3 ``VecEnv`` over the native engine."""
