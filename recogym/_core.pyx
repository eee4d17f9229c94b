"""Simulation kernels: the users' Markov chain, organic views and clicks.

Everything here trusts its inputs. ``recogym/params.py`` validates the model
arguments and ``recogym/model.py`` builds the arrays an :class:`Engine` reads;
the env front ends check actions and user ids before they reach a kernel.

Two random-number modes share every kernel (see ``docs`` in the README):

* default: each user draws from its own Philox4x64 stream keyed by
  ``(random_seed, user_id)``, normals from numpy's ziggurat;
* legacy: every user draws in turn from one ``RandomState``-seeded MT19937,
  with ``RandomState``'s polar normals, masked integers and binomial, so the
  draws of RecoGym 0.1.3.0 are met one for one.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.math cimport NAN, exp, fabs, log, nextafter, sqrt
from libc.stdint cimport int8_t, int32_t, int64_t, uint32_t, uint64_t
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport random_standard_normal

import numpy as np

cdef extern from "_kernels.h":
    void recogym_axpy(double *out, const double *row, double weight, Py_ssize_t n) noexcept nogil

cdef extern from "_philox.h":
    ctypedef struct recogym_philox:
        uint64_t counter
        int position
    void recogym_philox_restore(recogym_philox *s, uint64_t seed, uint64_t user_id,
                                uint64_t counter, int position) noexcept nogil
    double recogym_philox_next_double(recogym_philox *s) noexcept nogil
    uint64_t recogym_philox_bitgen_next64(void *state) noexcept nogil
    uint32_t recogym_philox_bitgen_next32(void *state) noexcept nogil
    double recogym_philox_bitgen_next_double(void *state) noexcept nogil

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

cdef enum:
    MODEL_CLUSTERS = 0      # reco-gym-v0
    MODEL_LATENT = 1        # reco-gym-v1

cdef enum:
    POLICY_UNIFORM = 0
    POLICY_FIXED = 1
    POLICY_USER_POPULARITY = 2     # the user's view counts + epsilon

ORGANIC_STATE = ORGANIC
BANDIT_STATE = BANDIT
STOP_STATE = STOP
EMPTY_SLOT = EMPTY
UNIFORM_POLICY = POLICY_UNIFORM
FIXED_POLICY = POLICY_FIXED
USER_POPULARITY_POLICY = POLICY_USER_POPULARITY


cdef struct Stream:
    bint legacy
    bitgen_t *bitgen          # legacy: the shared MT19937; default: philox_bitgen
    double *gauss             # legacy polar cache: [has_value, value]
    recogym_philox philox     # default mode: this user's stream
    bitgen_t philox_bitgen


cdef inline double draw_uniform(Stream *s) noexcept nogil:
    if s.legacy:
        return s.bitgen.next_double(s.bitgen.state)
    return recogym_philox_next_double(&s.philox)


cdef double legacy_gauss(Stream *s) noexcept nogil:
    # RandomState's polar method: each accepted pair gives two normals and
    # the second is cached for the next call.
    cdef double x1, x2, r2, f
    if s.gauss[0] != 0.0:
        s.gauss[0] = 0.0
        return s.gauss[1]
    while True:
        x1 = 2.0 * s.bitgen.next_double(s.bitgen.state) - 1.0
        x2 = 2.0 * s.bitgen.next_double(s.bitgen.state) - 1.0
        r2 = x1 * x1 + x2 * x2
        if r2 < 1.0 and r2 != 0.0:
            break
    f = sqrt(-2.0 * log(r2) / r2)
    s.gauss[0] = 1.0
    s.gauss[1] = f * x1
    return f * x2


cdef inline double draw_normal(Stream *s) noexcept nogil:
    if s.legacy:
        return legacy_gauss(s)
    return random_standard_normal(s.bitgen)


cdef inline Py_ssize_t draw_index(Stream *s, Py_ssize_t n) noexcept nogil:
    """Uniform integer in [0, n): RandomState.randint's masked rejection in
    legacy mode, the top bits of a uniform double otherwise."""
    cdef uint32_t bound, mask, value
    cdef Py_ssize_t i
    if s.legacy:
        bound = <uint32_t>(n - 1)
        if bound == 0:
            return 0                      # RandomState draws nothing here
        mask = bound
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        while True:
            value = s.bitgen.next_uint32(s.bitgen.state) & mask
            if value <= bound:
                return value
    i = <Py_ssize_t>(draw_uniform(s) * n)
    return i if i < n else n - 1


cdef inline Py_ssize_t search_right(const double *cdf, Py_ssize_t n, double x) noexcept nogil:
    """Number of entries of the non-decreasing ``cdf`` that are <= x
    (numpy's ``searchsorted(side='right')``), capped at n - 1."""
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < n else n - 1


cdef inline double sigmoid(double x) noexcept nogil:
    return 1.0 / (1.0 + exp(-x))


cdef inline double latent_click_curve(double x) noexcept nogil:
    # RecoGym's ff(): squashes a bandit score into a CTR of about 2%.
    return sigmoid(5.0 * sigmoid(2.0 * sigmoid(0.3 * x) - 2.0) - 6.0)


cdef int legacy_bernoulli_inversion(Stream *s, double p) noexcept nogil:
    # numpy's random_binomial_inversion for n = 1, rounding included.
    cdef double q = 1.0 - p
    cdef double qn = exp(log(q))
    cdef double px = qn
    cdef double u = s.bitgen.next_double(s.bitgen.state)
    cdef int x = 0
    while u > px:
        x += 1
        if x > 1:
            x = 0
            px = qn
            u = s.bitgen.next_double(s.bitgen.state)
        else:
            u -= px
            px = (p * px) / q
    return x


cdef class Engine:
    """User slots of one RecoGym model, stepped by C kernels.

    The arrays live in two dicts owned by this object: ``params`` (read-only
    model arrays and scalars) and ``state`` (per-slot user state and the
    legacy generators). Pickling and ``deepcopy`` copy those dicts and build a
    new engine over them.
    """
    cdef readonly dict params
    cdef readonly dict state

    cdef int model
    cdef bint legacy, normal_time, change_omega_for_bandits
    cdef Py_ssize_t num_products, K, num_slots
    cdef uint64_t seed
    cdef double sigma_omega, sigma_omega_initial, time_mu, time_sigma
    cdef const double[:, ::1] transition_cdf
    cdef const double[:, ::1] gamma_t
    cdef const double[::1] mu_organic
    cdef const double[:, ::1] beta
    cdef const double[::1] mu_bandit
    cdef const double[::1] initial_view_cdf
    cdef const double[:, ::1] view_cdf
    cdef const double[:, ::1] click_table

    cdef int8_t[::1] markov_state
    cdef int64_t[::1] user_id
    cdef double[::1] time
    cdef double[::1] next_time
    cdef double[:, ::1] omega
    cdef int64_t[::1] last_view
    cdef uint64_t[:, ::1] stream_position
    cdef double[::1] gauss_cache
    cdef double[:, ::1] policy_counts
    cdef object main_generator
    cdef object time_generator

    cdef double[::1] scratch
    cdef int64_t[::1] session_views
    cdef double[::1] session_times

    def __init__(self, dict params, dict state):
        self.params = params
        self.state = state
        self.model = params['model']
        self.legacy = params['legacy']
        self.normal_time = params['normal_time']
        self.change_omega_for_bandits = params['change_omega_for_bandits']
        self.num_products = params['num_products']
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

        self.markov_state = state['markov_state']
        self.num_slots = self.markov_state.shape[0]
        self.user_id = state['user_id']
        self.time = state['time']
        self.next_time = state['next_time']
        self.omega = state['omega']
        self.last_view = state['last_view']
        self.stream_position = state['stream_position']
        self.gauss_cache = state['gauss_cache']
        self.policy_counts = state['policy_counts']
        self.main_generator = state['main_generator']
        self.time_generator = state['time_generator']

        self.scratch = np.empty(self.num_products, dtype=np.float64)
        self.session_views = np.empty(256, dtype=np.int64)
        self.session_times = np.empty(256, dtype=np.float64)

    def __reduce__(self):
        return (Engine, (self.params, self.state))

    # ------------------------------------------------------------------
    # Streams. A Stream is opened for one slot before drawing and closed
    # after, which saves a default-mode user's position in its stream.

    cdef inline bitgen_t *legacy_bitgen(self, object generator) except NULL:
        return <bitgen_t *>PyCapsule_GetPointer(generator.capsule, "BitGenerator")

    cdef int legacy_generators(self, bitgen_t **main, bitgen_t **clock) except -1:
        """In legacy mode, point ``main`` (and ``clock``, with the normal time
        generator) at the shared MT19937 streams; fetched per call, never cached."""
        if self.legacy:
            main[0] = self.legacy_bitgen(self.main_generator)
            if self.normal_time:
                clock[0] = self.legacy_bitgen(self.time_generator)
        return 0

    cdef inline void open_stream(self, Py_ssize_t slot, Stream *s, bitgen_t *legacy_main) noexcept nogil:
        s.legacy = self.legacy
        if self.legacy:
            s.bitgen = legacy_main
            s.gauss = &self.gauss_cache[0]
            return
        recogym_philox_restore(&s.philox, self.seed, <uint64_t>self.user_id[slot],
                               self.stream_position[slot, 0],
                               <int>self.stream_position[slot, 1])
        s.philox_bitgen.state = &s.philox
        s.philox_bitgen.next_uint64 = recogym_philox_bitgen_next64
        s.philox_bitgen.next_uint32 = recogym_philox_bitgen_next32
        s.philox_bitgen.next_double = recogym_philox_bitgen_next_double
        s.philox_bitgen.next_raw = recogym_philox_bitgen_next64
        s.bitgen = &s.philox_bitgen

    cdef inline void close_stream(self, Py_ssize_t slot, Stream *s) noexcept nogil:
        if not self.legacy:
            self.stream_position[slot, 0] = s.philox.counter
            self.stream_position[slot, 1] = <uint64_t>s.philox.position

    cdef inline Stream *open_time_stream(self, Stream *user, Stream *timing, bitgen_t *legacy_time) noexcept nogil:
        """The normal time generator draws from its own RandomState in legacy
        mode and from the user's stream otherwise."""
        if self.legacy and self.normal_time:
            timing.legacy = True
            timing.bitgen = legacy_time
            timing.gauss = &self.gauss_cache[2]
            return timing
        return user

    # ------------------------------------------------------------------
    # One user, one event.

    cdef inline double new_time(self, Py_ssize_t slot, Stream *timing) noexcept nogil:
        # TimeGenerator.new_time(): hand out the pending time, draw the next.
        cdef double t = self.next_time[slot]
        if self.normal_time:
            self.next_time[slot] = t + fabs(self.time_mu + self.time_sigma * draw_normal(timing))
        else:
            self.next_time[slot] = t + 1.0
        return t

    cdef void start_user(self, Py_ssize_t slot, Stream *s, Stream *timing) noexcept nogil:
        cdef Py_ssize_t k
        self.markov_state[slot] = ORGANIC
        self.next_time[slot] = 0.0
        self.time[slot] = self.new_time(slot, timing)
        if self.model == MODEL_LATENT:
            for k in range(self.K):
                self.omega[slot, k] = 0.0 + self.sigma_omega_initial * draw_normal(s)
        else:
            self.last_view[slot] = search_right(&self.initial_view_cdf[0], self.num_products,
                                                draw_uniform(s))

    cdef void transition(self, Py_ssize_t slot, Stream *s, Stream *timing) noexcept nogil:
        cdef int old_state = self.markov_state[slot]
        cdef const double *row = &self.transition_cdf[old_state, 0]
        cdef double u = draw_uniform(s)
        cdef int new_state = (row[0] <= u) + (row[1] <= u)
        cdef double old_time, delta, scale
        cdef Py_ssize_t k
        self.markov_state[slot] = new_state
        if self.model != MODEL_LATENT:
            return
        old_time = self.time[slot]
        self.time[slot] = self.new_time(slot, timing)
        delta = self.time[slot] - old_time
        if self.change_omega_for_bandits or new_state == ORGANIC:
            # The omega random walk; its step grows with the time elapsed.
            scale = self.sigma_omega * (1.0 if delta == 0.0 else delta)
            for k in range(self.K):
                self.omega[slot, k] = self.omega[slot, k] + scale * draw_normal(s)

    cdef inline void latent_logits(self, Py_ssize_t slot, Py_ssize_t first, Py_ssize_t end,
                                   double *logits) noexcept nogil:
        """Gamma @ omega + mu_organic for products first .. end - 1.

        Gamma is stored transposed and products are taken in blocks that stay
        in L1, so the innermost loop runs over products and vectorises, while
        each product's sum still runs over k in order: the result does not
        depend on how products are blocked.
        """
        cdef Py_ssize_t i, k, block_end
        cdef const double *mu = &self.mu_organic[0]
        while first < end:
            block_end = first + 256 if first + 256 < end else end
            for i in range(first, block_end):
                logits[i] = 0.0
            for k in range(self.K):
                recogym_axpy(&logits[first], &self.gamma_t[k, first], self.omega[slot, k], block_end - first)
            for i in range(first, block_end):
                logits[i] = logits[i] + mu[i]
            first = block_end

    cdef Py_ssize_t sample_softmax(self, Py_ssize_t slot, double *logits, Stream *s) noexcept nogil:
        """Draw from softmax(logits) through its running sum (overwrites logits)."""
        cdef Py_ssize_t i, P = self.num_products
        cdef double top = -1.0e308, total = 0.0, threshold
        for i in range(P):
            if logits[i] > top:
                top = logits[i]
        for i in range(P):
            total = total + exp(logits[i] - top)
            logits[i] = total
        threshold = draw_uniform(s) * total
        if threshold >= total:
            threshold = nextafter(total, 0.0)
        i = search_right(logits, P, threshold)
        self.last_view[slot] = i
        return i

    cdef Py_ssize_t draw_view(self, Py_ssize_t slot, Stream *s) noexcept nogil:
        cdef Py_ssize_t i
        if self.model != MODEL_LATENT:
            i = search_right(&self.view_cdf[self.last_view[slot], 0], self.num_products, draw_uniform(s))
            self.last_view[slot] = i
            return i
        self.latent_logits(slot, 0, self.num_products, &self.scratch[0])
        return self.sample_softmax(slot, &self.scratch[0], s)

    cdef double click_probability_of(self, Py_ssize_t slot, Py_ssize_t action) noexcept nogil:
        cdef Py_ssize_t k
        cdef double score
        if self.model != MODEL_LATENT:
            return self.click_table[action, self.last_view[slot]]
        score = 0.0
        for k in range(self.K):
            score = score + self.beta[action, k] * self.omega[slot, k]
        return latent_click_curve(score + self.mu_bandit[action])

    cdef int draw_click(self, double p, Stream *s) noexcept nogil:
        cdef double no_click
        if not s.legacy:
            return draw_uniform(s) < p
        if self.model == MODEL_LATENT:
            # RandomState.choice([0, 1], p=[1 - p, p]).
            no_click = 1.0 - p
            return draw_uniform(s) >= no_click / (no_click + p)
        # RandomState.binomial(1, p).
        if p == 0.0:
            return 0
        if p <= 0.5:
            return legacy_bernoulli_inversion(s, p)
        return 1 - legacy_bernoulli_inversion(s, 1.0 - p)

    cdef int recommend_one(self, Py_ssize_t slot, Py_ssize_t action, double p, Stream *s, Stream *timing) noexcept nogil:
        cdef int click = self.draw_click(p, s)
        self.transition(slot, s, timing)
        if click:
            self.markov_state[slot] = ORGANIC     # a click always leads to views
        return click

    # ------------------------------------------------------------------
    # Python entry points for stepping one slot (the classic env).

    def start(self, Py_ssize_t slot, int64_t user_id):
        """Put user ``user_id`` in ``slot`` at the start of its timeline."""
        cdef Stream s, timing
        cdef Stream *ts
        cdef bitgen_t *main = NULL
        cdef bitgen_t *clock = NULL
        self.user_id[slot] = user_id
        self.stream_position[slot, 0] = 0
        self.stream_position[slot, 1] = 4
        self.legacy_generators(&main, &clock)
        self.open_stream(slot, &s, main)
        ts = self.open_time_stream(&s, &timing, clock)
        self.start_user(slot, &s, ts)
        self.close_stream(slot, &s)

    def organic_session(self, Py_ssize_t slot):
        """Draw views while the user stays organic, at most 256 per call.

        Returns the number of views; they sit in ``session_buffers()``.
        """
        cdef Stream s, timing
        cdef Stream *ts
        cdef bitgen_t *main = NULL
        cdef bitgen_t *clock = NULL
        cdef Py_ssize_t n = 0
        if self.markov_state[slot] != ORGANIC:
            return 0
        self.legacy_generators(&main, &clock)
        self.open_stream(slot, &s, main)
        ts = self.open_time_stream(&s, &timing, clock)
        while self.markov_state[slot] == ORGANIC and n < self.session_views.shape[0]:
            self.session_times[n] = self.time[slot]
            self.session_views[n] = self.draw_view(slot, &s)
            self.transition(slot, &s, ts)
            n += 1
        self.close_stream(slot, &s)
        return n

    def session_buffers(self):
        """The views and times written by the last ``organic_session``."""
        return np.asarray(self.session_views), np.asarray(self.session_times)

    def recommend(self, Py_ssize_t slot, Py_ssize_t action):
        """Show ``action`` to the (bandit-state) user in ``slot``; returns the click."""
        cdef Stream s, timing
        cdef Stream *ts
        cdef bitgen_t *main = NULL
        cdef bitgen_t *clock = NULL
        cdef int click
        self.legacy_generators(&main, &clock)
        self.open_stream(slot, &s, main)
        ts = self.open_time_stream(&s, &timing, clock)
        click = self.recommend_one(slot, action, self.click_probability_of(slot, action), &s, ts)
        self.close_stream(slot, &s)
        return click

    def uniform_action(self, Py_ssize_t slot):
        """The uniform logging policy's draw for the user in ``slot``."""
        cdef Stream s
        cdef Py_ssize_t action
        self.open_stream(slot, &s, self.legacy_bitgen(self.main_generator) if self.legacy else NULL)
        action = draw_index(&s, self.num_products)
        self.close_stream(slot, &s)
        return action

    def click_probability(self, Py_ssize_t slot, Py_ssize_t action):
        """The true probability that the user in ``slot`` clicks ``action`` now."""
        return self.click_probability_of(slot, action)

    def slot_state(self, Py_ssize_t slot):
        return self.markov_state[slot]

    # ------------------------------------------------------------------
    # Many slots in lockstep (the batch env): every slot with a user waits
    # in the bandit state for its next recommendation.

    cdef void organic_views_into(self, Py_ssize_t slot, Stream *s, Stream *timing,
                                 double[:, ::1] view_counts) noexcept nogil:
        while self.markov_state[slot] == ORGANIC:
            view_counts[slot, self.draw_view(slot, s)] += 1.0
            self.transition(slot, s, timing)

    def begin_users(self, const int64_t[::1] slots, int64_t next_user, int64_t end_user,
                    double[:, ::1] view_counts, int64_t[::1] steps):
        """Start users ``next_user, next_user + 1, ...`` in ``slots`` and run
        their first organic session, counting views into ``view_counts``.

        A user who leaves during that session is replaced at once; a slot
        left when the ids run out (``end_user``) becomes empty. Returns the
        next unused user id.
        """
        cdef Py_ssize_t i, slot, p
        cdef Stream s, timing
        cdef Stream *ts
        cdef bitgen_t *main = NULL
        cdef bitgen_t *clock = NULL
        self.legacy_generators(&main, &clock)
        with nogil:
            ts = self.open_time_stream(&s, &timing, clock)
            for i in range(slots.shape[0]):
                slot = slots[i]
                while True:
                    if next_user >= end_user:
                        self.markov_state[slot] = EMPTY
                        break
                    self.user_id[slot] = next_user
                    next_user += 1
                    self.stream_position[slot, 0] = 0
                    self.stream_position[slot, 1] = 4
                    self.open_stream(slot, &s, main)
                    self.start_user(slot, &s, ts)
                    for p in range(self.num_products):
                        view_counts[slot, p] = 0.0
                    steps[slot] = 0
                    self.organic_views_into(slot, &s, ts, view_counts)
                    self.close_stream(slot, &s)
                    if self.markov_state[slot] == BANDIT:
                        break
        return next_user

    def recommend_batch(self, const int64_t[::1] slots, const int64_t[::1] actions, int8_t[::1] clicks,
                        double[::1] click_probability, double[:, ::1] view_counts, int64_t[::1] steps):
        """Show ``actions[i]`` to the user in ``slots[i]``, for every i, then run
        the organic session that follows, if any. A slot whose user leaves is
        left in the stop state."""
        cdef Py_ssize_t i, slot
        cdef double p
        cdef Stream s, timing
        cdef Stream *ts
        cdef bitgen_t *main = NULL
        cdef bitgen_t *clock = NULL
        self.legacy_generators(&main, &clock)
        with nogil:
            ts = self.open_time_stream(&s, &timing, clock)
            for i in range(slots.shape[0]):
                slot = slots[i]
                self.open_stream(slot, &s, main)
                p = self.click_probability_of(slot, actions[i])
                click_probability[i] = p
                clicks[i] = <int8_t>self.recommend_one(slot, actions[i], p, &s, ts)
                steps[slot] += 1
                self.organic_views_into(slot, &s, ts, view_counts)
                self.close_stream(slot, &s)

    # ------------------------------------------------------------------
    # Whole logs, no Python per event.

    def simulate_logs(self, Py_ssize_t slot, int64_t next_user, int64_t end_user,
                      int64_t organic_only_end, int policy, const double[::1] policy_cdf,
                      const double[::1] policy_probabilities, double epsilon, double[::1] t, int64_t[::1] u, int8_t[::1] z, int32_t[::1] v,
                      int32_t[::1] a, int8_t[::1] c, double[::1] ps, double[::1] click_probability):
        """Run users ``next_user`` .. ``end_user - 1`` through ``slot`` under a
        logging policy, one row per organic view or impression.

        The policy is uniform, the categorical ``policy_cdf``, or the user's
        organic view counts plus ``epsilon`` (0.1.3.0's competition logging).

        Users below ``organic_only_end`` contribute their first organic session
        only. Stops when the output arrays are full; the slot keeps the user in
        progress, so calling again with the returned ``next_user`` continues.

        Returns ``(rows_written, next_user)``.
        """
        cdef Py_ssize_t capacity = t.shape[0], rows = 0, action
        cdef Stream s, timing
        cdef Stream *ts
        cdef bitgen_t *main = NULL
        cdef bitgen_t *clock = NULL
        cdef bint organic_only
        cdef double p
        cdef int state
        self.legacy_generators(&main, &clock)
        with nogil:
            if self.markov_state[slot] != EMPTY:
                self.open_stream(slot, &s, main)
            ts = self.open_time_stream(&s, &timing, clock)
            while True:
                state = self.markov_state[slot]
                if state == EMPTY:
                    if next_user >= end_user:
                        break
                    self.user_id[slot] = next_user
                    self.stream_position[slot, 0] = 0
                    self.stream_position[slot, 1] = 4
                    self.open_stream(slot, &s, main)
                    self.start_user(slot, &s, ts)
                    if policy == POLICY_USER_POPULARITY:
                        self.policy_counts[slot, :] = 0.0
                    next_user += 1
                    continue
                organic_only = self.user_id[slot] < organic_only_end
                if state == STOP or (organic_only and state == BANDIT):
                    if self.legacy and not organic_only:
                        # 0.1.3.0 draws one more logging action for a row it
                        # never shows; consume it so later users still match.
                        self.logging_action(slot, &s, policy, policy_cdf, epsilon, &p)
                    self.close_stream(slot, &s)
                    self.markov_state[slot] = EMPTY
                    continue
                if rows == capacity:
                    break
                t[rows] = self.time[slot]
                u[rows] = self.user_id[slot]
                if state == ORGANIC:
                    z[rows] = ORGANIC
                    action = self.draw_view(slot, &s)
                    v[rows] = <int32_t>action
                    if policy == POLICY_USER_POPULARITY:
                        self.policy_counts[slot, action] += 1.0
                    a[rows] = -1
                    c[rows] = -1
                    ps[rows] = NAN
                    click_probability[rows] = NAN
                    self.transition(slot, &s, ts)
                else:
                    action = self.logging_action(slot, &s, policy, policy_cdf, epsilon, &ps[rows])
                    if policy != POLICY_USER_POPULARITY:
                        ps[rows] = policy_probabilities[action]
                    p = self.click_probability_of(slot, action)
                    z[rows] = BANDIT
                    v[rows] = -1
                    a[rows] = <int32_t>action
                    click_probability[rows] = p
                    c[rows] = <int8_t>self.recommend_one(slot, action, p, &s, ts)
                rows += 1
            if self.markov_state[slot] != EMPTY:
                self.close_stream(slot, &s)
        return rows, next_user

    def simulate_logs_lockstep(self, int64_t next_user, int64_t end_user, int64_t organic_only_end,
                               int policy, const double[::1] policy_cdf, const double[::1] policy_probabilities,
                               double epsilon, double[:, ::1] logits, double[::1] t, int64_t[::1] u,
                               int8_t[::1] z, int32_t[::1] v, int32_t[::1] a, int8_t[::1] c, double[::1] ps,
                               double[::1] click_probability):
        """``simulate_logs`` for large catalogues and the default random-number
        mode: every slot holds a user, all advance one event per tick, and the
        logits of the users viewing products are computed together, a block
        of products at a time, so each block of Gamma is read once per tick.

        Rows come out interleaved across users (each user's in order); sort
        them by user, stably, to get ``simulate_logs``' rows exactly.
        ``logits`` is a (slots, num_products) work array.
        """
        cdef Py_ssize_t G = self.num_slots, P = self.num_products
        cdef Py_ssize_t capacity = t.shape[0], rows = 0, slot, action, first, end, active
        cdef Py_ssize_t block = 512
        cdef Stream s
        cdef int state
        cdef double p
        with nogil:
            while True:
                active = 0
                for slot in range(G):
                    while True:
                        state = self.markov_state[slot]
                        if state == EMPTY:
                            if next_user >= end_user:
                                break
                            self.user_id[slot] = next_user
                            next_user += 1
                            self.stream_position[slot, 0] = 0
                            self.stream_position[slot, 1] = 4
                            self.open_stream(slot, &s, NULL)
                            self.start_user(slot, &s, &s)
                            self.close_stream(slot, &s)
                            if policy == POLICY_USER_POPULARITY:
                                self.policy_counts[slot, :] = 0.0
                        elif state == STOP or (state == BANDIT and self.user_id[slot] < organic_only_end):
                            self.markov_state[slot] = EMPTY
                        else:
                            active += 1
                            break
                if active == 0 or rows + G > capacity:
                    break
                first = 0
                while first < P:
                    end = first + block if first + block < P else P
                    for slot in range(G):
                        if self.markov_state[slot] == ORGANIC:
                            self.latent_logits(slot, first, end, &logits[slot, 0])
                    first = end
                for slot in range(G):
                    state = self.markov_state[slot]
                    if state != ORGANIC and state != BANDIT:
                        continue
                    self.open_stream(slot, &s, NULL)
                    t[rows] = self.time[slot]
                    u[rows] = self.user_id[slot]
                    if state == ORGANIC:
                        action = self.sample_softmax(slot, &logits[slot, 0], &s)
                        z[rows] = ORGANIC
                        v[rows] = <int32_t>action
                        if policy == POLICY_USER_POPULARITY:
                            self.policy_counts[slot, action] += 1.0
                        a[rows] = -1
                        c[rows] = -1
                        ps[rows] = NAN
                        click_probability[rows] = NAN
                        self.transition(slot, &s, &s)
                    else:
                        action = self.logging_action(slot, &s, policy, policy_cdf, epsilon, &ps[rows])
                        if policy != POLICY_USER_POPULARITY:
                            ps[rows] = policy_probabilities[action]
                        p = self.click_probability_of(slot, action)
                        z[rows] = BANDIT
                        v[rows] = -1
                        a[rows] = <int32_t>action
                        click_probability[rows] = p
                        c[rows] = <int8_t>self.recommend_one(slot, action, p, &s, &s)
                    self.close_stream(slot, &s)
                    rows += 1
        return rows, next_user

    cdef Py_ssize_t logging_action(self, Py_ssize_t slot, Stream *s, int policy, const double[::1] policy_cdf,
                                   double epsilon, double *propensity) noexcept nogil:
        """Draw the logging policy's action; for the user-popularity policy
        also write its propensity."""
        cdef Py_ssize_t i, P = self.num_products
        cdef double total = 0.0, threshold
        if policy == POLICY_UNIFORM:
            return draw_index(s, P)
        if policy == POLICY_FIXED:
            return search_right(&policy_cdf[0], P, draw_uniform(s))
        for i in range(P):
            total = total + (self.policy_counts[slot, i] + epsilon)
        threshold = draw_uniform(s) * total
        for i in range(P - 1):
            threshold = threshold - (self.policy_counts[slot, i] + epsilon)
            if threshold < 0.0:
                break
        else:
            # u * total rounded up to total: take the last product with mass.
            i = P - 1
            while self.policy_counts[slot, i] + epsilon == 0.0:
                i -= 1
        propensity[0] = (self.policy_counts[slot, i] + epsilon) / total
        return i
