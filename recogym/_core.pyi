from typing import Any

import numpy as np
import numpy.typing as npt

DEBUG_BUILD: bool
ORGANIC_STATE: int
BANDIT_STATE: int
STOP_STATE: int
EMPTY_SLOT: int
ORGANIC_EVENT_CODE: int
BANDIT_EVENT_CODE: int
LATENT_MODEL: int
CLUSTER_MODEL: int
DEFAULT_TIME: int
NORMAL_TIME: int
CUSTOM_TIME: int
UNIFORM_POLICY: int
FIXED_POLICY: int
USER_POPULARITY_POLICY: int
POPULARITY_RANKING_POLICY: int
PBM_CLICK_MODEL: int
CASCADE_CLICK_MODEL: int
NEW_USER_COMMAND: int
NEW_USER_NO_SESSION_COMMAND: int
BROWSE_COMMAND: int

class Engine:
    params: dict[str, Any]
    state: dict[str, Any]
    def __init__(self, params: dict[str, Any], state: dict[str, Any]) -> None: ...
    def step(
        self,
        slots: npt.NDArray[np.int64],
        commands: npt.NDArray[np.int64],
        next_user: int,
        end_user: int,
        replace_leavers: bool,
        record_views: bool,
    ) -> int: ...
    def step_one(
        self, slot: int, command: int, next_user: int, end_user: int, replace_leavers: bool, record_views: bool
    ) -> tuple[int, int, float, int]: ...
    def step_slates(
        self, slots: npt.NDArray[np.int64], slates: npt.NDArray[np.int64], record_views: bool
    ) -> None: ...
    def step_slate_one(
        self, slot: int, slate: npt.NDArray[np.int64], record_views: bool
    ) -> tuple[
        int, float, npt.NDArray[np.int8], npt.NDArray[np.float64], npt.NDArray[np.float64], int
    ]: ...
    def slate_outcomes(
        self,
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    def uniform_slate(self, slot: int) -> npt.NDArray[np.int64]: ...
    def outcomes(self) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]: ...
    def conversion_outcomes(self) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]: ...
    def conversion_of(self, i: int) -> tuple[int, float]: ...
    def recorded_views(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
    def recorded_session(self) -> tuple[list[int], list[float]]: ...
    def click_probability(self, slot: int, action: int) -> float: ...
    def conversion_probability(self, slot: int, action: int) -> float: ...
    def uniform_action(self, slot: int) -> int: ...
    def simulate_logs(
        self,
        next_user: int,
        end_user: int,
        organic_only_end: int,
        policy: int,
        policy_cdf: npt.NDArray[np.float64],
        policy_probabilities: npt.NDArray[np.float64],
        epsilon: float,
        policy_counts: npt.NDArray[np.float64],
        lockstep: bool,
        lockstep_logits: npt.NDArray[np.float64],
        t: npt.NDArray[np.float64],
        u: npt.NDArray[np.int64],
        z: npt.NDArray[np.int8],
        v: npt.NDArray[np.int32],
        a: npt.NDArray[np.int32],
        c: npt.NDArray[np.int8],
        ps: npt.NDArray[np.float64],
        click_probability: npt.NDArray[np.float64],
        conversion: npt.NDArray[np.int8],
        conversion_probability: npt.NDArray[np.float64],
        slate_a: npt.NDArray[np.int32] | None = None,
        slate_c: npt.NDArray[np.int8] | None = None,
        slate_pscore_item_position: npt.NDArray[np.float64] | None = None,
        slate_pscore_cascade: npt.NDArray[np.float64] | None = None,
        slate_click_probability: npt.NDArray[np.float64] | None = None,
    ) -> tuple[int, int]: ...
