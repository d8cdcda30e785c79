/* Runs of regions of one team size, which the guest starts without the host after the first: each
 * region's worksharing bookkeeping is fresh, the OpenMP API answers as in any region, team sizes change
 * through num_threads, omp_set_num_threads and omp_set_max_active_levels, and what the threads print comes before what the
 * initial thread prints after the join.  Usage: guest_forks [regions per run] */
#include <omp.h>
#include <stdlib.h>
#include "check.h"

/* One thread's part of region r of a run whose teams have `size` threads. */
static void part(int r, int size, const char *name, int *singles, int *sum, int *in_team) {
    int mine = 0, copied = 0;
    if (omp_get_num_threads() == size && omp_in_parallel() == (size > 1) && omp_get_level() == 1 &&
        omp_get_thread_num() < size && omp_get_ancestor_thread_num(0) == 0) {
#pragma omp atomic
        (*in_team)++;
    }
#pragma omp single
    (*singles)++;
#pragma omp single copyprivate(copied)
    copied = 100 + r;
    CHECK(copied == 100 + r, "%s region %d: copyprivate gave %d", name, r, copied);
#pragma omp for schedule(dynamic, 3)
    for (int i = 0; i < 100; i++) mine += i;
#pragma omp critical
    *sum += mine;
    int nested_level = 0;
#pragma omp parallel
    nested_level = omp_get_level() * 10 + omp_get_num_threads();
    CHECK(nested_level == 21, "%s region %d: a nested region saw level/size %d", name, r, nested_level);
    if (r % 50 == 0) { /* (flushed: each line leaves on its own thread's write) */
        printf("%s region %d thread %d\n", name, r, omp_get_thread_num());
        fflush(stdout);
    }
}

/* `regions` regions whose teams should have `size` threads, asked for with num_threads(clause) (0: none). */
static void run(int regions, int size, int clause, const char *name) {
    for (int r = 0; r < regions; r++) {
        int singles = 0, sum = 0, in_team = 0;
        if (clause) {
#pragma omp parallel num_threads(clause)
            part(r, size, name, &singles, &sum, &in_team);
        } else {
#pragma omp parallel
            part(r, size, name, &singles, &sum, &in_team);
        }
        CHECK(singles == 1, "%s region %d: %d threads ran the single", name, r, singles);
        CHECK(sum == 4950, "%s region %d: the dynamic loop summed %d", name, r, sum);
        CHECK(in_team == size, "%s region %d: %d of %d threads saw their team", name, r, in_team, size);
        CHECK(omp_get_num_threads() == 1 && omp_get_thread_num() == 0 && !omp_in_parallel() && omp_get_level() == 0,
              "%s region %d: the initial thread does not see itself outside the region", name, r);
        if (r % 50 == 0) {
            printf("%s after region %d\n", name, r);
            fflush(stdout);
        }
    }
}

int main(int argc, char **argv) {
    int regions = argc > 1 ? atoi(argv[1]) : 120;
    int nth = omp_get_max_threads();
    run(regions, nth, 0, "default");
    run(regions, 2, 2, "clause2");
    run(regions, nth, 0, "default-again");
    omp_set_num_threads(3);
    run(regions, 3, 0, "set3");
    omp_set_max_active_levels(0); /* every region inactive: a team of one */
    run(regions, 1, 3, "inactive");
    omp_set_max_active_levels(1);
    run(regions, 3, 0, "set3-again");
    printf("guest_forks: %d threads, %d failures\n", nth, failures);
    return failures;
}
