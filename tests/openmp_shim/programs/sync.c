/* Synchronisation under real parallelism: barrier, critical, atomics, locks, master, single, ordered. */
#include <omp.h>
#include <stdatomic.h>
#include "check.h"

#define MAX 64
#define REPS 200

int main(void) {
    int nth = omp_get_max_threads();
    int phase[MAX] = {0}, seen_all[MAX] = {0};
    int counter = 0, named = 0, atomic_count = 0, masters = 0, singles = 0, masked_by = -1;
    long long big = 0;
    double fsum = 0;
    long double wide = 0;  /* 16 bytes: clang calls __atomic_compare_exchange */
    _Complex double z = 0;
    _Atomic int c11 = 0;
    omp_lock_t lock;
    omp_nest_lock_t nest;
    int locked = 0, nested_depth_ok = 1, tested = 0;
    omp_init_lock(&lock);
    omp_init_nest_lock(&nest);
#pragma omp parallel
    {
        int t = omp_get_thread_num();
        for (int round = 1; round <= 3; round++) {
            phase[t] = round;
#pragma omp barrier
            int all = 1;
            for (int u = 0; u < nth; u++) all &= phase[u] == round;
            seen_all[t] += all;
#pragma omp barrier
        }
        for (int i = 0; i < REPS; i++) {
#pragma omp critical
            counter++;
#pragma omp critical(other)
            named += 2;
#pragma omp atomic
            atomic_count++;
#pragma omp atomic
            big += 3;
#pragma omp atomic
            fsum += 0.5;
#pragma omp atomic
            wide += 1.0L;
#pragma omp atomic
            z += 2.0;
            atomic_fetch_add(&c11, 1);
            omp_set_lock(&lock);
            locked++;
            omp_unset_lock(&lock);
            omp_set_nest_lock(&nest);
            if (omp_test_nest_lock(&nest) != 2) nested_depth_ok = 0;
            omp_unset_nest_lock(&nest);
            omp_unset_nest_lock(&nest);
        }
        if (omp_test_lock(&lock)) {
#pragma omp atomic
            tested++;
            omp_unset_lock(&lock);
        }
#pragma omp master
        masters++;
#pragma omp masked filter(1)
        masked_by = omp_get_thread_num();
        for (int s = 0; s < 5; s++) {
#pragma omp single
            singles++;
        }
        int mine = 0;
#pragma omp single copyprivate(mine)
        mine = 4242;
        CHECK(mine == 4242, "copyprivate gave %d to thread %d", mine, t);
    }
    int total = nth * REPS;
    for (int t = 0; t < nth; t++) CHECK(seen_all[t] == 3, "thread %d saw the barrier rounds %d times", t, seen_all[t]);
    CHECK(counter == total, "critical: %d of %d", counter, total);
    CHECK(named == 2 * total, "named critical: %d", named);
    CHECK(atomic_count == total, "atomic: %d of %d", atomic_count, total);
    CHECK(big == 3LL * total, "atomic long long: %lld", big);
    CHECK(fsum == 0.5 * total, "atomic double: %g", fsum);
    CHECK(wide == (long double)total, "atomic long double: %g", (double)wide);
    CHECK(__real__ z == 2.0 * total, "atomic complex: %g", __real__ z);
    CHECK(c11 == total, "C11 atomic: %d", (int)c11);
    CHECK(locked == total, "lock: %d", locked);
    CHECK(nested_depth_ok, "nest lock depth");
    CHECK(tested >= 1, "test_lock never succeeded");
    CHECK(masters == 1, "master ran %d times", masters);
    CHECK(masked_by == (nth > 1 ? 1 : -1), "masked filter(1) ran on %d", masked_by);
    CHECK(singles == 5, "single ran %d times", singles);
    omp_destroy_lock(&lock);
    omp_destroy_nest_lock(&nest);

    /* ordered: the ordered part runs in iteration order */
    int order[100], next = 0;
#pragma omp parallel for ordered schedule(dynamic, 3)
    for (int i = 0; i < 100; i++) {
        volatile int work = i * 7;
        (void)work;
#pragma omp ordered
        order[next++] = i;
    }
    for (int i = 0; i < 100; i++) CHECK(order[i] == i, "ordered: position %d has %d", i, order[i]);
    /* an ordered loop where only some iterations have an ordered part */
    next = 0;
#pragma omp parallel for ordered schedule(static)
    for (int i = 0; i < 40; i++) {
        if (i % 3 == 0) {
#pragma omp ordered
            order[next++] = i;
        }
    }
    for (int i = 0; i < next; i++) CHECK(order[i] == 3 * i, "sparse ordered: %d has %d", i, order[i]);
    CHECK(next == 14, "sparse ordered ran %d", next);
    /* flush */
    int flag = 0, data = 0;
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 0) {
            data = 42;
#pragma omp flush
#pragma omp atomic write
            flag = 1;
        } else {
            int ready = 0;
            while (!ready) {
#pragma omp atomic read
                ready = flag;
            }
#pragma omp flush
            CHECK(data == 42, "flush: saw %d", data);
        }
    }
    printf("sync: %d threads, %d failures\n", nth, failures);
    return failures;
}
