/*
 * bad_input.c: one MPI mistake per mode (argv[1]); every rank runs it.
 * Each mode must end the world with a clear, typed error.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int MPI_Win_fence(int assert, int win); /* not implemented by the runtime */

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char* mode = argc > 1 ? argv[1] : "";
    int data[4] = { 1, 2, 3, 4 };
    int one = 0;

    if (!strcmp(mode, "deadlock")) {
        MPI_Recv(&one, 1, MPI_INT, (rank + 1) % size, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (!strcmp(mode, "peer_finished")) {
        if (rank == 0) {
            MPI_Recv(&one, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
    } else if (!strcmp(mode, "slow_peer")) {
        /* Rank 1 is busy (not waiting in MPI) for longer than the MPI timeout. */
        if (rank == 1) {
            sleep(2);
            MPI_Send(data, 1, MPI_INT, 0, 0, MPI_COMM_WORLD);
        } else if (rank == 0) {
            MPI_Recv(&one, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
    } else if (!strcmp(mode, "truncate")) {
        if (rank == 0) {
            MPI_Send(data, 4, MPI_INT, 1, 0, MPI_COMM_WORLD);
        } else if (rank == 1) {
            MPI_Recv(&one, 1, MPI_INT, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
    } else if (!strcmp(mode, "abort")) {
        if (rank == 1) {
            MPI_Abort(MPI_COMM_WORLD, 7);
        }
        MPI_Barrier(MPI_COMM_WORLD);
    } else if (!strcmp(mode, "trap")) {
        if (rank == size - 1) {
            __builtin_trap();
        }
        MPI_Recv(&one, 1, MPI_INT, size - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (!strcmp(mode, "bad_comm")) {
        MPI_Send(data, 1, MPI_INT, 0, 0, (MPI_Comm)12345);
    } else if (!strcmp(mode, "bad_rank")) {
        MPI_Send(data, 1, MPI_INT, size, 0, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "bad_tag")) {
        MPI_Send(data, 1, MPI_INT, 0, -5, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "bad_datatype")) {
        MPI_Send(data, 1, (MPI_Datatype)777, 0, 0, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "bad_count")) {
        MPI_Send(data, -1, MPI_INT, 0, 0, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "bad_buffer")) {
        MPI_Send((void*)0x7ffffff0, 1000, MPI_INT, 0, 0, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "uncommitted")) {
        MPI_Datatype pair;
        MPI_Type_contiguous(2, MPI_INT, &pair);
        MPI_Send(data, 1, pair, 0, 0, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "mismatched_root")) {
        MPI_Bcast(data, 1, MPI_INT, rank == 0 ? 0 : 1, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "mismatched_collective")) {
        if (rank == 0) {
            MPI_Barrier(MPI_COMM_WORLD);
        } else {
            MPI_Allreduce(data, &one, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        }
    } else if (!strcmp(mode, "mismatched_count")) {
        MPI_Bcast(data, rank == 0 ? 4 : 2, MPI_INT, 0, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "mismatched_allreduce_count")) {
        int sums[4];
        MPI_Allreduce(data, sums, rank == 0 ? 4 : 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "mismatched_op")) {
        MPI_Allreduce(data, &one, 1, MPI_INT, rank == 0 ? MPI_SUM : MPI_MAX, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "bad_op")) {
        float x = 1.0f, y;
        MPI_Allreduce(&x, &y, 1, MPI_FLOAT, MPI_BXOR, MPI_COMM_WORLD);
    } else if (!strcmp(mode, "unimplemented")) {
        MPI_Win_fence(0, 0);
    }
    MPI_Finalize();
    return 0;
}
