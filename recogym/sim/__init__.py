"""The engine's two drivers, from Python: :class:`~recogym.sim.slots.Slots`
(the stepping driver, under every env front end) and
:func:`~recogym.sim.simulate.simulate_logs` (the log driver), with parallel
log simulation and the replay that gives the simulator's ground truth."""
from .parallel import SimulationJob, simulate_parallel
from .replay import expected_rewards
from .simulate import simulate_logs
from .slots import Slots

__all__ = ["Slots", "simulate_logs", "simulate_parallel", "SimulationJob", "expected_rewards"]
