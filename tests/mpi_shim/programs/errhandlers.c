/*
 * errhandlers.c: with MPI_ERRORS_RETURN, a call's own errors come back as
 * error codes and the world carries on; the handler is per communicator and
 * inherited by communicators made from it.
 */
#include <mpi.h>
#include "check.h"

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, code, cls, value = 1, sum = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    me = rank;

    MPI_Errhandler handler;
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &handler);
    CHECK(handler == MPI_ERRORS_ARE_FATAL); /* the default handler is fatal */

    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &handler);
    CHECK(handler == MPI_ERRORS_RETURN); /* the handler is now MPI_ERRORS_RETURN */

    code = MPI_Send(&value, 1, MPI_INT, size, 0, MPI_COMM_WORLD);
    MPI_Error_class(code, &cls);
    CHECK(cls == MPI_ERR_RANK); /* a send to a rank past the end returns MPI_ERR_RANK */
    code = MPI_Send(&value, 1, MPI_INT, 0, -5, MPI_COMM_WORLD);
    CHECK(code == MPI_ERR_TAG); /* a negative tag returns MPI_ERR_TAG */
    code = MPI_Send(&value, -1, MPI_INT, 0, 0, MPI_COMM_WORLD);
    CHECK(code == MPI_ERR_COUNT); /* a negative count returns MPI_ERR_COUNT */
    code = MPI_Bcast(&value, 1, MPI_INT, size + 3, MPI_COMM_WORLD);
    CHECK(code == MPI_ERR_ROOT); /* a root past the end returns MPI_ERR_ROOT */
    code = MPI_Send(&value, 1, MPI_INT, 0, 0, (MPI_Comm)12345);
    CHECK(code == MPI_ERR_COMM); /* an invalid communicator returns MPI_ERR_COMM (MPI_COMM_WORLD's handler) */

    if (size > 1) { /* a truncated receive is returned to the receiver, and the message is consumed */
        int pair[2] = { 7, 8 }, one = 0;
        if (rank == 0) {
            MPI_Send(pair, 2, MPI_INT, 1, 3, MPI_COMM_WORLD);
        } else if (rank == 1) {
            code = MPI_Recv(&one, 1, MPI_INT, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            CHECK(code == MPI_ERR_TRUNCATE); /* a message too big for the buffer returns MPI_ERR_TRUNCATE */
        }
    }

    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_get_errhandler(dup, &handler);
    CHECK(handler == MPI_ERRORS_RETURN); /* a duplicate inherits MPI_ERRORS_RETURN */
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_get_errhandler(dup, &handler);
    CHECK(handler == MPI_ERRORS_ARE_FATAL); /* handlers are per communicator */
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &handler);
    CHECK(handler == MPI_ERRORS_RETURN); /* setting the duplicate's handler leaves the parent's */
    CHECK(MPI_Comm_call_errhandler(MPI_COMM_WORLD, MPI_ERR_OTHER) == MPI_ERR_OTHER); /* calling a returning handler returns the code */

    code = MPI_Allreduce(&value, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(code == MPI_SUCCESS && sum == size); /* the world carries on after returned errors */
    MPI_Comm_free(&dup);
    MPI_Errhandler_free(&handler);
    CHECK(handler == MPI_ERRHANDLER_NULL); /* a freed handler is MPI_ERRHANDLER_NULL */

    if (argc > 1) { /* "fatal": an error on a fatal communicator still ends the world */
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
        MPI_Send(&value, 1, MPI_INT, size, 0, MPI_COMM_WORLD);
    }
    return finish("errhandlers");
}
