/*
 * Inner loops that benefit from wide vectors. On x86-64 Linux with GCC they are
 * compiled for AVX-512, AVX2 and the baseline, and the loader picks the best
 * the CPU has. Contraction to fused multiply-add stays off (-ffp-contract=off),
 * and each output element is computed by the same operations in the same
 * order in every clone, so the results are identical on every CPU.
 */
#ifndef RECOGYM_KERNELS_H
#define RECOGYM_KERNELS_H

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stddef.h>
#if defined(__GLIBC__)
#include <dlfcn.h>
#endif

/*
 * The exponential of the softmax and of the click curve. glibc's exp() is a
 * wrapper that sets errno on overflow around __ieee754_exp, which does the
 * work; the engine ignores errno, so where glibc still exports that function
 * (as __exp_finite) it is called directly: the same results, a quarter of
 * the time of exp() saved. Elsewhere it is exp() itself.
 */
typedef double (*recogym_exp_function)(double);
static recogym_exp_function recogym_exp = exp;

static void recogym_bind_exp(void)
{
#if defined(__GLIBC__) && defined(RTLD_DEFAULT)
    void *direct = dlvsym(RTLD_DEFAULT, "__exp_finite", "GLIBC_2.15");
    if (direct != NULL && ((recogym_exp_function)direct)(0.5) == exp(0.5)) {
        recogym_exp = (recogym_exp_function)direct;
    }
#endif
}

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
