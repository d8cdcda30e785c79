/* check.h: self-checking MPI test programs. CHECK counts failures and says where. */
#ifndef CHECK_H
#define CHECK_H
#include <mpi.h>
#include <stdio.h>

static int checks = 0, failures = 0, me = -1;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            printf("FAIL rank %d %s:%d: %s\n", me, __FILE__, __LINE__, #cond);       \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                               \
    do {                                                                             \
        long long _a = (long long)(a), _b = (long long)(b);                          \
        checks++;                                                                    \
        if (_a != _b) {                                                              \
            failures++;                                                              \
            printf("FAIL rank %d %s:%d: %s == %lld, expected %s == %lld\n", me,       \
                   __FILE__, __LINE__, #a, _a, #b, _b);                              \
        }                                                                            \
    } while (0)

/* Every rank's verdict, summed; rank 0 prints it. Returns the exit code. */
static int finish(const char* name)
{
    int total = 0, all_checks = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&checks, &all_checks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (me == 0) {
        printf("%s: %d checks, %d failures\n", name, all_checks, total);
    }
    MPI_Finalize();
    return total == 0 ? 0 : 1;
}
#endif
