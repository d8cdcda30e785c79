/*
 * reduction.c: each rank owns a slice of 1..N; the global sum, minimum and
 * maximum come from MPI_Allreduce, and where the largest square sits from
 * MPI_MAXLOC on a (double, int) pair.
 *
 * Run: faabric run -n 4 examples/mpi/reduction.c 1000
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = argc > 1 ? atol(argv[1]) : 1000;

    long first = 1 + n * rank / size;
    long last = n * (rank + 1) / size;
    long long sum = 0;
    long min = n + 1, max = 0;
    for (long i = first; i <= last; i++) {
        sum += i;
        min = i < min ? i : min;
        max = i > max ? i : max;
    }

    long long total;
    long global_min, global_max;
    MPI_Allreduce(&sum, &total, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&min, &global_min, 1, MPI_LONG, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&max, &global_max, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);

    struct { double value; int rank; } mine = { (double)max * (double)max, rank }, best;
    MPI_Allreduce(&mine, &best, 1, MPI_DOUBLE_INT, MPI_MAXLOC, MPI_COMM_WORLD);

    if (rank == 0) {
        printf("sum %lld min %ld max %ld\n", total, global_min, global_max);
        printf("largest square %.0f on rank %d\n", best.value, best.rank);
    }
    MPI_Finalize();
    return total == (long long)n * (n + 1) / 2 ? 0 : 1;
}
