/*
 * What the draws and exponentials of one P=10 event cost on this machine,
 * apart from everything else the log driver does: a Philox4x64-10 uniform
 * (recogym's own, as the kernel inlines it) and glibc's exp, by throughput
 * (independent calls, as in the softmax) and by latency (chained, as in the
 * click curve). README's "Performance" section adds them up per event.
 *
 *   gcc -O3 -ffp-contract=off scripts/draw_costs.c -o /tmp/draw_costs -lm && /tmp/draw_costs
 */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "../recogym/_philox.h"

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

int main(void)
{
    const long draws = 100000000, exps = 10000000;
    recogym_philox stream;
    struct timespec start;
    double sum = 0.0, chained = 0.1;
    volatile double offset = -0.3;
    long i;

    recogym_philox_restore(&stream, 42, 7, 0, RECOGYM_PHILOX_FRESH);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; i < draws; i++) {
        sum += recogym_philox_next_double(&stream);
    }
    printf("Philox uniform:  %5.2f ns\n", 1e9 * seconds_since(&start) / (double)draws);

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; i < exps; i++) {
        sum += exp(offset - 1e-9 * (double)i);
    }
    printf("exp, throughput: %5.2f ns\n", 1e9 * seconds_since(&start) / (double)exps);

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; i < exps; i++) {
        chained = exp(-chained);
    }
    printf("exp, latency:    %5.2f ns\n", 1e9 * seconds_since(&start) / (double)exps);
    return sum + chained < 0.0;  /* keeps the loops */
}
