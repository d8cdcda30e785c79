/* malloc/free/realloc inside parallel regions, growing the heap while threads run.
   With the argument "big", only: after a region, report whether an 8 MiB malloc succeeded. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "big") == 0) {
#pragma omp parallel
        (void)omp_get_thread_num(); /* the team's memory is shared from here on */
        char *volatile big = malloc(8 << 20); /* volatile: else the unused allocation is optimised away */
        printf("big: %s\n", big ? "allocated" : "null");
        return 0;
    }
    int nth = omp_get_max_threads();
    int bad[64] = {0};
    char *kept[64] = {0};
#pragma omp parallel
    {
        int t = omp_get_thread_num();
        for (int round = 0; round < 50; round++) {
            size_t size = 64 + (size_t)((round * 37 + t * 11) % 4000);
            unsigned char *p = malloc(size);
            memset(p, t + 1, size);
            p = realloc(p, size * 2);
            for (size_t i = 0; i < size; i++) bad[t] += p[i] != t + 1;
            free(p);
        }
        kept[t] = calloc(1, 256 * 1024);  /* big: grows memory while other threads use it */
        memset(kept[t], t + 1, 256 * 1024);
    }
    for (int t = 0; t < nth; t++) {
        CHECK(bad[t] == 0, "thread %d saw %d corrupted bytes", t, bad[t]);
        CHECK(kept[t] && kept[t][0] == t + 1 && kept[t][256 * 1024 - 1] == t + 1, "thread %d's block", t);
        for (int u = 0; u < t; u++) CHECK(kept[t] != kept[u], "threads %d and %d got the same block", t, u);
        free(kept[t]);
    }
    char *after = malloc(1 << 20);
    CHECK(after != NULL, "malloc after the region");
    printf("heap: %d threads, %d failures\n", nth, failures);
    return failures;
}
