/*
 * stencil.c: Jacobi iterations of the 2-D heat equation on an N x N grid,
 * split into blocks over a 2-D Cartesian grid of ranks. Each step exchanges
 * halos with the four neighbours (rows as contiguous runs, columns with an
 * MPI_Type_vector), then updates the interior. The hot edge is the top row.
 *
 * Prints a checksum of the grid on rank 0 (the same for any number of ranks).
 * Run: faabric run -n 4 examples/mpi/stencil.c 64 50
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AT(grid, i, j) grid[(i) * (cols + 2) + (j)]

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    int size, rank;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int n = argc > 1 ? atoi(argv[1]) : 64;
    int steps = argc > 2 ? atoi(argv[2]) : 50;

    int dims[2] = { 0, 0 }, periods[2] = { 0, 0 }, coords[2];
    MPI_Dims_create(size, 2, dims);
    MPI_Comm grid_comm;
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 1, &grid_comm);
    MPI_Comm_rank(grid_comm, &rank);
    MPI_Cart_coords(grid_comm, rank, 2, coords);
    int up, down, left, right;
    MPI_Cart_shift(grid_comm, 0, 1, &up, &down);
    MPI_Cart_shift(grid_comm, 1, 1, &left, &right);

    /* This rank's block of rows [row0, row0 + rows) and columns [col0, col0 + cols). */
    int row0 = n * coords[0] / dims[0], rows = n * (coords[0] + 1) / dims[0] - row0;
    int col0 = n * coords[1] / dims[1], cols = n * (coords[1] + 1) / dims[1] - col0;
    size_t cells = (size_t)(rows + 2) * (cols + 2);
    double* grid = calloc(cells, sizeof(double));
    double* next = calloc(cells, sizeof(double));
    if (coords[0] == 0) {
        for (int j = 0; j < cols + 2; j++) {
            AT(grid, 0, j) = AT(next, 0, j) = 100.0; /* fixed hot boundary above the top row */
        }
    }

    MPI_Datatype column;
    MPI_Type_vector(rows, 1, cols + 2, MPI_DOUBLE, &column);
    MPI_Type_commit(&column);

    for (int step = 0; step < steps; step++) {
        MPI_Sendrecv(&AT(grid, 1, 1), cols, MPI_DOUBLE, up, 0, &AT(grid, rows + 1, 1), cols, MPI_DOUBLE, down, 0,
                     grid_comm, MPI_STATUS_IGNORE);
        MPI_Sendrecv(&AT(grid, rows, 1), cols, MPI_DOUBLE, down, 1, &AT(grid, 0, 1), cols, MPI_DOUBLE, up, 1,
                     grid_comm, MPI_STATUS_IGNORE);
        MPI_Sendrecv(&AT(grid, 1, 1), 1, column, left, 2, &AT(grid, 1, cols + 1), 1, column, right, 2, grid_comm,
                     MPI_STATUS_IGNORE);
        MPI_Sendrecv(&AT(grid, 1, cols), 1, column, right, 3, &AT(grid, 1, 0), 1, column, left, 3, grid_comm,
                     MPI_STATUS_IGNORE);
        for (int i = 1; i <= rows; i++) {
            for (int j = 1; j <= cols; j++) {
                AT(next, i, j) = 0.25 * (AT(grid, i - 1, j) + AT(grid, i + 1, j) + AT(grid, i, j - 1) + AT(grid, i, j + 1));
            }
        }
        double* swap = grid;
        grid = next;
        next = swap;
    }

    double local = 0.0, total = 0.0;
    for (int i = 1; i <= rows; i++) {
        for (int j = 1; j <= cols; j++) {
            local += AT(grid, i, j) * (double)((row0 + i) * n + (col0 + j)) / ((double)n * n);
        }
    }
    MPI_Reduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("grid %dx%d on %dx%d ranks, %d steps: checksum %.6f\n", n, n, dims[0], dims[1], steps, total);
    }
    MPI_Type_free(&column);
    MPI_Comm_free(&grid_comm);
    free(grid);
    free(next);
    MPI_Finalize();
    return 0;
}
