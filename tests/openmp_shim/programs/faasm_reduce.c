/* FAASM_REDUCE merge regions: correct with shared memory and with snapshot diffs alike. */
#include <faasm/faasm.h>
#include <faasm/shared_mem.h>
#include <omp.h>
#include "check.h"

int main(void) {
    int nth = omp_get_max_threads();
    long total = 0;
    double weight = 0;
    int best = 0;
    FAASM_REDUCE(total, FAASM_TYPE_LONG, FAASM_OP_SUM)
    FAASM_REDUCE(weight, FAASM_TYPE_DOUBLE, FAASM_OP_SUM)
    FAASM_REDUCE(best, FAASM_TYPE_INT, FAASM_OP_MAX)
#pragma omp parallel
    {
        int t = omp_get_thread_num();
#pragma omp critical
        {
            total += t + 1;
            weight += 0.25;
            if (t * 3 > best) best = t * 3;
        }
    }
    CHECK(total == nth * (nth + 1) / 2, "total %ld", total);
    CHECK(weight == 0.25 * nth, "weight %f", weight);
    CHECK(best == 3 * (nth - 1), "best %d", best);
    printf("faasm_reduce: %d threads, %d failures\n", nth, failures);
    return failures;
}
