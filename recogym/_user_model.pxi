# The user model: how one user in one slot of an Engine moves on.
#
# Every function here reads the model's fixed arrays and one slot's state
# from the engine ``e`` and draws from the streams it is given. The order of
# the draws is the model's contract: the numpy reference (recogym/_reference.py)
# and RecoGym 0.1.3.0 (legacy mode) make the same draws in the same order.

cdef extern from "_kernels.h":
    void recogym_axpy(double *out, const double *row, double weight, Py_ssize_t n) noexcept nogil
    double recogym_exp(double x) noexcept nogil
    void recogym_bind_exp() noexcept

recogym_bind_exp()

cdef enum:
    # Products per block of the latent logits: a block of each Gamma row stays in L1.
    LOGIT_BLOCK = 256
    # Below this many products the logits are summed inline: a call through
    # the multiversioned axpy costs more than the few multiply-adds it saves.
    INLINE_LOGIT_PRODUCTS = 64


cdef inline double sigmoid(double x) noexcept nogil:
    return 1.0 / (1.0 + recogym_exp(-x))


cdef inline double latent_click_curve(double x) noexcept nogil:
    # RecoGym's ff(): squashes a bandit score into a CTR of about 2%.
    return sigmoid(5.0 * sigmoid(2.0 * sigmoid(0.3 * x) - 2.0) - 6.0)


cdef double custom_time(Engine e, bint restart) noexcept nogil:
    """Ask a 0.1.3.0-style time generator object for its next time (after
    its ``reset()`` when a user starts). An exception is kept on the engine,
    which raises it when the driver returns; the time is then NaN."""
    cdef double t = NAN
    with gil:
        if not e.callback_failed:
            try:
                if restart:
                    e.time_source.reset()
                t = float(e.time_source.new_time())
            except BaseException as error:
                e.callback_error = error
                e.callback_failed = True
    return t


cdef inline double new_time(Engine e, Py_ssize_t slot, Stream *timing, bint restart) noexcept nogil:
    """The time of the next event (0.1.3.0's ``TimeGenerator.new_time``: hand
    out the pending time, draw the one after it)."""
    cdef double t
    if e.time_kind == TIME_CUSTOM:
        return custom_time(e, restart)
    if restart:
        e.next_time[slot] = 0.0
    t = e.next_time[slot]
    if e.time_kind == TIME_NORMAL:
        e.next_time[slot] = t + fabs(e.time_mu + e.time_sigma * draw_normal(timing))
    else:
        e.next_time[slot] = t + 1.0
    return t


cdef inline void omega_changed(Engine e, Py_ssize_t slot) noexcept nogil:
    # Cached click probabilities of the slot hold for the old omega only.
    e.omega_epoch[slot] += 1


cdef void start_user(Engine e, Py_ssize_t slot, Stream *s, Stream *timing) noexcept nogil:
    """A new user arrives in ``slot``: organic, at time 0, with a fresh
    latent vector (v1) or a first, unlogged product (v0). With conversions
    their purchase state starts at their first latent vector."""
    cdef Py_ssize_t k
    e.markov_state[slot] = ORGANIC
    e.time[slot] = new_time(e, slot, timing, True)
    if e.landing:
        e.landing_view[slot] = -1
    if e.model == MODEL_LATENT:
        for k in range(e.K):
            e.omega[slot, k] = 0.0 + e.sigma_omega_initial * draw_normal(s)
        omega_changed(e, slot)
        if e.conversions:
            for k in range(e.K):
                e.purchase_state[slot, k] = e.omega[slot, k]
    else:
        e.last_view[slot] = search_right(&e.initial_view_cdf[0], e.P, draw_uniform(s))


cdef inline void transition(Engine e, Py_ssize_t slot, Stream *s, Stream *timing) noexcept nogil:
    """One step of the organic/bandit/leave chain; in v1 time moves on, and
    omega walks when the user turns (or stays) organic."""
    cdef int old_state = e.markov_state[slot]
    cdef double u = draw_uniform(s)
    cdef int new_state = (e.transition_cdf[old_state, 0] <= u) + (e.transition_cdf[old_state, 1] <= u)
    cdef double old_time, delta, scale
    cdef Py_ssize_t k
    e.markov_state[slot] = new_state
    if e.model != MODEL_LATENT:
        return
    old_time = e.time[slot]
    e.time[slot] = new_time(e, slot, timing, False)
    delta = e.time[slot] - old_time
    if e.change_omega_for_bandits or new_state == ORGANIC:
        # The omega random walk; its step grows with the time elapsed.
        scale = e.sigma_omega * (1.0 if delta == 0.0 else delta)
        for k in range(e.K):
            e.omega[slot, k] = e.omega[slot, k] + scale * draw_normal(s)
        omega_changed(e, slot)


cdef inline void latent_logits(Engine e, Py_ssize_t slot, Py_ssize_t first, Py_ssize_t end,
                        double *logits) noexcept nogil:
    """``Gamma @ omega + mu_organic`` for products first .. end - 1.

    Gamma is stored transposed and products are taken in blocks that stay in
    L1, so the innermost loop runs over products and vectorises, while each
    product's sum still runs over k in order: the result does not depend on
    how products are blocked, nor on which path sums them.
    """
    cdef Py_ssize_t i, k, block_end
    cdef double weight
    cdef const double *row
    cdef const double *mu
    if end - first < INLINE_LOGIT_PRODUCTS:
        for i in range(first, end):
            logits[i] = 0.0
        for k in range(e.K):
            weight = e.omega[slot, k]
            row = &e.gamma_t[k, 0]
            for i in range(first, end):
                logits[i] = logits[i] + row[i] * weight
        mu = &e.mu_organic[0]
        for i in range(first, end):
            logits[i] = logits[i] + mu[i]
        return
    while first < end:
        block_end = first + LOGIT_BLOCK if first + LOGIT_BLOCK < end else end
        for i in range(first, block_end):
            logits[i] = 0.0
        for k in range(e.K):
            recogym_axpy(&logits[first], &e.gamma_t[k, first], e.omega[slot, k], block_end - first)
        for i in range(first, block_end):
            logits[i] = logits[i] + e.mu_organic[i]
        first = block_end


cdef Py_ssize_t sample_softmax(Engine e, Py_ssize_t slot, double *logits, Stream *s) noexcept nogil:
    """Draw from softmax(logits) through its running sum (overwrites logits)."""
    cdef Py_ssize_t i, P = e.P
    cdef double top = -1.0e308, total = 0.0, threshold
    for i in range(P):
        top = logits[i] if logits[i] > top else top
    # The exponentials first, then their running sum: the calls do not wait
    # on one another, and the sum is the same.
    for i in range(P):
        logits[i] = recogym_exp(logits[i] - top)
    for i in range(P):
        total = total + logits[i]
        logits[i] = total
    threshold = draw_uniform(s) * total
    if threshold >= total:
        threshold = nextafter(total, 0.0)
    i = search_right(logits, P, threshold)
    e.last_view[slot] = i
    return i


cdef inline Py_ssize_t draw_view(Engine e, Py_ssize_t slot, Stream *s, double *logits) noexcept nogil:
    """The next organic view. ``logits``: the v1 logits of this user, already
    computed (the lockstep log driver does), or NULL.

    With post-click landing the first view after a click is the clicked
    product, drawn from nothing; it becomes the last view like any other."""
    cdef Py_ssize_t i
    if e.landing and e.landing_view[slot] >= 0:
        i = e.landing_view[slot]
        e.landing_view[slot] = -1
        e.last_view[slot] = i
        return i
    if e.model != MODEL_LATENT:
        i = search_right(&e.view_cdf[e.last_view[slot], 0], e.P, draw_uniform(s))
        e.last_view[slot] = i
        return i
    if logits == NULL:
        logits = &e.logits[0]
        latent_logits(e, slot, 0, e.P, logits)
    return sample_softmax(e, slot, logits, s)


cdef inline double latent_click_probability(Engine e, Py_ssize_t slot, Py_ssize_t action) noexcept nogil:
    cdef Py_ssize_t k
    cdef double score = 0.0
    for k in range(e.K):
        score = score + e.beta[action, k] * e.omega[slot, k]
    return latent_click_curve(score + e.mu_bandit[action])


cdef inline double click_probability_of(Engine e, Py_ssize_t slot, Py_ssize_t action) noexcept nogil:
    """The true probability that the user in ``slot`` clicks ``action`` now.

    In v1 it depends on omega alone, which stays put while a user keeps
    seeing recommendations, so it is cached per slot until omega moves.
    """
    cdef double p
    if e.model != MODEL_LATENT:
        return e.click_table[action, e.last_view[slot]]
    if not e.cache_clicks:
        return latent_click_probability(e, slot, action)
    if e.cached_epoch[slot, action] == e.omega_epoch[slot]:
        return e.click_cache[slot, action]
    p = latent_click_probability(e, slot, action)
    e.click_cache[slot, action] = p
    e.cached_epoch[slot, action] = e.omega_epoch[slot]
    return p


cdef inline int draw_click(Engine e, double p, Stream *s) noexcept nogil:
    cdef double no_click
    if not s.legacy:
        return draw_uniform(s) < p
    if e.model == MODEL_LATENT:
        # RandomState.choice([0, 1], p=[1 - p, p]).
        no_click = 1.0 - p
        return draw_uniform(s) >= no_click / (no_click + p)
    # RandomState.binomial(1, p).
    if p == 0.0:
        return 0
    if p <= 0.5:
        return legacy_bernoulli_inversion(s, p)
    return 1 - legacy_bernoulli_inversion(s, 1.0 - p)


cdef inline double conversion_probability_of(Engine e, Py_ssize_t slot, Py_ssize_t action,
                                             bint clicked) noexcept nogil:
    """The probability that a click on ``action`` now converts:
    ``psale_scale * s(Lambda_a . delta')``, with ``delta'`` the purchase state
    after the click, ``(1 - kappa) delta + kappa Lambda_a`` (PR #26's
    ``update_user_feature``). With ``clicked`` the state moves there."""
    cdef Py_ssize_t k
    cdef double score = 0.0, moved, weight
    for k in range(e.K):
        weight = e.sale_embeddings[action, k]
        moved = (1.0 - e.kappa) * e.purchase_state[slot, k] + e.kappa * weight
        score = score + weight * moved
        if clicked:
            e.purchase_state[slot, k] = moved
    return e.psale_scale * sigmoid(score)


cdef inline int recommend(Engine e, Py_ssize_t slot, Py_ssize_t action, double p, Stream *s, Stream *timing,
                          int8_t *conversion, double *conversion_probability) noexcept nogil:
    """The user in ``slot`` is shown ``action``, which they click with
    probability ``p``: the click, then a step of the chain; a click always
    leads to views (starting at ``action`` with post-click landing).

    With conversions, ``conversion_probability`` receives the probability
    that a click on ``action`` converts, and ``conversion`` whether it did
    (0 without a click): one more uniform, drawn right after a click's."""
    cdef int click = draw_click(e, p, s)
    cdef double q
    if e.conversions:
        q = conversion_probability_of(e, slot, action, click)
        conversion_probability[0] = q
        conversion[0] = <int8_t>(draw_uniform(s) < q) if click else 0
    transition(e, slot, s, timing)
    if click:
        e.markov_state[slot] = ORGANIC
        if e.landing:
            e.landing_view[slot] = action
    return click


# ----------------------------------------------------------------------
# Slates (slate_size > 1, default rng only): a ranking of k distinct products.

cdef int show_slate(Engine e, Py_ssize_t slot, const int64_t *slate, int8_t *clicks, double *click_probability,
                    double *attraction, Stream *s, Stream *timing) noexcept nogil:
    """The user in ``slot`` is shown the ranking ``slate`` (k products) and
    clicks per the click model; then a step of the chain, which any click
    sends to organic (landing on the top-most clicked product with
    post-click landing). Writes per position the click, its true (marginal)
    probability and the product's click probability ``attraction``.

    PBM: one uniform per position j, a click iff ``u < examination[j] * p_j``.
    Cascade: positions top-down, one uniform each for the click (``u < p_j``);
    after a click the scan stops; after none it goes on to the next position
    with probability ``cascade_continuation`` (one more uniform, drawn only
    when that is below 1). Returns whether any position was clicked.
    """
    cdef Py_ssize_t j, k = e.slate_size, first_clicked = -1
    cdef double reach = 1.0
    cdef int clicked = 0
    cdef bint scanning = True
    for j in range(k):
        attraction[j] = click_probability_of(e, slot, slate[j])
    if e.click_model == CLICK_PBM:
        for j in range(k):
            click_probability[j] = e.examination[j] * attraction[j]
            clicks[j] = <int8_t>(draw_uniform(s) < click_probability[j])
            clicked |= clicks[j]
    else:
        for j in range(k):
            # P(click at j) = prod_{i<j} (1 - p_i) continuation^j * p_j
            click_probability[j] = reach * attraction[j]
            reach = reach * (1.0 - attraction[j]) * e.cascade_continuation
            clicks[j] = 0
            if not scanning:
                continue
            if draw_uniform(s) < attraction[j]:
                clicks[j] = 1
                clicked = 1
                scanning = False
            elif j + 1 < k and e.cascade_continuation < 1.0:
                scanning = draw_uniform(s) < e.cascade_continuation
    transition(e, slot, s, timing)
    if clicked:
        e.markov_state[slot] = ORGANIC
        if e.landing:
            # Post-click landing: on the top-most clicked product.
            for j in range(k):
                if clicks[j] and first_clicked < 0:
                    first_clicked = j
            e.landing_view[slot] = slate[first_clicked]
    return clicked


cdef inline double any_click_probability(Engine e, const double *click_probability) noexcept nogil:
    """P(at least one click) from the positions' marginals: 1 - prod(1 - q_j)
    under PBM (independent positions), sum q_j under cascade (one click at most)."""
    cdef Py_ssize_t j
    cdef double none = 1.0, total = 0.0
    if e.click_model == CLICK_PBM:
        for j in range(e.slate_size):
            none = none * (1.0 - click_probability[j])
        return 1.0 - none
    for j in range(e.slate_size):
        total = total + click_probability[j]
    return total
