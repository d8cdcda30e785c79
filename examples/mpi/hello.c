/*
 * hello.c: every rank says hello; rank 0 broadcasts a number to all.
 *
 * Run: faabric run -n 4 examples/mpi/hello.c
 */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);

    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    int value = rank == 0 ? 123 : -1;
    MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD);
    printf("Hello from rank %d of %d, got %d\n", rank, size, value);

    MPI_Finalize();
    return value == 123 ? 0 : 1;
}
