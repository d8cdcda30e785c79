/* rings.c: MPI's ordering and matching rules where the guest's shared-memory path and the
   host's path meet. Pairs (even, odd) exchange; every rank also sends to rank 0.
   With the argument "expect-rings" (all ranks on one host), a ping-pong also checks that its
   small messages went through shared memory (MPIX_Ring_messages); with "expect-sent" (more ranks
   than cores, so receivers leave the rings to the host), that they were sent through it; and that
   the ends of a chain, whose other half is MPI_PROC_NULL, receive through it too. */
#include "check.h"
#include <stdlib.h>
#include <string.h>

#define BIG (64 * 1024)   /* larger than a ring's inline limit: the host carries it */
#define MANY 2000         /* 2000 x 256 B overflows a 128 KiB ring */

static int size, partner;

/* A ping-pong of small messages: on one host, every send goes into shared memory (the ring is
   always empty by then), and receives take them from there unless they waited too long. */
static void pingpong(int expect_rings, int expect_sent)
{
    enum { ITERATIONS = 1000 };
    int value = 0;
    for (int i = 0; i < ITERATIONS; i++) {
        if (me % 2 == 0) {
            value = i;
            MPI_Send(&value, 1, MPI_INT, partner, 0, MPI_COMM_WORLD);
            MPI_Recv(&value, 1, MPI_INT, partner, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            CHECK_EQ(value, -i);
        } else {
            MPI_Recv(&value, 1, MPI_INT, partner, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            CHECK_EQ(value, i);
            value = -i;
            MPI_Send(&value, 1, MPI_INT, partner, 0, MPI_COMM_WORLD);
        }
    }
    long long sent = -1, received = -1;
    MPIX_Ring_messages(&sent, &received);
    if (expect_rings || expect_sent) CHECK_EQ(sent, ITERATIONS);
    if (expect_rings) CHECK(received > 0);
}

/* Small, big, small: the big one must not overtake, nor be overtaken. */
static void mixed_sizes_keep_their_order(void)
{
    static int big[BIG / 4];
    int small[4];
    if (me % 2 == 0) {
        for (int i = 0; i < 5; i++) {
            small[0] = i;
            MPI_Send(small, 4, MPI_INT, partner, 1, MPI_COMM_WORLD);
        }
        big[0] = 5;
        big[BIG / 4 - 1] = 55;
        MPI_Send(big, BIG / 4, MPI_INT, partner, 2, MPI_COMM_WORLD);
        for (int i = 6; i < 11; i++) {
            small[0] = i;
            MPI_Send(small, 4, MPI_INT, partner, 1, MPI_COMM_WORLD);
        }
        small[0] = 11;
        MPI_Ssend(small, 4, MPI_INT, partner, 3, MPI_COMM_WORLD);
    } else {
        MPI_Status status;
        for (int i = 0; i < 12; i++) {
            memset(big, 0xff, sizeof(big));
            MPI_Recv(big, BIG / 4, MPI_INT, partner, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
            CHECK_EQ(big[0], i);
            CHECK_EQ(status.MPI_SOURCE, partner);
            CHECK_EQ(status.MPI_TAG, i == 5 ? 2 : i == 11 ? 3 : 1);
            int count;
            MPI_Get_count(&status, MPI_INT, &count);
            CHECK_EQ(count, i == 5 ? BIG / 4 : 4);
            if (i == 5) CHECK_EQ(big[BIG / 4 - 1], 55);
        }
    }
}

/* A receive for a later tag skips the ring's head: the host must still match both. */
static void later_tag_first(void)
{
    int value;
    if (me % 2 == 0) {
        value = 5;
        MPI_Send(&value, 1, MPI_INT, partner, 5, MPI_COMM_WORLD);
        value = 6;
        MPI_Send(&value, 1, MPI_INT, partner, 6, MPI_COMM_WORLD);
        value = 7;
        MPI_Send(&value, 1, MPI_INT, partner, 7, MPI_COMM_WORLD);
    } else {
        MPI_Recv(&value, 1, MPI_INT, partner, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK_EQ(value, 6);
        MPI_Recv(&value, 1, MPI_INT, partner, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK_EQ(value, 5);
        MPI_Recv(&value, 1, MPI_INT, partner, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK_EQ(value, 7);
    }
}

/* More than a ring holds, sent before the receiver looks: the rest waits in the host, in order. */
static void overflowing_the_ring(void)
{
    int message[64];
    if (me % 2 == 0) {
        for (int i = 0; i < MANY; i++) {
            message[0] = i;
            message[63] = -i;
            MPI_Send(message, 64, MPI_INT, partner, 9, MPI_COMM_WORLD);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (me % 2 == 1) {
        int in_order = 1;
        for (int i = 0; i < MANY; i++) {
            MPI_Recv(message, 64, MPI_INT, partner, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            in_order &= message[0] == i && message[63] == -i;
        }
        CHECK(in_order);
    }
}

/* Isend goes through the host; a Send right after it goes through the ring: same order. */
static void host_then_ring(void)
{
    int value;
    if (me % 2 == 0) {
        MPI_Request request;
        int first = 100;
        MPI_Isend(&first, 1, MPI_INT, partner, 4, MPI_COMM_WORLD, &request);
        value = 101;
        MPI_Send(&value, 1, MPI_INT, partner, 4, MPI_COMM_WORLD);
        MPI_Wait(&request, MPI_STATUS_IGNORE);
    } else {
        MPI_Recv(&value, 1, MPI_INT, partner, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK_EQ(value, 100);
        MPI_Recv(&value, 1, MPI_INT, partner, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK_EQ(value, 101);
    }
}

/* A message in a ring is visible to MPI_Probe and MPI_Iprobe, and to a posted MPI_Irecv. */
static void probes_and_posted_receives(void)
{
    double value = -1;
    if (me % 2 == 0) {
        value = 2.5;
        MPI_Send(&value, 1, MPI_DOUBLE, partner, 11, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        value = 3.5;
        MPI_Send(&value, 1, MPI_DOUBLE, partner, 12, MPI_COMM_WORLD);
    } else {
        MPI_Status status;
        MPI_Probe(partner, 11, MPI_COMM_WORLD, &status);
        int count;
        MPI_Get_count(&status, MPI_DOUBLE, &count);
        CHECK_EQ(count, 1);
        int flag = 0;
        MPI_Iprobe(partner, 11, MPI_COMM_WORLD, &flag, &status);
        CHECK_EQ(flag, 1);
        MPI_Recv(&value, 1, MPI_DOUBLE, partner, 11, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(value == 2.5);
        MPI_Request request;
        MPI_Irecv(&value, 1, MPI_DOUBLE, partner, 12, MPI_COMM_WORLD, &request);
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Wait(&request, &status);
        CHECK(value == 3.5);
        CHECK_EQ(status.MPI_TAG, 12);
    }
}

/* Errors the guest cannot report go to the host, which reports them. */
static void truncation_is_reported(void)
{
    int out[16] = { 0 }, in[4];
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (me % 2 == 0) {
        MPI_Send(out, 16, MPI_INT, partner, 13, MPI_COMM_WORLD);
    } else {
        int rc = MPI_Recv(in, 4, MPI_INT, partner, 13, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK_EQ(rc, MPI_ERR_TRUNCATE);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

/* To oneself, and a Sendrecv exchange. */
static void self_and_sendrecv(void)
{
    int value = me * 3, got = -1;
    MPI_Send(&value, 1, MPI_INT, me, 14, MPI_COMM_WORLD);
    MPI_Recv(&got, 1, MPI_INT, me, 14, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK_EQ(got, me * 3);
    MPI_Status status;
    MPI_Sendrecv(&value, 1, MPI_INT, partner, 15, &got, 1, MPI_INT, partner, 15, MPI_COMM_WORLD, &status);
    CHECK_EQ(got, partner * 3);
    CHECK_EQ(status.MPI_SOURCE, partner);
}

/* Other communicators take the fast path too: a split with the ranks reversed, and a dup.
   A message on one communicator never matches a receive on another, whatever the order. */
static void other_communicators(int expect_rings)
{
    MPI_Comm reversed, copy;
    MPI_Comm_split(MPI_COMM_WORLD, 0, size - me, &reversed);
    MPI_Comm_dup(MPI_COMM_WORLD, &copy);
    int my_rank, peer = size - 1 - partner; /* the partner's rank in `reversed` */
    MPI_Comm_rank(reversed, &my_rank);
    CHECK_EQ(my_rank, size - 1 - me);
    long long sent_before = 0, sent_after = 0;
    MPIX_Ring_messages(&sent_before, NULL);
    int value = -1;
    MPI_Status status;
    if (me % 2 == 0) {
        for (int i = 0; i < 100; i++) {
            MPI_Send(&i, 1, MPI_INT, peer, 21, reversed);
            MPI_Recv(&value, 1, MPI_INT, peer, 21, reversed, &status);
            CHECK_EQ(value, i + 1000);
            CHECK_EQ(status.MPI_SOURCE, peer);
        }
        value = 1;
        MPI_Send(&value, 1, MPI_INT, partner, 22, copy);
        value = 2;
        MPI_Send(&value, 1, MPI_INT, partner, 22, MPI_COMM_WORLD);
    } else {
        for (int i = 0; i < 100; i++) {
            MPI_Recv(&value, 1, MPI_INT, MPI_ANY_SOURCE, 21, reversed, &status);
            CHECK_EQ(value, i);
            CHECK_EQ(status.MPI_SOURCE, peer);
            value += 1000;
            MPI_Send(&value, 1, MPI_INT, peer, 21, reversed);
        }
        MPI_Recv(&value, 1, MPI_INT, partner, 22, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK_EQ(value, 2);
        MPI_Recv(&value, 1, MPI_INT, partner, 22, copy, MPI_STATUS_IGNORE);
        CHECK_EQ(value, 1);
    }
    MPIX_Ring_messages(&sent_after, NULL);
    if (expect_rings) CHECK(sent_after - sent_before >= 100);
    MPI_Comm_free(&reversed);
    MPI_Comm_free(&copy);
}

/* Everyone to rank 0 with MPI_ANY_SOURCE: each source's messages stay in order. */
static void any_source_keeps_each_source_in_order(void)
{
    enum { EACH = 50 };
    int message[2];
    if (me != 0) {
        for (int i = 0; i < EACH; i++) {
            message[0] = me;
            message[1] = i;
            MPI_Send(message, 2, MPI_INT, 0, 16, MPI_COMM_WORLD);
        }
    } else {
        int* next = calloc(size, sizeof(int));
        int in_order = 1;
        for (int i = 0; i < EACH * (size - 1); i++) {
            MPI_Status status;
            MPI_Recv(message, 2, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
            in_order &= status.MPI_SOURCE == message[0] && message[1] == next[message[0]]++;
        }
        CHECK(in_order);
        free(next);
    }
}

/* A chain whose ends send to and receive from MPI_PROC_NULL (as a stencil's edges do): the guest
   completes those halves itself, so the other half still takes the rings. A receive from
   MPI_PROC_NULL reports source MPI_PROC_NULL, tag MPI_ANY_TAG and no data; arguments the guest
   cannot vouch for still reach the host, which reports them. */
static void chain_with_null_ends(int expect_rings)
{
    enum { STEPS = 200 };
    int left = me > 0 ? me - 1 : MPI_PROC_NULL, right = me + 1 < size ? me + 1 : MPI_PROC_NULL;
    long long received_before = 0, received_after = 0;
    MPIX_Ring_messages(NULL, &received_before);
    int good = 1;
    for (int step = 0; step < STEPS; step++) {
        int out = me * 1000 + step, in = -7;
        MPI_Status status;
        MPI_Sendrecv(&out, 1, MPI_INT, right, 17, &in, 1, MPI_INT, left, 17, MPI_COMM_WORLD, &status);
        if (left == MPI_PROC_NULL) {
            int count = -1;
            MPI_Get_count(&status, MPI_INT, &count);
            good &= in == -7 && status.MPI_SOURCE == MPI_PROC_NULL && status.MPI_TAG == MPI_ANY_TAG && count == 0;
        } else {
            good &= in == left * 1000 + step && status.MPI_SOURCE == left && status.MPI_TAG == 17;
        }
    }
    CHECK(good);
    MPIX_Ring_messages(NULL, &received_after);
    /* Before the guest completed null halves itself, such a Sendrecv went to the host whole. */
    if (expect_rings && right == MPI_PROC_NULL && left != MPI_PROC_NULL) CHECK(received_after > received_before);

    /* A committed derived type to and from MPI_PROC_NULL succeeds; an uncommitted or freed one fails. */
    double grid[16] = { 0 };
    MPI_Datatype column, loose;
    MPI_Type_vector(4, 1, 4, MPI_DOUBLE, &column);
    MPI_Type_commit(&column);
    MPI_Type_vector(4, 1, 4, MPI_DOUBLE, &loose);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    CHECK_EQ(MPI_Sendrecv(grid, 1, column, MPI_PROC_NULL, 18, grid + 1, 1, column, MPI_PROC_NULL, 18,
                          MPI_COMM_WORLD, MPI_STATUS_IGNORE), MPI_SUCCESS);
    CHECK_EQ(MPI_Send(grid, 1, loose, MPI_PROC_NULL, 18, MPI_COMM_WORLD), MPI_ERR_TYPE);
    CHECK_EQ(MPI_Send(grid, -1, MPI_DOUBLE, MPI_PROC_NULL, 18, MPI_COMM_WORLD), MPI_ERR_COUNT);
    CHECK_EQ(MPI_Send(grid, 1, MPI_DOUBLE, MPI_PROC_NULL, -5, MPI_COMM_WORLD), MPI_ERR_TAG);
    CHECK_EQ(MPI_Recv(grid, 1, MPI_DOUBLE, MPI_PROC_NULL, 18, MPI_COMM_NULL, MPI_STATUS_IGNORE), MPI_ERR_COMM);
    MPI_Datatype freed = column;
    MPI_Type_free(&column);
    CHECK_EQ(column, MPI_DATATYPE_NULL);
    CHECK(MPI_Recv(grid, 1, freed, MPI_PROC_NULL, 18, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Type_free(&loose);
}

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    partner = me ^ 1;
    int expect_rings = argc > 1 && strcmp(argv[1], "expect-rings") == 0;
    int expect_sent = argc > 1 && strcmp(argv[1], "expect-sent") == 0;
    if (partner < size) {
        pingpong(expect_rings, expect_sent);
        mixed_sizes_keep_their_order();
        later_tag_first();
        host_then_ring();
        truncation_is_reported();
        self_and_sendrecv();
    }
    if (size % 2 == 0) {
        other_communicators(expect_rings || expect_sent);
        overflowing_the_ring();
        probes_and_posted_receives();
    }
    any_source_keeps_each_source_in_order();
    chain_with_null_ends(expect_rings);
    return finish("rings");
}
