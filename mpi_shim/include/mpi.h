/*
 * mpi.h for faabric-py: the standard MPI C API for wasm32-wasi programs.
 *
 * Handles are ints (as in MPICH), so they cross into the host as i32. Every
 * MPI_* function below is implemented by the host (mpi_shim/host.py), except
 * MPI_Alloc_mem/MPI_Free_mem, which are the guest's own malloc/free. Modules
 * built by `faabric cc` also link mpi_shim/guest/mpi_runtime.c: small
 * MPI_Send/MPI_Recv/MPI_Sendrecv between ranks on one host then go through
 * shared memory without calling the host.
 * Errors are fatal (MPI_ERRORS_ARE_FATAL): a failing call traps the rank with
 * a typed error naming the function and rank, and ends its whole world.
 * Constants must match mpi_shim/abi.py (a test checks them).
 */
#ifndef FAABRIC_MPI_H
#define FAABRIC_MPI_H

#include <stddef.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int MPI_Comm;
typedef int MPI_Group;
typedef int MPI_Datatype;
typedef int MPI_Op;
typedef int MPI_Request;
typedef int MPI_Errhandler;
typedef int MPI_Info;
typedef long MPI_Aint;
typedef long long MPI_Offset;
typedef long long MPI_Count;

typedef struct MPI_Status {
    int MPI_SOURCE;
    int MPI_TAG;
    int MPI_ERROR;
    int count_lo;               /* private: bytes received */
    int count_hi_and_cancelled; /* private */
} MPI_Status;

typedef void(MPI_User_function)(void* invec, void* inoutvec, int* len, MPI_Datatype* datatype);

#define MPI_IN_PLACE                     ((void*)-1)
#define MPI_BOTTOM                       ((void*)0)
#define MPI_STATUS_IGNORE                ((MPI_Status*)1)
#define MPI_STATUSES_IGNORE              ((MPI_Status*)1)
#define MPI_UNWEIGHTED                   ((int*)2)

/* ---- handles ---- */
#define MPI_COMM_NULL                    ((MPI_Comm)0x04000000)
#define MPI_COMM_WORLD                   ((MPI_Comm)0x44000000)
#define MPI_COMM_SELF                    ((MPI_Comm)0x44000001)
#define MPI_GROUP_NULL                   ((MPI_Group)0x08000000)
#define MPI_GROUP_EMPTY                  ((MPI_Group)0x48000000)
#define MPI_DATATYPE_NULL                ((MPI_Datatype)0x0c000000)
#define MPI_OP_NULL                      ((MPI_Op)0x18000000)
#define MPI_REQUEST_NULL                 ((MPI_Request)0x2c000000)
#define MPI_ERRHANDLER_NULL              ((MPI_Errhandler)0x14000000)
#define MPI_ERRORS_ARE_FATAL             ((MPI_Errhandler)0x54000000)
#define MPI_ERRORS_RETURN                ((MPI_Errhandler)0x54000001)
#define MPI_INFO_NULL                    ((MPI_Info)0x1c000000)

/* ---- predefined datatypes (wasm32: long is 32 bits) ---- */
#define MPI_CHAR                         ((MPI_Datatype)0x4c000001)
#define MPI_SIGNED_CHAR                  ((MPI_Datatype)0x4c000002)
#define MPI_UNSIGNED_CHAR                ((MPI_Datatype)0x4c000003)
#define MPI_BYTE                         ((MPI_Datatype)0x4c000004)
#define MPI_WCHAR                        ((MPI_Datatype)0x4c000005)
#define MPI_SHORT                        ((MPI_Datatype)0x4c000006)
#define MPI_UNSIGNED_SHORT               ((MPI_Datatype)0x4c000007)
#define MPI_INT                          ((MPI_Datatype)0x4c000008)
#define MPI_UNSIGNED                     ((MPI_Datatype)0x4c000009)
#define MPI_LONG                         ((MPI_Datatype)0x4c00000a)
#define MPI_UNSIGNED_LONG                ((MPI_Datatype)0x4c00000b)
#define MPI_LONG_LONG_INT                ((MPI_Datatype)0x4c00000c)
#define MPI_UNSIGNED_LONG_LONG           ((MPI_Datatype)0x4c00000d)
#define MPI_FLOAT                        ((MPI_Datatype)0x4c00000e)
#define MPI_DOUBLE                       ((MPI_Datatype)0x4c00000f)
#define MPI_LONG_DOUBLE                  ((MPI_Datatype)0x4c000010)
#define MPI_C_BOOL                       ((MPI_Datatype)0x4c000011)
#define MPI_INT8_T                       ((MPI_Datatype)0x4c000012)
#define MPI_INT16_T                      ((MPI_Datatype)0x4c000013)
#define MPI_INT32_T                      ((MPI_Datatype)0x4c000014)
#define MPI_INT64_T                      ((MPI_Datatype)0x4c000015)
#define MPI_UINT8_T                      ((MPI_Datatype)0x4c000016)
#define MPI_UINT16_T                     ((MPI_Datatype)0x4c000017)
#define MPI_UINT32_T                     ((MPI_Datatype)0x4c000018)
#define MPI_UINT64_T                     ((MPI_Datatype)0x4c000019)
#define MPI_AINT                         ((MPI_Datatype)0x4c00001a)
#define MPI_OFFSET                       ((MPI_Datatype)0x4c00001b)
#define MPI_COUNT                        ((MPI_Datatype)0x4c00001c)
#define MPI_PACKED                       ((MPI_Datatype)0x4c00001d)
#define MPI_C_FLOAT_COMPLEX              ((MPI_Datatype)0x4c00001e)
#define MPI_C_DOUBLE_COMPLEX             ((MPI_Datatype)0x4c00001f)
#define MPI_FLOAT_INT                    ((MPI_Datatype)0x4c000020)
#define MPI_DOUBLE_INT                   ((MPI_Datatype)0x4c000021)
#define MPI_LONG_INT                     ((MPI_Datatype)0x4c000022)
#define MPI_2INT                         ((MPI_Datatype)0x4c000023)
#define MPI_SHORT_INT                    ((MPI_Datatype)0x4c000024)
#define MPI_LONG_DOUBLE_INT              ((MPI_Datatype)0x4c000025)
#define MPI_LONG_LONG                    MPI_LONG_LONG_INT
#define MPI_C_COMPLEX                    MPI_C_FLOAT_COMPLEX
#define MPI_CXX_BOOL                     MPI_C_BOOL

/* ---- predefined reduction ops ---- */
#define MPI_MAX                          ((MPI_Op)0x58000001)
#define MPI_MIN                          ((MPI_Op)0x58000002)
#define MPI_SUM                          ((MPI_Op)0x58000003)
#define MPI_PROD                         ((MPI_Op)0x58000004)
#define MPI_LAND                         ((MPI_Op)0x58000005)
#define MPI_BAND                         ((MPI_Op)0x58000006)
#define MPI_LOR                          ((MPI_Op)0x58000007)
#define MPI_BOR                          ((MPI_Op)0x58000008)
#define MPI_LXOR                         ((MPI_Op)0x58000009)
#define MPI_BXOR                         ((MPI_Op)0x5800000a)
#define MPI_MINLOC                       ((MPI_Op)0x5800000b)
#define MPI_MAXLOC                       ((MPI_Op)0x5800000c)
#define MPI_REPLACE                      ((MPI_Op)0x5800000d)

/* ---- error classes ---- */
#define MPI_SUCCESS                      0
#define MPI_ERR_BUFFER                   1
#define MPI_ERR_COUNT                    2
#define MPI_ERR_TYPE                     3
#define MPI_ERR_TAG                      4
#define MPI_ERR_COMM                     5
#define MPI_ERR_RANK                     6
#define MPI_ERR_ROOT                     7
#define MPI_ERR_GROUP                    8
#define MPI_ERR_OP                       9
#define MPI_ERR_TOPOLOGY                 10
#define MPI_ERR_DIMS                     11
#define MPI_ERR_ARG                      12
#define MPI_ERR_UNKNOWN                  13
#define MPI_ERR_TRUNCATE                 14
#define MPI_ERR_OTHER                    15
#define MPI_ERR_INTERN                   16
#define MPI_ERR_IN_STATUS                17
#define MPI_ERR_PENDING                  18
#define MPI_ERR_REQUEST                  19
#define MPI_ERR_NO_MEM                   34
#define MPI_ERR_LASTCODE                 0x3fffffff

/* ---- other constants ---- */
#define MPI_ANY_SOURCE                   (-2)
#define MPI_ANY_TAG                      (-1)
#define MPI_PROC_NULL                    (-1)
#define MPI_ROOT                         (-3)
#define MPI_UNDEFINED                    (-32766)
#define MPI_TAG_UB                       0x7fffffff
#define MPI_MAX_PROCESSOR_NAME           128
#define MPI_MAX_ERROR_STRING             512
#define MPI_MAX_LIBRARY_VERSION_STRING   256
#define MPI_VERSION                      3
#define MPI_SUBVERSION                   1
#define MPI_THREAD_SINGLE                0
#define MPI_THREAD_FUNNELED              1
#define MPI_THREAD_SERIALIZED            2
#define MPI_THREAD_MULTIPLE              3
#define MPI_IDENT                        0
#define MPI_CONGRUENT                    1
#define MPI_SIMILAR                      2
#define MPI_UNEQUAL                      3
#define MPI_GRAPH                        1
#define MPI_CART                         2
#define MPI_DIST_GRAPH                   3
#define MPI_COMM_TYPE_SHARED             1

/* ---- environment ---- */
int MPI_Init(int* argc, char*** argv);
int MPI_Init_thread(int* argc, char*** argv, int required, int* provided);
int MPI_Initialized(int* flag);
int MPI_Finalize(void);
int MPI_Finalized(int* flag);
int MPI_Abort(MPI_Comm comm, int errorcode);
int MPI_Query_thread(int* provided);
int MPI_Is_thread_main(int* flag);
int MPI_Get_version(int* version, int* subversion);
int MPI_Get_library_version(char* version, int* resultlen);
int MPI_Get_processor_name(char* name, int* resultlen);
int MPI_Error_string(int errorcode, char* string, int* resultlen);
int MPI_Error_class(int errorcode, int* errorclass);
double MPI_Wtime(void);
double MPI_Wtick(void);

/* faabric-py extension (from the guest runtime): how many messages this rank has sent and
   received through shared memory, without a host call. Either pointer may be NULL. */
int MPIX_Ring_messages(long long* sent, long long* received);

static inline int MPI_Alloc_mem(MPI_Aint size, MPI_Info info, void* baseptr)
{
    (void)info;
    void* memory = malloc(size > 0 ? (size_t)size : 1);
    if (memory == NULL) {
        return MPI_ERR_NO_MEM;
    }
    *(void**)baseptr = memory;
    return MPI_SUCCESS;
}

static inline int MPI_Free_mem(void* base)
{
    free(base);
    return MPI_SUCCESS;
}

/* ---- communicators and groups ---- */
int MPI_Comm_rank(MPI_Comm comm, int* rank);
int MPI_Comm_size(MPI_Comm comm, int* size);
int MPI_Comm_dup(MPI_Comm comm, MPI_Comm* newcomm);
int MPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm* newcomm);
int MPI_Comm_split_type(MPI_Comm comm, int split_type, int key, MPI_Info info, MPI_Comm* newcomm);
int MPI_Comm_create(MPI_Comm comm, MPI_Group group, MPI_Comm* newcomm);
int MPI_Comm_group(MPI_Comm comm, MPI_Group* group);
int MPI_Comm_compare(MPI_Comm comm1, MPI_Comm comm2, int* result);
int MPI_Comm_free(MPI_Comm* comm);
int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler);
int MPI_Comm_get_errhandler(MPI_Comm comm, MPI_Errhandler* errhandler);
int MPI_Comm_call_errhandler(MPI_Comm comm, int errorcode);
int MPI_Errhandler_set(MPI_Comm comm, MPI_Errhandler errhandler);
int MPI_Errhandler_get(MPI_Comm comm, MPI_Errhandler* errhandler);
int MPI_Errhandler_free(MPI_Errhandler* errhandler);
int MPI_Group_incl(MPI_Group group, int n, const int ranks[], MPI_Group* newgroup);
int MPI_Group_excl(MPI_Group group, int n, const int ranks[], MPI_Group* newgroup);
int MPI_Group_size(MPI_Group group, int* size);
int MPI_Group_rank(MPI_Group group, int* rank);
int MPI_Group_translate_ranks(MPI_Group group1, int n, const int ranks1[], MPI_Group group2, int ranks2[]);
int MPI_Group_compare(MPI_Group group1, MPI_Group group2, int* result);
int MPI_Group_union(MPI_Group group1, MPI_Group group2, MPI_Group* newgroup);
int MPI_Group_intersection(MPI_Group group1, MPI_Group group2, MPI_Group* newgroup);
int MPI_Group_difference(MPI_Group group1, MPI_Group group2, MPI_Group* newgroup);
int MPI_Group_free(MPI_Group* group);

/* ---- point to point ---- */
int MPI_Send(const void* buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm);
int MPI_Ssend(const void* buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm);
int MPI_Rsend(const void* buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm);
int MPI_Recv(void* buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm, MPI_Status* status);
int MPI_Isend(const void* buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request* request);
int MPI_Issend(const void* buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request* request);
int MPI_Irsend(const void* buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request* request);
int MPI_Irecv(void* buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm, MPI_Request* request);
int MPI_Wait(MPI_Request* request, MPI_Status* status);
int MPI_Waitall(int count, MPI_Request requests[], MPI_Status statuses[]);
int MPI_Waitany(int count, MPI_Request requests[], int* index, MPI_Status* status);
int MPI_Waitsome(int incount, MPI_Request requests[], int* outcount, int indices[], MPI_Status statuses[]);
int MPI_Test(MPI_Request* request, int* flag, MPI_Status* status);
int MPI_Testall(int count, MPI_Request requests[], int* flag, MPI_Status statuses[]);
int MPI_Testany(int count, MPI_Request requests[], int* index, int* flag, MPI_Status* status);
int MPI_Request_free(MPI_Request* request);
int MPI_Send_init(const void* buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request* request);
int MPI_Ssend_init(const void* buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request* request);
int MPI_Rsend_init(const void* buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request* request);
int MPI_Recv_init(void* buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm, MPI_Request* request);
int MPI_Start(MPI_Request* request);
int MPI_Startall(int count, MPI_Request requests[]);
int MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status* status);
int MPI_Iprobe(int source, int tag, MPI_Comm comm, int* flag, MPI_Status* status);
int MPI_Get_count(const MPI_Status* status, MPI_Datatype datatype, int* count);
int MPI_Sendrecv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
                 void* recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
                 MPI_Comm comm, MPI_Status* status);
int MPI_Sendrecv_replace(void* buf, int count, MPI_Datatype datatype, int dest, int sendtag,
                         int source, int recvtag, MPI_Comm comm, MPI_Status* status);

/* ---- collectives ---- */
int MPI_Barrier(MPI_Comm comm);
int MPI_Bcast(void* buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm);
int MPI_Reduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, int root, MPI_Comm comm);
int MPI_Allreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
int MPI_Scan(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
int MPI_Exscan(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
int MPI_Gather(const void* sendbuf, int sendcount, MPI_Datatype sendtype,
               void* recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
int MPI_Gatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype,
                void* recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm);
int MPI_Allgather(const void* sendbuf, int sendcount, MPI_Datatype sendtype,
                  void* recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm);
int MPI_Allgatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype,
                   void* recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, MPI_Comm comm);
int MPI_Scatter(const void* sendbuf, int sendcount, MPI_Datatype sendtype,
                void* recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
int MPI_Scatterv(const void* sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype,
                 void* recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
int MPI_Alltoall(const void* sendbuf, int sendcount, MPI_Datatype sendtype,
                 void* recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm);
int MPI_Alltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
                  void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm);
int MPI_Reduce_scatter(const void* sendbuf, void* recvbuf, const int recvcounts[], MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
int MPI_Reduce_scatter_block(const void* sendbuf, void* recvbuf, int recvcount, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);

/* ---- nonblocking collectives: MPI_Wait/MPI_Test complete them ---- */
int MPI_Ibarrier(MPI_Comm comm, MPI_Request* request);
int MPI_Ibcast(void* buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm, MPI_Request* request);
int MPI_Ireduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, int root, MPI_Comm comm, MPI_Request* request);
int MPI_Iallreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request* request);
int MPI_Igather(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request* request);
int MPI_Igatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request* request);
int MPI_Iallgather(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm, MPI_Request* request);
int MPI_Iallgatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, MPI_Comm comm, MPI_Request* request);
int MPI_Iscatter(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request* request);
int MPI_Iscatterv(const void* sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype, void* recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request* request);
int MPI_Ialltoall(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm, MPI_Request* request);
int MPI_Iscan(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request* request);
int MPI_Iexscan(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request* request);
int MPI_Ireduce_scatter(const void* sendbuf, void* recvbuf, const int recvcounts[], MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request* request);
int MPI_Ireduce_scatter_block(const void* sendbuf, void* recvbuf, int recvcount, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request* request);
int MPI_Ialltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype, void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm, MPI_Request* request);

/* ---- reduction ops ---- */
int MPI_Op_create(MPI_User_function* user_fn, int commute, MPI_Op* op);
int MPI_Op_free(MPI_Op* op);

/* ---- datatypes ---- */
int MPI_Type_size(MPI_Datatype datatype, int* size);
int MPI_Type_contiguous(int count, MPI_Datatype oldtype, MPI_Datatype* newtype);
int MPI_Type_vector(int count, int blocklength, int stride, MPI_Datatype oldtype, MPI_Datatype* newtype);
int MPI_Type_create_hvector(int count, int blocklength, MPI_Aint stride, MPI_Datatype oldtype, MPI_Datatype* newtype);
int MPI_Type_indexed(int count, const int blocklengths[], const int displacements[], MPI_Datatype oldtype, MPI_Datatype* newtype);
int MPI_Type_create_struct(int count, const int blocklengths[], const MPI_Aint displacements[],
                           const MPI_Datatype types[], MPI_Datatype* newtype);
int MPI_Type_create_hindexed(int count, const int blocklengths[], const MPI_Aint displacements[], MPI_Datatype oldtype,
                             MPI_Datatype* newtype);
int MPI_Type_create_indexed_block(int count, int blocklength, const int displacements[], MPI_Datatype oldtype,
                                  MPI_Datatype* newtype);
int MPI_Type_dup(MPI_Datatype oldtype, MPI_Datatype* newtype);
int MPI_Type_create_resized(MPI_Datatype oldtype, MPI_Aint lb, MPI_Aint extent, MPI_Datatype* newtype);
int MPI_Type_commit(MPI_Datatype* datatype);
int MPI_Type_free(MPI_Datatype* datatype);
int MPI_Type_get_extent(MPI_Datatype datatype, MPI_Aint* lb, MPI_Aint* extent);
int MPI_Type_get_true_extent(MPI_Datatype datatype, MPI_Aint* true_lb, MPI_Aint* true_extent);
int MPI_Get_address(const void* location, MPI_Aint* address);
int MPI_Pack(const void* inbuf, int incount, MPI_Datatype datatype, void* outbuf, int outsize, int* position, MPI_Comm comm);
int MPI_Unpack(const void* inbuf, int insize, int* position, void* outbuf, int outcount, MPI_Datatype datatype, MPI_Comm comm);
int MPI_Pack_size(int incount, MPI_Datatype datatype, MPI_Comm comm, int* size);

/* ---- Cartesian topologies ---- */
int MPI_Cart_create(MPI_Comm comm, int ndims, const int dims[], const int periods[], int reorder, MPI_Comm* comm_cart);
int MPI_Cart_get(MPI_Comm comm, int maxdims, int dims[], int periods[], int coords[]);
int MPI_Cart_rank(MPI_Comm comm, const int coords[], int* rank);
int MPI_Cart_coords(MPI_Comm comm, int rank, int maxdims, int coords[]);
int MPI_Cart_shift(MPI_Comm comm, int direction, int disp, int* rank_source, int* rank_dest);
int MPI_Cart_sub(MPI_Comm comm, const int remain_dims[], MPI_Comm* newcomm);
int MPI_Cartdim_get(MPI_Comm comm, int* ndims);
int MPI_Dims_create(int nnodes, int ndims, int dims[]);
int MPI_Topo_test(MPI_Comm comm, int* status);

#ifdef __cplusplus
}
#endif

#endif /* FAABRIC_MPI_H */
