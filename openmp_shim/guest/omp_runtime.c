/*
 * The guest half of faabric-py's OpenMP runtime, linked into every
 * `faabric cc -fopenmp` build.
 *
 * - Heap: wasi-libc's malloc is not thread-safe, and the threads of a team
 *   share one heap. malloc and friends are wrapped (-Wl,--wrap=...) with a
 *   spin lock on real atomics; sbrk goes to the host, which hands out pages
 *   every team member already maps.
 * - stdio: wasi-libc's FILEs have no locks; the common output calls are
 *   wrapped with a recursive host lock. What the team's other instances
 *   write to stdout/stderr goes to the host, which prints it through the
 *   parent's own stdout at the join.
 * - Tasks run at once, undeferred, on the encountering thread (a valid
 *   OpenMP schedule); taskwait and taskgroup then have nothing to wait for.
 * - Shared mode: static loop bounds and barriers are answered here, without
 *   a host call (see "fast paths" below).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST(name) __attribute__((import_module("env"), import_name(#name)))

HOST(__faabric_omp_sbrk) intptr_t faabric_omp_sbrk(intptr_t increment);
HOST(__faabric_omp_yield) void faabric_omp_yield(void);
HOST(__faabric_omp_stdio_lock) void faabric_omp_stdio_lock(void);
HOST(__faabric_omp_stdio_unlock) void faabric_omp_stdio_unlock(void);
HOST(__faabric_omp_output) int32_t faabric_omp_output(int32_t fd, const void *iovs, int32_t count);

/* ---- heap ---- */

void *__real_malloc(size_t size);
void __real_free(void *ptr);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__real_aligned_alloc(size_t alignment, size_t size);
int __real_posix_memalign(void **out, size_t alignment, size_t size);

static int heap_lock;

static void lock_heap(void) {
    int spins = 0;
    while (__atomic_exchange_n(&heap_lock, 1, __ATOMIC_ACQUIRE)) {
        if (++spins >= 64) {
            faabric_omp_yield();
            spins = 0;
        }
    }
}

static void unlock_heap(void) { __atomic_store_n(&heap_lock, 0, __ATOMIC_RELEASE); }

void *__wrap_malloc(size_t size) {
    lock_heap();
    void *result = __real_malloc(size);
    unlock_heap();
    return result;
}

void __wrap_free(void *ptr) {
    lock_heap();
    __real_free(ptr);
    unlock_heap();
}

void *__wrap_calloc(size_t count, size_t size) {
    lock_heap();
    void *result = __real_calloc(count, size);
    unlock_heap();
    return result;
}

void *__wrap_realloc(void *ptr, size_t size) {
    lock_heap();
    void *result = __real_realloc(ptr, size);
    unlock_heap();
    return result;
}

void *__wrap_aligned_alloc(size_t alignment, size_t size) {
    lock_heap();
    void *result = __real_aligned_alloc(alignment, size);
    unlock_heap();
    return result;
}

int __wrap_posix_memalign(void **out, size_t alignment, size_t size) {
    lock_heap();
    int result = __real_posix_memalign(out, alignment, size);
    unlock_heap();
    return result;
}

void *__wrap_sbrk(intptr_t increment) {
    intptr_t result = faabric_omp_sbrk(increment);
    if (result == -1) {
        errno = ENOMEM;
    }
    return (void *)result;
}

/* ---- stdio ---- */

int __real_vfprintf(FILE *stream, const char *format, va_list args);
int __real_fputs(const char *text, FILE *stream);
int __real_puts(const char *text);
int __real_fputc(int c, FILE *stream);
int __real_putc(int c, FILE *stream);
int __real_putchar(int c);
size_t __real_fwrite(const void *data, size_t size, size_t count, FILE *stream);
int __real_fflush(FILE *stream);

int __wrap_vfprintf(FILE *stream, const char *format, va_list args) {
    faabric_omp_stdio_lock();
    int result = __real_vfprintf(stream, format, args);
    faabric_omp_stdio_unlock();
    return result;
}

int __wrap_vprintf(const char *format, va_list args) { return __wrap_vfprintf(stdout, format, args); }

int __wrap_printf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    int result = __wrap_vfprintf(stdout, format, args);
    va_end(args);
    return result;
}

int __wrap_fprintf(FILE *stream, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int result = __wrap_vfprintf(stream, format, args);
    va_end(args);
    return result;
}

#define LOCKED(call)                 \
    faabric_omp_stdio_lock();        \
    __typeof__(call) result = call;  \
    faabric_omp_stdio_unlock();      \
    return result;

int __wrap_fputs(const char *text, FILE *stream) { LOCKED(__real_fputs(text, stream)) }
int __wrap_puts(const char *text) { LOCKED(__real_puts(text)) }
int __wrap_fputc(int c, FILE *stream) { LOCKED(__real_fputc(c, stream)) }
int __wrap_putc(int c, FILE *stream) { LOCKED(__real_putc(c, stream)) }
int __wrap_putchar(int c) { LOCKED(__real_putchar(c)) }
size_t __wrap_fwrite(const void *data, size_t size, size_t count, FILE *stream) {
    LOCKED(__real_fwrite(data, size, count, stream))
}
int __wrap_fflush(FILE *stream) { LOCKED(__real_fflush(stream)) }

/* Output of stdout/stderr from a team's other instances is collected by the host. */
uint16_t __real___wasi_fd_write(int32_t fd, const void *iovs, size_t count, size_t *written);

uint16_t __wrap___wasi_fd_write(int32_t fd, const void *iovs, size_t count, size_t *written) {
    if (fd == 1 || fd == 2) {
        int32_t taken = faabric_omp_output(fd, iovs, (int32_t)count);
        if (taken >= 0) {
            *written = (size_t)taken;
            return 0;
        }
    }
    return __real___wasi_fd_write(fd, iovs, count, written);
}

/* Called by the host: print what the team's other instances wrote, and flush a thread's buffers. */
__attribute__((export_name("__faabric_omp_write"))) int faabric_omp_write(int fd, const char *data, int length) {
    int written = 0;
    while (written < length) {
        long n = write(fd, data + written, (size_t)(length - written));
        if (n <= 0) {
            return -1;
        }
        written += (int)n;
    }
    return written;
}

__attribute__((export_name("__faabric_omp_flush"))) int faabric_omp_flush(void) {
    __real_fflush(stdout);
    __real_fflush(stderr);
    return 0;
}

/* ---- tasks: run at once on the encountering thread ---- */

typedef int32_t (*task_entry_t)(int32_t gtid, void *task);

typedef struct task_header {
    void *shareds;
    task_entry_t routine;
    int32_t part_id;
} task_header;

void *__kmpc_omp_task_alloc(void *loc, int32_t gtid, int32_t flags, size_t sizeof_task, size_t sizeof_shareds,
                            task_entry_t entry) {
    (void)loc, (void)gtid, (void)flags;
    size_t shareds_offset = (sizeof_task + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
    task_header *task = calloc(1, shareds_offset + sizeof_shareds);
    if (task == NULL) {
        abort();
    }
    task->shareds = sizeof_shareds ? (char *)task + shareds_offset : NULL;
    task->routine = entry;
    return task;
}

int32_t __kmpc_omp_task(void *loc, int32_t gtid, void *task) {
    (void)loc;
    ((task_header *)task)->routine(gtid, task);
    free(task);
    return 0;
}

int32_t __kmpc_omp_task_with_deps(void *loc, int32_t gtid, void *task, int32_t ndeps, void *deps,
                                  int32_t ndeps_noalias, void *noalias) {
    (void)ndeps, (void)deps, (void)ndeps_noalias, (void)noalias;
    return __kmpc_omp_task(loc, gtid, task); /* creation order satisfies every dependence */
}

/* taskloop: the whole iteration range as one undeferred task (its bounds are already in the task). */
void __kmpc_taskloop(void *loc, int32_t gtid, void *task, int32_t if_val, uint64_t *lb, uint64_t *ub, int64_t st,
                     int32_t nogroup, int32_t sched, uint64_t grainsize, void *task_dup) {
    (void)loc, (void)if_val, (void)lb, (void)ub, (void)st, (void)nogroup, (void)sched, (void)grainsize, (void)task_dup;
    ((task_header *)task)->routine(gtid, task);
    free(task);
}

void __kmpc_omp_task_begin_if0(void *loc, int32_t gtid, void *task) { (void)loc, (void)gtid, (void)task; }

void __kmpc_omp_task_complete_if0(void *loc, int32_t gtid, void *task) {
    (void)loc, (void)gtid;
    free(task);
}

void __kmpc_omp_wait_deps(void *loc, int32_t gtid, int32_t ndeps, void *deps, int32_t ndeps_noalias,
                          void *noalias) {
    (void)loc, (void)gtid, (void)ndeps, (void)deps, (void)ndeps_noalias, (void)noalias;
}

int32_t __kmpc_omp_taskwait(void *loc, int32_t gtid) { (void)loc, (void)gtid; return 0; }
int32_t __kmpc_omp_taskyield(void *loc, int32_t gtid, int end_part) { (void)loc, (void)gtid, (void)end_part; return 0; }
void __kmpc_taskgroup(void *loc, int32_t gtid) { (void)loc, (void)gtid; }
void __kmpc_end_taskgroup(void *loc, int32_t gtid) { (void)loc, (void)gtid; }
int omp_in_final(void) { return 0; }

/* ---- fast paths for shared memory ----
 *
 * In shared mode the host attaches each instance (the call's own and each
 * worker's) to a slot of `threads`: a per-instance wasm global points at it,
 * and the host keeps the slot's team number and size current. Static loop
 * bounds and barriers then run here, without a host call; a barrier's
 * waiters spin a few microseconds, then block in the host. Unattached
 * instances (snapshot mode, before the first fork, threads on other hosts)
 * call the host for everything.
 */

#define MAX_THREADS 128
#define BARRIER_SPINS 8000 /* about 3 microseconds of polling (wasmtime, x86-64) before blocking in the host */

typedef struct thread_slot {
    int32_t tid; /* omp_get_thread_num() of the thread's current team */
    int32_t nth; /* that team's size */
} thread_slot;

typedef struct team_sync {
    int32_t arrived;    /* members at the current barrier */
    int32_t generation; /* barriers completed */
    int32_t sleepers;   /* members blocked in the host */
} team_sync;

static thread_slot threads[MAX_THREADS];
static team_sync team; /* one team forks at a time: only the call's initial thread forks */

__asm__(".globaltype __faabric_omp_self, i32\n__faabric_omp_self:\n");

static inline thread_slot *self(void) {
    thread_slot *slot;
    __asm__ volatile("global.get __faabric_omp_self\n\tlocal.set %0" : "=r"(slot));
    return slot;
}

/* Called by the host: attach this instance to slot `gtid` (detach it if out of range); the slot's address. */
__attribute__((export_name("__faabric_omp_attach"))) int32_t faabric_omp_attach(int32_t gtid) {
    thread_slot *slot = gtid >= 0 && gtid < MAX_THREADS ? &threads[gtid] : NULL;
    __asm__ volatile("local.get %0\n\tglobal.set __faabric_omp_self" ::"r"(slot));
    return (int32_t)(intptr_t)slot;
}

/* Called by the host: where the team's barrier lives (it resets it at each fork). */
__attribute__((export_name("__faabric_omp_team_sync"))) int32_t faabric_omp_team_sync(void) {
    return (int32_t)(intptr_t)&team;
}

HOST(__faabric_omp_barrier) void faabric_omp_barrier(void *loc, int32_t gtid);
HOST(__faabric_omp_barrier_wait) void faabric_omp_barrier_wait(int32_t *generation, int32_t seen);
HOST(__faabric_omp_barrier_wake) void faabric_omp_barrier_wake(void);

void __kmpc_barrier(void *loc, int32_t gtid) {
    thread_slot *slot = self();
    if (slot == NULL) {
        faabric_omp_barrier(loc, gtid);
        return;
    }
    int32_t nth = slot->nth;
    if (nth <= 1) {
        return;
    }
    int32_t seen = __atomic_load_n(&team.generation, __ATOMIC_SEQ_CST);
    if (__atomic_add_fetch(&team.arrived, 1, __ATOMIC_SEQ_CST) == nth) {
        __atomic_store_n(&team.arrived, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&team.generation, seen + 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&team.sleepers, __ATOMIC_SEQ_CST)) {
            faabric_omp_barrier_wake();
        }
        return;
    }
    for (int spin = 0; spin < BARRIER_SPINS; spin++) {
        if (__atomic_load_n(&team.generation, __ATOMIC_SEQ_CST) != seen) {
            return;
        }
    }
    __atomic_add_fetch(&team.sleepers, 1, __ATOMIC_SEQ_CST);
    faabric_omp_barrier_wait(&team.generation, seen); /* returns once the generation moved on */
    __atomic_sub_fetch(&team.sleepers, 1, __ATOMIC_SEQ_CST);
}

/* Static worksharing (libomp's __kmp_for_static_init), on 64-bit values; 0 if the host must do it. */
typedef struct static_share {
    int64_t lower, upper, stride;
    int32_t last;
} static_share;

static int static_split(int32_t schedule, int64_t lower, int64_t upper, int64_t incr, int64_t chunk,
                        static_share *out) {
    const thread_slot *slot = self();
    int32_t base = schedule & ~((1 << 29) | (1 << 30)); /* monotonic / nonmonotonic modifiers */
    int chunked = base == 33;
    if (slot == NULL || slot->nth < 1 || incr == 0 || !(chunked || base == 34 || base == 40 || base == 41 || base == 45)) {
        return 0; /* (the host reports a bad schedule or a zero increment) */
    }
    int64_t tid = slot->tid, nth = slot->nth, distance, trips;
    if (__builtin_sub_overflow(incr > 0 ? upper : lower, incr > 0 ? lower : upper, &distance)) {
        return 0;
    }
    trips = distance < 0 ? 0 : distance / (incr > 0 ? incr : -incr) + 1;
    *out = (static_share){lower, upper, incr, 0};
    if (trips == 0) {
        return 1;
    }
    if (nth == 1) {
        out->stride = incr > 0 ? distance + 1 : -(distance + 1);
        out->last = 1;
        return 1;
    }
    int64_t first, span, total;
    if (!chunked && trips < nth) {
        out->stride = trips;
        if (tid < trips) {
            out->lower = out->upper = lower + tid * incr;
            out->last = tid == trips - 1;
        } else {
            out->lower = upper + (incr > 0 ? 1 : -1);
        }
        return 1;
    }
    if (!chunked) {
        int64_t small = trips / nth, extras = trips % nth;
        first = lower + incr * (tid * small + (tid < extras ? tid : extras));
        *out = (static_share){first, first + small * incr - (tid < extras ? 0 : incr), trips, tid == nth - 1};
        return 1;
    }
    chunk = chunk < 1 ? 1 : chunk;
    if (__builtin_mul_overflow(chunk, incr, &span) || __builtin_mul_overflow(span, nth, &total) ||
        __builtin_add_overflow(lower, span * tid, &first)) {
        return 0;
    }
    *out = (static_share){first, first + span - incr, total, ((trips - 1) / chunk) % nth == tid};
    return 1;
}

#define STATIC_INIT(SUFFIX, T, S, FITS)                                                                          \
    HOST(__faabric_omp_static_init_##SUFFIX)                                                                     \
    void faabric_omp_static_init_##SUFFIX(void *, int32_t, int32_t, int32_t *, T *, T *, S *, S, S);             \
    void __kmpc_for_static_init_##SUFFIX(void *loc, int32_t gtid, int32_t schedule, int32_t *p_last, T *p_lower, \
                                         T *p_upper, S *p_stride, S incr, S chunk) {                             \
        static_share share;                                                                                      \
        T lower = *p_lower, upper = *p_upper;                                                                    \
        if (!(FITS) || !static_split(schedule, (int64_t)lower, (int64_t)upper, incr, chunk, &share)) {           \
            faabric_omp_static_init_##SUFFIX(loc, gtid, schedule, p_last, p_lower, p_upper, p_stride, incr, chunk); \
            return;                                                                                              \
        }                                                                                                        \
        *p_lower = (T)share.lower;                                                                               \
        *p_upper = (T)share.upper;                                                                               \
        *p_stride = (S)share.stride;                                                                             \
        if (p_last) {                                                                                            \
            *p_last = share.last;                                                                                \
        }                                                                                                        \
    }

/* 64-bit bounds must leave the arithmetic room: larger ones go to the host. */
#define SMALL64(v) ((v) >= -((int64_t)1 << 60) && (v) <= ((int64_t)1 << 60))
STATIC_INIT(4, int32_t, int32_t, 1)
STATIC_INIT(4u, uint32_t, int32_t, 1)
STATIC_INIT(8, int64_t, int64_t, SMALL64(lower) && SMALL64(upper) && SMALL64(incr))
STATIC_INIT(8u, uint64_t, int64_t, lower <= ((uint64_t)1 << 60) && upper <= ((uint64_t)1 << 60) && SMALL64(incr))

void __kmpc_for_static_fini(void *loc, int32_t gtid) { (void)loc, (void)gtid; }

/* ---- thread ids ---- */

/* clang fetches the gtid at the top of every function with OpenMP
 * constructs, and only hands it back to the runtime; the host knows the
 * calling thread from the instance it runs in, so any value will do. */
int32_t __kmpc_global_thread_num(void *loc) {
    (void)loc;
    return 0;
}

/* ---- atomics on objects wider than 8 bytes (libatomic's generic calls, e.g. long double) ---- */

static int wide_atomic_lock;

static void lock_wide(void) {
    while (__atomic_exchange_n(&wide_atomic_lock, 1, __ATOMIC_ACQUIRE)) {
        faabric_omp_yield();
    }
}

static void unlock_wide(void) { __atomic_store_n(&wide_atomic_lock, 0, __ATOMIC_RELEASE); }

void faabric_atomic_load(size_t size, void *src, void *dest, int order) __asm__("__atomic_load");
void faabric_atomic_load(size_t size, void *src, void *dest, int order) {
    (void)order;
    lock_wide();
    memcpy(dest, src, size);
    unlock_wide();
}

void faabric_atomic_store(size_t size, void *dest, void *src, int order) __asm__("__atomic_store");
void faabric_atomic_store(size_t size, void *dest, void *src, int order) {
    (void)order;
    lock_wide();
    memcpy(dest, src, size);
    unlock_wide();
}

void faabric_atomic_exchange(size_t size, void *ptr, void *value, void *old, int order) __asm__("__atomic_exchange");
void faabric_atomic_exchange(size_t size, void *ptr, void *value, void *old, int order) {
    (void)order;
    lock_wide();
    memcpy(old, ptr, size);
    memcpy(ptr, value, size);
    unlock_wide();
}

int faabric_atomic_compare_exchange(size_t size, void *ptr, void *expected, void *desired, int success,
                                    int failure) __asm__("__atomic_compare_exchange");
int faabric_atomic_compare_exchange(size_t size, void *ptr, void *expected, void *desired, int success,
                                    int failure) {
    (void)success, (void)failure;
    lock_wide();
    int equal = memcmp(ptr, expected, size) == 0;
    if (equal) {
        memcpy(ptr, desired, size);
    } else {
        memcpy(expected, ptr, size);
    }
    unlock_wide();
    return equal;
}

/* ---- memory ordering ---- */

void __kmpc_flush(void *loc) {
    (void)loc;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
