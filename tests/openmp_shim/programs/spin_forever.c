/* Thread 1 never finishes its share; the call's time limit must end the whole team. */
#include <omp.h>

int main(void) {
    volatile int forever = 1;
#pragma omp parallel
    {
        if (omp_get_thread_num() == 1)
            while (forever) {
            }
#pragma omp barrier
    }
    return 0;
}
