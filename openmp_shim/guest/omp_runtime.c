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
