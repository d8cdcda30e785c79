/* What threads on another host support: static worksharing, reductions, merge regions, output. */
#include <faasm/faasm.h>
#include <faasm/shared_mem.h>
#include <omp.h>
#include "check.h"

#define N 1000

static int by_thread[64];
static double values[N];

int main(void) {
    int nth = omp_get_max_threads();
#pragma omp parallel
    {
        int t = omp_get_thread_num();
        by_thread[t] = 10 * t + 1; /* a plain shared array, one element per thread */
        if (omp_get_num_threads() != nth) by_thread[t] = -1;
        printf("thread %d of %d\n", t, omp_get_num_threads());
    }
    for (int t = 0; t < nth; t++) CHECK(by_thread[t] == 10 * t + 1, "by_thread[%d] = %d", t, by_thread[t]);

#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) values[i] = i * 0.5;
    for (int i = 0; i < N; i++) CHECK(values[i] == i * 0.5, "values[%d] = %f", i, values[i]);

    long sum = 0;
    int top = 0;
#pragma omp parallel for schedule(static, 7) reduction(+ : sum) reduction(max : top)
    for (int i = 1; i <= N; i++) {
        sum += i;
        if (i % 97 > top) top = i % 97;
    }
    CHECK(sum == (long)N * (N + 1) / 2, "sum %ld", sum);
    CHECK(top == 96, "max %d", top);

    int count = 0;
#pragma omp parallel reduction(+ : count)
    count += omp_get_thread_num() + 1;
    CHECK(count == nth * (nth + 1) / 2, "reduce over threads %d", count);

    long total = 0;
    FAASM_REDUCE(total, FAASM_TYPE_LONG, FAASM_OP_SUM)
#pragma omp parallel
    {
#pragma omp critical
        total += omp_get_thread_num() + 1;
#pragma omp master
        total += 100;
    }
    CHECK(total == nth * (nth + 1) / 2 + 100, "merged total %ld", total);
    printf("remote_threads: %d threads, %d failures\n", nth, failures);
    return failures;
}
