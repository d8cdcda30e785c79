/* Reduction clauses: every operator, several types, several variables, custom reductions. */
#include <omp.h>
#include <stdlib.h>
#include "check.h"

typedef struct { int lo, hi; } range;
#pragma omp declare reduction(span : range : omp_out.lo = omp_in.lo < omp_out.lo ? omp_in.lo : omp_out.lo, \
                                                 omp_out.hi = omp_in.hi > omp_out.hi ? omp_in.hi : omp_out.hi) \
    initializer(omp_priv = (range){1 << 30, -(1 << 30)})

#define N 1000

int main(void) {
    int nth = omp_get_max_threads();
    int isum = 0, imax = -1, imin = 1 << 30, band = ~0, bor = 0, bxor = 0, land = 1, lor = 0, isub = 100;
    long long lsum = 0, lprod = 1;
    double dsum = 0, dprod = 1, dmax = -1e300;
    float fsum = 0;
    range r = {1 << 30, -(1 << 30)};
#pragma omp parallel for reduction(+ : isum, lsum, dsum, fsum) reduction(max : imax, dmax) reduction(min : imin) \
    reduction(& : band) reduction(| : bor) reduction(^ : bxor) reduction(&& : land) reduction(|| : lor) \
    reduction(- : isub) reduction(span : r)
    for (int i = 1; i <= N; i++) {
        isum += i;
        lsum += (long long)i * 1000000;
        dsum += i * 0.5;
        fsum += 1.0f;
        if (i > imax) imax = i;
        if (i * 1.5 > dmax) dmax = i * 1.5;
        if (i < imin) imin = i;
        band &= ~(1 << (i % 8));
        bor |= 1 << (i % 8);
        bxor ^= i;
        land = land && (i > 0);
        lor = lor || (i == 500);
        isub -= 1;
        if (i < r.lo) r.lo = i;
        if (i > r.hi) r.hi = i;
    }
    int expect_xor = 0;
    for (int i = 1; i <= N; i++) expect_xor ^= i;
    CHECK(isum == N * (N + 1) / 2, "int sum %d", isum);
    CHECK(lsum == (long long)N * (N + 1) / 2 * 1000000, "long long sum %lld", lsum);
    CHECK(dsum == N * (N + 1) / 4.0, "double sum %f", dsum);
    CHECK(fsum == (float)N, "float sum %f", fsum);
    CHECK(imax == N && imin == 1 && dmax == N * 1.5, "max/min %d %d %f", imax, imin, dmax);
    CHECK(band == ~0xFF, "and %x", band);
    CHECK(bor == 0xFF, "or %x", bor);
    CHECK(bxor == expect_xor, "xor %d", bxor);
    CHECK(land == 1 && lor == 1, "logical %d %d", land, lor);
    CHECK(isub == 100 - N, "minus %d", isub);
    CHECK(r.lo == 1 && r.hi == N, "custom %d %d", r.lo, r.hi);

    /* products, and a blocking reduction (worksharing loop inside a region, no nowait) */
#pragma omp parallel
    {
#pragma omp for reduction(* : lprod, dprod)
        for (int i = 1; i <= 20; i++) {
            lprod *= i;
            dprod *= 2.0;
        }
        /* after the implicit barrier every thread sees the result (with shared memory) */
        if (!getenv("OMP_TEST_SNAPSHOT")) CHECK(lprod == 2432902008176640000LL, "product %lld seen by %d", lprod, omp_get_thread_num());
    }
    CHECK(dprod == 1048576.0, "double product %f", dprod);

    /* a reduction over the threads themselves */
    int count = 0;
#pragma omp parallel reduction(+ : count)
    count += omp_get_thread_num() + 1;
    CHECK(count == nth * (nth + 1) / 2, "reduce over threads %d", count);
    printf("reductions: %d threads, %d failures\n", nth, failures);
    return failures;
}
