/* Dense matrix multiply C = A x B, rows shared out between threads.  Usage: matmul [n] [verify] */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 96;
    int verify = argc > 2 ? atoi(argv[2]) : 1;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n);
    double *c = calloc((size_t)n * n, sizeof(double));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            a[i * n + j] = (i + 2 * j) % 7 - 3;
            b[i * n + j] = (3 * i - j) % 5 + 1;
        }
#pragma omp parallel
    (void)omp_get_thread_num(); /* start the team before timing: threads are created at the first region */
    double start = omp_get_wtime();
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
        }
    double elapsed = omp_get_wtime() - start;
    double checksum = 0;
    for (int i = 0; i < n * n; i++) checksum += c[i];
    int bad = 0;
    if (verify)
        for (int i = 0; i < n; i += 7)
            for (int j = 0; j < n; j += 5) {
                double expect = 0;
                for (int k = 0; k < n; k++) expect += a[i * n + k] * b[k * n + j];
                bad += fabs(expect - c[i * n + j]) > 1e-9;
            }
    printf("checksum=%.1f\ntime=%.6f\n", checksum, elapsed);
    return bad ? 1 : 0;
}
