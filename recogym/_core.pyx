"""The simulation engine: user slots of one RecoGym model, and the two
drivers that move them.

* :meth:`Engine.step`, the stepping driver, runs one command per slot (a new
  user arrives, a user browses, a user is shown a product) for any set of
  slots. Every env front end steps through it: the classic env and the
  Gymnasium env are a batch of one slot, ``BatchEnv`` and the vector env a
  batch of many.
* :meth:`Engine.simulate_logs`, the log driver, runs whole users under a
  logging policy and writes one row per event into caller-owned columns.

Everything here trusts its inputs: ``recogym/_checks.py`` is the boundary.
The random streams are in ``_streams.pxi`` and the user model in
``_user_model.pxi``.
"""
cimport cython
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.math cimport NAN, exp, fabs, log, nextafter, sqrt
from libc.stdint cimport int8_t, int32_t, int64_t, uint32_t, uint64_t
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport random_standard_normal

import numpy as np

cdef extern from *:
    """
    #ifndef RECOGYM_DEBUG_BUILD
    #define RECOGYM_DEBUG_BUILD 0
    #endif
    """
    int RECOGYM_DEBUG_BUILD

#: True when built with RECOGYM_CYTHON_DEBUG=1 (bounds and initialisation checks on).
DEBUG_BUILD = bool(RECOGYM_DEBUG_BUILD)

# Markov states of a user slot. EMPTY marks a slot with no user in it.
cdef enum:
    ORGANIC = 0
    BANDIT = 1
    STOP = 2
    EMPTY = 3

# What a log row records: the codes of recogym.logs.EventKind.
cdef enum:
    ORGANIC_EVENT = 0
    BANDIT_EVENT = 1

cdef enum:
    MODEL_CLUSTERS = 0      # reco-gym-v0
    MODEL_LATENT = 1        # reco-gym-v1

cdef enum:
    TIME_DEFAULT = 0        # +1 per event
    TIME_NORMAL = 1         # |N(mu, sigma^2)| per event
    TIME_CUSTOM = 2         # a Python object's new_time()

cdef enum:
    POLICY_UNIFORM = 0
    POLICY_FIXED = 1
    POLICY_USER_POPULARITY = 2     # the user's view counts + epsilon
    POLICY_POPULARITY_RANKING = 3  # slates: the user's top-k viewed, or a uniform slate w.p. epsilon

# How a user examines a slate (env arg click_model).
cdef enum:
    CLICK_PBM = 0           # position-based: position j examined w.p. examination[j], independently
    CLICK_CASCADE = 1       # top-down scan, stopping after a click (or not continuing)

# Commands of the stepping driver; a command >= 0 recommends that product.
cdef enum:
    NEW_USER = -1               # the next user arrives and browses their first session
    NEW_USER_NO_SESSION = -2    # the next user arrives; their first session waits for BROWSE
    BROWSE = -3                 # the user browses, if organic

ORGANIC_STATE = ORGANIC
BANDIT_STATE = BANDIT
STOP_STATE = STOP
EMPTY_SLOT = EMPTY
ORGANIC_EVENT_CODE = ORGANIC_EVENT
BANDIT_EVENT_CODE = BANDIT_EVENT
LATENT_MODEL = MODEL_LATENT
CLUSTER_MODEL = MODEL_CLUSTERS
DEFAULT_TIME = TIME_DEFAULT
NORMAL_TIME = TIME_NORMAL
CUSTOM_TIME = TIME_CUSTOM
UNIFORM_POLICY = POLICY_UNIFORM
FIXED_POLICY = POLICY_FIXED
USER_POPULARITY_POLICY = POLICY_USER_POPULARITY
POPULARITY_RANKING_POLICY = POLICY_POPULARITY_RANKING
PBM_CLICK_MODEL = CLICK_PBM
CASCADE_CLICK_MODEL = CLICK_CASCADE
NEW_USER_COMMAND = NEW_USER
NEW_USER_NO_SESSION_COMMAND = NEW_USER_NO_SESSION
BROWSE_COMMAND = BROWSE

# The click probabilities of every (slot, product) are cached while omega
# stays put, unless that table would exceed this many entries.
cdef Py_ssize_t CLICK_CACHE_ENTRIES = 1 << 22
# Views the stepping driver can record before its buffer grows.
cdef Py_ssize_t INITIAL_RECORDED_VIEWS = 256

include "_streams.pxi"

cdef class Engine
include "_user_model.pxi"


cdef struct Generators:
    # Legacy mode's shared streams, fetched for one driver call.
    bitgen_t *main
    double *main_gauss
    bitgen_t *clock           # the normal time generator's own stream
    double *clock_gauss


@cython.final
cdef class Engine:
    """User slots of one RecoGym model, stepped by C kernels.

    ``params`` holds the model's read-only arrays and scalars, ``state`` the
    per-slot user state and the streams that outlive one call (legacy mode's
    generators, a custom time generator). Pickling and ``deepcopy`` copy both
    and build a new engine over them; caches are rebuilt.
    """
    cdef readonly dict params
    cdef readonly dict state

    cdef int model, time_kind
    cdef bint legacy, change_omega_for_bandits, cache_clicks
    cdef bint landing, conversions
    cdef Py_ssize_t P, K, num_slots
    cdef uint64_t seed
    cdef double sigma_omega, sigma_omega_initial, time_mu, time_sigma
    cdef double kappa, psale_scale
    cdef const double[:, ::1] transition_cdf
    cdef const double[:, ::1] gamma_t
    cdef const double[::1] mu_organic
    cdef const double[:, ::1] beta
    cdef const double[::1] mu_bandit
    cdef const double[::1] initial_view_cdf
    cdef const double[:, ::1] view_cdf
    cdef const double[:, ::1] click_table
    cdef Py_ssize_t slate_size
    cdef int click_model
    cdef const double[::1] examination
    cdef double cascade_continuation
    cdef const double[:, ::1] sale_embeddings

    cdef int8_t[::1] markov_state
    cdef int64_t[::1] user_id
    cdef double[::1] time
    cdef double[::1] next_time
    cdef double[:, ::1] omega
    cdef int64_t[::1] last_view
    cdef uint64_t[:, ::1] stream_position
    cdef uint64_t[::1] omega_epoch
    cdef int64_t[::1] landing_view
    cdef double[:, ::1] purchase_state
    cdef object main_stream
    cdef object time_stream
    cdef object time_source
    cdef object callback_error
    cdef bint callback_failed

    cdef double[:, ::1] view_counts
    cdef int64_t[::1] steps
    cdef bint count_views, count_steps

    cdef double[::1] logits
    cdef int8_t[::1] clicks
    cdef double[::1] click_probabilities
    cdef int8_t[::1] conversion_out
    cdef double[::1] conversion_probability_out
    cdef double[:, ::1] click_cache
    cdef uint64_t[:, ::1] cached_epoch
    cdef Py_ssize_t recorded
    cdef int64_t[::1] recorded_index
    cdef int64_t[::1] recorded_view
    cdef double[::1] recorded_time
    cdef int8_t[:, ::1] slate_clicks
    cdef double[:, ::1] slate_click_probabilities
    cdef double[:, ::1] slate_attraction
    cdef int64_t[::1] slate_taken
    cdef object slate_arrays
    cdef int64_t[::1] slate_ranking

    def __init__(self, dict params, dict state):
        self.params = params
        self.state = state
        self.model = params['model']
        self.legacy = params['legacy']
        self.time_kind = params['time_kind']
        self.change_omega_for_bandits = params['change_omega_for_bandits']
        self.P = params['num_products']
        self.K = params['K']
        self.seed = params['random_seed']
        self.sigma_omega = params['sigma_omega']
        self.sigma_omega_initial = params['sigma_omega_initial']
        self.time_mu = params['normal_time_mu']
        self.time_sigma = params['normal_time_sigma']
        self.transition_cdf = params['transition_cdf']
        self.gamma_t = params['gamma_t']
        self.mu_organic = params['mu_organic']
        self.beta = params['beta']
        self.mu_bandit = params['mu_bandit']
        self.initial_view_cdf = params['initial_view_cdf']
        self.view_cdf = params['view_cdf']
        self.click_table = params['click_table']
        # Slates (absent from older params: one recommendation).
        self.slate_size = params.get('slate_size', 1)
        self.click_model = params.get('click_model', CLICK_PBM)
        self.examination = params.get('examination', np.ones(1))
        self.cascade_continuation = params.get('cascade_continuation', 1.0)
        self.landing = params['landing']
        self.conversions = params['conversions']
        self.kappa = params['kappa']
        self.psale_scale = params['psale_scale']
        self.sale_embeddings = params['sale_embeddings']

        self.markov_state = state['markov_state']
        self.num_slots = self.markov_state.shape[0]
        self.user_id = state['user_id']
        self.time = state['time']
        self.next_time = state['next_time']
        self.omega = state['omega']
        self.last_view = state['last_view']
        self.stream_position = state['stream_position']
        self.omega_epoch = state['omega_epoch']
        self.landing_view = state['landing_view']
        self.purchase_state = state['purchase_state']
        self.main_stream = state['main_stream']
        self.time_stream = state['time_stream']
        self.time_source = state['time_source']
        self.view_counts = state['view_counts']
        self.steps = state['steps']
        self.count_views = self.view_counts.shape[0] > 0
        self.count_steps = self.steps.shape[0] > 0
        self.callback_error = None

        self.logits = np.empty(self.P, dtype=np.float64)
        self.clicks = np.zeros(self.num_slots, dtype=np.int8)
        self.click_probabilities = np.zeros(self.num_slots, dtype=np.float64)
        self.conversion_out = np.full(self.num_slots, -1, dtype=np.int8)
        self.conversion_probability_out = np.full(self.num_slots, NAN, dtype=np.float64)
        self.cache_clicks = self.model == MODEL_LATENT and self.num_slots * self.P <= CLICK_CACHE_ENTRIES
        cache_shape = (int(self.num_slots), int(self.P)) if self.cache_clicks else (0, 0)
        self.click_cache = np.empty(cache_shape, dtype=np.float64)
        self.cached_epoch = np.zeros(cache_shape, dtype=np.uint64)
        self.recorded = 0
        self.recorded_index = np.empty(INITIAL_RECORDED_VIEWS, dtype=np.int64)
        self.recorded_view = np.empty(INITIAL_RECORDED_VIEWS, dtype=np.int64)
        self.recorded_time = np.empty(INITIAL_RECORDED_VIEWS, dtype=np.float64)
        self.slate_clicks = np.zeros((self.num_slots, self.slate_size), dtype=np.int8)
        self.slate_click_probabilities = np.zeros((self.num_slots, self.slate_size), dtype=np.float64)
        self.slate_attraction = np.zeros((self.num_slots, self.slate_size), dtype=np.float64)
        self.slate_taken = np.zeros(self.slate_size, dtype=np.int64)
        self.slate_arrays = (np.asarray(self.slate_clicks), np.asarray(self.slate_click_probabilities),
                             np.asarray(self.slate_attraction))
        self.slate_ranking = np.zeros(self.slate_size, dtype=np.int64)

    def __reduce__(self):
        return (Engine, (self.params, self.state))

    # ------------------------------------------------------------------
    # Streams. A user's Stream is opened before drawing and closed after,
    # which saves a default-mode user's position in their stream.

    cdef int fetch_generators(self, Generators *g) except -1:
        """Point ``g`` at legacy mode's shared streams; fetched per call,
        never cached, since the objects may be replaced between calls."""
        cdef double[::1] cache
        g.main = g.clock = NULL
        g.main_gauss = g.clock_gauss = NULL
        if self.legacy:
            g.main = <bitgen_t *>PyCapsule_GetPointer(self.main_stream.bit_generator.capsule, "BitGenerator")
            cache = self.main_stream.gauss
            g.main_gauss = &cache[0]
            if self.time_kind == TIME_NORMAL:
                g.clock = <bitgen_t *>PyCapsule_GetPointer(self.time_stream.bit_generator.capsule,
                                                           "BitGenerator")
                cache = self.time_stream.gauss
                g.clock_gauss = &cache[0]
        return 0

    cdef inline void open_stream(self, Py_ssize_t slot, Stream *s, Generators *g) noexcept nogil:
        if self.legacy:
            open_legacy_stream(s, g.main, g.main_gauss)
        else:
            open_user_stream(s, self.seed, <uint64_t>self.user_id[slot], self.stream_position[slot, 0],
                             <int>self.stream_position[slot, 1])

    cdef inline void close_stream(self, Py_ssize_t slot, Stream *s) noexcept nogil:
        if not self.legacy:
            self.stream_position[slot, 0] = s.philox.counter
            self.stream_position[slot, 1] = <uint64_t>s.philox.position

    cdef inline Stream *timing_stream(self, Stream *user, Stream *clock, Generators *g) noexcept nogil:
        """Legacy mode's normal time generator draws from its own stream;
        otherwise time draws come from the user's."""
        if g.clock != NULL:
            open_legacy_stream(clock, g.clock, g.clock_gauss)
            return clock
        return user

    cdef inline void begin_user(self, Py_ssize_t slot, uint64_t user_id, Stream *s, Stream *timing,
                                Generators *g) noexcept nogil:
        """Put ``user_id`` in ``slot`` at the start of their timeline, with
        their stream open."""
        self.user_id[slot] = <int64_t>user_id
        self.stream_position[slot, 0] = 0
        self.stream_position[slot, 1] = <uint64_t>RECOGYM_PHILOX_FRESH
        self.open_stream(slot, s, g)
        start_user(self, slot, s, timing)

    cdef int raise_callback_error(self) except -1:
        cdef object error = self.callback_error
        if self.callback_failed:
            self.callback_error = None
            self.callback_failed = False
            raise error
        return 0

    # ------------------------------------------------------------------
    # The stepping driver.

    def step(self, const int64_t[::1] slots, const int64_t[::1] commands, uint64_t next_user,
             uint64_t end_user, bint replace_leavers, bint record_views):
        """Run ``commands[i]`` on the user in ``slots[i]``, for every i.

        A command is a product (show it to the user, who clicks or not, then
        browses if organic), ``NEW_USER_COMMAND`` (the next user id arrives
        and browses their first session; with ``replace_leavers`` a user who
        leaves during it is replaced by the next id), ``NEW_USER_NO_SESSION_COMMAND``
        (the next user arrives only) or ``BROWSE_COMMAND``. Users take the ids
        ``next_user, next_user + 1, ...``; a slot left when they reach
        ``end_user`` becomes empty.

        The click and click probability of each recommendation land in
        :meth:`outcomes` at position ``i``. The state's ``view_counts[slot]``
        (if kept) counts the user's views since arrival, ``steps[slot]`` their
        recommendations. With ``record_views`` every view is also recorded in
        order with the position ``i`` of its command (:meth:`recorded_views`).

        Returns the next unused user id.
        """
        cdef Generators g
        cdef Stream s, clock
        cdef Stream *timing
        cdef Py_ssize_t i
        self.fetch_generators(&g)
        self.recorded = 0
        with nogil:
            timing = self.timing_stream(&s, &clock, &g)
            for i in range(slots.shape[0]):
                self.run_command(i, slots[i], commands[i], &next_user, end_user, replace_leavers, record_views,
                                 &s, timing, &g)
        self.raise_callback_error()
        return next_user

    def step_one(self, Py_ssize_t slot, int64_t command, uint64_t next_user, uint64_t end_user,
                 bint replace_leavers, bint record_views):
        """:meth:`step` for one slot, without the arrays: the classic and
        Gymnasium envs' batch of one.

        Returns ``(next_user, click, click_probability, markov_state)``: the
        next unused user id, the recommendation's outcome (if the command
        was one) and the user's state after the step.
        """
        cdef Generators g
        cdef Stream s, clock
        cdef Stream *timing
        self.fetch_generators(&g)
        self.recorded = 0
        with nogil:
            timing = self.timing_stream(&s, &clock, &g)
            self.run_command(0, slot, command, &next_user, end_user, replace_leavers, record_views, &s, timing, &g)
        self.raise_callback_error()
        return next_user, self.clicks[0], self.click_probabilities[0], self.markov_state[slot]

    def step_slates(self, const int64_t[::1] slots, const int64_t[:, ::1] slates, bint record_views):
        """Show ``slates[i]`` (a ranking of ``slate_size`` distinct products)
        to the user in ``slots[i]``, for every i; each user then browses if
        organic. The stepping driver's command for slates: users arrive
        through :meth:`step`.

        The outcome of each slate lands in :meth:`outcomes` (any click, and
        its probability) and :meth:`slate_outcomes` (per position) at
        position ``i``; views are counted and recorded as by :meth:`step`.
        """
        cdef Generators g
        cdef Stream s, clock
        cdef Stream *timing
        cdef Py_ssize_t i
        self.fetch_generators(&g)
        self.recorded = 0
        with nogil:
            timing = self.timing_stream(&s, &clock, &g)
            for i in range(slots.shape[0]):
                self.run_slate(i, slots[i], &slates[i, 0], record_views, &s, timing, &g)
        self.raise_callback_error()

    def step_slate_one(self, Py_ssize_t slot, const int64_t[::1] slate, bint record_views):
        """:meth:`step_slates` for one slot, without the slot array: the
        classic and Gymnasium envs' batch of one.

        Returns ``(number_of_clicks, click_probability, clicks,
        position_click_probability, product_click_probability, markov_state)``,
        the per-position values as new arrays.
        """
        cdef Generators g
        cdef Stream s, clock
        cdef Stream *timing
        cdef Py_ssize_t j
        cdef int count = 0
        self.fetch_generators(&g)
        self.recorded = 0
        with nogil:
            timing = self.timing_stream(&s, &clock, &g)
            self.run_slate(0, slot, &slate[0], record_views, &s, timing, &g)
        self.raise_callback_error()
        for j in range(self.slate_size):
            count += self.slate_clicks[0, j]
        clicks, probabilities, attraction = self.slate_arrays
        return (count, self.click_probabilities[0], clicks[0].copy(), probabilities[0].copy(),
                attraction[0].copy(), self.markov_state[slot])

    cdef int run_slate(self, Py_ssize_t i, Py_ssize_t slot, const int64_t *slate, bint record_views, Stream *s,
                       Stream *timing, Generators *g) except -1 nogil:
        self.open_stream(slot, s, g)
        self.clicks[i] = <int8_t>show_slate(self, slot, slate, &self.slate_clicks[i, 0],
                                            &self.slate_click_probabilities[i, 0], &self.slate_attraction[i, 0],
                                            s, timing)
        self.click_probabilities[i] = any_click_probability(self, &self.slate_click_probabilities[i, 0])
        if self.count_steps:
            self.steps[slot] += 1
        self.browse(i, slot, s, timing, record_views)
        self.close_stream(slot, s)
        return 0

    def slate_outcomes(self):
        """Per position, the clicks (int8), true click probabilities and the
        products' click probabilities of the last :meth:`step_slates`, by
        command position: arrays the next step reuses."""
        return self.slate_arrays

    cdef int run_command(self, Py_ssize_t i, Py_ssize_t slot, int64_t command, uint64_t *next_user,
                         uint64_t end_user, bint replace_leavers, bint record_views, Stream *s, Stream *timing,
                         Generators *g) except -1 nogil:
        cdef Py_ssize_t product, first_recorded = self.recorded
        cdef double p
        if command == NEW_USER or command == NEW_USER_NO_SESSION:
            while True:
                if next_user[0] >= end_user:
                    self.markov_state[slot] = EMPTY
                    return 0
                self.recorded = first_recorded     # a user passed over leaves no views behind
                self.begin_user(slot, next_user[0], s, timing, g)
                next_user[0] += 1
                if self.count_views:
                    for product in range(self.P):
                        self.view_counts[slot, product] = 0.0
                if self.count_steps:
                    self.steps[slot] = 0
                if command == NEW_USER:
                    self.browse(i, slot, s, timing, record_views)
                self.close_stream(slot, s)
                if not replace_leavers or self.markov_state[slot] != STOP:
                    return 0
        self.open_stream(slot, s, g)
        if command >= 0:
            p = click_probability_of(self, slot, command)
            self.click_probabilities[i] = p
            self.clicks[i] = <int8_t>recommend(self, slot, command, p, s, timing, &self.conversion_out[i],
                                               &self.conversion_probability_out[i])
            if self.count_steps:
                self.steps[slot] += 1
        self.browse(i, slot, s, timing, record_views)
        self.close_stream(slot, s)
        return 0

    cdef int browse(self, Py_ssize_t i, Py_ssize_t slot, Stream *s, Stream *timing,
                    bint record_views) except -1 nogil:
        """The user's organic session, whole: views until the chain leaves
        the organic state."""
        cdef Py_ssize_t view
        while self.markov_state[slot] == ORGANIC:
            if record_views:
                if self.recorded == self.recorded_view.shape[0]:
                    with gil:
                        self.grow_recorded()
                self.recorded_index[self.recorded] = i
                self.recorded_time[self.recorded] = self.time[slot]
            view = draw_view(self, slot, s, NULL)
            if record_views:
                self.recorded_view[self.recorded] = view
                self.recorded += 1
            if self.count_views:
                self.view_counts[slot, view] += 1.0
            transition(self, slot, s, timing)
        return 0

    cdef int grow_recorded(self) except -1:
        cdef Py_ssize_t size = 2 * self.recorded_view.shape[0]
        self.recorded_index = np.resize(np.asarray(self.recorded_index), size)
        self.recorded_view = np.resize(np.asarray(self.recorded_view), size)
        self.recorded_time = np.resize(np.asarray(self.recorded_time), size)
        return 0

    def outcomes(self):
        """The clicks (int8) and click probabilities of the last step's
        recommendations, by command position: arrays the next step reuses."""
        return np.asarray(self.clicks), np.asarray(self.click_probabilities)

    def conversion_outcomes(self):
        """With conversions, the conversions (int8: 0 without a click) and
        the probabilities that a click converts of the last step's
        recommendations, by command position: arrays the next step reuses."""
        return np.asarray(self.conversion_out), np.asarray(self.conversion_probability_out)

    def conversion_of(self, Py_ssize_t i):
        """With conversions, ``(conversion, conversion_probability)`` of the
        last step's command at position ``i``: one value without the arrays."""
        return self.conversion_out[i], self.conversion_probability_out[i]

    def recorded_views(self):
        """The views the last step recorded, in order: the position of their
        command, the product and the time, as new arrays."""
        n = self.recorded
        return (np.array(self.recorded_index[:n]), np.array(self.recorded_view[:n]),
                np.array(self.recorded_time[:n]))

    def recorded_session(self):
        """The views and times the last step recorded, as lists: one slot's
        session, without the arrays."""
        cdef Py_ssize_t k
        return ([self.recorded_view[k] for k in range(self.recorded)],
                [self.recorded_time[k] for k in range(self.recorded)])

    # ------------------------------------------------------------------
    # Queries and single draws between steps.

    def click_probability(self, Py_ssize_t slot, Py_ssize_t action):
        """The true probability that the user in ``slot`` clicks ``action`` now."""
        return click_probability_of(self, slot, action)

    def conversion_probability(self, Py_ssize_t slot, Py_ssize_t action):
        """With conversions, the true probability that a click of the user in
        ``slot`` on ``action`` now would convert."""
        return conversion_probability_of(self, slot, action, False)

    def uniform_action(self, Py_ssize_t slot):
        """The uniform logging policy's draw for the user in ``slot``."""
        cdef Generators g
        cdef Stream s
        cdef Py_ssize_t action
        self.fetch_generators(&g)
        self.open_stream(slot, &s, &g)
        action = draw_index(&s, self.P)
        self.close_stream(slot, &s)
        return action

    def uniform_slate(self, Py_ssize_t slot):
        """The uniform slate logging policy's draw for the user in ``slot``
        (``slate_size`` distinct products, every ranking equally likely)."""
        cdef Generators g
        cdef Stream s
        slate = np.empty(self.slate_size, dtype=np.int64)
        cdef int64_t[::1] out = slate
        self.fetch_generators(&g)
        self.open_stream(slot, &s, &g)
        self.draw_uniform_slate(&s, &out[0])
        self.close_stream(slot, &s)
        return slate

    cdef void draw_uniform_slate(self, Stream *s, int64_t *slate) noexcept nogil:
        """k distinct products uniformly, one draw per position: position j
        takes the i-th product (i uniform below P - j) among those not yet shown."""
        cdef Py_ssize_t j, m, at, i, k = self.slate_size
        cdef int64_t *taken = &self.slate_taken[0]     # the slate so far, sorted
        for j in range(k):
            i = draw_index(s, self.P - j)
            at = 0
            while at < j and taken[at] <= i:
                i += 1
                at += 1
            slate[j] = i
            m = j
            while m > at:       # insert i at ``at``, keeping taken sorted
                taken[m] = taken[m - 1]
                m -= 1
            taken[at] = i

    cdef void popularity_ranking(self, const double *counts, int64_t *ranking) noexcept nogil:
        """The k products with the most views in ``counts``, most viewed
        first, ties to the lower index."""
        cdef Py_ssize_t j, p, best
        for j in range(self.slate_size):
            best = -1
            for p in range(self.P):
                if j > 0 and not (counts[p] < counts[ranking[j - 1]]
                                  or (counts[p] == counts[ranking[j - 1]] and p > ranking[j - 1])):
                    continue        # ranked already
                if best < 0 or counts[p] > counts[best]:
                    best = p
            ranking[j] = best

    cdef double logging_slate(self, Stream *s, int policy, double epsilon, const double *counts, int64_t *slate,
                              double *pscore_item_position, double *pscore_cascade) noexcept nogil:
        """Draw the slate logging policy's ranking into ``slate`` with its
        exact propensities: per position (the probability that the product
        at j is shown at j) and per prefix (that positions 0..j are as
        shown). Returns the slate's probability.

        Uniform: every ranking of k distinct products equally likely. The
        popularity ranking: with probability ``epsilon`` a uniform slate,
        else the user's k most viewed products (``counts``).
        """
        cdef Py_ssize_t j, k = self.slate_size
        cdef double uniform_prefix = 1.0, explore = 1.0
        cdef bint greedy = False, prefix_matches = True
        cdef int64_t *ranking = &self.slate_ranking[0]
        if policy == POLICY_POPULARITY_RANKING:
            self.popularity_ranking(counts, ranking)
            explore = epsilon
            greedy = draw_uniform(s) >= epsilon
        if greedy:
            for j in range(k):
                slate[j] = ranking[j]
        else:
            self.draw_uniform_slate(s, slate)
        for j in range(k):
            uniform_prefix = uniform_prefix / <double>(self.P - j)
            if policy == POLICY_POPULARITY_RANKING:
                prefix_matches = prefix_matches and slate[j] == ranking[j]
                pscore_item_position[j] = (1.0 - explore) * (slate[j] == ranking[j]) + explore / <double>self.P
                pscore_cascade[j] = (1.0 - explore) * prefix_matches + explore * uniform_prefix
            else:
                pscore_item_position[j] = 1.0 / <double>self.P
                pscore_cascade[j] = uniform_prefix
        return pscore_cascade[k - 1]

    # ------------------------------------------------------------------
    # The log driver.

    def simulate_logs(self, uint64_t next_user, uint64_t end_user, uint64_t organic_only_end, int policy,
                      const double[::1] policy_cdf, const double[::1] policy_probabilities, double epsilon,
                      double[:, ::1] policy_counts, bint lockstep, double[:, ::1] lockstep_logits,
                      double[::1] t, int64_t[::1] u, int8_t[::1] z, int32_t[::1] v, int32_t[::1] a,
                      int8_t[::1] c, double[::1] ps, double[::1] click_probability, int8_t[::1] conversion,
                      double[::1] conversion_probability,
                      int32_t[:, ::1] slate_a=None, int8_t[:, ::1] slate_c=None,
                      double[:, ::1] slate_pscore_item_position=None, double[:, ::1] slate_pscore_cascade=None,
                      double[:, ::1] slate_click_probability=None):
        """Run users ``next_user .. end_user - 1`` through the slots under a
        logging policy, one row per organic view or impression.

        The policy is uniform, the categorical ``policy_cdf`` (with
        ``policy_probabilities``), or the user's organic view counts plus
        ``epsilon``, counted in ``policy_counts`` (one row per slot).
        Users below ``organic_only_end`` contribute their first organic
        session only. With conversions, ``conversion`` and
        ``conversion_probability`` are written too (else they may be empty).

        Two strategies share the row writer. One slot at a time: each user
        runs to the end before the next starts, their rows together. In
        ``lockstep`` (default rng, v1): every slot holds a user, all advance
        one event per tick, and the logits of the users viewing products are
        computed together, a block of products at a time, into
        ``lockstep_logits`` (one row per slot). Each user's rows then come
        out in order but interleaved with other users': a stable sort by user
        gives the one-at-a-time rows exactly.

        Stops when the output columns are full; the slots keep the users in
        progress, so calling again with the returned ``next_user`` continues.

        With the ``slate_*`` columns (``slate_size > 1``), each impression
        is a slate drawn by the slate policy (uniform, or the popularity
        ranking with ``epsilon``), written per position into them (-1 and
        NaN on organic rows); ``a`` then holds its top product, ``c`` whether
        any position was clicked, ``ps`` the slate's probability and
        ``click_probability`` that of any click.

        Returns ``(rows_written, next_user)``.
        """
        cdef bint with_slates = slate_a is not None
        cdef Py_ssize_t j, k = self.slate_size
        cdef int64_t *slate = NULL
        shown = np.zeros(k, dtype=np.int64)
        cdef int64_t[::1] shown_view = shown
        cdef Generators g
        cdef Stream s, clock
        cdef Stream *timing
        cdef Py_ssize_t G = self.num_slots, capacity = t.shape[0], rows = 0
        cdef Py_ssize_t slot, active, action, first, end, block = 512
        cdef int state
        cdef bint organic_only
        cdef double p, conv_probability = NAN
        cdef int8_t conv = -1
        cdef double *precomputed
        cdef double *counts
        cdef bint popularity = policy == POLICY_USER_POPULARITY or policy == POLICY_POPULARITY_RANKING
        slate = &shown_view[0]
        self.fetch_generators(&g)
        with nogil:
            timing = self.timing_stream(&s, &clock, &g)
            while not self.callback_failed:
                # Users who are done leave; empty slots take the next users.
                active = 0
                for slot in range(G):
                    while True:
                        state = self.markov_state[slot]
                        if state == EMPTY:
                            if next_user >= end_user:
                                break
                            self.begin_user(slot, next_user, &s, timing, &g)
                            self.close_stream(slot, &s)
                            next_user += 1
                            if popularity:
                                for action in range(self.P):
                                    policy_counts[slot, action] = 0.0
                            continue
                        organic_only = <uint64_t>self.user_id[slot] < organic_only_end
                        if state == STOP or (organic_only and state == BANDIT):
                            if self.legacy and not organic_only:
                                # 0.1.3.0 draws one more logging action for a row it
                                # never shows; consume it so later users still match.
                                counts = &policy_counts[slot, 0] if popularity else NULL
                                self.open_stream(slot, &s, &g)
                                self.logging_action(&s, policy, &policy_cdf[0], epsilon, counts, &p)
                                self.close_stream(slot, &s)
                            self.markov_state[slot] = EMPTY
                            continue
                        active += 1
                        break
                if active == 0 or rows + active > capacity:
                    break
                precomputed = NULL
                if lockstep:
                    first = 0
                    while first < self.P:
                        end = first + block if first + block < self.P else self.P
                        for slot in range(G):
                            # A landing view is the clicked product: no logits needed.
                            if self.markov_state[slot] == ORGANIC and not (
                                    self.landing and self.landing_view[slot] >= 0):
                                latent_logits(self, slot, first, end, &lockstep_logits[slot, 0])
                        first = end
                for slot in range(G):
                    state = self.markov_state[slot]
                    if state != ORGANIC and state != BANDIT:
                        continue
                    if lockstep:
                        precomputed = &lockstep_logits[slot, 0]
                    # The user-popularity policy's counts of this user's views.
                    counts = &policy_counts[slot, 0] if popularity else NULL
                    organic_only = <uint64_t>self.user_id[slot] < organic_only_end
                    self.open_stream(slot, &s, &g)
                    while True:
                        # One row: the event the user's state calls for.
                        t[rows] = self.time[slot]
                        u[rows] = self.user_id[slot]
                        if state == ORGANIC:
                            action = draw_view(self, slot, &s, precomputed)
                            z[rows] = ORGANIC_EVENT
                            v[rows] = <int32_t>action
                            a[rows] = -1
                            c[rows] = -1
                            ps[rows] = NAN
                            click_probability[rows] = NAN
                            if with_slates:
                                for j in range(k):
                                    slate_a[rows, j] = -1
                                    slate_c[rows, j] = -1
                                    slate_pscore_item_position[rows, j] = NAN
                                    slate_pscore_cascade[rows, j] = NAN
                                    slate_click_probability[rows, j] = NAN
                            if self.conversions:
                                conversion[rows] = -1
                                conversion_probability[rows] = NAN
                            if counts != NULL:
                                counts[action] += 1.0
                            transition(self, slot, &s, timing)
                        elif with_slates:
                            ps[rows] = self.logging_slate(&s, policy, epsilon, counts, slate,
                                                          &slate_pscore_item_position[rows, 0],
                                                          &slate_pscore_cascade[rows, 0])
                            c[rows] = <int8_t>show_slate(self, slot, slate, &slate_c[rows, 0],
                                                         &slate_click_probability[rows, 0],
                                                         &self.slate_attraction[0, 0], &s, timing)
                            click_probability[rows] = any_click_probability(self, &slate_click_probability[rows, 0])
                            for j in range(k):
                                slate_a[rows, j] = <int32_t>slate[j]
                            z[rows] = BANDIT_EVENT
                            v[rows] = -1
                            a[rows] = <int32_t>slate[0]
                        else:
                            action = self.logging_action(&s, policy, &policy_cdf[0], epsilon, counts, &ps[rows])
                            if not popularity:
                                ps[rows] = policy_probabilities[action]
                            p = click_probability_of(self, slot, action)
                            z[rows] = BANDIT_EVENT
                            v[rows] = -1
                            a[rows] = <int32_t>action
                            click_probability[rows] = p
                            c[rows] = <int8_t>recommend(self, slot, action, p, &s, timing, &conv,
                                                        &conv_probability)
                            if self.conversions:
                                conversion[rows] = conv
                                conversion_probability[rows] = conv_probability
                        rows += 1
                        state = self.markov_state[slot]
                        if lockstep or rows == capacity or state == STOP or (organic_only and state == BANDIT):
                            break
                    self.close_stream(slot, &s)
        self.raise_callback_error()
        return rows, next_user

    cdef inline Py_ssize_t logging_action(self, Stream *s, int policy, const double *policy_cdf, double epsilon,
                                   const double *counts, double *propensity) noexcept nogil:
        """Draw the logging policy's action; for the user-popularity policy
        (with the user's view ``counts``) also write its propensity."""
        cdef Py_ssize_t i, P = self.P
        cdef double total = 0.0, threshold
        if policy == POLICY_UNIFORM:
            return draw_index(s, P)
        if policy == POLICY_FIXED:
            return search_right(policy_cdf, P, draw_uniform(s))
        for i in range(P):
            total = total + (counts[i] + epsilon)
        threshold = draw_uniform(s) * total
        for i in range(P - 1):
            threshold = threshold - (counts[i] + epsilon)
            if threshold < 0.0:
                break
        else:
            # u * total rounded up to total: take the last product with mass.
            i = P - 1
            while counts[i] + epsilon == 0.0:
                i -= 1
        propensity[0] = (counts[i] + epsilon) / total
        return i
