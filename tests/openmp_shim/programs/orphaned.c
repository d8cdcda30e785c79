/* Orphaned constructs (in functions called inside and outside regions) and OMP_SCHEDULE. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

#define N 97
static int hits[N];
static int single_runs;

static void share_out(void) {
#pragma omp for schedule(runtime)
    for (int i = 0; i < N; i++) hits[i]++;
#pragma omp single
    single_runs++;
#pragma omp barrier
}

int main(void) {
    int nth = omp_get_max_threads();
    omp_sched_t kind;
    int chunk;
    omp_get_schedule(&kind, &chunk);
    const char *wanted = getenv("OMP_SCHEDULE");
    if (wanted && strcmp(wanted, "dynamic,3") == 0) CHECK(kind == omp_sched_dynamic && chunk == 3, "OMP_SCHEDULE");
    share_out();  /* outside any region: the initial thread does everything */
    for (int i = 0; i < N; i++) CHECK(hits[i] == 1, "serial: %d ran %d times", i, hits[i]);
    CHECK(single_runs == 1, "serial single ran %d times", single_runs);
#pragma omp parallel
    share_out();
    for (int i = 0; i < N; i++) CHECK(hits[i] == 2, "parallel: %d ran %d times", i, hits[i]);
    CHECK(single_runs == 2, "single ran %d times in all", single_runs);
    printf("orphaned: %d threads, %d failures\n", nth, failures);
    return failures;
}
