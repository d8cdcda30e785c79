/*
 * The guest half of faabric-py's MPI, linked into every module `faabric cc`
 * builds (wasm-ld drops it from programs that do not call MPI).
 *
 * Small MPI_Send/MPI_Recv/MPI_Sendrecv between ranks on the same host go
 * through shared-memory rings mapped into this module's
 * memory (faabric/mpi/rings.py describes the layout and the protocol): no
 * host call on the way. Everything else, and every case the fast path
 * cannot decide alone (a wildcard the ring's head does not match, a full
 * ring, a message the host queued, an error), goes to the host functions,
 * which keep MPI's ordering and matching rules over both paths.
 */
#include <mpi.h>
#include <sched.h>
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
IMPORT("faabric_mpi_rings") int host_rings(void);      /* the rings' address in this memory, or 0 */
IMPORT("faabric_mpi_comm") int host_comm(MPI_Comm comm, int32_t* info, int capacity); /* 0, or -1 */
IMPORT("faabric_mpi_wake") int host_wake(int rank);   /* wake a rank sleeping in the host */

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
#define SPIN_NS 100000 /* how long a receive polls its rings before sleeping in the host */
#define COMMS 8        /* communicators described at once */

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

/* 1 if the message went into the ring, 0 if the host must send it. */
static int ring_send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm handle) {
    if (!R.control || tag < 0) return 0;
    int64_t n = message_bytes(count, type);
    if (n < 0 || n > R.max_inline || !in_memory(buf, n)) return 0;
    const Comm* comm = comm_of(handle);
    if (!comm || (uint32_t)dest >= (uint32_t)comm->size) return 0;
    int to = comm->world[dest];
    if (!is_local(to)) return 0;
    uint8_t* ring = R.outbound + (uint32_t)to * R.ring_bytes;
    if (load(ring + VIA_HOST)) return 0;
    uint32_t tail = *(uint32_t*)(ring + TAIL), head = load(ring + HEAD);
    uint32_t need = RECORD + padded((uint32_t)n);
    uint32_t at = tail % R.data_bytes, room = R.data_bytes - at;
    uint32_t skip = need > room ? room : 0;
    if (tail - head + skip + need > R.data_bytes) return 0;
    uint8_t* data = ring + R.data_offset;
    if (skip) {
        ((Record*)(data + at))->length = SKIP;
        at = 0;
    }
    Record* record = (Record*)(data + at);
    record->length = (uint32_t)n;
    record->tag = tag;
    record->context = comm->context;
    record->source = comm->rank;
    memcpy(data + at + RECORD, buf, (size_t)n);
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
   (a world rank, or MPI_ANY_SOURCE): 1 taken, 0 empty, -1 the host must decide. */
static int take(uint32_t source, int want, int32_t context, void* buf, int64_t capacity, int tag,
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
    if (record->context != context || (tag != MPI_ANY_TAG && record->tag != tag) || record->length > capacity) {
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
    int poll = capacity <= R.max_inline;
    const uint8_t* aborted = R.control + 32;
    int64_t deadline = 0;
    for (uint32_t spin = 0;; spin++) {
        if (blocked(from) || load(aborted)) return 0;
        if (from != MPI_ANY_SOURCE) {
            int got = take((uint32_t)from, from, comm->context, buf, capacity, tag, status);
            if (got) return got > 0;
        } else {
            for (int32_t i = 0; i < comm->size; i++) {
                uint32_t member = (R.next_source + (uint32_t)i) % (uint32_t)comm->size;
                if (!is_local(comm->world[member])) continue;
                int got = take((uint32_t)comm->world[member], MPI_ANY_SOURCE, comm->context, buf, capacity, tag, status);
                if (got < 0) return 0;
                if (got) {
                    R.next_source = member + 1;
                    return 1;
                }
            }
        }
        if (!poll) return 0;
        if ((spin & 63) == 63) {
            int64_t now = now_ns();
            if (!deadline) deadline = now + SPIN_NS;
            else if (now > deadline) return 0;
            sched_yield(); /* an oversubscribed host runs the sender meanwhile */
        }
    }
}

int MPI_Send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
    if (ring_send(buf, count, type, dest, tag, comm)) return MPI_SUCCESS;
    return host_send(buf, count, type, dest, tag, comm);
}

int MPI_Recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Status* status) {
    if (ring_recv(buf, count, type, source, tag, comm, status)) return MPI_SUCCESS;
    return host_recv(buf, count, type, source, tag, comm, status);
}

int MPI_Sendrecv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag, void* recvbuf,
                 int recvcount, MPI_Datatype recvtype, int source, int recvtag, MPI_Comm comm, MPI_Status* status) {
    if (ring_send(sendbuf, sendcount, sendtype, dest, sendtag, comm)) {
        return MPI_Recv(recvbuf, recvcount, recvtype, source, recvtag, comm, status);
    }
    return host_sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype, source, recvtag,
                         comm, status);
}

int MPIX_Ring_messages(long long* sent, long long* received) {
    if (sent) *sent = R.sent;
    if (received) *received = R.received;
    return MPI_SUCCESS;
}
