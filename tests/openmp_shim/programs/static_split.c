/* The guest's own static loop splitting (shared mode) against the host's, on awkward bounds. */
#include <omp.h>
#include <stdint.h>
#include <string.h>
#include "check.h"

#define HOST(name) __attribute__((import_module("env"), import_name(#name)))
#define DECLARE(SUFFIX, T, S)                                                                              \
    void __kmpc_for_static_init_##SUFFIX(void *, int32_t, int32_t, int32_t *, T *, T *, S *, S, S);        \
    HOST(__faabric_omp_static_init_##SUFFIX)                                                                \
    void host_static_init_##SUFFIX(void *, int32_t, int32_t, int32_t *, T *, T *, S *, S, S);
DECLARE(4, int32_t, int32_t)
DECLARE(4u, uint32_t, int32_t)
DECLARE(8, int64_t, int64_t)
DECLARE(8u, uint64_t, int64_t)

/* One case: the guest's answer must match the host's, bit for bit. */
#define COMPARE(SUFFIX, T, S, LOWER, UPPER, INCR, CHUNK, SCHEDULE)                                           \
    do {                                                                                                     \
        T lo[2] = {(T)(LOWER), (T)(LOWER)}, up[2] = {(T)(UPPER), (T)(UPPER)};                                \
        S st[2] = {0, 0};                                                                                    \
        int32_t last[2] = {-1, -1};                                                                          \
        __kmpc_for_static_init_##SUFFIX(0, 0, SCHEDULE, &last[0], &lo[0], &up[0], &st[0], INCR, CHUNK);      \
        host_static_init_##SUFFIX(0, 0, SCHEDULE, &last[1], &lo[1], &up[1], &st[1], INCR, CHUNK);            \
        CHECK(lo[0] == lo[1] && up[0] == up[1] && st[0] == st[1] && last[0] == last[1],                      \
              "static_init_" #SUFFIX "(%s, %s, %s, %s, %d) on thread %d of %d differs", #LOWER, #UPPER,     \
              #INCR, #CHUNK, SCHEDULE, omp_get_thread_num(), omp_get_num_threads());                        \
    } while (0)

#define BIG ((int64_t)1 << 60)

static void compare_all(void) {
    static const int32_t schedules[] = {34, 33, 34 | (1 << 30), 33 | (1 << 29)};
    for (unsigned s = 0; s < sizeof schedules / sizeof *schedules; s++) {
        int32_t sched = schedules[s];
        for (int32_t chunk = 0; chunk <= 7; chunk += 3) {
            COMPARE(4, int32_t, int32_t, 0, 99, 1, chunk, sched);
            COMPARE(4, int32_t, int32_t, 99, 0, -1, chunk, sched);
            COMPARE(4, int32_t, int32_t, 5, 5, 1, chunk, sched);
            COMPARE(4, int32_t, int32_t, 10, 3, 1, chunk, sched);
            COMPARE(4, int32_t, int32_t, 0, 2, 1, chunk, sched);
            COMPARE(4, int32_t, int32_t, -50, 50, 7, chunk, sched);
            COMPARE(4, int32_t, int32_t, 100, -100, -3, chunk, sched);
            COMPARE(4, int32_t, int32_t, INT32_MIN, INT32_MAX, 1 << 20, chunk, sched);
            COMPARE(4u, uint32_t, int32_t, 4000000000u, 4000000100u, 3, chunk, sched);
            COMPARE(4u, uint32_t, int32_t, 0, UINT32_MAX, 1, chunk, sched);
            COMPARE(4u, uint32_t, int32_t, 4000000100u, 4000000000u, -9, chunk, sched);
            COMPARE(8, int64_t, int64_t, 0, 1000, 13, chunk, sched);
            COMPARE(8, int64_t, int64_t, BIG - 10, BIG, 1, chunk, sched);
            COMPARE(8, int64_t, int64_t, -BIG, BIG, BIG / 3, chunk, sched);
            COMPARE(8, int64_t, int64_t, INT64_MIN + 5, INT64_MAX - 5, 1, chunk, sched); /* (the host's) */
            COMPARE(8, int64_t, int64_t, 3 * BIG, 3 * BIG + 100, 1, chunk, sched);
            COMPARE(8u, uint64_t, int64_t, 0, 77, 2, chunk, sched);
            COMPARE(8u, uint64_t, int64_t, BIG, 0, -5, chunk, sched);
            COMPARE(8u, uint64_t, int64_t, (uint64_t)1 << 63, ((uint64_t)1 << 63) + 10, 1, chunk, sched);
        }
    }
}

int main(void) {
    int nth = omp_get_max_threads();
    compare_all(); /* outside any region */
#pragma omp parallel
    compare_all();
#pragma omp parallel
    {
#pragma omp parallel /* nested: a team of one */
        compare_all();
    }
#pragma omp parallel if (0)
    compare_all();
    printf("static_split: %d threads, %d failures\n", nth, failures);
    return failures;
}
