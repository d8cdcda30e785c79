/*
 * mpi_bench.c: the kernels of `faabric bench mpi`, built both for wasm and natively (mpicc).
 * Every mode prints "key value" lines on rank 0 (times in microseconds, measured with MPI_Wtime).
 *
 *   pingpong ITERS          ranks 0 and 1 bounce 8 B .. 8 MiB; half the round trip per size
 *   collectives ITERS       MPI_Allreduce (1 double), MPI_Bcast (1 KiB), MPI_Alltoall (1 int per rank)
 *   stencil N STEPS         2-D Jacobi with halo exchange over a Cartesian grid
 *   transpose N ITERS       distributed N x N transpose: local blocks + MPI_Alltoall
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size;

static void pingpong(int iterations)
{
    static const int sizes[] = { 8, 64, 512, 4096, 32768, 262144, 1 << 20, 8 << 20 };
    char* buffer = malloc(8 << 20);
    memset(buffer, 1, 8 << 20);
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int bytes = sizes[s];
        int iters = bytes >= (1 << 20) ? (iterations / 50 > 5 ? iterations / 50 : 5) : iterations;
        for (int round = 0; round < 2; round++) { /* a warm-up round, then the timed one */
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            for (int i = 0; i < iters; i++) {
                if (rank == 0) {
                    MPI_Send(buffer, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                    MPI_Recv(buffer, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else if (rank == 1) {
                    MPI_Recv(buffer, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    MPI_Send(buffer, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
                }
            }
            double elapsed = MPI_Wtime() - start;
            if (round == 1 && rank == 0) {
                printf("pingpong_%d %.4f\n", bytes, elapsed / iters / 2 * 1e6);
            }
        }
    }
    free(buffer);
}

static double timed(void (*op)(void*), void* arg, int iterations)
{
    for (int i = 0; i < iterations / 10 + 1; i++) op(arg);
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    for (int i = 0; i < iterations; i++) op(arg);
    double elapsed = MPI_Wtime() - start, slowest;
    MPI_Reduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    return slowest / iterations * 1e6;
}

static void allreduce_op(void* arg)
{
    double in = rank, out;
    MPI_Allreduce(&in, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    (void)arg;
}

static void bcast_op(void* arg)
{
    MPI_Bcast(arg, 1024, MPI_BYTE, 0, MPI_COMM_WORLD);
}

static void alltoall_op(void* arg)
{
    int* buffers = arg;
    MPI_Alltoall(buffers, 1, MPI_INT, buffers + size, 1, MPI_INT, MPI_COMM_WORLD);
}

static void collectives(int iterations)
{
    char block[1024] = { 0 };
    int* buffers = calloc(2 * size, sizeof(int));
    double allreduce = timed(allreduce_op, NULL, iterations);
    double bcast = timed(bcast_op, block, iterations);
    double alltoall = timed(alltoall_op, buffers, iterations);
    if (rank == 0) {
        printf("allreduce %.4f\nbcast %.4f\nalltoall %.4f\n", allreduce, bcast, alltoall);
    }
    free(buffers);
}

#define AT(grid, i, j) grid[(i) * (cols + 2) + (j)]

static void stencil(int n, int steps)
{
    int dims[2] = { 0, 0 }, periods[2] = { 0, 0 }, coords[2], up, down, left, right, me;
    MPI_Dims_create(size, 2, dims);
    MPI_Comm grid_comm;
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &grid_comm);
    MPI_Comm_rank(grid_comm, &me);
    MPI_Cart_coords(grid_comm, me, 2, coords);
    MPI_Cart_shift(grid_comm, 0, 1, &up, &down);
    MPI_Cart_shift(grid_comm, 1, 1, &left, &right);
    int rows = n * (coords[0] + 1) / dims[0] - n * coords[0] / dims[0];
    int cols = n * (coords[1] + 1) / dims[1] - n * coords[1] / dims[1];
    double* grid = calloc((size_t)(rows + 2) * (cols + 2), sizeof(double));
    double* next = calloc((size_t)(rows + 2) * (cols + 2), sizeof(double));
    if (coords[0] == 0)
        for (int j = 0; j < cols + 2; j++) AT(grid, 0, j) = AT(next, 0, j) = 100.0;
    MPI_Datatype column;
    MPI_Type_vector(rows, 1, cols + 2, MPI_DOUBLE, &column);
    MPI_Type_commit(&column);
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    for (int step = 0; step < steps; step++) {
        MPI_Sendrecv(&AT(grid, 1, 1), cols, MPI_DOUBLE, up, 0, &AT(grid, rows + 1, 1), cols, MPI_DOUBLE, down, 0, grid_comm, MPI_STATUS_IGNORE);
        MPI_Sendrecv(&AT(grid, rows, 1), cols, MPI_DOUBLE, down, 1, &AT(grid, 0, 1), cols, MPI_DOUBLE, up, 1, grid_comm, MPI_STATUS_IGNORE);
        MPI_Sendrecv(&AT(grid, 1, 1), 1, column, left, 2, &AT(grid, 1, cols + 1), 1, column, right, 2, grid_comm, MPI_STATUS_IGNORE);
        MPI_Sendrecv(&AT(grid, 1, cols), 1, column, right, 3, &AT(grid, 1, 0), 1, column, left, 3, grid_comm, MPI_STATUS_IGNORE);
        for (int i = 1; i <= rows; i++)
            for (int j = 1; j <= cols; j++)
                AT(next, i, j) = 0.25 * (AT(grid, i - 1, j) + AT(grid, i + 1, j) + AT(grid, i, j - 1) + AT(grid, i, j + 1));
        double* swap = grid;
        grid = next;
        next = swap;
    }
    double elapsed = MPI_Wtime() - start, slowest, local = 0, total;
    for (int i = 1; i <= rows; i++)
        for (int j = 1; j <= cols; j++) local += AT(grid, i, j);
    MPI_Reduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) printf("stencil %.4f\nstencil_checksum %.6f\n", slowest * 1e6, total);
    MPI_Type_free(&column);
    MPI_Comm_free(&grid_comm);
    free(grid);
    free(next);
}

static void transpose(int n, int iterations)
{
    int rows = n / size; /* this rank's rows of A, and of B = A^T */
    double* a = malloc(sizeof(double) * rows * n);
    double* b = malloc(sizeof(double) * rows * n);
    double* packed = malloc(sizeof(double) * rows * n);
    double* received = malloc(sizeof(double) * rows * n);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < n; j++) a[i * n + j] = (double)(rank * rows + i) * n + j;
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    for (int it = 0; it < iterations; it++) {
        for (int r = 0; r < size; r++) /* block r of my rows goes to rank r, transposed */
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < rows; j++) packed[r * rows * rows + j * rows + i] = a[i * n + r * rows + j];
        MPI_Alltoall(packed, rows * rows, MPI_DOUBLE, received, rows * rows, MPI_DOUBLE, MPI_COMM_WORLD);
        for (int r = 0; r < size; r++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < rows; j++) b[i * n + r * rows + j] = received[r * rows * rows + i * rows + j];
    }
    double elapsed = MPI_Wtime() - start, slowest;
    int bad = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < n; j++) bad += b[i * n + j] != (double)j * n + rank * rows + i;
    int all_bad;
    MPI_Reduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&bad, &all_bad, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) printf("transpose %.4f\ntranspose_errors %d\n", slowest * 1e6, all_bad);
    free(a); free(b); free(packed); free(received);
}

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char* mode = argc > 1 ? argv[1] : "";
    int a = argc > 2 ? atoi(argv[2]) : 100, b = argc > 3 ? atoi(argv[3]) : 10;
    if (!strcmp(mode, "pingpong") && size >= 2) pingpong(a);
    else if (!strcmp(mode, "collectives")) collectives(a);
    else if (!strcmp(mode, "stencil")) stencil(a, b);
    else if (!strcmp(mode, "transpose")) transpose(a, b);
    MPI_Finalize();
    return 0;
}
