# Random streams: where every draw of the engine comes from.
#
# A Stream is one of two generators behind one interface:
#
# * default mode: the user's own Philox4x64-10 stream keyed by
#   (random_seed, user_id), identical to numpy.random.Philox(key=[seed, user]);
#   normals come from numpy's ziggurat (random_standard_normal);
# * legacy mode: a shared MT19937 seeded as RandomState(seed), with
#   RandomState's polar normals (second value cached), masked integers and
#   binomial inversion, so that RecoGym 0.1.3.0's draws are met one for one.
#
# The draws trust their arguments; the Python layer validated them.

cdef extern from "_philox.h":
    ctypedef struct recogym_philox:
        uint64_t counter
        int position
    int RECOGYM_PHILOX_FRESH
    void recogym_philox_restore(recogym_philox *s, uint64_t seed, uint64_t user_id,
                                uint64_t counter, int position) noexcept nogil
    double recogym_philox_next_double(recogym_philox *s) noexcept nogil
    uint64_t recogym_philox_bitgen_next64(void *state) noexcept nogil
    uint32_t recogym_philox_bitgen_next32(void *state) noexcept nogil
    double recogym_philox_bitgen_next_double(void *state) noexcept nogil


cdef struct Stream:
    bint legacy
    bitgen_t *bitgen          # legacy: a shared MT19937; default: philox_bitgen
    double *gauss             # legacy polar cache: [has_value, value]
    recogym_philox philox     # default mode: one user's stream
    bitgen_t philox_bitgen


cdef inline void open_user_stream(Stream *s, uint64_t seed, uint64_t user_id, uint64_t counter,
                                  int position) noexcept nogil:
    """Point ``s`` at a user's Philox stream, at a saved position."""
    s.legacy = False
    recogym_philox_restore(&s.philox, seed, user_id, counter, position)
    s.philox_bitgen.state = &s.philox
    s.philox_bitgen.next_uint64 = recogym_philox_bitgen_next64
    s.philox_bitgen.next_uint32 = recogym_philox_bitgen_next32
    s.philox_bitgen.next_double = recogym_philox_bitgen_next_double
    s.philox_bitgen.next_raw = recogym_philox_bitgen_next64
    s.bitgen = &s.philox_bitgen


cdef inline void open_legacy_stream(Stream *s, bitgen_t *bitgen, double *gauss) noexcept nogil:
    s.legacy = True
    s.bitgen = bitgen
    s.gauss = gauss


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


cdef enum:
    # Up to this many entries a CDF is searched by counting.
    SHORT_SEARCH = 32


cdef inline Py_ssize_t search_right(const double *cdf, Py_ssize_t n, double x) noexcept nogil:
    """Number of entries of the non-decreasing ``cdf`` that are <= x
    (numpy's ``searchsorted(side='right')``), capped at n - 1: the inverse
    CDF that ``RandomState.choice`` applies to one uniform."""
    cdef Py_ssize_t lo = 0, hi = n, mid, i
    if n <= SHORT_SEARCH:
        # A count, without branches to mispredict: the same index for a sorted cdf.
        for i in range(n):
            lo += cdf[i] <= x
        return lo if lo < n else n - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < n else n - 1


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
