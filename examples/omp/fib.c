/* Task-parallel Fibonacci: two tasks per call above a cutoff.  Usage: fib [n] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

static long fib(int n) {
    if (n < 2) return n;
    if (n < 12) return fib(n - 1) + fib(n - 2);
    long a, b;
#pragma omp task shared(a)
    a = fib(n - 1);
#pragma omp task shared(b)
    b = fib(n - 2);
#pragma omp taskwait
    return a + b;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 24;
    long result = 0;
#pragma omp parallel
    (void)omp_get_thread_num(); /* start the team before timing: threads are created at the first region */
    double start = omp_get_wtime();
#pragma omp parallel
#pragma omp single
    result = fib(n);
    double elapsed = omp_get_wtime() - start;
    long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        long next = a + b;
        a = b;
        b = next;
    }
    printf("fib(%d)=%ld\ntime=%.6f\n", n, result, elapsed);
    return result == a ? 0 : 1;
}
