/*
 * ring.c: a token goes around the ring of ranks LAPS times; each rank adds
 * its rank number every time the token passes it.
 *
 * Prints the final token on rank 0: LAPS * size * (size - 1) / 2.
 * Run: faabric run -n 4 examples/mpi/ring.c 3
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
    int laps = argc > 1 ? atoi(argv[1]) : 3;

    int next = (rank + 1) % size;
    int previous = (rank + size - 1) % size;
    long token = 0;
    for (int lap = 0; lap < laps; lap++) {
        if (rank == 0) {
            MPI_Send(&token, 1, MPI_LONG, next, lap, MPI_COMM_WORLD);
            MPI_Recv(&token, 1, MPI_LONG, previous, lap, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(&token, 1, MPI_LONG, previous, lap, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            token += rank;
            MPI_Send(&token, 1, MPI_LONG, next, lap, MPI_COMM_WORLD);
        }
    }
    if (rank == 0) {
        printf("token after %d laps of %d ranks: %ld\n", laps, size, token);
    }
    MPI_Finalize();
    return token == (long)laps * size * (size - 1) / 2 || rank != 0 ? 0 : 1;
}
