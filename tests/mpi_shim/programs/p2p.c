/* p2p.c: point-to-point semantics, checked on every rank, for any world size. */
#include "check.h"
#include <stdlib.h>
#include <string.h>

static int size;

static void blocking_ring(void)
{
    int next = (me + 1) % size, prev = (me + size - 1) % size;
    int out[3] = { me, me * 10, me * 100 }, in[3] = { -1, -1, -1 };
    MPI_Status status;
    if (me % 2 == 0) {
        MPI_Send(out, 3, MPI_INT, next, 7, MPI_COMM_WORLD);
        MPI_Recv(in, 3, MPI_INT, prev, 7, MPI_COMM_WORLD, &status);
    } else {
        MPI_Recv(in, 3, MPI_INT, prev, 7, MPI_COMM_WORLD, &status);
        MPI_Send(out, 3, MPI_INT, next, 7, MPI_COMM_WORLD);
    }
    CHECK_EQ(in[0], prev);
    CHECK_EQ(in[2], prev * 100);
    CHECK_EQ(status.MPI_SOURCE, prev);
    CHECK_EQ(status.MPI_TAG, 7);
    int count;
    MPI_Get_count(&status, MPI_INT, &count);
    CHECK_EQ(count, 3);
    MPI_Get_count(&status, MPI_DOUBLE, &count);
    CHECK_EQ(count, MPI_UNDEFINED);
}

static void send_modes(void)
{
    int next = (me + 1) % size, prev = (me + size - 1) % size;
    double out = me + 0.5, in = -1;
    MPI_Request request;
    /* Ssend completes only once matched: post the receive first. */
    MPI_Irecv(&in, 1, MPI_DOUBLE, prev, 1, MPI_COMM_WORLD, &request);
    MPI_Ssend(&out, 1, MPI_DOUBLE, next, 1, MPI_COMM_WORLD);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    CHECK(in == prev + 0.5);
    CHECK_EQ(request, MPI_REQUEST_NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Irecv(&in, 1, MPI_DOUBLE, prev, 2, MPI_COMM_WORLD, &request);
    MPI_Barrier(MPI_COMM_WORLD); /* every receive is posted before any ready send */
    MPI_Rsend(&out, 1, MPI_DOUBLE, next, 2, MPI_COMM_WORLD);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    CHECK(in == prev + 0.5);
    /* Issend + Irecv + Waitall */
    MPI_Request both[2];
    MPI_Status statuses[2];
    MPI_Irecv(&in, 1, MPI_DOUBLE, prev, 3, MPI_COMM_WORLD, &both[0]);
    MPI_Issend(&out, 1, MPI_DOUBLE, next, 3, MPI_COMM_WORLD, &both[1]);
    MPI_Waitall(2, both, statuses);
    CHECK(in == prev + 0.5);
    CHECK_EQ(statuses[0].MPI_SOURCE, prev);
    CHECK_EQ(both[0], MPI_REQUEST_NULL);
    CHECK_EQ(both[1], MPI_REQUEST_NULL);
}

static void tags_and_order(void)
{
    /* Rank 0 gets N messages from every other rank, tags 0..N-1, and receives them by tag in reverse,
       then a second batch in order with MPI_ANY_TAG: per-pair order must hold. */
    enum { N = 5 };
    if (me != 0) {
        for (int t = 0; t < N; t++) {
            int value = me * 1000 + t;
            MPI_Send(&value, 1, MPI_INT, 0, t, MPI_COMM_WORLD);
        }
        for (int t = 0; t < N; t++) {
            int value = me * 1000 + 100 + t;
            MPI_Send(&value, 1, MPI_INT, 0, 42, MPI_COMM_WORLD);
        }
    } else {
        for (int source = 1; source < size; source++) {
            for (int t = N - 1; t >= 0; t--) {
                int value;
                MPI_Recv(&value, 1, MPI_INT, source, t, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                CHECK_EQ(value, source * 1000 + t);
            }
        }
        int next_from[64] = { 0 };
        for (int i = 0; i < N * (size - 1); i++) {
            int value;
            MPI_Status status;
            MPI_Recv(&value, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
            int source = status.MPI_SOURCE;
            CHECK_EQ(status.MPI_TAG, 42);
            CHECK_EQ(value, source * 1000 + 100 + next_from[source]);
            next_from[source]++;
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void nonblocking(void)
{
    /* Everyone sends to everyone with Isend; receives with Irecv; completes with Waitany/Waitsome/Test*. */
    int* out = malloc(sizeof(int) * size);
    int* in = malloc(sizeof(int) * size);
    MPI_Request* sends = malloc(sizeof(MPI_Request) * size);
    MPI_Request* recvs = malloc(sizeof(MPI_Request) * size);
    for (int r = 0; r < size; r++) {
        in[r] = -1;
        MPI_Irecv(&in[r], 1, MPI_INT, r, 5, MPI_COMM_WORLD, &recvs[r]);
    }
    for (int r = 0; r < size; r++) {
        out[r] = me * 100 + r;
        MPI_Isend(&out[r], 1, MPI_INT, r, 5, MPI_COMM_WORLD, &sends[r]);
    }
    int completed = 0, seen[64] = { 0 };
    while (completed < size) {
        int index;
        MPI_Status status;
        MPI_Waitany(size, recvs, &index, &status);
        CHECK(index >= 0 && index < size);
        CHECK_EQ(status.MPI_SOURCE, index);
        CHECK_EQ(recvs[index], MPI_REQUEST_NULL);
        seen[index]++;
        completed++;
    }
    int index, flag;
    MPI_Waitany(size, recvs, &index, MPI_STATUS_IGNORE);
    CHECK_EQ(index, MPI_UNDEFINED);
    for (int r = 0; r < size; r++) {
        CHECK_EQ(in[r], r * 100 + me);
        CHECK_EQ(seen[r], 1);
    }
    MPI_Testall(size, sends, &flag, MPI_STATUSES_IGNORE);
    CHECK_EQ(flag, 1);

    /* Test on a receive that cannot complete yet, then complete it. */
    int value = -1, token = me;
    MPI_Request request;
    MPI_Irecv(&value, 1, MPI_INT, (me + size - 1) % size, 9, MPI_COMM_WORLD, &request);
    MPI_Test(&request, &flag, MPI_STATUS_IGNORE);
    MPI_Barrier(MPI_COMM_WORLD);
    if (size > 1) {
        CHECK_EQ(flag, 0);
    }
    if (!flag) {
        MPI_Send(&token, 1, MPI_INT, (me + 1) % size, 9, MPI_COMM_WORLD);
        int outcount, indices[1];
        MPI_Status statuses[1];
        MPI_Waitsome(1, &request, &outcount, indices, statuses);
        CHECK_EQ(outcount, 1);
        CHECK_EQ(indices[0], 0);
        CHECK_EQ(value, (me + size - 1) % size);
    }
    /* Testany on a completed receive. */
    MPI_Irecv(&value, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &request);
    MPI_Testany(1, &request, &index, &flag, MPI_STATUS_IGNORE);
    CHECK_EQ(flag, 1);
    CHECK_EQ(index, 0);
    /* Request_free on a send that already completed. */
    MPI_Isend(&token, 1, MPI_INT, me, 11, MPI_COMM_WORLD, &request);
    MPI_Request_free(&request);
    CHECK_EQ(request, MPI_REQUEST_NULL);
    MPI_Recv(&value, 1, MPI_INT, me, 11, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK_EQ(value, me);
    free(out);
    free(in);
    free(sends);
    free(recvs);
}

static void probing(void)
{
    int next = (me + 1) % size, prev = (me + size - 1) % size;
    int flag = 1;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, 123, MPI_COMM_WORLD, &flag, &status);
    CHECK_EQ(flag, 0);
    MPI_Barrier(MPI_COMM_WORLD);
    char text[32];
    int length = snprintf(text, sizeof text, "from %d", me) + 1;
    MPI_Send(text, length, MPI_CHAR, next, 123, MPI_COMM_WORLD);
    MPI_Probe(prev, 123, MPI_COMM_WORLD, &status);
    int count;
    MPI_Get_count(&status, MPI_CHAR, &count);
    char* buffer = malloc(count);
    MPI_Recv(buffer, count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    char expected[32];
    snprintf(expected, sizeof expected, "from %d", prev);
    CHECK(strcmp(buffer, expected) == 0);
    free(buffer);
    /* PROC_NULL: returns at once with an empty status. */
    MPI_Recv(&count, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &status);
    CHECK_EQ(status.MPI_SOURCE, MPI_PROC_NULL);
    MPI_Send(&count, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD);
}

static void sendrecv(void)
{
    int next = (me + 1) % size, prev = (me + size - 1) % size;
    long out = me, in = -1;
    MPI_Status status;
    MPI_Sendrecv(&out, 1, MPI_LONG, next, 4, &in, 1, MPI_LONG, prev, 4, MPI_COMM_WORLD, &status);
    CHECK_EQ(in, prev);
    CHECK_EQ(status.MPI_SOURCE, prev);
    int value[2] = { me, -me };
    MPI_Sendrecv_replace(value, 2, MPI_INT, next, 6, prev, 6, MPI_COMM_WORLD, &status);
    CHECK_EQ(value[0], prev);
    CHECK_EQ(value[1], -prev);
}

static void derived_types(void)
{
    /* A column of a 4x4 matrix as a vector type goes into a contiguous row. */
    int next = (me + 1) % size, prev = (me + size - 1) % size;
    int matrix[4][4], row[4] = { 0 };
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            matrix[i][j] = me * 100 + i * 10 + j;
    MPI_Datatype column;
    MPI_Type_vector(4, 1, 4, MPI_INT, &column);
    MPI_Type_commit(&column);
    MPI_Sendrecv(&matrix[0][2], 1, column, next, 0, row, 4, MPI_INT, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(row[i], prev * 100 + i * 10 + 2);
    /* And back: a row received into a column. */
    int into[4][4] = { { 0 } };
    int line[4] = { me, me + 1, me + 2, me + 3 };
    MPI_Sendrecv(line, 4, MPI_INT, next, 1, &into[0][1], 1, column, prev, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(into[i][1], prev + i);
        CHECK_EQ(into[i][0], 0);
    }
    MPI_Type_free(&column);
    CHECK_EQ(column, MPI_DATATYPE_NULL);

    /* A struct {int; double; char[3]} type. */
    struct item { int id; double weight; char tag[3]; } out = { me, me * 1.5, { 'a', 'b', (char)('0' + me) } }, in;
    int lengths[3] = { 1, 1, 3 };
    MPI_Aint displacements[3], base;
    MPI_Get_address(&out, &base);
    MPI_Get_address(&out.id, &displacements[0]);
    MPI_Get_address(&out.weight, &displacements[1]);
    MPI_Get_address(&out.tag, &displacements[2]);
    for (int i = 0; i < 3; i++)
        displacements[i] -= base;
    MPI_Datatype types[3] = { MPI_INT, MPI_DOUBLE, MPI_CHAR }, item_type;
    MPI_Type_create_struct(3, lengths, displacements, types, &item_type);
    MPI_Type_commit(&item_type);
    int type_size;
    MPI_Type_size(item_type, &type_size);
    CHECK_EQ(type_size, 4 + 8 + 3);
    MPI_Status status;
    MPI_Sendrecv(&out, 1, item_type, next, 2, &in, 1, item_type, prev, 2, MPI_COMM_WORLD, &status);
    CHECK_EQ(in.id, prev);
    CHECK(in.weight == prev * 1.5);
    CHECK_EQ(in.tag[2], '0' + prev);
    int count;
    MPI_Get_count(&status, item_type, &count);
    CHECK_EQ(count, 1);
    MPI_Type_free(&item_type);
}

static void isolation(void)
{
    /* A message sent on a duplicate never matches a receive on the parent, even with wildcards. */
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    int next = (me + 1) % size, prev = (me + size - 1) % size;
    int on_dup = 1000 + me, on_world = 2000 + me, got = -1, flag = 1;
    MPI_Send(&on_dup, 1, MPI_INT, next, 0, dup);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
    CHECK_EQ(flag, 0);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Send(&on_world, 1, MPI_INT, next, 0, MPI_COMM_WORLD);
    MPI_Recv(&got, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK_EQ(got, 2000 + prev);
    MPI_Recv(&got, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, dup, MPI_STATUS_IGNORE);
    CHECK_EQ(got, 1000 + prev);
    MPI_Comm_free(&dup);
    CHECK_EQ(dup, MPI_COMM_NULL);
}

static void large_message(void)
{
    int n = 1 << 18; /* 1 MiB of ints */
    int* out = malloc(sizeof(int) * n);
    int* in = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++)
        out[i] = i ^ me;
    int next = (me + 1) % size, prev = (me + size - 1) % size;
    MPI_Sendrecv(out, n, MPI_INT, next, 0, in, n, MPI_INT, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad += in[i] != (i ^ prev);
    CHECK_EQ(bad, 0);
    free(out);
    free(in);
}

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    blocking_ring();
    send_modes();
    tags_and_order();
    nonblocking();
    probing();
    sendrecv();
    derived_types();
    isolation();
    large_message();
    return finish("p2p");
}
