/*
 * pi.c: pi by the midpoint rule on 4/(1+x^2) over [0, 1], the intervals
 * shared round-robin between ranks and summed with MPI_Reduce.
 *
 * Run: faabric run -n 4 examples/mpi/pi.c 1000000
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    long intervals = argc > 1 ? atol(argv[1]) : 1000000;
    MPI_Bcast(&intervals, 1, MPI_LONG, 0, MPI_COMM_WORLD);

    double width = 1.0 / (double)intervals;
    double local = 0.0;
    for (long i = rank; i < intervals; i += size) {
        double x = width * ((double)i + 0.5);
        local += 4.0 / (1.0 + x * x);
    }
    local *= width;

    double pi = 0.0;
    MPI_Reduce(&local, &pi, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("pi is approximately %.12f, error %.3e\n", pi, fabs(pi - M_PI));
    }
    MPI_Finalize();
    return 0;
}
