/*
 * regions.c: the fork/join kernel of `faabric bench omp`, built both for wasm and natively.
 * Times REGIONS parallel regions that do almost nothing (each thread bumps its own counter), after a
 * warm-up region, and prints "time=SECONDS" for all of them; a region's cost is that over REGIONS.
 *
 *   regions [REGIONS]
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

static volatile int hits[256][16]; /* a cache line per thread */

int main(int argc, char **argv) {
    int regions = argc > 1 ? atoi(argv[1]) : 20000;
#pragma omp parallel
    hits[omp_get_thread_num() & 255][0]++;
    double start = omp_get_wtime();
    for (int r = 0; r < regions; r++) {
#pragma omp parallel
        hits[omp_get_thread_num() & 255][0]++;
    }
    double elapsed = omp_get_wtime() - start;
    int total = 0;
    for (int t = 0; t < 256; t++) total += hits[t][0];
    int expected = (regions + 1) * omp_get_max_threads();
    printf("regions=%d hits=%d\ntime=%.6f\n", regions, total, elapsed);
    return total != expected;
}
