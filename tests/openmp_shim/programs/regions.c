/* Many parallel regions in a row: team sizes that change between them, microtasks with no, 11 and
 * 21 arguments (more than the guest runtime passes itself), nested regions, and the threads' output. */
#include <omp.h>
#include "check.h"

#define REGIONS 300
static int runs[REGIONS][8];
static int sizes[REGIONS];
static int bare_hits[8];

int main(void) {
    int nth = omp_get_max_threads();
    for (int r = 0; r < REGIONS; r++) {
        int want = 1 + r % (nth < 8 ? nth : 8); /* 1, 2, ..., nth, 1, 2, ... */
#pragma omp parallel num_threads(want)
        {
            int tid = omp_get_thread_num();
            runs[r][tid]++;
            if (tid == 0) sizes[r] = omp_get_num_threads();
        }
    }
    for (int r = 0; r < REGIONS; r++) {
        int want = 1 + r % (nth < 8 ? nth : 8);
        CHECK(sizes[r] == want, "region %d: team of %d, not %d", r, sizes[r], want);
        for (int t = 0; t < 8; t++) CHECK(runs[r][t] == (t < want), "region %d: thread %d ran %d times", r, t, runs[r][t]);
    }
    /* no arguments at all: only globals */
#pragma omp parallel
    bare_hits[omp_get_thread_num()]++;
    for (int t = 0; t < nth && t < 8; t++) CHECK(bare_hits[t] == 1, "bare region: thread %d ran %d times", t, bare_hits[t]);
    /* 10 shared locals and a reduction: 11 microtask arguments */
    int u0 = 1, u1 = 2, u2 = 3, u3 = 4, u4 = 5, u5 = 6, u6 = 7, u7 = 8, u8 = 9, u9 = 10, eleven = 0;
#pragma omp parallel reduction(+ : eleven)
    eleven += u0 + u1 + u2 + u3 + u4 + u5 + u6 + u7 + u8 + u9;
    CHECK(eleven == 55 * nth, "11 arguments: total %d, not %d", eleven, 55 * nth);
    /* 20 shared locals and a reduction: 21 microtask arguments */
    int v0 = 0, v1 = 1, v2 = 2, v3 = 3, v4 = 4, v5 = 5, v6 = 6, v7 = 7, v8 = 8, v9 = 9;
    int w0 = 10, w1 = 11, w2 = 12, w3 = 13, w4 = 14, w5 = 15, w6 = 16, w7 = 17, w8 = 18, w9 = 19;
    int total = 0;
#pragma omp parallel reduction(+ : total)
    total += v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7 + v8 + v9 + w0 + w1 + w2 + w3 + w4 + w5 + w6 + w7 + w8 + w9;
    CHECK(total == 190 * nth, "20 arguments: total %d, not %d", total, 190 * nth);
    /* a region nested in each thread's part runs serialized, on that thread */
    int nested_ok = 0;
#pragma omp parallel reduction(+ : nested_ok)
    {
        int outer = omp_get_thread_num();
#pragma omp parallel
        nested_ok += omp_get_num_threads() == 1 && omp_get_thread_num() == 0 && omp_get_level() == 2 && outer >= 0;
    }
    CHECK(nested_ok == nth, "nested regions: %d of %d ran serialized", nested_ok, nth);
    /* what the team's threads print reaches the call's output */
#pragma omp parallel
    printf("region thread %d of %d\n", omp_get_thread_num(), omp_get_num_threads());
    printf("regions: %d threads, %d failures\n", nth, failures);
    return failures;
}
