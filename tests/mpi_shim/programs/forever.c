/*
 * forever.c: every rank keeps calling MPI_Allreduce until the world fails
 * (used to lose a host in the middle of an MPI job).
 */
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    for (long rounds = 1;; rounds++) {
        int one = 1, sum = 0;
        MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        if (rounds == 1 && rank == 0) {
            printf("every rank is in\n");
            fflush(stdout);
        }
        usleep(1000);
    }
}
