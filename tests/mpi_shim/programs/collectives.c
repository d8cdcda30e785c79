/* collectives.c: every collective, every predefined op on every C type it applies to, user ops. */
#include "check.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int size;
enum { N = 6 };

/* Every op on one type: rank r contributes value(r, i); compare with a fold in rank order. */
#define VALUE(r, i) (((r) * 3 + (i)) % 4 + 1)
#define ALL_OPS(T, MPIT, INTEGRAL)                                                               \
    static void all_ops_##T(void)                                                                 \
    {                                                                                             \
        MPI_Op ops[10] = { MPI_MAX, MPI_MIN, MPI_SUM, MPI_PROD, MPI_LAND, MPI_LOR, MPI_LXOR,      \
                           MPI_BAND, MPI_BOR, MPI_BXOR };                                         \
        int nops = INTEGRAL ? 10 : 4;                                                             \
        for (int o = 0; o < nops; o++) {                                                          \
            T in[N], out[N], expected[N];                                                         \
            for (int i = 0; i < N; i++) in[i] = (T)VALUE(me, i);                                  \
            MPI_Allreduce(in, out, N, MPIT, ops[o], MPI_COMM_WORLD);                              \
            for (int i = 0; i < N; i++) {                                                         \
                T acc = (T)VALUE(0, i);                                                           \
                for (int r = 1; r < size; r++) {                                                  \
                    T v = (T)VALUE(r, i);                                                         \
                    switch (o) {                                                                  \
                    case 0: acc = acc > v ? acc : v; break;                                       \
                    case 1: acc = acc < v ? acc : v; break;                                       \
                    case 2: acc = (T)(acc + v); break;                                            \
                    case 3: acc = (T)(acc * v); break;                                            \
                    INTEGRAL_CASES(T)                                                             \
                    }                                                                             \
                }                                                                                 \
                expected[i] = acc;                                                                \
            }                                                                                     \
            int bad = 0;                                                                          \
            for (int i = 0; i < N; i++) bad += out[i] != expected[i];                             \
            if (bad) printf("op %d on %s wrong: got %lld expected %lld\n", o, #MPIT,              \
                            (long long)out[0], (long long)expected[0]);                           \
            CHECK_EQ(bad, 0);                                                                     \
        }                                                                                         \
    }

#define INTEGRAL_CASES(T)                                                                          \
    case 4: acc = (T)(acc && v); break;                                                           \
    case 5: acc = (T)(acc || v); break;                                                           \
    case 6: acc = (T)(!acc != !v); break;                                                         \
    case 7: acc = (T)(acc & v); break;                                                            \
    case 8: acc = (T)(acc | v); break;                                                            \
    case 9: acc = (T)(acc ^ v); break;

typedef signed char schar;
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
typedef long long llong;
typedef unsigned long long ullong;
ALL_OPS(char, MPI_CHAR, 1)
ALL_OPS(schar, MPI_SIGNED_CHAR, 1)
ALL_OPS(uchar, MPI_UNSIGNED_CHAR, 1)
ALL_OPS(short, MPI_SHORT, 1)
ALL_OPS(ushort, MPI_UNSIGNED_SHORT, 1)
ALL_OPS(int, MPI_INT, 1)
ALL_OPS(uint, MPI_UNSIGNED, 1)
ALL_OPS(long, MPI_LONG, 1)
ALL_OPS(ulong, MPI_UNSIGNED_LONG, 1)
ALL_OPS(llong, MPI_LONG_LONG, 1)
ALL_OPS(ullong, MPI_UNSIGNED_LONG_LONG, 1)
ALL_OPS(int8_t, MPI_INT8_T, 1)
ALL_OPS(int16_t, MPI_INT16_T, 1)
ALL_OPS(int32_t, MPI_INT32_T, 1)
ALL_OPS(int64_t, MPI_INT64_T, 1)
ALL_OPS(uint8_t, MPI_UINT8_T, 1)
ALL_OPS(uint16_t, MPI_UINT16_T, 1)
ALL_OPS(uint32_t, MPI_UINT32_T, 1)
ALL_OPS(uint64_t, MPI_UINT64_T, 1)
#undef INTEGRAL_CASES
#define INTEGRAL_CASES(T)
ALL_OPS(float, MPI_FLOAT, 0)
ALL_OPS(double, MPI_DOUBLE, 0)

static void logical_and_bytes(void)
{
    bool mine = me % 2 == 0, all, any, odd;
    MPI_Allreduce(&mine, &all, 1, MPI_C_BOOL, MPI_LAND, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &any, 1, MPI_C_BOOL, MPI_LOR, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &odd, 1, MPI_C_BOOL, MPI_LXOR, MPI_COMM_WORLD);
    CHECK_EQ(all, size == 1);
    CHECK_EQ(any, 1);
    CHECK_EQ(odd, ((size + 1) / 2) % 2);
    unsigned char bits = (unsigned char)(1u << (me % 8)), ored, xored;
    MPI_Allreduce(&bits, &ored, 1, MPI_BYTE, MPI_BOR, MPI_COMM_WORLD);
    MPI_Allreduce(&bits, &xored, 1, MPI_BYTE, MPI_BXOR, MPI_COMM_WORLD);
    CHECK_EQ(ored, size >= 8 ? 0xff : (1u << size) - 1);
    CHECK_EQ(xored, ored);
}

static void locations(void)
{
    /* Values tie between ranks with the same parity: the lowest rank wins. */
    struct { float v; int i; } f = { (float)(me % 2), me }, fmax, fmin;
    struct { double v; int i; } d = { (double)(me % 3), me }, dmax, dmin;
    struct { long v; int i; } l = { -(long)(me % 2), me }, lmax;
    struct { int v; int i; } t = { me * 7 % 5, me }, tmin;
    struct { short v; int i; } s = { (short)(me % 2), me }, smax;
    MPI_Allreduce(&f, &fmax, 1, MPI_FLOAT_INT, MPI_MAXLOC, MPI_COMM_WORLD);
    MPI_Allreduce(&f, &fmin, 1, MPI_FLOAT_INT, MPI_MINLOC, MPI_COMM_WORLD);
    MPI_Allreduce(&d, &dmax, 1, MPI_DOUBLE_INT, MPI_MAXLOC, MPI_COMM_WORLD);
    MPI_Allreduce(&d, &dmin, 1, MPI_DOUBLE_INT, MPI_MINLOC, MPI_COMM_WORLD);
    MPI_Allreduce(&l, &lmax, 1, MPI_LONG_INT, MPI_MAXLOC, MPI_COMM_WORLD);
    MPI_Allreduce(&t, &tmin, 1, MPI_2INT, MPI_MINLOC, MPI_COMM_WORLD);
    MPI_Allreduce(&s, &smax, 1, MPI_SHORT_INT, MPI_MAXLOC, MPI_COMM_WORLD);
    CHECK(fmax.v == (size > 1 ? 1.0f : 0.0f));
    CHECK_EQ(fmax.i, size > 1 ? 1 : 0);
    CHECK(fmin.v == 0.0f);
    CHECK_EQ(fmin.i, 0);
    CHECK(dmax.v == (size > 2 ? 2.0 : size - 1));
    CHECK_EQ(dmax.i, size > 2 ? 2 : size - 1);
    CHECK_EQ(dmin.i, 0);
    CHECK_EQ(lmax.v, 0);
    CHECK_EQ(lmax.i, 0);
    int best = 0;
    for (int r = 1; r < size; r++)
        if (r * 7 % 5 < best * 7 % 5) best = r;
    CHECK_EQ(tmin.v, best * 7 % 5);
    CHECK_EQ(tmin.i, best);
    CHECK_EQ(smax.i, size > 1 ? 1 : 0);
}

static void rooted(void)
{
    for (int root = 0; root < size; root++) {
        double values[3] = { -1, -1, -1 };
        if (me == root) {
            values[0] = root;
            values[1] = root * 2.5;
            values[2] = -root;
        }
        MPI_Bcast(values, 3, MPI_DOUBLE, root, MPI_COMM_WORLD);
        CHECK(values[1] == root * 2.5);
        int mine = me + 1, total = -1;
        MPI_Reduce(&mine, &total, 1, MPI_INT, MPI_SUM, root, MPI_COMM_WORLD);
        if (me == root) CHECK_EQ(total, size * (size + 1) / 2);
        int in_place = me + 1;
        MPI_Reduce(me == root ? MPI_IN_PLACE : &in_place, &in_place, 1, MPI_INT, MPI_MAX, root, MPI_COMM_WORLD);
        if (me == root) CHECK_EQ(in_place, size);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    /* Broadcast through a vector type: every other element. */
    int spaced[8] = { 0 };
    if (me == 0) for (int i = 0; i < 8; i++) spaced[i] = 10 + i;
    MPI_Datatype every_other;
    MPI_Type_vector(4, 1, 2, MPI_INT, &every_other);
    MPI_Type_commit(&every_other);
    MPI_Bcast(spaced, 1, every_other, 0, MPI_COMM_WORLD);
    CHECK_EQ(spaced[6], 16);
    CHECK_EQ(spaced[7], me == 0 ? 17 : 0);
    MPI_Type_free(&every_other);
}

static void scans(void)
{
    int mine = me + 1, prefix = -1, exclusive = -7;
    MPI_Scan(&mine, &prefix, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK_EQ(prefix, (me + 1) * (me + 2) / 2);
    MPI_Exscan(&mine, &exclusive, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (me > 0) CHECK_EQ(exclusive, me * (me + 1) / 2);
    else CHECK_EQ(exclusive, -7);
    double product = me + 1.0;
    MPI_Scan(MPI_IN_PLACE, &product, 1, MPI_DOUBLE, MPI_PROD, MPI_COMM_WORLD);
    double factorial = 1;
    for (int r = 1; r <= me + 1; r++) factorial *= r;
    CHECK(product == factorial);
}

static void gathers_and_scatters(void)
{
    int* all = malloc(sizeof(int) * 2 * size);
    int* counts = malloc(sizeof(int) * size);
    int* displs = malloc(sizeof(int) * size);
    int pair[2] = { me, me * me };
    for (int root = 0; root < size; root += (size > 3 ? 3 : 1)) {
        for (int i = 0; i < 2 * size; i++) all[i] = -1;
        MPI_Gather(pair, 2, MPI_INT, all, 2, MPI_INT, root, MPI_COMM_WORLD);
        if (me == root)
            for (int r = 0; r < size; r++) CHECK_EQ(all[2 * r + 1], r * r);
        /* Scatter it back, doubled. */
        if (me == root) for (int i = 0; i < 2 * size; i++) all[i] *= 2;
        int back[2] = { -1, -1 };
        MPI_Scatter(all, 2, MPI_INT, back, 2, MPI_INT, root, MPI_COMM_WORLD);
        CHECK_EQ(back[0], 2 * me);
        CHECK_EQ(back[1], 2 * me * me);
        /* In place at the root. */
        if (me == root) {
            for (int i = 0; i < 2 * size; i++) all[i] = -1;
            all[2 * root] = pair[0];
            all[2 * root + 1] = pair[1];
        }
        MPI_Gather(me == root ? MPI_IN_PLACE : pair, 2, MPI_INT, all, 2, MPI_INT, root, MPI_COMM_WORLD);
        if (me == root) for (int r = 0; r < size; r++) CHECK_EQ(all[2 * r], r);
        MPI_Scatter(all, 2, MPI_INT, me == root ? MPI_IN_PLACE : back, 2, MPI_INT, root, MPI_COMM_WORLD);
        if (me != root) CHECK_EQ(back[0], me);
    }
    /* Variable counts: rank r sends r+1 values r, placed from the end backwards. */
    int total = size * (size + 1) / 2, position = total;
    for (int r = 0; r < size; r++) {
        counts[r] = r + 1;
        position -= r + 1;
        displs[r] = position;
    }
    int* many = malloc(sizeof(int) * total);
    int* mine = malloc(sizeof(int) * (me + 1));
    for (int i = 0; i <= me; i++) mine[i] = me;
    for (int i = 0; i < total; i++) many[i] = -1;
    MPI_Gatherv(mine, me + 1, MPI_INT, many, counts, displs, MPI_INT, 0, MPI_COMM_WORLD);
    if (me == 0)
        for (int r = 0; r < size; r++) CHECK_EQ(many[displs[r] + r], r);
    for (int i = 0; i < total; i++) many[i] = -1;
    MPI_Allgatherv(mine, me + 1, MPI_INT, many, counts, displs, MPI_INT, MPI_COMM_WORLD);
    int bad = 0;
    for (int r = 0; r < size; r++)
        for (int i = 0; i <= r; i++) bad += many[displs[r] + i] != r;
    CHECK_EQ(bad, 0);
    for (int i = 0; i <= me; i++) mine[i] = -1;
    MPI_Scatterv(many, counts, displs, MPI_INT, mine, me + 1, MPI_INT, size - 1, MPI_COMM_WORLD);
    CHECK_EQ(mine[me], me);
    /* Allgather, also in place. */
    long* ranks = malloc(sizeof(long) * size);
    long own = me * 3;
    MPI_Allgather(&own, 1, MPI_LONG, ranks, 1, MPI_LONG, MPI_COMM_WORLD);
    CHECK_EQ(ranks[size - 1], (size - 1) * 3);
    for (int r = 0; r < size; r++) ranks[r] = r == me ? -me : 0;
    MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, ranks, 1, MPI_LONG, MPI_COMM_WORLD);
    bad = 0;
    for (int r = 0; r < size; r++) bad += ranks[r] != -r;
    CHECK_EQ(bad, 0);
    free(ranks);
    free(many);
    free(mine);
    free(all);
    free(counts);
    free(displs);
}

static void all_to_all(void)
{
    int* out = malloc(sizeof(int) * 2 * size);
    int* in = malloc(sizeof(int) * 2 * size);
    for (int r = 0; r < size; r++) {
        out[2 * r] = me * 100 + r;
        out[2 * r + 1] = -(me * 100 + r);
    }
    MPI_Alltoall(out, 2, MPI_INT, in, 2, MPI_INT, MPI_COMM_WORLD);
    int bad = 0;
    for (int r = 0; r < size; r++) bad += in[2 * r] != r * 100 + me || in[2 * r + 1] != -(r * 100 + me);
    CHECK_EQ(bad, 0);
    memcpy(in, out, sizeof(int) * 2 * size);
    MPI_Alltoall(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, in, 2, MPI_INT, MPI_COMM_WORLD);
    bad = 0;
    for (int r = 0; r < size; r++) bad += in[2 * r] != r * 100 + me;
    CHECK_EQ(bad, 0);
    /* Alltoallv: rank s sends (d % 2) + 1 values to rank d. */
    int *scounts = malloc(sizeof(int) * size), *sdispls = malloc(sizeof(int) * size);
    int *rcounts = malloc(sizeof(int) * size), *rdispls = malloc(sizeof(int) * size);
    int *vout = malloc(sizeof(int) * 2 * size), *vin = malloc(sizeof(int) * 2 * size);
    int so = 0, ro = 0;
    for (int r = 0; r < size; r++) {
        scounts[r] = r % 2 + 1;
        sdispls[r] = so;
        for (int i = 0; i < scounts[r]; i++) vout[so + i] = me * 10 + i;
        so += scounts[r];
        rcounts[r] = me % 2 + 1;
        rdispls[r] = ro;
        ro += rcounts[r];
    }
    MPI_Alltoallv(vout, scounts, sdispls, MPI_INT, vin, rcounts, rdispls, MPI_INT, MPI_COMM_WORLD);
    bad = 0;
    for (int r = 0; r < size; r++)
        for (int i = 0; i < rcounts[r]; i++) bad += vin[rdispls[r] + i] != r * 10 + i;
    CHECK_EQ(bad, 0);
    free(out); free(in); free(scounts); free(sdispls); free(rcounts); free(rdispls); free(vout); free(vin);
}

/* Chunks of 64 KiB and more are read in place from the sender's buffer by the rank they go to: a
   sender that overwrites its buffer as soon as MPI_Alltoall returns must not change what others got. */
static void large_all_to_all(void)
{
    enum { BIG = 32 * 1024 }; /* ints: 128 KiB chunks */
    int *out = malloc(sizeof(int) * BIG * size), *in = malloc(sizeof(int) * BIG * size);
    int bad = 0;
    for (int round = 0; round < 3; round++) {
        for (int r = 0; r < size; r++)
            for (int i = 0; i < BIG; i++) out[r * BIG + i] = round * 1000000 + me * 1000 + r + i;
        MPI_Alltoall(out, BIG, MPI_INT, in, BIG, MPI_INT, MPI_COMM_WORLD);
        for (int i = 0; i < BIG * size; i++) out[i] = -1;
        for (int r = 0; r < size; r++)
            for (int i = 0; i < BIG; i++) bad += in[r * BIG + i] != round * 1000000 + r * 1000 + me + i;
    }
    CHECK_EQ(bad, 0);
    /* Alltoallv mixing chunks read in place (to odd ranks) with copied ones (to even ranks). */
    int *scounts = malloc(sizeof(int) * size), *sdispls = malloc(sizeof(int) * size);
    int *rcounts = malloc(sizeof(int) * size), *rdispls = malloc(sizeof(int) * size);
    int so = 0, ro = 0;
    for (int r = 0; r < size; r++) {
        scounts[r] = r % 2 ? BIG : 3;
        sdispls[r] = so;
        for (int i = 0; i < scounts[r]; i++) out[so + i] = me * 7 + r + i;
        so += scounts[r];
        rcounts[r] = me % 2 ? BIG : 3;
        rdispls[r] = ro;
        ro += rcounts[r];
    }
    MPI_Alltoallv(out, scounts, sdispls, MPI_INT, in, rcounts, rdispls, MPI_INT, MPI_COMM_WORLD);
    for (int i = 0; i < so; i++) out[i] = -1;
    bad = 0;
    for (int r = 0; r < size; r++)
        for (int i = 0; i < rcounts[r]; i++) bad += in[rdispls[r] + i] != r * 7 + me + i;
    CHECK_EQ(bad, 0);
    free(out); free(in); free(scounts); free(sdispls); free(rcounts); free(rdispls);
}

static void reduce_scatters(void)
{
    int* values = malloc(sizeof(int) * 2 * size);
    int* counts = malloc(sizeof(int) * size);
    for (int i = 0; i < 2 * size; i++) values[i] = i + me;
    int block[2];
    MPI_Reduce_scatter_block(values, block, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int base = size * (size - 1) / 2;
    CHECK_EQ(block[0], 2 * me * size + base);
    CHECK_EQ(block[1], (2 * me + 1) * size + base);
    for (int r = 0; r < size; r++) counts[r] = r == 0 ? 2 : (r == 1 ? 0 : 1);
    int total = 0;
    for (int r = 0; r < size; r++) total += counts[r];
    int out[2] = { -1, -1 }, start = 0;
    for (int r = 0; r < me; r++) start += counts[r];
    MPI_Reduce_scatter(values, out, counts, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (counts[me] > 0) CHECK_EQ(out[0], start + size - 1);
    (void)total;
    free(values);
    free(counts);
}

/* x -> a*x + b, composed lower rank first: associative but not commutative. */
static void compose(void* invec, void* inoutvec, int* len, MPI_Datatype* datatype)
{
    int* first = invec;
    int* second = inoutvec;
    for (int i = 0; i < *len; i++) {
        int a = second[2 * i] * first[2 * i];
        int b = second[2 * i] * first[2 * i + 1] + second[2 * i + 1];
        second[2 * i] = a;
        second[2 * i + 1] = b;
    }
    (void)datatype;
}

static void add_ints(void* invec, void* inoutvec, int* len, MPI_Datatype* datatype)
{
    int size_of;
    MPI_Type_size(*datatype, &size_of);
    int n = *len * size_of / (int)sizeof(int);
    for (int i = 0; i < n; i++) ((int*)inoutvec)[i] += ((int*)invec)[i];
}

static void user_ops(void)
{
    MPI_Op composition, addition;
    MPI_Op_create(compose, 0, &composition);
    MPI_Op_create(add_ints, 1, &addition);
    int mine[2] = { me % 2 + 1, me }, result[2];
    MPI_Allreduce(mine, result, 1, MPI_2INT, composition, MPI_COMM_WORLD);
    int a = 1, b = 0;
    for (int r = 0; r < size; r++) {
        b = (r % 2 + 1) * b + r;
        a = (r % 2 + 1) * a;
    }
    CHECK_EQ(result[0], a);
    CHECK_EQ(result[1], b);
    MPI_Scan(mine, result, 1, MPI_2INT, composition, MPI_COMM_WORLD);
    a = 1, b = 0;
    for (int r = 0; r <= me; r++) {
        b = (r % 2 + 1) * b + r;
        a = (r % 2 + 1) * a;
    }
    CHECK_EQ(result[1], b);
    /* A user op on a derived type, reduced to a root. */
    MPI_Datatype triple;
    MPI_Type_contiguous(3, MPI_INT, &triple);
    MPI_Type_commit(&triple);
    int values[6] = { me, 1, 2 * me, 3, 4, 5 }, sums[6] = { 0 };
    MPI_Reduce(values, sums, 2, triple, addition, size - 1, MPI_COMM_WORLD);
    if (me == size - 1) {
        CHECK_EQ(sums[0], size * (size - 1) / 2);
        CHECK_EQ(sums[1], size);
        CHECK_EQ(sums[5], 5 * size);
    }
    MPI_Type_free(&triple);
    MPI_Op_free(&composition);
    MPI_Op_free(&addition);
    CHECK_EQ(addition, MPI_OP_NULL);
}

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Barrier(MPI_COMM_WORLD);
    all_ops_char(); all_ops_schar(); all_ops_uchar(); all_ops_short(); all_ops_ushort();
    all_ops_int(); all_ops_uint(); all_ops_long(); all_ops_ulong(); all_ops_llong(); all_ops_ullong();
    all_ops_int8_t(); all_ops_int16_t(); all_ops_int32_t(); all_ops_int64_t();
    all_ops_uint8_t(); all_ops_uint16_t(); all_ops_uint32_t(); all_ops_uint64_t();
    all_ops_float(); all_ops_double();
    logical_and_bytes();
    locations();
    rooted();
    scans();
    gathers_and_scatters();
    all_to_all();
    large_all_to_all();
    reduce_scatters();
    user_ops();
    return finish("collectives");
}
