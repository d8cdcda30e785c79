/* comms.c: environment, communicators, groups, Cartesian topologies, datatypes, memory. */
#include "check.h"
#include <stdlib.h>
#include <string.h>

static int size;

static void environment(void)
{
    int flag = 0, version, subversion, provided, length;
    MPI_Initialized(&flag);
    CHECK_EQ(flag, 1);
    MPI_Finalized(&flag);
    CHECK_EQ(flag, 0);
    MPI_Get_version(&version, &subversion);
    CHECK_EQ(version, 3);
    CHECK_EQ(subversion, 1);
    MPI_Query_thread(&provided);
    CHECK_EQ(provided, MPI_THREAD_FUNNELED);
    MPI_Is_thread_main(&flag);
    CHECK_EQ(flag, 1);
    char name[MPI_MAX_PROCESSOR_NAME];
    MPI_Get_processor_name(name, &length);
    CHECK(length > 0 && (int)strlen(name) == length);
    char library[MPI_MAX_LIBRARY_VERSION_STRING];
    MPI_Get_library_version(library, &length);
    CHECK(length > 0);
    char text[MPI_MAX_ERROR_STRING];
    MPI_Error_string(MPI_ERR_TRUNCATE, text, &length);
    CHECK(strcmp(text, "MPI_ERR_TRUNCATE") == 0);
    int error_class;
    MPI_Error_class(MPI_ERR_RANK, &error_class);
    CHECK_EQ(error_class, MPI_ERR_RANK);
    double start = MPI_Wtime();
    CHECK(MPI_Wtick() > 0 && MPI_Wtick() < 0.01);
    CHECK(MPI_Wtime() >= start);
    void* memory = NULL;
    CHECK_EQ(MPI_Alloc_mem(1024, MPI_INFO_NULL, &memory), MPI_SUCCESS);
    CHECK(memory != NULL);
    memset(memory, 7, 1024);
    CHECK_EQ(MPI_Free_mem(memory), MPI_SUCCESS);
}

static void communicators(void)
{
    MPI_Comm dup, halves, reversed, evens, self_dup;
    int result, rank, n;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_compare(MPI_COMM_WORLD, MPI_COMM_WORLD, &result);
    CHECK_EQ(result, MPI_IDENT);
    MPI_Comm_compare(MPI_COMM_WORLD, dup, &result);
    CHECK_EQ(result, MPI_CONGRUENT);
    MPI_Comm_rank(dup, &rank);
    CHECK_EQ(rank, me);

    /* Split into halves; keys reverse the order inside each half. */
    MPI_Comm_split(MPI_COMM_WORLD, me < size / 2, -me, &halves);
    MPI_Comm_size(halves, &n);
    MPI_Comm_rank(halves, &rank);
    int half_size = me < size / 2 ? size / 2 : size - size / 2;
    CHECK_EQ(n, half_size);
    int first = me < size / 2 ? 0 : size / 2;
    CHECK_EQ(rank, first + half_size - 1 - me);
    int sum = 0;
    MPI_Allreduce(&me, &sum, 1, MPI_INT, MPI_SUM, halves);
    int expected = 0;
    for (int r = first; r < first + half_size; r++) expected += r;
    CHECK_EQ(sum, expected);

    MPI_Comm_split(MPI_COMM_WORLD, 0, size - me, &reversed);
    MPI_Comm_compare(MPI_COMM_WORLD, reversed, &result);
    CHECK_EQ(result, size == 1 ? MPI_CONGRUENT : MPI_SIMILAR);

    /* MPI_UNDEFINED opts out. */
    MPI_Comm none;
    MPI_Comm_split(MPI_COMM_WORLD, me == 0 ? MPI_UNDEFINED : 1, 0, &none);
    CHECK(me == 0 ? none == MPI_COMM_NULL : none != MPI_COMM_NULL);
    if (none != MPI_COMM_NULL) {
        MPI_Comm_size(none, &n);
        CHECK_EQ(n, size - 1);
        MPI_Comm_free(&none);
    }

    /* Comm_create from a group of the even ranks. */
    MPI_Group world_group, even_group;
    MPI_Comm_group(MPI_COMM_WORLD, &world_group);
    int* even_ranks = malloc(sizeof(int) * size);
    int nevens = 0;
    for (int r = 0; r < size; r += 2) even_ranks[nevens++] = r;
    MPI_Group_incl(world_group, nevens, even_ranks, &even_group);
    MPI_Comm_create(MPI_COMM_WORLD, even_group, &evens);
    if (me % 2 == 0) {
        MPI_Comm_rank(evens, &rank);
        CHECK_EQ(rank, me / 2);
        int value = me == 0 ? 99 : -1;
        MPI_Bcast(&value, 1, MPI_INT, 0, evens);
        CHECK_EQ(value, 99);
        MPI_Comm_free(&evens);
    } else {
        CHECK_EQ(evens, MPI_COMM_NULL);
    }
    /* COMM_SELF is every rank alone. */
    MPI_Comm_size(MPI_COMM_SELF, &n);
    CHECK_EQ(n, 1);
    MPI_Comm_dup(MPI_COMM_SELF, &self_dup);
    MPI_Comm_rank(self_dup, &rank);
    CHECK_EQ(rank, 0);
    int alone = 5;
    MPI_Allreduce(MPI_IN_PLACE, &alone, 1, MPI_INT, MPI_SUM, self_dup);
    CHECK_EQ(alone, 5);
    MPI_Comm_free(&self_dup);
    MPI_Comm_free(&dup);
    MPI_Comm_free(&halves);
    MPI_Comm_free(&reversed);
    MPI_Group_free(&world_group);
    MPI_Group_free(&even_group);
    CHECK_EQ(even_group, MPI_GROUP_NULL);
    free(even_ranks);
}

static void groups(void)
{
    MPI_Group world, odd, rest, both, common, diff;
    int n, rank, result;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    MPI_Group_size(world, &n);
    CHECK_EQ(n, size);
    MPI_Group_rank(world, &rank);
    CHECK_EQ(rank, me);
    int* odds = malloc(sizeof(int) * size);
    int nodds = 0;
    for (int r = 1; r < size; r += 2) odds[nodds++] = r;
    MPI_Group_incl(world, nodds, odds, &odd);
    MPI_Group_excl(world, nodds, odds, &rest);
    MPI_Group_size(odd, &n);
    CHECK_EQ(n, nodds);
    MPI_Group_rank(odd, &rank);
    CHECK_EQ(rank, me % 2 ? me / 2 : MPI_UNDEFINED);
    MPI_Group_size(rest, &n);
    CHECK_EQ(n, size - nodds);
    /* Translate the odd group's ranks into the world: the odd ranks themselves. */
    int* in = malloc(sizeof(int) * (nodds + 1));
    int* out = malloc(sizeof(int) * (nodds + 1));
    for (int i = 0; i < nodds; i++) in[i] = i;
    MPI_Group_translate_ranks(odd, nodds, in, world, out);
    for (int i = 0; i < nodds; i++) CHECK_EQ(out[i], 2 * i + 1);
    in[0] = 0;
    MPI_Group_translate_ranks(world, 1, in, odd, out);
    CHECK_EQ(out[0], MPI_UNDEFINED);
    MPI_Group_union(rest, odd, &both);
    MPI_Group_compare(both, world, &result);
    CHECK_EQ(result, size <= 2 ? MPI_IDENT : MPI_SIMILAR);
    MPI_Group_intersection(world, odd, &common);
    MPI_Group_compare(common, odd, &result);
    CHECK_EQ(result, MPI_IDENT);
    MPI_Group_difference(world, world, &diff);
    MPI_Group_size(diff, &n);
    CHECK_EQ(n, 0);
    MPI_Group_free(&world);
    MPI_Group_free(&odd);
    MPI_Group_free(&rest);
    MPI_Group_free(&both);
    MPI_Group_free(&common);
    free(odds);
    free(in);
    free(out);
}

static void cartesian(void)
{
    int dims2[2] = { 0, 0 }, dims3[3] = { 0, 0, 0 }, fixed[3] = { 0, 3, 0 };
    MPI_Dims_create(size, 2, dims2);
    CHECK_EQ(dims2[0] * dims2[1], size);
    CHECK(dims2[0] >= dims2[1]);
    MPI_Dims_create(12, 3, dims3);
    CHECK(dims3[0] == 3 && dims3[1] == 2 && dims3[2] == 2);
    MPI_Dims_create(6, 3, fixed);
    CHECK(fixed[0] == 2 && fixed[1] == 3 && fixed[2] == 1);

    /* A periodic 2-D torus. */
    int periods[2] = { 1, 1 }, coords[2], rank, source, dest;
    MPI_Comm torus;
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims2, periods, 0, &torus);
    int topology;
    MPI_Topo_test(torus, &topology);
    CHECK_EQ(topology, MPI_CART);
    MPI_Topo_test(MPI_COMM_WORLD, &topology);
    CHECK_EQ(topology, MPI_UNDEFINED);
    MPI_Comm_rank(torus, &rank);
    MPI_Cart_coords(torus, rank, 2, coords);
    CHECK_EQ(coords[0], rank / dims2[1]);
    CHECK_EQ(coords[1], rank % dims2[1]);
    int back;
    MPI_Cart_rank(torus, coords, &back);
    CHECK_EQ(back, rank);
    MPI_Cart_shift(torus, 1, 1, &source, &dest);
    CHECK_EQ(dest, coords[0] * dims2[1] + (coords[1] + 1) % dims2[1]);
    CHECK_EQ(source, coords[0] * dims2[1] + (coords[1] + dims2[1] - 1) % dims2[1]);
    int got_dims[2], got_periods[2], got_coords[2], ndims;
    MPI_Cart_get(torus, 2, got_dims, got_periods, got_coords);
    CHECK(got_dims[0] == dims2[0] && got_periods[1] == 1 && got_coords[1] == coords[1]);
    MPI_Cartdim_get(torus, &ndims);
    CHECK_EQ(ndims, 2);
    /* Wrapping coordinates on a periodic grid. */
    int wrapped[2] = { coords[0] + dims2[0], coords[1] - dims2[1] };
    MPI_Cart_rank(torus, wrapped, &back);
    CHECK_EQ(back, rank);
    /* Rows of the torus as sub-communicators. */
    int remain[2] = { 0, 1 };
    MPI_Comm row;
    MPI_Cart_sub(torus, remain, &row);
    int row_size, row_rank;
    MPI_Comm_size(row, &row_size);
    MPI_Comm_rank(row, &row_rank);
    CHECK_EQ(row_size, dims2[1]);
    CHECK_EQ(row_rank, coords[1]);
    int row_sum = 0;
    MPI_Allreduce(&rank, &row_sum, 1, MPI_INT, MPI_SUM, row);
    CHECK_EQ(row_sum, coords[0] * dims2[1] * dims2[1] + dims2[1] * (dims2[1] - 1) / 2);
    MPI_Cartdim_get(row, &ndims);
    CHECK_EQ(ndims, 1);
    MPI_Comm_free(&row);
    MPI_Comm_free(&torus);

    /* A non-periodic 1-D line over fewer ranks than the world: the rest get MPI_COMM_NULL. */
    int line_dims[1] = { size > 1 ? size - 1 : 1 }, line_periods[1] = { 0 };
    MPI_Comm line;
    MPI_Cart_create(MPI_COMM_WORLD, 1, line_dims, line_periods, 0, &line);
    if (me < line_dims[0]) {
        MPI_Cart_shift(line, 0, 1, &source, &dest);
        CHECK_EQ(source, me == 0 ? MPI_PROC_NULL : me - 1);
        CHECK_EQ(dest, me == line_dims[0] - 1 ? MPI_PROC_NULL : me + 1);
        MPI_Comm_free(&line);
    } else {
        CHECK_EQ(line, MPI_COMM_NULL);
    }

    /* A 3-D grid, periodic in one dimension only. */
    int d3[3] = { 0, 0, 0 }, p3[3] = { 0, 1, 0 }, c3[3];
    MPI_Dims_create(size, 3, d3);
    MPI_Comm cube;
    MPI_Cart_create(MPI_COMM_WORLD, 3, d3, p3, 0, &cube);
    MPI_Cart_coords(cube, me, 3, c3);
    CHECK_EQ(c3[0] * d3[1] * d3[2] + c3[1] * d3[2] + c3[2], me);
    MPI_Cart_shift(cube, 0, 1, &source, &dest);
    CHECK_EQ(dest, c3[0] + 1 < d3[0] ? me + d3[1] * d3[2] : MPI_PROC_NULL);
    MPI_Comm_free(&cube);
}

static void datatypes(void)
{
    int type_size;
    MPI_Aint lb, extent;
    struct { MPI_Datatype type; int size; } sizes[] = {
        { MPI_CHAR, 1 }, { MPI_SHORT, 2 }, { MPI_INT, 4 }, { MPI_LONG, 4 }, { MPI_LONG_LONG, 8 },
        { MPI_FLOAT, 4 }, { MPI_DOUBLE, 8 }, { MPI_LONG_DOUBLE, 16 }, { MPI_C_BOOL, 1 }, { MPI_INT64_T, 8 },
        { MPI_UINT16_T, 2 }, { MPI_BYTE, 1 }, { MPI_2INT, 8 }, { MPI_DOUBLE_INT, 12 }, { MPI_SHORT_INT, 6 },
        { MPI_FLOAT_INT, 8 }, { MPI_LONG_INT, 8 }, { MPI_C_DOUBLE_COMPLEX, 16 }, { MPI_WCHAR, 4 },
    };
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        MPI_Type_size(sizes[i].type, &type_size);
        CHECK_EQ(type_size, sizes[i].size);
    }
    MPI_Type_get_extent(MPI_DOUBLE_INT, &lb, &extent);
    CHECK_EQ(extent, 16);
    MPI_Datatype contiguous, vector, resized, indexed;
    MPI_Type_contiguous(5, MPI_DOUBLE, &contiguous);
    MPI_Type_size(contiguous, &type_size);
    CHECK_EQ(type_size, 40);
    MPI_Type_vector(3, 2, 4, MPI_INT, &vector);
    MPI_Type_size(vector, &type_size);
    CHECK_EQ(type_size, 24);
    MPI_Type_get_extent(vector, &lb, &extent);
    CHECK_EQ(lb, 0);
    CHECK_EQ(extent, (2 * 4 + 2) * 4);
    MPI_Type_create_resized(vector, 0, 64, &resized);
    MPI_Type_get_extent(resized, &lb, &extent);
    CHECK_EQ(extent, 64);
    MPI_Aint true_lb, true_extent;
    MPI_Type_get_true_extent(resized, &true_lb, &true_extent);
    CHECK_EQ(true_extent, 40);
    int lengths[2] = { 1, 2 }, displs[2] = { 3, 0 };
    MPI_Type_indexed(2, lengths, displs, MPI_INT, &indexed);
    MPI_Type_commit(&indexed);
    int source[4] = { 10, 11, 12, 13 }, target[4] = { 0, 0, 0, 0 };
    MPI_Sendrecv(source, 1, indexed, 0, 0, target, 3, MPI_INT, 0, 0, MPI_COMM_SELF, MPI_STATUS_IGNORE);
    CHECK(target[0] == 13 && target[1] == 10 && target[2] == 11); /* typemap order, not address order */
    /* Two resized vectors side by side: a 2-column slab of a 4x4 matrix, sent twice. */
    MPI_Type_commit(&resized);
    int matrix[8][8], slab[2][24];
    /* resized: blocks of 2 ints at offsets 0, 4, 8 ints; an extent of 16 ints. */
    for (int i = 0; i < 64; i++) ((int*)matrix)[i] = i;
    MPI_Sendrecv(matrix, 2, resized, 0, 1, slab, 48, MPI_INT, 0, 1, MPI_COMM_SELF, MPI_STATUS_IGNORE);
    CHECK_EQ(slab[0][2], 4);
    CHECK_EQ(slab[0][6], 16); /* the second element starts 64 bytes (16 ints) on */
    CHECK_EQ(slab[0][11], 25);
    MPI_Type_free(&contiguous);
    MPI_Type_free(&vector);
    MPI_Type_free(&resized);
    MPI_Type_free(&indexed);
}

int main(int argc, char** argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CHECK_EQ(provided, MPI_THREAD_FUNNELED);
    environment();
    communicators();
    groups();
    cartesian();
    datatypes();
    return finish("comms");
}
