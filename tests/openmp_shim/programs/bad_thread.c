/* Bad input inside a team: thread 1 unlocks a lock it does not hold (or traps) while the others wait. */
#include <omp.h>
#include <string.h>

int main(int argc, char **argv) {
    int trap = argc > 1 && strcmp(argv[1], "trap") == 0;
    omp_lock_t lock;
    omp_init_lock(&lock);
#pragma omp parallel
    {
        if (omp_get_thread_num() == 1) {
            if (trap) __builtin_trap();
            omp_unset_lock(&lock);
        }
#pragma omp barrier
    }
    return 0;
}
