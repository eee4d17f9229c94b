/*
 * Inner loops that benefit from wide vectors. On x86-64 Linux with GCC they are
 * compiled for AVX-512, AVX2 and the baseline, and the loader picks the best
 * the CPU has. Contraction to fused multiply-add stays off (-ffp-contract=off),
 * and each output element is computed by the same operations in the same
 * order in every clone, so the results are identical on every CPU.
 */
#ifndef RECOGYM_KERNELS_H
#define RECOGYM_KERNELS_H

#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RECOGYM_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RECOGYM_MULTIVERSION
#endif

/* out[i] += row[i] * weight, for i < n. */
RECOGYM_MULTIVERSION
static void recogym_axpy(double *out, const double *row, double weight, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) {
        out[i] = out[i] + row[i] * weight;
    }
}

#endif
