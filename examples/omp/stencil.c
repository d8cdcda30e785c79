/* 2-D Jacobi 5-point stencil, hot top edge.  Usage: stencil [n] [iterations] [verify] */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sweep(const double *in, double *out, int n, int parallel) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int i = 1; i < n - 1; i++)
        for (int j = 1; j < n - 1; j++)
            out[i * n + j] = 0.25 * (in[(i - 1) * n + j] + in[(i + 1) * n + j] + in[i * n + j - 1] + in[i * n + j + 1]);
}

static double *run(int n, int iterations, int parallel) {
    double *grid = calloc((size_t)n * n, sizeof(double)), *next = calloc((size_t)n * n, sizeof(double));
    for (int j = 0; j < n; j++) grid[j] = next[j] = 1.0;
    for (int t = 0; t < iterations; t++) {
        sweep(grid, next, n, parallel);
        double *swap = grid;
        grid = next;
        next = swap;
    }
    free(next);
    return grid;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 96;
    int iterations = argc > 2 ? atoi(argv[2]) : 40;
    int verify = argc > 3 ? atoi(argv[3]) : 1;
#pragma omp parallel
    (void)omp_get_thread_num(); /* start the team before timing: threads are created at the first region */
    double start = omp_get_wtime();
    double *grid = run(n, iterations, 1);
    double elapsed = omp_get_wtime() - start;
    double sum = 0;
    for (int i = 0; i < n * n; i++) sum += grid[i];
    int bad = 0;
    if (verify) {
        double *serial = run(n, iterations, 0);
        bad = memcmp(serial, grid, sizeof(double) * n * n) != 0;
    }
    printf("sum=%.9f\ntime=%.6f\n", sum, elapsed);
    return bad;
}
