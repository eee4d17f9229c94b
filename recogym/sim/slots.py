"""User slots stepped by the engine's one stepping driver.

Every env front end holds a :class:`Slots`: the classic and Gymnasium envs
one slot, ``BatchEnv`` and the vector env many. Arguments are trusted here;
the front ends check them first (:mod:`recogym._checks`).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import _core
from .._checks import USER_ID_LIMIT
from ..model import Simulation

__all__ = ["Slots", "RecordedViews", "SlateOutcomes", "SlateOutcome"]

RecordedViews = tuple[np.ndarray, np.ndarray, np.ndarray]


class SlateOutcome(NamedTuple):
    """What one user did with one slate."""

    #: The number of positions clicked.
    clicks: int
    #: The true probability of any click.
    click_probability: float
    #: int8 (k,): the clicks per position.
    position_clicks: np.ndarray
    #: float64 (k,): the true probability of a click at each position.
    position_click_probability: np.ndarray
    #: float64 (k,): each product's click probability for the user.
    product_click_probability: np.ndarray
    #: Whether the user left.
    left: bool


class SlateOutcomes(NamedTuple):
    """What users did with the slates of one step, one row per slate."""

    #: int8 (n,): 1 if any position was clicked.
    clicked: np.ndarray
    #: float64 (n,): the true probability of any click.
    click_probability: np.ndarray
    #: int8 (n, k): the clicks per position.
    clicks: np.ndarray
    #: float64 (n, k): the true probability of a click at each position.
    position_click_probability: np.ndarray
    #: float64 (n, k): each product's click probability for the user (the
    #: click model's attraction, before examination).
    product_click_probability: np.ndarray


class Slots:
    """``num_slots`` user slots of one :class:`~recogym.model.Simulation`.

    Parameters
    ----------
    simulation : Simulation
    num_slots : int
    count_views : bool
        Keep ``view_counts``: each user's views of each product since they
        arrived, ``(num_slots, P)``.
    count_steps : bool
        Keep ``steps``: the recommendations each user has been shown.
    record_views : bool
        Record every view of a step, in order (:meth:`recorded_views`): what
        the classic env's sessions are made of.
    state : dict, optional
        The state of an engine of the same shapes to go on from (its users
        and random streams), for a changed model.
    """

    def __init__(self, simulation: Simulation, num_slots: int = 1, *, count_views: bool = False,
                 count_steps: bool = False, record_views: bool = False, state: dict[str, Any] | None = None) -> None:
        self.simulation = simulation
        self.engine = simulation.engine(num_slots, count_views=count_views, count_steps=count_steps, state=state)
        self.num_slots = num_slots
        self.num_products = simulation.num_products
        self.record_views = record_views
        self.all_slots = np.arange(num_slots, dtype=np.int64)
        state = self.engine.state
        self.markov_state: np.ndarray = state["markov_state"]
        self.user_ids: np.ndarray = state["user_id"]
        self.last_view: np.ndarray = state["last_view"]
        self.view_counts: np.ndarray = state["view_counts"]
        self.steps: np.ndarray = state["steps"]
        #: Whether the model draws conversions after clicks (env arg ``with_conversions``).
        self.conversions = bool(self.engine.params["conversions"])

    # -- many slots ------------------------------------------------------

    def start(self, slots: np.ndarray, first_user: int, end_user: int = USER_ID_LIMIT, *,
              replace_leavers: bool = True) -> int:
        """Users ``first_user, first_user + 1, ...`` arrive in ``slots`` and
        browse their first session; with ``replace_leavers`` one who leaves
        then is replaced by the next id. Slots left when the ids reach
        ``end_user`` are emptied. Returns the next unused id."""
        commands = np.full(len(slots), _core.NEW_USER_COMMAND, dtype=np.int64)
        return int(self.engine.step(slots, commands, first_user, end_user, replace_leavers, self.record_views))

    def recommend(self, slots: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Show ``actions[i]`` to the user in ``slots[i]``, who then browses if
        organic. Returns the clicks (int8) and the true click probabilities."""
        _, clicks, probabilities = self.step(slots, actions)
        return clicks, probabilities

    def step(self, slots: np.ndarray, commands: np.ndarray, next_user: int = 0, end_user: int = 0,
             replace_leavers: bool = False) -> tuple[int, np.ndarray, np.ndarray]:
        """One driver step: ``commands[i]`` (a product, or one of the
        engine's ``*_COMMAND`` codes) on the user in ``slots[i]``. Returns the
        next unused user id, and the clicks and click probabilities at the
        positions of the recommendations."""
        next_user = self.engine.step(slots, commands, next_user, end_user, replace_leavers, self.record_views)
        clicks, probabilities = self.engine.outcomes()
        return int(next_user), clicks[:len(slots)].copy(), probabilities[:len(slots)].copy()

    def recommend_slates(self, slots: np.ndarray, slates: np.ndarray) -> SlateOutcomes:
        """Show ``slates[i]`` (rankings of ``slate_size`` products) to the
        user in ``slots[i]``, who then browses if organic. Returns per slate
        whether any position was clicked and its probability, and per
        position the clicks, their true probabilities and the products'
        click probabilities."""
        self.engine.step_slates(slots, slates, self.record_views)
        n = len(slots)
        clicked, probability = self.engine.outcomes()
        clicks, click_probability, attraction = self.engine.slate_outcomes()
        return SlateOutcomes(clicked[:n].copy(), probability[:n].copy(), clicks[:n].copy(),
                             click_probability[:n].copy(), attraction[:n].copy())

    def last_conversions(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """With conversions, the conversions (int8, 0 without a click) and
        the probabilities that a click converts of the last step's first
        ``count`` commands (meaningful at the recommendations)."""
        conversions, probabilities = self.engine.conversion_outcomes()
        return conversions[:count].copy(), probabilities[:count].copy()

    def finished(self, slots: np.ndarray) -> np.ndarray:
        """The slots of ``slots`` whose user has left."""
        finished: np.ndarray = slots[self.markov_state[slots] == _core.STOP_STATE]
        return finished

    def waiting(self) -> np.ndarray:
        """The slots whose user waits for a recommendation."""
        return np.flatnonzero(self.markov_state == _core.BANDIT_STATE)

    # -- one slot ----------------------------------------------------------

    def start_one(self, slot: int, user_id: int, *, browse: bool = True, replace_leavers: bool = False) -> int:
        """User ``user_id`` arrives in ``slot`` (and browses their first
        session, unless not ``browse``); with ``replace_leavers`` one who
        leaves then is replaced by the next id. Returns the next unused id."""
        command = _core.NEW_USER_COMMAND if browse else _core.NEW_USER_NO_SESSION_COMMAND
        end_user = USER_ID_LIMIT if replace_leavers else user_id + 1
        next_user, _, _, _ = self.engine.step_one(slot, command, user_id, end_user, replace_leavers,
                                                  self.record_views)
        return int(next_user)

    def browse_one(self, slot: int) -> bool:
        """The user in ``slot`` browses, if organic. Returns whether they left."""
        _, _, _, state = self.engine.step_one(slot, _core.BROWSE_COMMAND, 0, 0, False, self.record_views)
        return bool(state == _core.STOP_STATE)

    def recommend_one(self, slot: int, action: int) -> tuple[int, float, bool]:
        """Show ``action`` to the user in ``slot``, who then browses if
        organic. Returns the click, its true probability and whether the
        user left."""
        _, click, probability, state = self.engine.step_one(slot, action, 0, 0, False, self.record_views)
        return click, probability, state == _core.STOP_STATE

    def recommend_slate_one(self, slot: int, slate: np.ndarray) -> SlateOutcome:
        """Show the ranking ``slate`` to the user in ``slot``: the outcome,
        and whether the user left."""
        count, probability, clicks, click_probability, attraction, state = self.engine.step_slate_one(
            slot, slate, self.record_views)
        return SlateOutcome(count, probability, clicks, click_probability, attraction, state == _core.STOP_STATE)

    def uniform_slate(self, slot: int) -> np.ndarray:
        """The uniform slate logging policy's draw, from the user's own stream."""
        return self.engine.uniform_slate(slot)

    # -- what the last step showed ----------------------------------------

    def recorded_views(self) -> RecordedViews:
        """The views of the last step, in order: the position of their
        command, the product and the time."""
        index, views, times = self.engine.recorded_views()
        return index, views, times

    def recorded_session(self) -> tuple[list[int], list[float]]:
        """The views and times of the last step, as lists: the session of a
        one-slot step."""
        views, times = self.engine.recorded_session()
        return views, times

    def click_probability(self, slot: int, action: int) -> float:
        """The true probability that the user in ``slot`` clicks ``action`` now."""
        return float(self.engine.click_probability(slot, action))

    def last_conversion(self) -> tuple[int, float]:
        """With conversions, the conversion of the last one-slot
        recommendation and the probability that its click converts."""
        conversion, probability = self.engine.conversion_of(0)
        return conversion, probability

    def conversion_probability(self, slot: int, action: int) -> float:
        """The true probability that a click of the user in ``slot`` on
        ``action`` now would convert (a model with conversions only)."""
        if not self.conversions:
            raise ValueError("this model has no conversions: set env arg 'with_conversions' to True")
        return float(self.engine.conversion_probability(slot, action))

    def uniform_action(self, slot: int) -> int:
        """The uniform logging policy's draw, from the user's own stream."""
        return int(self.engine.uniform_action(slot))
