from typing import Any

import numpy as np
import numpy.typing as npt

DEBUG_BUILD: bool
ORGANIC_STATE: int
BANDIT_STATE: int
STOP_STATE: int
EMPTY_SLOT: int
UNIFORM_POLICY: int
FIXED_POLICY: int
USER_POPULARITY_POLICY: int

class Engine:
    params: dict[str, Any]
    state: dict[str, Any]
    def __init__(self, params: dict[str, Any], state: dict[str, Any]) -> None: ...
    def start(self, slot: int, user_id: int) -> None: ...
    def organic_session(self, slot: int) -> int: ...
    def session_buffers(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
    def recommend(self, slot: int, action: int) -> int: ...
    def uniform_action(self, slot: int) -> int: ...
    def click_probability(self, slot: int, action: int) -> float: ...
    def slot_state(self, slot: int) -> int: ...
    def simulate_logs(
        self,
        slot: int,
        next_user: int,
        end_user: int,
        organic_only_end: int,
        policy: int,
        policy_cdf: npt.NDArray[np.float64],
        policy_probabilities: npt.NDArray[np.float64],
        epsilon: float,
        t: npt.NDArray[np.float64],
        u: npt.NDArray[np.int64],
        z: npt.NDArray[np.int8],
        v: npt.NDArray[np.int32],
        a: npt.NDArray[np.int32],
        c: npt.NDArray[np.int8],
        ps: npt.NDArray[np.float64],
        click_probability: npt.NDArray[np.float64],
    ) -> tuple[int, int]: ...
    def simulate_logs_lockstep(
        self,
        next_user: int,
        end_user: int,
        organic_only_end: int,
        policy: int,
        policy_cdf: npt.NDArray[np.float64],
        policy_probabilities: npt.NDArray[np.float64],
        epsilon: float,
        logits: npt.NDArray[np.float64],
        t: npt.NDArray[np.float64],
        u: npt.NDArray[np.int64],
        z: npt.NDArray[np.int8],
        v: npt.NDArray[np.int32],
        a: npt.NDArray[np.int32],
        c: npt.NDArray[np.int8],
        ps: npt.NDArray[np.float64],
        click_probability: npt.NDArray[np.float64],
    ) -> tuple[int, int]: ...
    def begin_users(
        self,
        slots: npt.NDArray[np.int64],
        next_user: int,
        end_user: int,
        view_counts: npt.NDArray[np.float64],
        steps: npt.NDArray[np.int64],
    ) -> int: ...
    def recommend_batch(
        self,
        slots: npt.NDArray[np.int64],
        actions: npt.NDArray[np.int64],
        clicks: npt.NDArray[np.int8],
        click_probability: npt.NDArray[np.float64],
        view_counts: npt.NDArray[np.float64],
        steps: npt.NDArray[np.int64],
    ) -> None: ...
