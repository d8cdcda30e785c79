/*
 * nonblocking.c: nonblocking collectives (MPI_Ibarrier, MPI_Ibcast, MPI_Ireduce,
 * MPI_Iallreduce, MPI_Igather(v), MPI_Iscatter(v), MPI_Iallgather(v),
 * MPI_Ialltoall(v)) completed by MPI_Wait, MPI_Waitall and MPI_Test loops,
 * several at once, in any completion order, overlapping point-to-point.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Request request, requests[4];
    int flag = 0;

    /* A test never blocks: rank 0 starts a barrier, then receives what rank 1 sent synchronously
     * before joining it. If MPI_Test waited for the barrier, this would deadlock. */
    if (size > 1 && me == 1) {
        int token = 42;
        MPI_Ssend(&token, 1, MPI_INT, 0, 9, MPI_COMM_WORLD);
    }
    MPI_Ibarrier(MPI_COMM_WORLD, &request);
    if (size > 1 && me == 0) {
        int token = 0;
        MPI_Test(&request, &flag, MPI_STATUS_IGNORE);
        MPI_Recv(&token, 1, MPI_INT, 1, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK_EQ(token, 42);
    }
    while (request != MPI_REQUEST_NULL) {
        MPI_Test(&request, &flag, MPI_STATUS_IGNORE);
    }
    CHECK(flag);

    /* Broadcast from the last rank. */
    int values[3] = { 0, 0, 0 };
    if (me == size - 1) {
        values[0] = 7, values[1] = 8, values[2] = 9;
    }
    MPI_Ibcast(values, 3, MPI_INT, size - 1, MPI_COMM_WORLD, &request);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    CHECK(request == MPI_REQUEST_NULL);
    CHECK_EQ(values[0] + values[1] + values[2], 24);

    /* Two allreduces in flight, completed in the opposite order; a blocking one on a duplicate between. */
    long sum = 0, product = 0, one = me + 1;
    double maximum = 0, mine = me * 1.5;
    MPI_Iallreduce(&one, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD, &requests[0]);
    MPI_Iallreduce(&mine, &maximum, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD, &requests[1]);
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Allreduce(&one, &product, 1, MPI_LONG, MPI_PROD, dup);
    MPI_Wait(&requests[1], MPI_STATUS_IGNORE);
    MPI_Wait(&requests[0], MPI_STATUS_IGNORE);
    CHECK_EQ(sum, (long)size * (size + 1) / 2);
    CHECK(maximum == (size - 1) * 1.5);
    long factorial = 1;
    for (int i = 2; i <= size; i++) factorial *= i;
    CHECK_EQ(product, factorial);
    MPI_Comm_free(&dup);

    /* Reduce, gather, scatter, allgather and alltoall together, finished with one MPI_Waitall. */
    int reduced = -1, square = me * me;
    int* gathered = calloc(size, sizeof(int));
    int* everyone = calloc(size, sizeof(int));
    int* outgoing = malloc(size * sizeof(int));
    int* incoming = calloc(size, sizeof(int));
    int* table = malloc(size * sizeof(int));
    int piece = -1;
    for (int i = 0; i < size; i++) {
        outgoing[i] = me * 100 + i;
        table[i] = 1000 + i;
    }
    MPI_Ireduce(&square, &reduced, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD, &requests[0]);
    MPI_Igather(&square, 1, MPI_INT, gathered, 1, MPI_INT, 0, MPI_COMM_WORLD, &requests[1]);
    MPI_Iallgather(&me, 1, MPI_INT, everyone, 1, MPI_INT, MPI_COMM_WORLD, &requests[2]);
    MPI_Ialltoall(outgoing, 1, MPI_INT, incoming, 1, MPI_INT, MPI_COMM_WORLD, &requests[3]);
    MPI_Waitall(4, requests, MPI_STATUSES_IGNORE);
    MPI_Iscatter(table, 1, MPI_INT, &piece, 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
    for (flag = 0; !flag;) {
        MPI_Testall(1, &request, &flag, MPI_STATUSES_IGNORE);
    }
    CHECK_EQ(piece, 1000 + me);
    int expected_squares = 0;
    for (int i = 0; i < size; i++) expected_squares += i * i;
    if (me == 0) {
        CHECK_EQ(reduced, expected_squares);
        for (int i = 0; i < size; i++) CHECK_EQ(gathered[i], i * i);
    } else {
        CHECK_EQ(reduced, -1); /* untouched off the root */
    }
    for (int i = 0; i < size; i++) {
        CHECK_EQ(everyone[i], i);
        CHECK_EQ(incoming[i], i * 100 + me);
    }

    /* The v-variants: rank i contributes i+1 copies of its rank. */
    int* counts = malloc(size * sizeof(int));
    int* displs = malloc(size * sizeof(int));
    int total = 0;
    for (int i = 0; i < size; i++) {
        counts[i] = i + 1;
        displs[i] = total;
        total += i + 1;
    }
    int* mine_v = malloc((me + 1) * sizeof(int));
    for (int i = 0; i <= me; i++) mine_v[i] = me;
    int* all_v = calloc(total, sizeof(int));
    int* root_v = calloc(total, sizeof(int));
    MPI_Iallgatherv(mine_v, me + 1, MPI_INT, all_v, counts, displs, MPI_INT, MPI_COMM_WORLD, &requests[0]);
    MPI_Igatherv(mine_v, me + 1, MPI_INT, root_v, counts, displs, MPI_INT, 0, MPI_COMM_WORLD, &requests[1]);
    MPI_Waitall(2, requests, MPI_STATUSES_IGNORE);
    for (int i = 0, at = 0; i < size; i++) {
        for (int j = 0; j <= i; j++, at++) {
            CHECK_EQ(all_v[at], i);
            if (me == 0) CHECK_EQ(root_v[at], i);
        }
    }
    int* back = calloc(me + 1, sizeof(int));
    MPI_Iscatterv(all_v, counts, displs, MPI_INT, back, me + 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    for (int i = 0; i <= me; i++) CHECK_EQ(back[i], me);
    int* send_v = malloc(size * sizeof(int));
    int* recv_v = calloc(size, sizeof(int));
    int* ones = malloc(size * sizeof(int));
    int* steps = malloc(size * sizeof(int));
    for (int i = 0; i < size; i++) send_v[i] = me * 10 + i, ones[i] = 1, steps[i] = i;
    MPI_Ialltoallv(send_v, ones, steps, MPI_INT, recv_v, ones, steps, MPI_INT, MPI_COMM_WORLD, &request);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    for (int i = 0; i < size; i++) CHECK_EQ(recv_v[i], i * 10 + me);

    /* Prefix reductions and reduce-scatter. */
    int rank_plus_one = me + 1, inclusive = 0, exclusive = -7;
    int* contributions = malloc(size * sizeof(int));
    int* blocks = malloc(size * sizeof(int));
    for (int i = 0; i < size; i++) contributions[i] = i + me, blocks[i] = 1;
    int block = 0, block_v = 0;
    MPI_Iscan(&rank_plus_one, &inclusive, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &requests[0]);
    MPI_Iexscan(&rank_plus_one, &exclusive, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &requests[1]);
    MPI_Ireduce_scatter_block(contributions, &block, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &requests[2]);
    MPI_Ireduce_scatter(contributions, &block_v, blocks, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &requests[3]);
    MPI_Waitall(4, requests, MPI_STATUSES_IGNORE);
    CHECK_EQ(inclusive, (me + 1) * (me + 2) / 2);
    if (me > 0) CHECK_EQ(exclusive, me * (me + 1) / 2);
    else CHECK_EQ(exclusive, -7); /* rank 0's exclusive result is undefined: left as it was */
    CHECK_EQ(block, me * size + size * (size - 1) / 2);
    CHECK_EQ(block_v, block);

    /* A nonblocking and a blocking collective never match each other; so the blocking one comes after. */
    MPI_Ibarrier(MPI_COMM_WORLD, &request);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    MPI_Barrier(MPI_COMM_WORLD);
    return finish("nonblocking");
}
