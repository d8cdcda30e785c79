/* threadprivate variables: one copy per thread, copyin, and values kept between regions. */
#include <omp.h>
#include "check.h"

static int counter = 100;
static double scale[4] = {1, 2, 3, 4};
#pragma omp threadprivate(counter, scale)

int main(void) {
    int nth = omp_get_max_threads();
    int first[64] = {0}, second[64] = {0}, initial[64] = {0};
    counter = 7;
#pragma omp parallel copyin(counter)
    {
        int t = omp_get_thread_num();
        first[t] = counter;
        initial[t] = (int)scale[3];
        counter += t;
        scale[0] = t;
#pragma omp barrier
        CHECK(counter == 7 + t && scale[0] == t, "thread %d sees another thread's copy", t);
    }
#pragma omp parallel
    {
        int t = omp_get_thread_num();
        second[t] = counter * 10 + (int)scale[0];
    }
    for (int t = 0; t < nth; t++) {
        CHECK(first[t] == 7, "copyin gave thread %d %d", t, first[t]);
        CHECK(initial[t] == 4, "thread %d's copy did not start from the initial value", t);
        CHECK(second[t] == (7 + t) * 10 + t, "thread %d's value was not kept: %d", t, second[t]);
    }
    CHECK(counter == 7, "the initial thread's copy is %d", counter);
    printf("threadprivate: %d threads, %d failures\n", nth, failures);
    return failures;
}
