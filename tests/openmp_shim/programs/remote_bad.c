/* Constructs a thread on another host cannot run (argv[1] picks one), or a trap in the last thread. */
#include <omp.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    int sink = 0;
#pragma omp parallel
    {
        if (strcmp(what, "barrier") == 0) {
#pragma omp barrier
        } else if (strcmp(what, "dynamic") == 0) {
#pragma omp for schedule(dynamic) nowait
            for (int i = 0; i < 100; i++) sink += i;
        } else if (strcmp(what, "trap") == 0 && omp_get_thread_num() == omp_get_num_threads() - 1) {
            __builtin_trap();
        }
    }
    return sink < 0;
}
