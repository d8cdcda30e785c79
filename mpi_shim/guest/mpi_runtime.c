/*
 * The guest half of faabric-py's MPI, linked into every module `faabric cc`
 * builds (wasm-ld drops it from programs that do not call MPI).
 *
 * Small MPI_Send/MPI_Recv/MPI_Sendrecv between ranks on the same host go
 * through shared-memory rings mapped into this module's memory
 * (faabric/mpi/rings.py describes the layout and the protocol): no host call
 * on the way. MPI_Barrier and small MPI_Allreduce among ranks of one host
 * run here too, as messages through the same rings (see the end of this file), and sends to and
 * receives from MPI_PROC_NULL complete here at once. Everything else, and every case the fast path
 * cannot decide alone (a wildcard the ring's head does not match, a full
 * ring, a message the host queued, an error), goes to the host functions,
 * which keep MPI's ordering and matching rules over both paths.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))

IMPORT("MPI_Init") int host_init(int* argc, char*** argv);
IMPORT("MPI_Init_thread") int host_init_thread(int* argc, char*** argv, int required, int* provided);
IMPORT("MPI_Finalize") int host_finalize(void);
IMPORT("MPI_Send") int host_send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm);
IMPORT("MPI_Recv") int host_recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
                                 MPI_Status* status);
IMPORT("MPI_Sendrecv") int host_sendrecv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, int dest,
                                         int sendtag, void* recvbuf, int recvcount, MPI_Datatype recvtype,
                                         int source, int recvtag, MPI_Comm comm, MPI_Status* status);
IMPORT("MPI_Comm_free") int host_comm_free(MPI_Comm* comm);
IMPORT("MPI_Type_commit") int host_type_commit(MPI_Datatype* type);
IMPORT("MPI_Type_free") int host_type_free(MPI_Datatype* type);
IMPORT("faabric_mpi_rings") int host_rings(void);      /* the rings' address in this memory, or 0 */
IMPORT("faabric_mpi_comm") int host_comm(MPI_Comm comm, int32_t* info, int capacity); /* 0, or -1 */
IMPORT("faabric_mpi_wake") int host_wake(int rank);   /* wake a rank sleeping in the host */
IMPORT("faabric_mpi_yield") int host_yield(void);     /* give the core away (WASI's sched_yield does not) */

/* Must match faabric/mpi/rings.py. */
#define MAGIC 0x46524E47u
#define VERSION 1u
#define LOCAL_TABLE 256
#define TYPE_TABLE 512
#define TYPE_BASE 0x4c000001
#define TYPE_COUNT 256
#define RANK_CONTROL 128
#define TAIL 0
#define HEAD 64
#define VIA_HOST 128
#define SLEEPING 0
#define ANY_BUSY 4
#define BUSY_FROM 64
#define SKIP 0xFFFFFFFFu
#define RECORD 16
#define SPIN_NS 100000   /* the longest a receive polls its rings before sleeping in the host */
#define MIN_SPIN_NS 5000  /* the shortest */
#define YIELD_AFTER_NS 10000 /* polling this long, a receive yields its core between looks */
#define COMMS 8        /* communicators described at once */
#define COMMITTED 16   /* derived datatypes known to be committed */

typedef struct {
    uint32_t length;
    int32_t tag;
    int32_t context;
    int32_t source;
} Record;

static struct {
    uint8_t* control;  /* 0: no fast path */
    uint8_t* inbound;  /* size rings: from each source to this rank */
    uint8_t* outbound; /* size rings: from this rank to each dest */
    uint32_t size, rank, ring_bytes, data_offset, data_bytes, max_inline;
    uint32_t next_source; /* where an MPI_ANY_SOURCE receive starts looking */
    long long sent, received;
    int64_t spin_ns; /* how long receives poll now (see poll_rings) */
    int crowded;     /* more ranks here than cores: never poll, and leave collectives to the host */
    uint32_t misses;
} R;

static inline uint32_t load(const uint8_t* at) { return __atomic_load_n((const uint32_t*)at, __ATOMIC_SEQ_CST); }
static inline uint8_t load_byte(const uint8_t* at) { return __atomic_load_n(at, __ATOMIC_SEQ_CST); }
static inline void store(uint8_t* at, uint32_t value) { __atomic_store_n((uint32_t*)at, value, __ATOMIC_SEQ_CST); }
static inline uint32_t padded(uint32_t n) { return (n + 15u) & ~15u; }
static inline uint8_t* rank_control(uint32_t rank) { return R.control + 4096 + rank * RANK_CONTROL; }

static void attach(void) {
    uint8_t* base = (uint8_t*)(uintptr_t)host_rings();
    if (!base) return;
    const uint32_t* header = (const uint32_t*)base;
    if (header[0] != MAGIC || header[1] != VERSION) return;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    R.size = header[2];
    R.ring_bytes = header[4];
    R.data_offset = header[5];
    R.data_bytes = header[6];
    R.max_inline = header[7];
    R.rank = (uint32_t)rank;
    R.spin_ns = SPIN_NS;
    uint32_t here = 0;
    for (uint32_t i = 0; i < R.size; i++) here += base[LOCAL_TABLE + i];
    R.crowded = here > header[9];
    R.inbound = base + header[3];
    R.outbound = R.inbound + R.size * R.ring_bytes;
    R.control = base;
}

/* A communicator as the host described it: context, this rank's rank in it, size, members' world ranks. */
typedef struct {
    int32_t context, rank, size, world[];
} Comm;

static struct {
    MPI_Comm handle;
    Comm* comm;
} comms[COMMS];
static uint32_t next_comm;

/* The communicator `handle`, asking the host the first time; 0 if the host must handle it. */
static const Comm* comm_of(MPI_Comm handle) {
    for (int i = 0; i < COMMS; i++) {
        if (comms[i].comm && comms[i].handle == handle) return comms[i].comm;
    }
    Comm* comm = malloc(sizeof(Comm) + sizeof(int32_t) * R.size);
    if (!comm) return 0;
    if (host_comm(handle, (int32_t*)comm, 3 + (int)R.size) != 0) {
        free(comm);
        return 0;
    }
    uint32_t slot = next_comm++ % COMMS;
    free(comms[slot].comm);
    comms[slot].handle = handle;
    comms[slot].comm = comm;
    return comm;
}

int MPI_Comm_free(MPI_Comm* handle) {
    for (int i = 0; i < COMMS; i++) {
        if (comms[i].comm && comms[i].handle == *handle) {
            free(comms[i].comm);
            comms[i].comm = 0;
        }
    }
    return host_comm_free(handle);
}

int MPI_Init(int* argc, char*** argv) {
    int rc = host_init(argc, argv);
    if (rc == MPI_SUCCESS) attach();
    return rc;
}

int MPI_Init_thread(int* argc, char*** argv, int required, int* provided) {
    int rc = host_init_thread(argc, argv, required, provided);
    if (rc == MPI_SUCCESS) attach();
    return rc;
}

int MPI_Finalize(void) {
    R.control = 0;
    return host_finalize();
}

/* Bytes of `count` elements of a contiguous predefined type, or -1 (the host decides). */
static int64_t message_bytes(int count, MPI_Datatype type) {
    uint32_t index = (uint32_t)type - TYPE_BASE;
    if (count < 0 || index >= TYPE_COUNT) return -1;
    uint32_t size = R.control[TYPE_TABLE + index];
    return size ? (int64_t)count * size : -1;
}

/* Whether [buf, buf+n) lies in linear memory: a bad buffer goes to the host, which names it. */
static int in_memory(const void* buf, int64_t n) {
    return (uint64_t)(uintptr_t)buf + (uint64_t)n <= (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
}

static int is_local(int rank) { return (uint32_t)rank < R.size && R.control[LOCAL_TABLE + rank]; }

static int put(int to, int32_t context, int32_t source, int tag, const void* buf, uint32_t n);

/* 1 if the message went into the ring, 0 if the host must send it. */
static int ring_send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm handle) {
    if (!R.control || tag < 0) return 0;
    int64_t n = message_bytes(count, type);
    if (n < 0 || n > R.max_inline || !in_memory(buf, n)) return 0;
    const Comm* comm = comm_of(handle);
    if (!comm || (uint32_t)dest >= (uint32_t)comm->size) return 0;
    int to = comm->world[dest];
    return is_local(to) && put(to, comm->context, comm->rank, tag, buf, (uint32_t)n);
}

/* Append a record to the ring to world rank `to`: 1 done, 0 the host must send it. */
static int put(int to, int32_t context, int32_t source, int tag, const void* buf, uint32_t n) {
    uint8_t* ring = R.outbound + (uint32_t)to * R.ring_bytes;
    if (load(ring + VIA_HOST)) return 0;
    uint32_t tail = *(uint32_t*)(ring + TAIL), head = load(ring + HEAD);
    uint32_t need = RECORD + padded(n);
    uint32_t at = tail % R.data_bytes, room = R.data_bytes - at;
    uint32_t skip = need > room ? room : 0;
    if (tail - head + skip + need > R.data_bytes) return 0;
    uint8_t* data = ring + R.data_offset;
    if (skip) {
        ((Record*)(data + at))->length = SKIP;
        at = 0;
    }
    Record* record = (Record*)(data + at);
    record->length = n;
    record->tag = tag;
    record->context = context;
    record->source = source;
    memcpy(data + at + RECORD, buf, n);
    store(ring + TAIL, tail + skip + need);
    if (load(rank_control((uint32_t)to) + SLEEPING)) host_wake(to);
    R.sent++;
    return 1;
}

static void fill_status(MPI_Status* status, const Record* record) {
    if (status == MPI_STATUS_IGNORE || status == 0) return;
    status->MPI_SOURCE = record->source;
    status->MPI_TAG = record->tag;
    status->MPI_ERROR = MPI_SUCCESS;
    status->count_lo = (int)record->length;
    status->count_hi_and_cancelled = 0;
}

/* Whether the host holds something a receive from `source` (or MPI_ANY_SOURCE) must see first. */
static int blocked(int source) {
    const uint8_t* control = rank_control(R.rank);
    if (load(control + ANY_BUSY)) return 1;
    if (source != MPI_ANY_SOURCE) return load_byte(control + BUSY_FROM + source);
    for (uint32_t from = 0; from < R.size; from++) {
        if (load_byte(control + BUSY_FROM + from)) return 1;
    }
    return 0;
}

/* Take the head of the ring from world rank `source` for a receive on `context` from `want`
   (a world rank, or MPI_ANY_SOURCE) of at most `capacity` bytes (`exact`: of just that many):
   1 taken, 0 empty, -1 the host must decide. */
static int take(uint32_t source, int want, int32_t context, void* buf, int64_t capacity, int exact, int tag,
                MPI_Status* status) {
    uint8_t* ring = R.inbound + source * R.ring_bytes;
    uint8_t* data = ring + R.data_offset;
    uint32_t head = *(uint32_t*)(ring + HEAD), tail = load(ring + TAIL);
    if (head == tail) return 0;
    uint32_t at = head % R.data_bytes;
    const Record* record = (const Record*)(data + at);
    if (record->length == SKIP) {
        head += R.data_bytes - at;
        store(ring + HEAD, head);
        if (head == tail) return 0;
        at = 0;
        record = (const Record*)data;
    }
    if (record->context != context || (tag != MPI_ANY_TAG && record->tag != tag) || record->length > capacity ||
        (exact && record->length != capacity)) {
        return -1;
    }
    if (blocked(want)) return -1; /* the host queued something first */
    memcpy(buf, data + at + RECORD, record->length);
    fill_status(status, record);
    store(ring + HEAD, head + RECORD + padded(record->length));
    R.received++;
    return 1;
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int poll_rings(const Comm* comm, int from, int32_t context, int tag, void* buf, int64_t capacity, int exact,
                      MPI_Status* status, int poll);

/* 1 if a message arrived through the rings, 0 if the host must receive. */
static int ring_recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm handle,
                     MPI_Status* status) {
    if (!R.control || (tag < 0 && tag != MPI_ANY_TAG)) return 0;
    int64_t capacity = message_bytes(count, type);
    if (capacity < 0 || !in_memory(buf, capacity)) return 0;
    const Comm* comm = comm_of(handle);
    if (!comm) return 0;
    int from = MPI_ANY_SOURCE; /* the sender's world rank */
    if (source != MPI_ANY_SOURCE) {
        if ((uint32_t)source >= (uint32_t)comm->size) return 0;
        from = comm->world[source];
        if (!is_local(from)) return 0;
    }
    /* A receive that may take a big message polls once: big messages come through the host,
       which copies them straight into the buffer if the receive is already posted there. */
    return poll_rings(comm, from, comm->context, tag, buf, capacity, 0, status, capacity <= R.max_inline);
}

/* One look at the rings for a message from world rank `from` (or any member of `comm`) on `context`:
   1 received, 0 nothing yet, -1 the host must decide. */
static int look(const Comm* comm, int from, int32_t context, int tag, void* buf, int64_t capacity, int exact,
                MPI_Status* status) {
    if (blocked(from) || load(R.control + 32 /* aborted */)) return -1;
    if (from != MPI_ANY_SOURCE) return take((uint32_t)from, from, context, buf, capacity, exact, tag, status);
    for (int32_t i = 0; i < comm->size; i++) {
        uint32_t member = (R.next_source + (uint32_t)i) % (uint32_t)comm->size;
        if (!is_local(comm->world[member])) continue;
        int got = take((uint32_t)comm->world[member], MPI_ANY_SOURCE, context, buf, capacity, exact, tag, status);
        if (got > 0) R.next_source = member + 1;
        if (got) return got;
    }
    return 0;
}

/* Look for a message in the rings, for a while if `poll`, else once: 1 received, 0 the host must receive.
   How long adapts: the budget halves each time the host had to take over and doubles each time polling
   paid off (between MIN_SPIN_NS and SPIN_NS), and every 16th miss restores the whole SPIN_NS, so ranks
   that fell into waking each other through the host (a loaded machine) find their way back. */
static int poll_rings(const Comm* comm, int from, int32_t context, int tag, void* buf, int64_t capacity, int exact,
                      MPI_Status* status, int poll) {
    int got = look(comm, from, context, tag, buf, capacity, exact, status);
    if (got || !poll || R.crowded) return got > 0;
    int64_t deadline = now_ns() + R.spin_ns;
    for (uint32_t spin = 1;; spin++) {
        got = look(comm, from, context, tag, buf, capacity, exact, status);
        if (got > 0) {
            R.spin_ns = R.spin_ns * 2 > SPIN_NS ? SPIN_NS : R.spin_ns * 2;
            return 1;
        }
        if (got < 0) return 0;
        if ((spin & 63) == 0) {
            int64_t now = now_ns();
            if (now > deadline) break;
            /* Past the first 10 us the sender is likely waking up in the host: on a busy machine it
               may need this very core, so give it away between looks. */
            if (now > deadline - R.spin_ns + YIELD_AFTER_NS) host_yield();
        }
    }
    R.spin_ns = ++R.misses % 16 == 0 ? SPIN_NS : R.spin_ns / 2 < MIN_SPIN_NS ? MIN_SPIN_NS : R.spin_ns / 2;
    return 0;
}

/* Derived datatypes the host committed (and not freed since): a send to or receive from
   MPI_PROC_NULL with one of them completes here, as it would in the host. */
static MPI_Datatype committed[COMMITTED];
static uint32_t next_committed;

static int is_committed(MPI_Datatype type) {
    for (int i = 0; i < COMMITTED; i++) {
        if (committed[i] == type && type != MPI_DATATYPE_NULL) return 1;
    }
    return 0;
}

int MPI_Type_commit(MPI_Datatype* type) {
    int rc = host_type_commit(type); /* the host checks the pointer and the handle */
    if (rc == MPI_SUCCESS && !is_committed(*type)) committed[next_committed++ % COMMITTED] = *type;
    return rc;
}

int MPI_Type_free(MPI_Datatype* type) {
    if (in_memory(type, sizeof *type)) {
        for (int i = 0; i < COMMITTED; i++) {
            if (committed[i] == *type) committed[i] = MPI_DATATYPE_NULL;
        }
    }
    return host_type_free(type);
}

/* Whether a send to (or receive from) `peer` is one to MPI_PROC_NULL the guest can complete alone:
   MPI says it does nothing and succeeds at once. Arguments the guest cannot vouch for (an unknown
   communicator or datatype, a bad count or tag, a status outside memory) go to the host, which
   reports them. */
static int null_peer(int peer, int count, MPI_Datatype type, int tag, int receiving, MPI_Comm handle,
                     const MPI_Status* status) {
    if (peer != MPI_PROC_NULL || !R.control || count < 0) return 0;
    if (tag < 0 && !(receiving && tag == MPI_ANY_TAG)) return 0;
    if (message_bytes(0, type) < 0 && !is_committed(type)) return 0;
    if (status != MPI_STATUS_IGNORE && status != 0 && !in_memory(status, sizeof *status)) return 0;
    return comm_of(handle) != 0;
}

int MPI_Send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
    if (null_peer(dest, count, type, tag, 0, comm, 0) || ring_send(buf, count, type, dest, tag, comm)) {
        return MPI_SUCCESS;
    }
    return host_send(buf, count, type, dest, tag, comm);
}

int MPI_Recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Status* status) {
    if (null_peer(source, count, type, tag, 1, comm, status)) {
        const Record none = { 0, MPI_ANY_TAG, 0, MPI_PROC_NULL };
        fill_status(status, &none);
        return MPI_SUCCESS;
    }
    if (ring_recv(buf, count, type, source, tag, comm, status)) return MPI_SUCCESS;
    return host_recv(buf, count, type, source, tag, comm, status);
}

int MPI_Sendrecv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag, void* recvbuf,
                 int recvcount, MPI_Datatype recvtype, int source, int recvtag, MPI_Comm comm, MPI_Status* status) {
    if (null_peer(dest, sendcount, sendtype, sendtag, 0, comm, 0) ||
        ring_send(sendbuf, sendcount, sendtype, dest, sendtag, comm)) {
        return MPI_Recv(recvbuf, recvcount, recvtype, source, recvtag, comm, status);
    }
    return host_sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype, source, recvtag,
                         comm, status);
}

/* ---- Collectives among ranks that all run on this host --------------------------------------
 * MPI_Barrier, and MPI_Allreduce of up to a ring's inline limit with a predefined op on a
 * predefined type, run here as messages through the rings on the communicator's *shadow* context
 * (-1 - context), which no user message uses: a dissemination barrier, and a binomial-tree reduce
 * to rank 0 then a binomial-tree broadcast (every rank gets the same bits). Every rank receives at
 * least once, and each message's tag is the collective's signature (which collective, op and type)
 * and its length the count, so a rank that called something else is always found out: the host
 * names both sides as a mismatched collective. Each step the rings cannot take goes through the
 * host on the same shadow context. Everything else runs in the host (mpi_shim/collectives.py),
 * which also checks rooted collectives (whose roots never receive) for mismatches. */

IMPORT("MPI_Barrier") int host_barrier(MPI_Comm comm);
IMPORT("MPI_Allreduce") int host_allreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype type,
                                           MPI_Op op, MPI_Comm comm);
IMPORT("faabric_mpi_shadow_send") int host_shadow_send(MPI_Comm comm, int dest, int kind, const void* buf, int n);
IMPORT("faabric_mpi_shadow_recv") int host_shadow_recv(MPI_Comm comm, int source, int kind, void* buf, int n);

/* Signatures (tags), as mpi_shim/fastpath.py reads them: the collective, then the op and type's indexes. */
enum { BARRIER = 1, ALLREDUCE = 2 };
static int signature(int kind, MPI_Op op, MPI_Datatype type) {
    return kind | (((uint32_t)op - (uint32_t)MPI_MAX + 1) & 0xf) << 4 | (((uint32_t)type - TYPE_BASE) & 0xff) << 8;
}

static int shadow_send(MPI_Comm handle, const Comm* comm, int dest, int kind, const void* buf, uint32_t n) {
    if (put(comm->world[dest], -1 - comm->context, comm->rank, kind, buf, n)) return MPI_SUCCESS;
    return host_shadow_send(handle, dest, kind, buf, (int)n);
}

static int shadow_recv(MPI_Comm handle, const Comm* comm, int source, int kind, void* buf, uint32_t n) {
    if (poll_rings(comm, comm->world[source], -1 - comm->context, kind, buf, n, 1, MPI_STATUS_IGNORE, 1)) {
        return MPI_SUCCESS;
    }
    return host_shadow_recv(handle, source, kind, buf, (int)n);
}

/* The communicator, if a collective of `n` bytes on it can run here; else 0. */
static const Comm* local_collective(MPI_Comm handle, int64_t n) {
    if (!R.control || R.crowded || n < 0 || n > R.max_inline) return 0;
    const Comm* comm = comm_of(handle);
    if (!comm) return 0;
    for (int32_t i = 0; i < comm->size; i++) {
        if (!is_local(comm->world[i])) return 0;
    }
    return comm;
}

#define CHECKED(call)                        \
    do {                                     \
        int rc_ = (call);                    \
        if (rc_ != MPI_SUCCESS) return rc_;  \
    } while (0)

static int bcast_here(MPI_Comm handle, const Comm* comm, void* buf, uint32_t n, int root, int kind) {
    int size = comm->size, me = (comm->rank - root + size) % size, mask = 1;
    while (mask < size) {
        if (me & mask) {
            CHECKED(shadow_recv(handle, comm, (me - mask + root) % size, kind, buf, n));
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1) {
        if (me + mask < size) CHECKED(shadow_send(handle, comm, (me + mask + root) % size, kind, buf, n));
    }
    return MPI_SUCCESS;
}

/* inout[i] = inout[i] op in[i] for `count` elements; 0 if this op and type are left to the host. */
#define FOLD(T, EXPR)                                                     \
    do {                                                                  \
        T* a = (T*)inout;                                                 \
        const T* b = (const T*)in;                                        \
        for (int i = 0; i < count; i++) a[i] = (T)(EXPR);                 \
    } while (0)
#define ARITHMETIC(T)                                                     \
    switch (op) {                                                         \
    case MPI_SUM: if (go) FOLD(T, a[i] + b[i]); return 1;                 \
    case MPI_PROD: if (go) FOLD(T, a[i] * b[i]); return 1;                \
    case MPI_MAX: if (go) FOLD(T, a[i] > b[i] ? a[i] : b[i]); return 1;   \
    case MPI_MIN: if (go) FOLD(T, a[i] < b[i] ? a[i] : b[i]); return 1;   \
    }
#define BITWISE(T)                                                        \
    switch (op) {                                                         \
    case MPI_BAND: if (go) FOLD(T, a[i] & b[i]); return 1;                \
    case MPI_BOR: if (go) FOLD(T, a[i] | b[i]); return 1;                 \
    case MPI_BXOR: if (go) FOLD(T, a[i] ^ b[i]); return 1;                \
    case MPI_LAND: if (go) FOLD(T, a[i] && b[i]); return 1;               \
    case MPI_LOR: if (go) FOLD(T, a[i] || b[i]); return 1;                \
    case MPI_LXOR: if (go) FOLD(T, !a[i] != !b[i]); return 1;             \
    }
#define INTEGER(T) ARITHMETIC(T) BITWISE(T) return 0

/* With go = 0, only says whether this (op, type) is done here. */
static int fold(void* inout, const void* in, int count, MPI_Datatype type, MPI_Op op, int go) {
    if (type == MPI_INT || type == MPI_INT32_T || type == MPI_LONG) { INTEGER(int32_t); }
    if (type == MPI_UNSIGNED || type == MPI_UINT32_T || type == MPI_UNSIGNED_LONG) { INTEGER(uint32_t); }
    if (type == MPI_LONG_LONG_INT || type == MPI_INT64_T) { INTEGER(int64_t); }
    if (type == MPI_UNSIGNED_LONG_LONG || type == MPI_UINT64_T) { INTEGER(uint64_t); }
    if (type == MPI_SHORT || type == MPI_INT16_T) { INTEGER(int16_t); }
    if (type == MPI_UNSIGNED_SHORT || type == MPI_UINT16_T) { INTEGER(uint16_t); }
    if (type == MPI_SIGNED_CHAR || type == MPI_INT8_T) { INTEGER(int8_t); }
    if (type == MPI_UNSIGNED_CHAR || type == MPI_UINT8_T) { INTEGER(uint8_t); }
    if (type == MPI_FLOAT) { ARITHMETIC(float); return 0; }
    if (type == MPI_DOUBLE) { ARITHMETIC(double); return 0; }
    return 0;
}

static uint8_t reduce_scratch[2][65536] __attribute__((aligned(16)));

/* Binomial-tree reduce of `n` bytes to `root` (messages tagged `kind`); the result lands in `out` there. */
static int reduce_here(MPI_Comm handle, const Comm* comm, const void* in, void* out, int count, MPI_Datatype type,
                       MPI_Op op, uint32_t n, int root, int kind) {
    int size = comm->size, me = (comm->rank - root + size) % size;
    uint8_t* acc = comm->rank == root ? (uint8_t*)out : reduce_scratch[0];
    if (in != acc) memmove(acc, in, n);
    for (int mask = 1; mask < size; mask <<= 1) {
        if (me & mask) return shadow_send(handle, comm, (me - mask + root) % size, kind, acc, n);
        if (me + mask < size) {
            CHECKED(shadow_recv(handle, comm, (me + mask + root) % size, kind, reduce_scratch[1], n));
            fold(acc, reduce_scratch[1], count, type, op, 1);
        }
    }
    return MPI_SUCCESS;
}

int MPI_Barrier(MPI_Comm handle) {
    const Comm* comm = local_collective(handle, 0);
    if (!comm) return host_barrier(handle);
    for (int step = 1; step < comm->size; step <<= 1) {
        CHECKED(shadow_send(handle, comm, (comm->rank + step) % comm->size, BARRIER, 0, 0));
        CHECKED(shadow_recv(handle, comm, (comm->rank - step + comm->size) % comm->size, BARRIER, 0, 0));
    }
    return MPI_SUCCESS;
}

int MPI_Allreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm handle) {
    int64_t n = R.control ? message_bytes(count, type) : -1;
    const Comm* comm = local_collective(handle, n);
    if (!comm || !fold(0, 0, count, type, op, 0) || (sendbuf != MPI_IN_PLACE && !in_memory(sendbuf, n)) ||
        !in_memory(recvbuf, n)) {
        return host_allreduce(sendbuf, recvbuf, count, type, op, handle);
    }
    const void* in = sendbuf == MPI_IN_PLACE ? recvbuf : sendbuf;
    int tag = signature(ALLREDUCE, op, type);
    CHECKED(reduce_here(handle, comm, in, recvbuf, count, type, op, (uint32_t)n, 0, tag));
    return bcast_here(handle, comm, recvbuf, (uint32_t)n, 0, tag);
}

int MPIX_Ring_messages(long long* sent, long long* received) {
    if (sent) *sent = R.sent;
    if (received) *received = R.received;
    return MPI_SUCCESS;
}
