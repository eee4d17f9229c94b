"""Logs outside the simulator: Parquet files that say how to reproduce
themselves (:mod:`~recogym.io.parquet`) and Open Bandit Pipeline's bandit
feedback (:mod:`~recogym.io.obp`)."""
