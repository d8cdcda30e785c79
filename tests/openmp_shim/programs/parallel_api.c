/* Parallel regions and the omp_* API: team sizes, thread numbers, levels, ICVs. */
#include <omp.h>
#include "check.h"

#define MAX 64

int main(void) {
    int expected = omp_get_max_threads();
    int ids[MAX] = {0}, sizes[MAX] = {0}, in_par[MAX] = {0}, levels[MAX] = {0};
    int a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, k = 9, l = 10, sums[MAX] = {0};
    CHECK(!omp_in_parallel(), "in parallel outside a region");
    CHECK(omp_get_level() == 0 && omp_get_active_level() == 0, "levels outside a region");
    CHECK(omp_get_num_threads() == 1 && omp_get_thread_num() == 0, "initial thread");
    CHECK(omp_get_num_procs() >= 1, "num procs");
#pragma omp parallel shared(ids, sizes, in_par, levels, sums, a, b, c, d, e, f, g, h, k, l)
    {
        int t = omp_get_thread_num();
        ids[t] = t + 1;
        sizes[t] = omp_get_num_threads();
        in_par[t] = omp_in_parallel();
        levels[t] = omp_get_level() * 10 + omp_get_active_level();
        sums[t] = a + b + c + d + e + f + g + h + k + l;  /* ten shared arguments */
    }
    for (int t = 0; t < expected; t++) {
        CHECK(ids[t] == t + 1, "thread %d did not run", t);
        CHECK(sizes[t] == expected, "thread %d saw team size %d, not %d", t, sizes[t], expected);
        CHECK(in_par[t] == (expected > 1), "thread %d in_parallel %d", t, in_par[t]);
        CHECK(levels[t] == 10 + (expected > 1), "thread %d levels %d", t, levels[t]);
        CHECK(sums[t] == 55, "thread %d read shared args as %d", t, sums[t]);
    }
    CHECK(ids[expected] == 0, "an extra thread ran");

    /* num_threads() beats the ICV; omp_set_num_threads changes the ICV. */
    int counted[MAX] = {0};
#pragma omp parallel num_threads(3)
    counted[omp_get_thread_num()] = omp_get_num_threads();
    CHECK(counted[0] == 3 && counted[1] == 3 && counted[2] == 3 && counted[3] == 0, "num_threads(3)");
    omp_set_num_threads(2);
    CHECK(omp_get_max_threads() == 2, "set_num_threads");
    int two[MAX] = {0};
#pragma omp parallel
    two[omp_get_thread_num()] = omp_get_num_threads();
    CHECK(two[0] == 2 && two[1] == 2 && two[2] == 0, "after omp_set_num_threads(2)");
    omp_set_num_threads(expected);

    /* if(0): a serialized region, a team of one */
    int serial_size = 0, serial_level = 0;
#pragma omp parallel if (0)
    {
        serial_size = omp_get_num_threads();
        serial_level = omp_get_level() * 10 + omp_get_active_level();
    }
    CHECK(serial_size == 1 && serial_level == 10, "if(0) region: size %d level %d", serial_size, serial_level);

    /* nested regions run serialized (max-active-levels is 1) */
    int inner[MAX] = {0}, ancestors[MAX] = {0};
    omp_set_max_active_levels(4);
    CHECK(omp_get_max_active_levels() == 1, "max active levels capped at 1");
#pragma omp parallel
    {
        int outer = omp_get_thread_num();
#pragma omp parallel num_threads(2)
        {
            inner[outer] = omp_get_num_threads() * 100 + omp_get_level() * 10 + omp_get_active_level();
            ancestors[outer] = omp_get_ancestor_thread_num(1) * 100 + omp_get_team_size(1) * 10 +
                               omp_get_ancestor_thread_num(2);
        }
    }
    for (int t = 0; t < expected; t++) {
        if (expected > 1) {
            CHECK(inner[t] == 121, "nested region on %d: %d", t, inner[t]);
            CHECK(ancestors[t] == t * 100 + expected * 10, "ancestors on %d: %d", t, ancestors[t]);
        } else {  /* an inactive outer region leaves room for an active inner one */
            CHECK(inner[t] == 221, "inner region of an inactive one: %d", inner[t]);
            CHECK(ancestors[t] == 10 || ancestors[t] == 11, "ancestors %d", ancestors[t]);
        }
    }

    /* ICVs and timing */
    omp_set_dynamic(1);
    CHECK(omp_get_dynamic() == 1, "dynamic");
    omp_set_dynamic(0);
    omp_set_schedule(omp_sched_dynamic, 7);
    omp_sched_t kind;
    int chunk;
    omp_get_schedule(&kind, &chunk);
    CHECK(kind == omp_sched_dynamic && chunk == 7, "schedule %d,%d", kind, chunk);
    double start = omp_get_wtime();
    volatile double x = 0;
    for (int i = 0; i < 100000; i++) x += i;
    CHECK(omp_get_wtime() >= start, "wtime went backwards");
    CHECK(omp_get_wtick() > 0 && omp_get_wtick() < 1, "wtick %g", omp_get_wtick());
    CHECK(omp_get_thread_limit() >= expected, "thread limit");
    CHECK(omp_get_proc_bind() == omp_proc_bind_false && omp_get_num_places() == 0, "no binding, no places");
    CHECK(omp_get_supported_active_levels() == 1 && !omp_get_cancellation(), "levels, cancellation");
    CHECK(omp_get_num_devices() == 0 && omp_is_initial_device() && omp_get_initial_device() == 0, "devices");
    omp_lock_t hinted;
    omp_init_lock_with_hint(&hinted, omp_sync_hint_contended);
    CHECK(omp_test_lock(&hinted) == 1, "hinted lock");
    omp_unset_lock(&hinted);
    omp_destroy_lock(&hinted);
    printf("parallel_api: %d threads, %d failures\n", expected, failures);
    return failures;
}
