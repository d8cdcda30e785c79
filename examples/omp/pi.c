/* pi by integrating 4/(1+x^2) over [0,1], with a reduction.  Usage: pi [steps] [verify] */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long steps = argc > 1 ? atol(argv[1]) : 2000000;
    double step = 1.0 / (double)steps, sum = 0.0;
#pragma omp parallel
    (void)omp_get_thread_num(); /* start the team before timing: threads are created at the first region */
    double start = omp_get_wtime();
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (long i = 0; i < steps; i++) {
        double x = (i + 0.5) * step;
        sum += 4.0 / (1.0 + x * x);
    }
    double pi = step * sum;
    printf("pi=%.10f\ntime=%.6f\n", pi, omp_get_wtime() - start);
    return fabs(pi - 3.14159265358979) < 1e-6 ? 0 : 1;
}
