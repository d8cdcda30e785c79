/* Tasks: task, taskwait, taskgroup, taskloop, firstprivate, dependences, recursive Fibonacci; with shared
 * memory and more than one thread, tasks that other threads run while their creator goes on. */
#include <omp.h>
#include <stdlib.h>
#include "check.h"

static void spin(double seconds) {
    double until = omp_get_wtime() + seconds;
    while (omp_get_wtime() < until) {}
}

/* A task the creator does not wait for at a scheduling point: another thread of the team runs it (one
 * polling at the barrier, or, after `pause`, one that had blocked there). */
static void deferred(double pause, const char *what) {
    int creator = -1, ran_on = -1;
#pragma omp parallel shared(creator, ran_on)
#pragma omp single
    {
        creator = omp_get_thread_num();
        spin(pause);
#pragma omp task shared(ran_on)
        __atomic_store_n(&ran_on, omp_get_thread_num(), __ATOMIC_SEQ_CST);
        double deadline = omp_get_wtime() + 5;
        while (__atomic_load_n(&ran_on, __ATOMIC_SEQ_CST) < 0 && omp_get_wtime() < deadline) {}
    }
    CHECK(ran_on >= 0 && ran_on != creator, "%s: the task created by thread %d ran on %d", what, creator, ran_on);
}

static long fib(int n) {
    if (n < 2) return n;
    long a, b;
#pragma omp task shared(a) firstprivate(n)
    a = fib(n - 1);
#pragma omp task shared(b) firstprivate(n)
    b = fib(n - 2);
#pragma omp taskwait
    return a + b;
}

/* Set `*mine`, then wait (at most 5 s) for `*other`: whether the two tasks ran at the same time. */
static int meet(int *mine, int *other) {
    __atomic_store_n(mine, 1, __ATOMIC_SEQ_CST);
    double deadline = omp_get_wtime() + 5;
    while (!__atomic_load_n(other, __ATOMIC_SEQ_CST) && omp_get_wtime() < deadline) {}
    return __atomic_load_n(other, __ATOMIC_SEQ_CST);
}

/* Tasks with dependences on other addresses, or that only read, run at the same time; writers wait. */
static void parallel_dependences(void) {
    int a = 0, b = 0, x = 0, met_a = 0, met_b = 0, in1 = 0, in2 = 0, readers_met = 0, writer_saw = -1;
    int seq = 0, order[4] = {0};
#pragma omp parallel
#pragma omp single
    {
#pragma omp task depend(out : a) shared(a, b, met_a)
        met_a = meet(&a, &b);
#pragma omp task depend(out : b) shared(a, b, met_b)
        met_b = meet(&b, &a);
#pragma omp task depend(in : x) shared(in1, in2, readers_met)
        __atomic_add_fetch(&readers_met, meet(&in1, &in2), __ATOMIC_SEQ_CST);
#pragma omp task depend(in : x) shared(in1, in2, readers_met)
        __atomic_add_fetch(&readers_met, meet(&in2, &in1), __ATOMIC_SEQ_CST);
#pragma omp task depend(out : x) shared(readers_met, writer_saw)
        writer_saw = __atomic_load_n(&readers_met, __ATOMIC_SEQ_CST);
        /* a diamond: first -> (left, right) -> last */
#pragma omp task depend(out : a) shared(seq, order)
        order[0] = __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
#pragma omp task depend(in : a) depend(out : b) shared(seq, order)
        order[1] = __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
#pragma omp task depend(in : a) depend(out : x) shared(seq, order)
        order[2] = __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
#pragma omp task depend(in : b, x) shared(seq, order)
        order[3] = __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
    }
    CHECK(met_a && met_b, "tasks depending on different addresses did not run at the same time");
    int halves[2] = {0, 0}, halves_met[2] = {0, 0};
#pragma omp parallel
#pragma omp single
#pragma omp taskloop num_tasks(2) shared(halves, halves_met)
    for (int i = 0; i < 2; i++) halves_met[i] = meet(&halves[i], &halves[1 - i]);
    CHECK(halves_met[0] && halves_met[1], "the two chunks of a taskloop did not run at the same time");
    CHECK(readers_met == 2, "two readers of one address did not run at the same time");
    CHECK(writer_saw == 2, "a writer ran before the readers before it finished (%d)", writer_saw);
    CHECK(order[0] == 1 && order[3] == 4 && order[1] > 1 && order[2] > 1, "diamond order %d %d %d %d", order[0],
          order[1], order[2], order[3]);
}

int main(void) {
    long result = 0;
    int done[32] = {0}, order[3] = {0}, position = 0, grouped = 0, looped[50] = {0}, last = -1, odd[40] = {0};
    int ungrouped[30] = {0}, finals[4] = {0, 0, 0, 1};
#pragma omp parallel
    {
#pragma omp single
        {
            result = fib(20);
            for (int i = 0; i < 32; i++) {
#pragma omp task firstprivate(i)
                done[i] = i + 1;
            }
#pragma omp taskwait
            int x = 0;
#pragma omp task depend(out : x) shared(x, order, position)
            { x = 1; order[position++] = 1; }
#pragma omp task depend(inout : x) shared(x, order, position)
            { x *= 10; order[position++] = 2; }
#pragma omp task depend(in : x) shared(x, order, position)
            { order[position++] = x == 10 ? 3 : -1; }
#pragma omp taskwait
#pragma omp taskloop grainsize(7)
            for (int i = 0; i < 50; i++) looped[i] += i;
            int fp = 5;
#pragma omp taskloop lastprivate(last) firstprivate(fp) grainsize(3)
            for (int i = 0; i < 20; i++) last = i + fp;
#pragma omp taskloop grainsize(4)
            for (int i = 39; i >= 0; i -= 2) odd[i]++;
#pragma omp taskloop nogroup num_tasks(5)
            for (long i = 0; i < 30; i++) ungrouped[i] = (int)i + 1;
#pragma omp taskwait
#pragma omp taskgroup
            {
#pragma omp task shared(grouped)
                grouped = 7;
            }
#pragma omp task final(1) shared(finals)
            {
                finals[0] = omp_in_final();
#pragma omp task shared(finals) /* included: run at once, and final too */
                finals[1] = omp_in_final() && finals[2] == 0;
                finals[2] = 1;
            }
#pragma omp taskwait
            finals[3] = omp_in_final();
        }
    }
    /* every thread posts tasks and nobody waits for them: they are all done by the end of the region */
    static char posted[8][50]; /* by creator and task (snapshot mode merges each thread's own bytes) */
#pragma omp parallel
    {
        int creator = omp_get_thread_num();
        for (int i = 0; i < 50; i++) {
#pragma omp task firstprivate(creator, i)
            posted[creator][i] = 1;
        }
    }
    int ran = 0;
    for (int t = 0; t < 8; t++)
        for (int i = 0; i < 50; i++) ran += posted[t][i];
    CHECK(ran == 50 * omp_get_max_threads(), "%d of %d unawaited tasks ran", ran, 50 * omp_get_max_threads());
    /* a taskgroup waits for its tasks' descendants too */
    int grandchild = 0;
#pragma omp parallel shared(grandchild)
#pragma omp single
    {
#pragma omp taskgroup
        {
#pragma omp task shared(grandchild)
            {
#pragma omp task shared(grandchild)
                {
                    spin(0.01);
                    __atomic_store_n(&grandchild, 1, __ATOMIC_SEQ_CST);
                }
            }
        }
        CHECK(__atomic_load_n(&grandchild, __ATOMIC_SEQ_CST) == 1, "taskgroup ended before a grandchild task");
    }
    if (omp_get_max_threads() > 1 && !getenv("OMP_TEST_SNAPSHOT")) {
        deferred(0, "a task posted at once");
        deferred(0.3, "a task posted once the others blocked");
        parallel_dependences();
    }
    CHECK(result == 6765, "fib(20) = %ld", result);
    for (int i = 0; i < 32; i++) CHECK(done[i] == i + 1, "task %d", i);
    CHECK(order[0] == 1 && order[1] == 2 && order[2] == 3, "dependences %d %d %d", order[0], order[1], order[2]);
    CHECK(grouped == 7, "taskgroup");
    for (int i = 0; i < 50; i++) CHECK(looped[i] == i, "taskloop iteration %d", i);
    CHECK(last == 24, "taskloop lastprivate: %d", last);
    CHECK(finals[0] && finals[1] && finals[2] && !finals[3], "final tasks: %d %d %d %d", finals[0], finals[1],
          finals[2], finals[3]);
    for (int i = 0; i < 40; i++) CHECK(odd[i] == i % 2, "taskloop with a negative step, iteration %d ran %d times", i, odd[i]);
    for (int i = 0; i < 30; i++) CHECK(ungrouped[i] == i + 1, "nogroup taskloop iteration %d", i);
    printf("tasks: %d threads, %d failures\n", omp_get_max_threads(), failures);
    return failures;
}
