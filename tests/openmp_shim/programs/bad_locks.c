/* Bad input: misusing an OpenMP lock.  Usage: bad_locks deadlock|destroy-held|nest-unheld|uninitialised */
#include <omp.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *misuse = argc > 1 ? argv[1] : "";
    omp_lock_t lock;
    omp_nest_lock_t nest;
    omp_init_lock(&lock);
    omp_init_nest_lock(&nest);
    if (!strcmp(misuse, "deadlock")) {
        omp_set_lock(&lock);
        omp_set_lock(&lock);
    } else if (!strcmp(misuse, "destroy-held")) {
#pragma omp parallel num_threads(2)
        if (omp_get_thread_num() == 1) omp_set_lock(&lock);
        omp_destroy_lock(&lock);
    } else if (!strcmp(misuse, "nest-unheld")) {
        omp_set_nest_lock(&nest);
        omp_unset_nest_lock(&nest);
        omp_unset_nest_lock(&nest);
    } else if (!strcmp(misuse, "uninitialised")) {
        omp_lock_t never;
        memset(&never, 0, sizeof never);
        omp_set_lock(&never);
    }
    return 0;
}
