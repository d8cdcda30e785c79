/* Tasks: task, taskwait, taskgroup, taskloop, firstprivate, dependences, recursive Fibonacci. */
#include <omp.h>
#include "check.h"

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

int main(void) {
    long result = 0;
    int done[32] = {0}, order[3] = {0}, position = 0, grouped = 0, looped[50] = {0};
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
#pragma omp taskgroup
            {
#pragma omp task shared(grouped)
                grouped = 7;
            }
        }
    }
    CHECK(result == 6765, "fib(20) = %ld", result);
    for (int i = 0; i < 32; i++) CHECK(done[i] == i + 1, "task %d", i);
    CHECK(order[0] == 1 && order[1] == 2 && order[2] == 3, "dependences %d %d %d", order[0], order[1], order[2]);
    CHECK(grouped == 7, "taskgroup");
    for (int i = 0; i < 50; i++) CHECK(looped[i] == i, "taskloop iteration %d", i);
    printf("tasks: %d threads, %d failures\n", omp_get_max_threads(), failures);
    return failures;
}
