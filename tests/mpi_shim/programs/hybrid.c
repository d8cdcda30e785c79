/* MPI ranks that each run OpenMP threads (built with -fopenmp). A rank's first fork moves its memory
 * onto a file of its own, so such ranks must not take the shared rings: their messages, before and
 * after the threads ran, must still arrive. */
#include <omp.h>
#include "check.h"

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int next = (me + 1) % size, previous = (me + size - 1) % size;
    for (int phase = 0; phase < 2; phase++) { /* before the first fork, then after it */
        long partial = 0;
        if (phase) {
#pragma omp parallel for reduction(+ : partial) num_threads(2)
            for (int i = 0; i < 1000; i++) partial += i;
            CHECK_EQ(partial, 499500);
        }
        for (int round = 0; round < 20; round++) {
            int out = 1000 * phase + 10 * me + round, in = -1;
            MPI_Sendrecv(&out, 1, MPI_INT, next, round, &in, 1, MPI_INT, previous, round, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
            CHECK_EQ(in, 1000 * phase + 10 * previous + round);
        }
        long total = 0;
        MPI_Allreduce(&partial, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
        CHECK_EQ(total, 499500L * size * phase);
    }
    return finish("hybrid");
}
