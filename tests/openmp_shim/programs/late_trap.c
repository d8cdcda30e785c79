/* Thread 1 traps in the 50th of a run of regions, while the others wait at a barrier. */
#include <omp.h>

int main(void) {
    volatile int sink = 0;
    for (int r = 0; r < 60; r++) {
#pragma omp parallel
        {
            if (r == 50 && omp_get_thread_num() == 1) __builtin_trap();
            sink += 1;
#pragma omp barrier
        }
    }
    return 0;
}
