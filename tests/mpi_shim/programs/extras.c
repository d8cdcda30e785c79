/* extras.c: persistent requests, MPI_Comm_split_type, MPI_Pack/Unpack, more type constructors. */
#include "check.h"
#include <string.h>

static int size;

static void persistent(void)
{
    int next = (me + 1) % size, prev = (me + size - 1) % size;
    int out = 0, in = -1;
    MPI_Request requests[2];
    MPI_Recv_init(&in, 1, MPI_INT, prev, 3, MPI_COMM_WORLD, &requests[0]);
    MPI_Send_init(&out, 1, MPI_INT, next, 3, MPI_COMM_WORLD, &requests[1]);
    for (int step = 0; step < 5; step++) {
        out = me * 10 + step;
        MPI_Startall(2, requests);
        MPI_Waitall(2, requests, MPI_STATUSES_IGNORE);
        CHECK_EQ(in, prev * 10 + step);
        CHECK(requests[0] != MPI_REQUEST_NULL); /* persistent: still allocated, now inactive */
    }
    int flag = 0;
    MPI_Test(&requests[0], &flag, MPI_STATUS_IGNORE); /* inactive: completes at once */
    CHECK_EQ(flag, 1);
    MPI_Request_free(&requests[0]);
    MPI_Request_free(&requests[1]);
    CHECK_EQ(requests[0], MPI_REQUEST_NULL);
    /* A synchronous persistent send, started one at a time. */
    MPI_Request ssend;
    MPI_Ssend_init(&out, 1, MPI_INT, next, 4, MPI_COMM_WORLD, &ssend);
    MPI_Request recv;
    MPI_Irecv(&in, 1, MPI_INT, prev, 4, MPI_COMM_WORLD, &recv);
    MPI_Start(&ssend);
    MPI_Wait(&ssend, MPI_STATUS_IGNORE);
    MPI_Wait(&recv, MPI_STATUS_IGNORE);
    CHECK_EQ(in, prev * 10 + 4);
    MPI_Request_free(&ssend);
}

static void shared_split(void)
{
    MPI_Comm node;
    int node_size, node_rank;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, me, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &node_size);
    MPI_Comm_rank(node, &node_rank);
    CHECK_EQ(node_size, size); /* every rank of a world runs on one host */
    CHECK_EQ(node_rank, me);
    MPI_Comm_free(&node);
}

static void packing(void)
{
    int next = (me + 1) % size, prev = (me + size - 1) % size;
    char buffer[64];
    int position = 0, numbers[3] = { me, me + 1, me + 2 }, packed_size;
    double weight = me * 0.5;
    MPI_Pack_size(3, MPI_INT, MPI_COMM_WORLD, &packed_size);
    CHECK_EQ(packed_size, 12);
    MPI_Pack(numbers, 3, MPI_INT, buffer, sizeof buffer, &position, MPI_COMM_WORLD);
    MPI_Pack(&weight, 1, MPI_DOUBLE, buffer, sizeof buffer, &position, MPI_COMM_WORLD);
    CHECK_EQ(position, 20);
    char received[64];
    MPI_Sendrecv(buffer, position, MPI_PACKED, next, 0, received, sizeof received, MPI_PACKED, prev, 0, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    int got[3];
    double got_weight;
    position = 0;
    MPI_Unpack(received, sizeof received, &position, got, 3, MPI_INT, MPI_COMM_WORLD);
    MPI_Unpack(received, sizeof received, &position, &got_weight, 1, MPI_DOUBLE, MPI_COMM_WORLD);
    CHECK_EQ(got[2], prev + 2);
    CHECK(got_weight == prev * 0.5);
}

static void constructors(void)
{
    int values[8] = { 0, 1, 2, 3, 4, 5, 6, 7 }, out[4] = { 0 };
    MPI_Datatype blocks, hindexed, copy;
    int displacements[2] = { 5, 1 };
    MPI_Type_create_indexed_block(2, 2, displacements, MPI_INT, &blocks);
    MPI_Type_commit(&blocks);
    MPI_Sendrecv(values, 1, blocks, 0, 0, out, 4, MPI_INT, 0, 0, MPI_COMM_SELF, MPI_STATUS_IGNORE);
    CHECK(out[0] == 5 && out[1] == 6 && out[2] == 1 && out[3] == 2);
    int lengths[2] = { 1, 1 };
    MPI_Aint byte_displacements[2] = { 28, 0 };
    MPI_Type_create_hindexed(2, lengths, byte_displacements, MPI_INT, &hindexed);
    MPI_Type_dup(hindexed, &copy);
    MPI_Type_commit(&copy);
    MPI_Sendrecv(values, 1, copy, 0, 1, out, 2, MPI_INT, 0, 1, MPI_COMM_SELF, MPI_STATUS_IGNORE);
    CHECK(out[0] == 7 && out[1] == 0);
    MPI_Type_free(&blocks);
    MPI_Type_free(&hindexed);
    MPI_Type_free(&copy);
}

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    persistent();
    shared_split();
    packing();
    constructors();
    return finish("extras");
}
