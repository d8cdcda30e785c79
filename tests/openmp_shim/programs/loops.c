/* Worksharing loops: every schedule, every loop variable width, each iteration exactly once. */
#include <omp.h>
#include <string.h>
#include "check.h"

#define N 203
static int hits[N];
static int owner[N];

static void reset(void) { memset(hits, 0, sizeof hits); memset(owner, -1, sizeof owner); }

static void expect_once(const char *what) {
    for (int i = 0; i < N; i++) CHECK(hits[i] == 1, "%s: iteration %d ran %d times", what, i, hits[i]);
}

int main(void) {
    int nth = omp_get_max_threads();
    reset();
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) { hits[i]++; owner[i] = omp_get_thread_num(); }
    expect_once("static");
    /* schedule(static): contiguous, balanced blocks, lower threads get the extras (as libomp) */
    int small = N / nth, extras = N % nth, i0 = 0;
    for (int t = 0; t < nth; t++) {
        int count = small + (t < extras);
        for (int i = i0; i < i0 + count; i++) CHECK(owner[i] == t, "static: %d owned by %d not %d", i, owner[i], t);
        i0 += count;
    }
    reset();
#pragma omp parallel for schedule(static, 5)
    for (int i = 0; i < N; i++) { hits[i]++; owner[i] = omp_get_thread_num(); }
    expect_once("static,5");
    for (int i = 0; i < N; i++) CHECK(owner[i] == (i / 5) % nth, "static,5: %d owned by %d", i, owner[i]);
    reset();
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < N; i++) hits[i]++;
    expect_once("dynamic");
    reset();
#pragma omp parallel for schedule(dynamic, 7)
    for (int i = 0; i < N; i++) hits[i]++;
    expect_once("dynamic,7");
    reset();
#pragma omp parallel for schedule(guided, 3)
    for (int i = 0; i < N; i++) hits[i]++;
    expect_once("guided,3");
    reset();
#pragma omp parallel for schedule(auto)
    for (int i = 0; i < N; i++) hits[i]++;
    expect_once("auto");
    const omp_sched_t kinds[] = {omp_sched_static, omp_sched_dynamic, omp_sched_guided, omp_sched_auto};
    for (int k = 0; k < 4; k++) {
        omp_set_schedule(kinds[k], k == 0 ? 0 : 4);
        reset();
#pragma omp parallel for schedule(runtime)
        for (int i = 0; i < N; i++) hits[i]++;
        expect_once("runtime");
    }
    /* unsigned, 64-bit and negative strides */
    reset();
#pragma omp parallel for schedule(static, 4)
    for (unsigned u = 0; u < N; u++) hits[u]++;
    expect_once("unsigned");
    reset();
#pragma omp parallel for schedule(dynamic, 3)
    for (long long v = N - 1; v >= 0; v--) hits[v]++;
    expect_once("64-bit downwards");
    reset();
#pragma omp parallel for schedule(guided)
    for (unsigned long long w = 0; w < N; w++) hits[w]++;
    expect_once("unsigned 64-bit");
    reset();
#pragma omp parallel for schedule(static)
    for (long long v = 0; v < 2 * N; v += 2) hits[v / 2]++;
    expect_once("64-bit step 2");
    reset();
#pragma omp parallel for
    for (int i = N - 1; i >= 0; i -= 1) hits[i]++;
    expect_once("int downwards");
    /* empty loops and fewer iterations than threads */
    int ran = 0;
#pragma omp parallel for reduction(+ : ran)
    for (int i = 5; i < 5; i++) ran++;
    CHECK(ran == 0, "empty loop ran %d", ran);
    reset();
#pragma omp parallel for schedule(static)
    for (int i = 0; i < 2; i++) hits[i]++;
    CHECK(hits[0] == 1 && hits[1] == 1 && hits[2] == 0, "two iterations");
    /* two loops in one region, the first nowait; lastprivate */
    reset();
    int last = -1;
#pragma omp parallel
    {
#pragma omp for nowait schedule(dynamic, 2)
        for (int i = 0; i < N / 2; i++) hits[i]++;
#pragma omp for schedule(static) lastprivate(last)
        for (int i = N / 2; i < N; i++) { hits[i]++; last = i; }
    }
    expect_once("two loops");
    CHECK(last == N - 1, "lastprivate %d", last);
    /* collapse(2) */
    static int grid[9][11];
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int r = 0; r < 9; r++)
        for (int c = 0; c < 11; c++) grid[r][c] += r * 11 + c + 1;
    for (int r = 0; r < 9; r++)
        for (int c = 0; c < 11; c++) CHECK(grid[r][c] == r * 11 + c + 1, "collapse %d,%d", r, c);
    printf("loops: %d threads, %d failures\n", nth, failures);
    return failures;
}
