"""What an agent sees: organic sessions, and the actions of a logging policy."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, SupportsInt

import numpy as np

from ._checks import check_action, check_slate, is_real

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Session", "Action", "Context", "DefaultContext", "Observation", "OrganicSessions", "UserBatch",
           "as_action", "SlateAction", "as_slate_action"]


class Context:
    """When and for whom an observation was made: ``time()`` and ``user()``.

    0.1.3.0 had an abstract ``Context`` and a concrete ``DefaultContext``;
    here both take ``(time, user)``, and subclasses may override the two
    methods instead.
    """

    __slots__ = ("current_time", "current_user_id")

    def __init__(self, time: float = 0.0, user: int = 0) -> None:
        self.current_time = time
        self.current_user_id = user

    def time(self) -> float:
        """The time of the observation within the user's timeline."""
        return self.current_time

    def user(self) -> int:
        """The user's id."""
        return self.current_user_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(time={self.current_time!r}, user={self.current_user_id!r})"

    def __reduce__(self) -> tuple[type[Context], tuple[float, int]]:
        return (type(self), (self.current_time, self.current_user_id))


class DefaultContext(Context):
    """0.1.3.0's name of :class:`Context` (``DefaultContext(current_time, current_user_id)``)."""

    __slots__ = ()


class Session(list[tuple[str, int]]):
    """An organic session: a list of ``('pageview', product)`` events.

    It is what the env returns as the observation at every step, empty when
    the user viewed nothing since the last step. It is also 0.1.3.0's
    ``Observation``: :meth:`sessions` lists the views as dicts and
    :meth:`context` tells the env's time and the user.

    Attributes
    ----------
    times : list of float
        The time of each view.
    user : int
        The user's id.
    context_time : float or None
        The env's time when it returned this observation (None: the time of
        the last view, or 0).
    """

    __slots__ = ("times", "user", "context_time")

    def __init__(self, views: Iterable[SupportsInt] = (), times: Iterable[float] = (), user: int = 0,
                 context_time: float | None = None) -> None:
        super().__init__(("pageview", int(view)) for view in views)
        self.times = list(times)
        self.user = user
        self.context_time = context_time

    def get_views(self) -> list[int]:
        """The viewed products, in order."""
        return [product for _, product in self]

    def context(self) -> Context:
        """The env's time when the observation was made, and the user
        (0.1.3.0's ``observation.context()``)."""
        if self.context_time is not None:
            return Context(self.context_time, self.user)
        return Context(self.times[-1] if self.times else 0.0, self.user)

    def sessions(self) -> list[dict[str, Any]]:
        """The views as 0.1.3.0's ``observation.sessions()`` listed them:
        dicts with the time ``t``, the user ``u``, ``z='pageview'`` and the
        product ``v``."""
        times = self.times if len(self.times) == len(self) else [math.nan] * len(self)
        return [{"t": time, "u": self.user, "z": "pageview", "v": product}
                for time, (_, product) in zip(times, self)]

    def __reduce__(self) -> tuple[type[Session], tuple[list[int], list[float], int, float | None]]:
        return (Session, (self.get_views(), self.times, self.user, self.context_time))


class OrganicSessions(list[dict[str, Any]]):
    """0.1.3.0's list of view dicts (``t``, ``u``, ``z``, ``v``), built with
    :meth:`next`, for code that assembles observations itself."""

    def next(self, context: Context, product: SupportsInt) -> None:
        """Append a view of ``product`` at ``context``'s time and user."""
        self.append({"t": context.time(), "u": context.user(), "z": "pageview", "v": product})

    def get_type(self) -> str:
        return "organic"

    def get_views(self) -> list[int]:
        """The viewed products, in order."""
        return [int(event["v"]) for event in self if event["z"] == "pageview"]


class Observation(Session):
    """0.1.3.0's ``Observation(context, sessions)``: a :class:`Session` of the
    views in ``sessions`` (dicts as :meth:`OrganicSessions.next` makes them),
    for ``context``'s user and time."""

    __slots__ = ()

    def __init__(self, context: Context, sessions: Iterable[Mapping[str, Any]] | None = None) -> None:
        events = [event for event in (sessions or ()) if event.get("z", "pageview") == "pageview"]
        super().__init__([event["v"] for event in events], [event["t"] for event in events], context.user(),
                         context.time())

    @property
    def current_context(self) -> Context:
        return self.context()

    @property
    def current_sessions(self) -> list[dict[str, Any]]:
        return self.sessions()


class Action(int):
    """A recommended product that also carries the probability it was chosen with.

    It is a plain ``int`` everywhere (``env.step(action)``, indexing, printing);
    ``action.ps`` is the logging policy's propensity of this action and
    ``action.ps_all`` the whole vector when the env has ``with_ps_all``. The
    env's logging policy also records when (``action.t``) and for whom
    (``action.u``) it acted.
    0.1.3.0's dict access (``action['a']``, ``action['ps']``, ``action['ps-a']``)
    still works.
    """

    ps: float
    ps_all: Any
    t: float
    u: int | None

    def __new__(cls, product: int, ps: float = 1.0, ps_all: Any = (), t: float | None = None,
                u: int | None = None) -> "Action":
        action = super().__new__(cls, product)
        action.ps = float(ps)
        action.ps_all = ps_all
        if t is not None:
            action.t, action.u = t, u
        return action

    def __getitem__(self, key: str) -> Any:
        if key == "a":
            return int(self)
        if key == "ps":
            return self.ps
        if key == "ps-a":
            return self.ps_all
        if key in ("t", "u") and hasattr(self, key):
            return getattr(self, key)
        raise KeyError(key)

    def __repr__(self) -> str:
        return int.__repr__(self)

    def __bool__(self) -> bool:
        # 0.1.3.0's actions were dicts, always true: its code tests ``if action:``,
        # which must not drop the impressions of product 0.
        return True

    def __contains__(self, key: object) -> bool:
        return key in ("a", "ps", "ps-a") or (key in ("t", "u") and hasattr(self, str(key)))

    def keys(self) -> list[str]:
        """0.1.3.0's dict keys, so that ``{**action}`` and ``'ps-a' in action`` work."""
        return [key for key in ("t", "u", "a", "ps", "ps-a") if key in self]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __reduce__(self) -> tuple[type[Action], tuple[int, float, Any, float | None, int | None]]:
        return (Action, (int(self), self.ps, self.ps_all, getattr(self, "t", None), getattr(self, "u", None)))


def as_action(choice: Any, num_products: int, agent: Any = None) -> Action:
    """Read what an agent's ``act`` returned: an int (a plain int counts as
    chosen with probability 1), an :class:`Action`, or 0.1.3.0's dict.

    The product and its propensity are checked here, where they enter, so
    that no later estimator divides by garbage; errors name ``agent``.
    """
    who = f"{type(agent).__name__}.act()" if agent is not None else "the agent's act()"
    if isinstance(choice, Action):
        action = choice
    elif isinstance(choice, dict):
        if "a" not in choice:
            raise ValueError(f"{who} returned a dict without key 'a': {choice!r}")
        action = Action(check_action(choice["a"], num_products, f"{who}'s action"), _propensity(who, choice),
                        choice.get("ps-a", ()))
    else:
        return Action(check_action(choice, num_products, f"{who}'s action"))
    check_action(int(action), num_products, f"{who}'s action")
    if not (math.isfinite(action.ps) and 0.0 < action.ps <= 1.0):
        raise ValueError(f"{who} returned propensity {action.ps!r} for product {int(action)}: a propensity is "
                         "the probability the agent chose it with, in (0, 1]")
    return action


def _propensity(who: str, choice: dict[str, Any]) -> float:
    ps = choice.get("ps", 1.0)
    if not is_real(ps):
        raise TypeError(f"{who} returned propensity {ps!r}: a propensity is a number in (0, 1]")
    return float(ps)


class SlateAction(tuple[int, ...]):
    """A recommended slate: a ranking of k distinct products, top first,
    that also carries the probability it was chosen with.

    It is a tuple of ints (``env.step(action)``, ``action[0]`` the top
    product); ``action['a']`` is the ranking as an int64 array, as
    ``action['a']`` is the product of an :class:`Action`. ``ps`` is the
    slate's propensity; ``pscore_item_position`` and ``pscore_cascade``, if
    the policy knows them, those per position and per prefix (as OBP's slate
    estimators take them).
    """

    ps: float
    pscore_item_position: np.ndarray | None
    pscore_cascade: np.ndarray | None
    t: float
    u: int | None

    def __new__(cls, slate: Iterable[SupportsInt], ps: float = 1.0, pscore_item_position: Any = None,
                pscore_cascade: Any = None, t: float | None = None, u: int | None = None) -> Self:
        action = super().__new__(cls, (int(product) for product in slate))
        action.ps = float(ps)
        action.pscore_item_position = (None if pscore_item_position is None
                                       else np.asarray(pscore_item_position, dtype=np.float64))
        action.pscore_cascade = None if pscore_cascade is None else np.asarray(pscore_cascade, dtype=np.float64)
        if t is not None:
            action.t, action.u = t, u
        return action

    @property
    def a(self) -> np.ndarray:
        """The ranking, as an int64 array."""
        return np.array(self, dtype=np.int64)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key == "a":
                return self.a
            if key == "ps":
                return self.ps
            if key in ("t", "u") and hasattr(self, key):
                return getattr(self, key)
            raise KeyError(key)
        return tuple.__getitem__(self, key)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SlateAction, (tuple(self), self.ps, self.pscore_item_position, self.pscore_cascade,
                              getattr(self, "t", None), getattr(self, "u", None)))


def as_slate_action(choice: Any, slate_size: int, num_products: int, agent: Any = None) -> SlateAction:
    """Read what an agent's ``act`` returned for a slate env: a
    :class:`SlateAction`, a sequence of ``slate_size`` distinct products
    (chosen with probability 1), or a dict with the ranking under ``'a'``
    (and ``'ps'``). Checked here, where it enters; errors name ``agent``."""
    who = f"{type(agent).__name__}.act()" if agent is not None else "the agent's act()"
    if isinstance(choice, SlateAction):
        action = choice
    elif isinstance(choice, dict):
        if "a" not in choice:
            raise ValueError(f"{who} returned a dict without key 'a': {choice!r}")
        action = SlateAction(check_slate(f"{who}'s slate", choice["a"], slate_size, num_products),
                             _propensity(who, choice))
    else:
        return SlateAction(check_slate(f"{who}'s slate", choice, slate_size, num_products))
    check_slate(f"{who}'s slate", action.a, slate_size, num_products)
    if not (math.isfinite(action.ps) and 0.0 < action.ps <= 1.0):
        raise ValueError(f"{who} returned propensity {action.ps!r} for slate {list(action)}: a propensity is "
                         "the probability the agent chose it with, in (0, 1]")
    return action


class UserBatch(NamedTuple):
    """What each user of a batch has shown so far, one row per user: what a
    batch agent sees (``act_batch``, ``policy``).

    Attributes
    ----------
    view_counts : (B, P) float64 array
        Organic views of each product since the user arrived.
    last_view : (B,) int64 array
        The product viewed last.
    user_ids : (B,) int64 array
    steps : (B,) int64 array
        Impressions already shown to the user.
    """

    view_counts: np.ndarray
    last_view: np.ndarray
    user_ids: np.ndarray
    steps: np.ndarray
