"""Logs made by the stepping driver: users stepped one command at a time
under the uniform logging policy, as ``Engine.simulate_logs`` would log
them, so that both drivers can be checked against the numpy reference."""
import numpy as np

from recogym import _core
from recogym.sim.slots import Slots

NAMES = ("t", "u", "z", "v", "a", "c", "ps", "click_probability")
CONVERSION_NAMES = ("conversion", "conversion_probability")


def stepped_logs(simulation, num_users, first_user=0, num_slots=1):
    """Columns of ``num_users`` users from ``first_user`` stepped through
    :class:`Slots` (in slot ``user % num_slots`` of a ``num_slots`` engine),
    with the uniform policy's draw from each user's stream."""
    slots = Slots(simulation, num_slots, record_views=True)
    conversions = slots.conversions
    P = simulation.num_products
    rows = []

    def views(user):
        for view, time in zip(*slots.recorded_session()):
            rows.append((time, user, 0, view, -1, -1, np.nan, np.nan, -1, np.nan))

    for user in range(first_user, first_user + num_users):
        slot = user % num_slots
        slots.start_one(slot, user)
        views(user)
        while slots.markov_state[slot] == _core.BANDIT_STATE:
            time = float(slots.engine.state["time"][slot])
            action = slots.uniform_action(slot)
            click, probability, _ = slots.recommend_one(slot, action)
            conversion, conversion_probability = slots.last_conversion() if conversions else (-1, np.nan)
            rows.append((time, user, 1, -1, action, click, 1.0 / P, probability, conversion,
                         conversion_probability))
            views(user)
    names = NAMES + (CONVERSION_NAMES if conversions else ())
    dtypes = (np.float64, np.int64, np.int8, np.int32, np.int32, np.int8, np.float64, np.float64, np.int8,
              np.float64)
    return {name: np.array([row[k] for row in rows], dtype=dtypes[k]) for k, name in enumerate(names)}
