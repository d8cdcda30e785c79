/* Hello from every thread of an OpenMP team. */
#include <omp.h>
#include <stdio.h>

int main(void) {
    int team = 0;
#pragma omp parallel
    {
        printf("Hello from thread %d of %d\n", omp_get_thread_num(), omp_get_num_threads());
#pragma omp single
        team = omp_get_num_threads();
    }
    printf("team of %d\n", team);
    return team == omp_get_max_threads() ? 0 : 1;
}
