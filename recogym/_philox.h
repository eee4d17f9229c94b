/*
 * Philox4x64-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11), laid out so that a stream keyed by (seed, user_id) yields exactly the
 * words of numpy.random.Philox(key=[seed, user_id]): the counter is bumped before
 * each block and the four words of a block are handed out in order.
 *
 * Only the counter and the position in the current block are kept between
 * calls; the block itself is recomputed from them, which keeps per-user state at
 * two 64-bit words.
 */
#ifndef RECOGYM_PHILOX_H
#define RECOGYM_PHILOX_H

#include <stdint.h>

#define RECOGYM_PHILOX_M0 0xD2E7470EE14C6C93ULL
#define RECOGYM_PHILOX_M1 0xCA5A826395121157ULL
#define RECOGYM_PHILOX_W0 0x9E3779B97F4A7C15ULL
#define RECOGYM_PHILOX_W1 0xBB67AE8584CAA73BULL

/* The position of a stream whose block is used up. A fresh stream starts
 * here at counter 0, so its first draw computes block 1, as
 * numpy.random.Philox's first draw does. */
#define RECOGYM_PHILOX_FRESH 4

typedef struct {
    uint64_t key0, key1;   /* random_seed, user id */
    uint64_t counter;      /* low word of the 256-bit counter; the rest stay 0 */
    uint64_t block[4];
    int position;          /* next word of block to hand out; RECOGYM_PHILOX_FRESH = used up */
} recogym_philox;

static inline uint64_t recogym_mulhilo64(uint64_t a, uint64_t b, uint64_t *hi)
{
#if defined(__SIZEOF_INT128__)
    __uint128_t product = (__uint128_t)a * b;
    *hi = (uint64_t)(product >> 64);
    return (uint64_t)product;
#else
    uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
    uint64_t b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
    uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo;
    uint64_t lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
    *hi = hi_hi + (hi_lo >> 32) + (cross >> 32);
    return (cross << 32) | (lo_lo & 0xFFFFFFFFULL);
#endif
}

static inline void recogym_philox_block(recogym_philox *s)
{
    uint64_t c0 = s->counter, c1 = 0, c2 = 0, c3 = 0;
    uint64_t k0 = s->key0, k1 = s->key1;
    uint64_t hi0, hi1, lo0, lo1;
    int round;
    for (round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += RECOGYM_PHILOX_W0;
            k1 += RECOGYM_PHILOX_W1;
        }
        lo0 = recogym_mulhilo64(RECOGYM_PHILOX_M0, c0, &hi0);
        lo1 = recogym_mulhilo64(RECOGYM_PHILOX_M1, c2, &hi1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    s->block[0] = c0;
    s->block[1] = c1;
    s->block[2] = c2;
    s->block[3] = c3;
}

/* Restore a stream from its two saved words. */
static inline void recogym_philox_restore(recogym_philox *s, uint64_t seed, uint64_t user_id,
                                          uint64_t counter, int position)
{
    s->key0 = seed;
    s->key1 = user_id;
    s->counter = counter;
    s->position = position;
    if (position < RECOGYM_PHILOX_FRESH) {
        recogym_philox_block(s);
    }
}

static inline uint64_t recogym_philox_next64(recogym_philox *s)
{
    if (s->position >= RECOGYM_PHILOX_FRESH) {
        s->counter++;
        recogym_philox_block(s);
        s->position = 0;
    }
    return s->block[s->position++];
}

static inline double recogym_philox_next_double(recogym_philox *s)
{
    return (double)(recogym_philox_next64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Adapters with the signatures of numpy's bitgen_t, so numpy's own samplers
 * (the ziggurat normal) can draw from a per-user stream. */
static uint64_t recogym_philox_bitgen_next64(void *state)
{
    return recogym_philox_next64((recogym_philox *)state);
}

static uint32_t recogym_philox_bitgen_next32(void *state)
{
    return (uint32_t)(recogym_philox_next64((recogym_philox *)state) >> 32);
}

static double recogym_philox_bitgen_next_double(void *state)
{
    return recogym_philox_next_double((recogym_philox *)state);
}

#endif
