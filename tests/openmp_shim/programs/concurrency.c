/* True parallelism: every thread waits (spinning on an atomic) until all have arrived, with no
 * OpenMP synchronisation. Threads run one after another would never all arrive. */
#include <omp.h>
#include "check.h"

int main(void) {
    int arrived = 0, timed_out = 0;
#pragma omp parallel
    {
        __atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
        double start = omp_get_wtime();
        while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < omp_get_num_threads()) {
            if (omp_get_wtime() - start > 10) {
                __atomic_fetch_add(&timed_out, 1, __ATOMIC_SEQ_CST);
                break;
            }
        }
    }
    CHECK(timed_out == 0, "%d threads never saw the others arrive", timed_out);
    printf("concurrency: %d threads, %d failures\n", omp_get_max_threads(), failures);
    return failures;
}
