/*
 * Shared-memory markup for OpenMP/threads (faasm/cpp:libfaasm/faasm/shared_mem.h).
 *
 * The type and operation codes must match faabric's SnapshotDataType and
 * SnapshotMergeOperation: they tell the runtime how to merge each thread's
 * changes to a variable back into the parent's memory.
 */
#ifndef FAASMC_SHARED_MEM_H
#define FAASMC_SHARED_MEM_H

#include "faasm/host_interface.h"

#define FAASM_TYPE_RAW 0
#define FAASM_TYPE_BOOL 1
#define FAASM_TYPE_INT 2
#define FAASM_TYPE_LONG 3
#define FAASM_TYPE_FLOAT 4
#define FAASM_TYPE_DOUBLE 5

#define FAASM_OP_OVERWRITE 0
#define FAASM_OP_SUM 1
#define FAASM_OP_PRODUCT 2
#define FAASM_OP_SUBTRACT 3
#define FAASM_OP_MAX 4
#define FAASM_OP_MIN 5

/* Declares var a reduction variable of the next parallel region (before it forks). */
#define FAASM_REDUCE(var, type, op) \
    __faasm_sm_reduce((void*)&(var), type, op, 0);

/* Declares var a reduction variable of the current parallel region (inside it). */
#define FAASM_REDUCE_INNER(var, type, op) \
    __faasm_sm_reduce((void*)&(var), type, op, 1);

#define FAASM_SHARED_ARRAY(var, type, len) \
    __faasm_sm_array((void*)&(var), type, len);

#define FAASM_SHARED_RAW(var, len) __faasm_sm_raw((void*)&(var), len);

#define FAASM_SHARED_VAR(var, type) __faasm_sm_var((void*)&(var), type);

#define FAASM_START_CRITICAL_LOCAL() __faasm_sm_critical_local();

#define FAASM_END_CRITICAL_LOCAL() __faasm_sm_critical_local_end();

/* Runs op under a lock held by this host's threads only. */
#define FAASM_CRITICAL_LOCAL(op)        \
    __faasm_sm_critical_local();        \
    {                                   \
        op;                             \
    }                                   \
    __faasm_sm_critical_local_end();

#define FAASM_ATOMIC_INCR(var)                      \
    FAASM_REDUCE(var, FAASM_TYPE_INT, FAASM_OP_SUM) \
    FAASM_CRITICAL_LOCAL(var++)

#define FAASM_ATOMIC_INCR_BY(var, value)            \
    FAASM_REDUCE(var, FAASM_TYPE_INT, FAASM_OP_SUM) \
    FAASM_CRITICAL_LOCAL(var += value)

#endif /* FAASMC_SHARED_MEM_H */
