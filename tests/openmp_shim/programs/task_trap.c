/* One of many deferred tasks traps, wherever it runs, while the others keep the team busy. */
#include <omp.h>

int main(void) {
    volatile int sink = 0;
#pragma omp parallel
#pragma omp single
    for (int i = 0; i < 64; i++) {
#pragma omp task shared(sink) firstprivate(i)
        {
            if (i == 40) __builtin_trap();
            for (int k = 0; k < 100000; k++) sink += k;
        }
    }
    return 0;
}
