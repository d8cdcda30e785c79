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
 * - Tasks: in a team of more than one thread (shared mode) tied tasks are
 *   deferred onto the team's task stack and run by whichever thread reaches
 *   a scheduling point (see "tasks" below); elsewhere they run at once.
 * - Shared mode: static loop bounds, barriers, omp_get_thread_num/num_threads
 *   and, once the host has armed it, the start and join of a parallel region
 *   are answered here, without a host call (see "fast paths" below).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
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

/* A spin lock on a word in shared memory (the heap's, the task stack's, a critical section's): every 64
 * spins the host yields the core to the holder, and stops the caller if its team failed. */
static void spin_lock(int32_t *word) {
    int spins = 0;
    while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE)) {
        if (++spins >= 64) {
            faabric_omp_yield();
            spins = 0;
        }
    }
}

/* Release `word`; whether it was held. */
static int spin_unlock(int32_t *word) { return __atomic_exchange_n(word, 0, __ATOMIC_RELEASE); }

static int32_t heap_lock;

void *__wrap_malloc(size_t size) {
    spin_lock(&heap_lock);
    void *result = __real_malloc(size);
    spin_unlock(&heap_lock);
    return result;
}

void __wrap_free(void *ptr) {
    spin_lock(&heap_lock);
    __real_free(ptr);
    spin_unlock(&heap_lock);
}

void *__wrap_calloc(size_t count, size_t size) {
    spin_lock(&heap_lock);
    void *result = __real_calloc(count, size);
    spin_unlock(&heap_lock);
    return result;
}

void *__wrap_realloc(void *ptr, size_t size) {
    spin_lock(&heap_lock);
    void *result = __real_realloc(ptr, size);
    spin_unlock(&heap_lock);
    return result;
}

void *__wrap_aligned_alloc(size_t alignment, size_t size) {
    spin_lock(&heap_lock);
    void *result = __real_aligned_alloc(alignment, size);
    spin_unlock(&heap_lock);
    return result;
}

int __wrap_posix_memalign(void **out, size_t alignment, size_t size) {
    spin_lock(&heap_lock);
    int result = __real_posix_memalign(out, alignment, size);
    spin_unlock(&heap_lock);
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
static void note_output(void);

uint16_t __wrap___wasi_fd_write(int32_t fd, const void *iovs, size_t count, size_t *written) {
    if (fd == 1 || fd == 2) {
        int32_t taken = faabric_omp_output(fd, iovs, (int32_t)count);
        if (taken >= 0) {
            note_output();
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

/* ---- fast paths for shared memory ----
 *
 * In shared mode the host attaches each instance (the call's own and each
 * worker's) to a slot of `threads`: a per-instance wasm global points at it,
 * and the host keeps the slot's team number and size current. Static loop
 * bounds, barriers, and the start and end of a parallel region then run
 * here, without a host call:
 *
 * - a worker stays in the guest between regions, parked in
 *   __faabric_omp_park; the forking thread (__faabric_omp_run_team)
 *   publishes each region in `region` and bumps its generation;
 * - after a top-level fork the host leaves that team armed (region.fast_size):
 *   the initial thread's __kmpc_fork_call starts and joins later regions of
 *   the same size itself (fork_here), and the host renews its view of the
 *   team only when a member calls it (openmp_shim/guest_forks.py);
 * - every wait (region start, barrier, join) polls for a while, then blocks
 *   in the host, which the other side wakes. How long adapts, as glibc's
 *   adaptive mutexes do: each thread keeps a running average of how long its
 *   waits took and polls for twice that, but never longer than `spin_ns`
 *   (set by the host: zero when the team has more threads than the host has
 *   cores), and not at all while its waits take longer than that (an
 *   unbalanced team, or a busy host where polling would only steal the core
 *   from the thread it waits for).
 *
 * Unattached instances (snapshot mode, before the first fork, threads on
 * other hosts) call the host for everything.
 */

#define MAX_THREADS 128
#define DIRECT_ARGS 16 /* microtasks with more arguments are called through the host */

typedef int32_t (*task_entry_t)(int32_t gtid, void *task);

typedef struct taskgroup {
    int32_t count; /* incomplete tasks created in it (their descendants are created in it too) */
    struct taskgroup *outer;
} taskgroup;

struct task_info;
typedef struct successor { /* a task waiting for another to complete (a dependence) */
    struct task_info *task;
    struct successor *next;
} successor;

typedef struct dep_record { /* the sibling tasks that last named an address in a depend clause */
    intptr_t address;
    struct task_info *writer;   /* the last out/inout task (held) */
    struct task_info **readers; /* in tasks since then (held) */
    int32_t count, capacity;
} dep_record;

typedef struct dep_table { /* a task's children's dependences */
    dep_record *records;
    int32_t count, capacity;
} dep_table;

/* What the runtime keeps of a task, just before clang's kmp_task_t. */
typedef struct task_info {
    struct task_info *parent;   /* the task that created it (NULL: untracked, it runs at once) */
    struct task_info *next;     /* below it on the team's stack */
    struct task_info *resumed;  /* an if(0) task: the task it interrupted */
    taskgroup *group;           /* the group it was created in, counted there until it completes */
    taskgroup *current_group;   /* where the tasks it creates go */
    int32_t children;           /* incomplete child tasks (taskwait waits for them) */
    int32_t refs;               /* 1 until it completes, +1 per child not yet freed: ancestors outlive it */
    int32_t deferrable;         /* tied and not final: it may wait on the stack */
    int32_t final;              /* final(true), or created in a final task: it and its descendants run at once */
    int32_t running;            /* an untied task that re-enqueues itself continues in place */
    int32_t implicit;           /* a thread's implicit task: part of its slot, never freed */
    int32_t capacity;           /* bytes in its block (blocks are kept for reuse by the thread that frees them) */
    int32_t completed;          /* (under the tasks lock) */
    int32_t waiting_on;         /* incomplete tasks it depends on: posted when this drops to 0 */
    successor *successors;      /* tasks that depend on it (under the tasks lock) */
    dep_table *deps;            /* its children's dependences */
} task_info;

typedef struct __attribute__((aligned(64))) thread_slot { /* (a cache line apart: no false sharing) */
    int32_t tid;     /* omp_get_thread_num() of the thread's current team */
    int32_t nth;     /* that team's size */
    int32_t wait_ns; /* (the guest's own) running average of how long this thread's waits took */
    task_info *current; /* the task the thread runs (NULL outside a region it is part of) */
    task_info implicit; /* its implicit task in the current region */
    task_info *spare;   /* freed task blocks, for its next tasks (no heap lock) */
    int32_t spares;
} thread_slot;

typedef struct team_sync {
    int32_t arrived;    /* members at the current barrier */
    int32_t generation; /* barriers completed */
    int32_t sleepers;   /* members blocked in the host */
    int32_t events;     /* bumped when a barrier completes or a task is posted: what sleepers wait on */
} team_sync;

typedef struct team_region {
    int32_t generation;    /* regions started (or the exit request) */
    int32_t microtask;     /* function-table index */
    int32_t argc;
    int32_t args;          /* address of the microtask's shared arguments */
    int32_t members;       /* workers taking part: gtids 1..members */
    int32_t exit;          /* parked workers return */
    int32_t spin_ns;       /* how long a wait polls before it blocks in the host */
    int32_t join_sleeping; /* the forking thread is blocked in the host */
    /* Forks the initial thread starts without the host (fork_here): */
    int32_t active;          /* the initial thread runs its part of a region it forked */
    int32_t fast_size;       /* set by the host: the team size whose workers are parked and ready (0: none) */
    int32_t default_threads; /* set by the host: the initial thread's nthreads-var */
    int32_t thread_limit;    /* set by the host */
    int32_t failed;          /* set by the host: a worker stopped */
    int32_t output;          /* set by the host: workers wrote output the join must print */
    int32_t done[MAX_THREADS];     /* per worker: the last generation it finished */
    int32_t sleeping[MAX_THREADS]; /* per worker: blocked in the host, waiting for a region */
} team_region;

static thread_slot threads[MAX_THREADS];
static team_sync team; /* one team forks at a time: only the call's initial thread forks */
static team_region region;

/* A worker's output went to the host: the join of a region the guest forked asks the host to print it. */
static void note_output(void) { __atomic_store_n(&region.output, 1, __ATOMIC_SEQ_CST); }

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

/* Called by the host: where parallel regions are published to the parked workers. */
__attribute__((export_name("__faabric_omp_region"))) int32_t faabric_omp_region(void) {
    return (int32_t)(intptr_t)&region;
}

HOST(__faabric_omp_barrier) void faabric_omp_barrier(void *loc, int32_t gtid);
HOST(__faabric_omp_barrier_wait) void faabric_omp_barrier_wait(int32_t *generation, int32_t seen);
HOST(__faabric_omp_barrier_wake) void faabric_omp_barrier_wake(void);
HOST(__faabric_omp_park_wait) void faabric_omp_park_wait(int32_t *generation, int32_t seen);
HOST(__faabric_omp_park_wake) void faabric_omp_park_wake(int32_t gtid);
HOST(__faabric_omp_join_wait) void faabric_omp_join_wait(void);
HOST(__faabric_omp_join_wake) void faabric_omp_join_wake(void);
HOST(__faabric_omp_fork_call) void faabric_omp_fork_call(void *loc, int32_t argc, void *microtask, const int32_t *args);
HOST(__faabric_omp_push_num_threads) void faabric_omp_push_num_threads(void *loc, int32_t gtid, int32_t count);
HOST(__faabric_omp_guest_join) void faabric_omp_guest_join(void);
HOST(omp_get_thread_num) int faabric_omp_get_thread_num(void);
HOST(omp_get_num_threads) int faabric_omp_get_num_threads(void);
HOST(__faabric_omp_call_microtask) void faabric_omp_call_microtask(int32_t microtask, int32_t gtid, int32_t tid,
                                                                    int32_t argc, int32_t args);

static int64_t now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now); /* WASI's clock: no trip through the Python host */
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* A wait in progress: poll `word` while it holds `value`, within the thread's budget. */
typedef struct waiting {
    int64_t started; /* when the wait reached its first clock reading (0: not yet) */
    int32_t step;
    int32_t budget;  /* ns to poll for */
} waiting;

static waiting wait_begin(void) {
    int32_t cap = __atomic_load_n(&region.spin_ns, __ATOMIC_RELAXED), average = self()->wait_ns;
    int32_t budget = average > cap ? 0 : 2 * average + 2000;
    return (waiting){0, 0, budget < cap ? budget : cap};
}

/* One poll step: every 256th yields the core and reads the clock; 0 once the budget is spent. */
static int wait_poll(waiting *wait) {
    if ((++wait->step & 255) != 0) {
        return 1;
    }
    sched_yield();
    int64_t now = now_ns();
    if (wait->started == 0) {
        wait->started = now;
    }
    return now - wait->started < wait->budget;
}

/* The wait is over (by polling or in the host): fold its length into the thread's average. */
static void wait_end(waiting *wait) {
    thread_slot *slot = self();
    int64_t took = wait->started ? now_ns() - wait->started : 0, ceiling = 1 << 24;
    took = took < ceiling ? took : ceiling;
    slot->wait_ns += (int32_t)((took - slot->wait_ns) / 8);
}

/* Poll `*word` while it equals `value`, within `wait`'s budget; whether it changed. */
static int poll_while_equal(const int32_t *word, int32_t value, waiting *wait) {
    do {
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != value) {
            return 1;
        }
    } while (wait_poll(wait));
    return 0;
}

/* ---- tasks ----
 *
 * In a team of more than one thread a tied task is deferred: it goes on the
 * team's task stack, and threads run it at scheduling points. A thread
 * waiting at a barrier or at the end of its part of a region runs any
 * posted task (the oldest first); one in taskwait or at the end of a
 * taskgroup runs only descendants of the task it waits in (OpenMP's task
 * scheduling constraint), the newest first, so a tied task never resumes
 * under an unrelated one. Every task completes before a barrier or the
 * region's join does. A task's block is reused by the thread that frees it.
 * A task with dependences waits off the stack until the sibling tasks it
 * depends on complete. Elsewhere (a team of one, unattached instances,
 * untied tasks, final tasks and their descendants) a task runs at once on
 * the encountering thread
 * (after its earlier siblings, if it has dependences), a valid schedule.
 */

#define INFO_SPACE ((sizeof(task_info) + 15) & ~(size_t)15) /* keeps kmp_task_t 16-byte aligned */
#define TASK_OF(info) ((void *)((char *)(info) + INFO_SPACE))
#define INFO_OF(task) ((task_info *)((char *)(task) - INFO_SPACE))

typedef struct task_header { /* the start of clang's kmp_task_t */
    void *shareds;
    task_entry_t routine;
    int32_t part_id;
} task_header;

static struct {
    int32_t lock;
    int32_t pending; /* tracked tasks created and not yet complete */
    task_info *top;  /* posted tasks, newest first */
} tasks;
static int32_t unattached_final; /* final tasks running on an instance without a thread slot (its own memory) */

/* A zeroed block of at least `size` bytes whose task is a child of the calling thread's current task. */
static task_info *new_task(size_t size, int deferrable, int final) {
    thread_slot *slot = self();
    task_info *info = slot ? slot->spare : NULL;
    int32_t capacity;
    if (info != NULL && (size_t)info->capacity >= size) { /* a block this thread freed: no heap lock */
        capacity = info->capacity;
        slot->spare = info->next;
        slot->spares--;
        memset(info, 0, size);
    } else {
        capacity = (int32_t)((size + 63) & ~(size_t)63);
        info = calloc(1, (size_t)capacity);
        if (info == NULL) {
            abort();
        }
    }
    info->capacity = capacity;
    info->refs = 1;
    task_info *parent = slot ? (slot->current ? slot->current : &slot->implicit) : NULL; /* (outside a region:
                                                                                         the initial task) */
    info->final = final || (parent != NULL ? parent->final : unattached_final > 0);
    info->deferrable = deferrable && !info->final;
    if (parent != NULL) {
        info->parent = parent;
        info->group = info->current_group = parent->current_group;
        __atomic_add_fetch(&parent->refs, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&parent->children, 1, __ATOMIC_SEQ_CST);
        if (info->group) {
            __atomic_add_fetch(&info->group->count, 1, __ATOMIC_SEQ_CST);
        }
        __atomic_add_fetch(&tasks.pending, 1, __ATOMIC_SEQ_CST);
    }
    return info;
}

void *__kmpc_omp_task_alloc(void *loc, int32_t gtid, int32_t flags, size_t sizeof_task, size_t sizeof_shareds,
                            task_entry_t entry) {
    (void)loc, (void)gtid;
    size_t shareds_offset = (sizeof_task + 15) & ~(size_t)15;
    task_info *info = new_task(INFO_SPACE + shareds_offset + sizeof_shareds, flags & 1, flags & 2); /* tied, final */
    task_header *task = TASK_OF(info);
    task->shareds = sizeof_shareds ? (char *)task + shareds_offset : NULL;
    task->routine = entry;
    return task;
}

/* Put a task on the team's stack, for any thread to run. */
static void post(task_info *info) {
    spin_lock(&tasks.lock);
    info->next = tasks.top;
    __atomic_store_n(&tasks.top, info, __ATOMIC_SEQ_CST);
    spin_unlock(&tasks.lock);
    __atomic_add_fetch(&team.events, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&team.sleepers, __ATOMIC_SEQ_CST)) {
        faabric_omp_barrier_wake(); /* members blocked at a barrier come back to help */
    }
}

#define SPARES 64 /* task blocks a thread keeps */

static void free_task(task_info *info) {
    thread_slot *slot = self();
    int32_t capacity = info->capacity;
    if (slot == NULL || slot->spares >= SPARES || capacity > 1024) {
        free(info);
        return;
    }
    info->next = slot->spare;
    slot->spare = info;
    slot->spares++;
}

/* Drop one reference; free tasks nobody needs any more, up the ancestor chain. */
static void release(task_info *info) {
    while (info != NULL && !info->implicit && __atomic_sub_fetch(&info->refs, 1, __ATOMIC_SEQ_CST) == 0) {
        task_info *parent = info->parent;
        free_task(info);
        info = parent;
    }
}

static void clear_deps(task_info *info);

static void complete(task_info *info) {
    task_info *parent = info->parent;
    if (parent == NULL) {
        free_task(info); /* untracked: nothing else refers to it */
        return;
    }
    clear_deps(info); /* (it creates no more children: their dependences are settled) */
    spin_lock(&tasks.lock);
    info->completed = 1;
    successor *waiting = info->successors;
    info->successors = NULL;
    spin_unlock(&tasks.lock);
    while (waiting != NULL) {
        successor *next = waiting->next;
        if (__atomic_sub_fetch(&waiting->task->waiting_on, 1, __ATOMIC_SEQ_CST) == 0) {
            post(waiting->task);
        }
        free(waiting);
        waiting = next;
    }
    if (info->group) {
        __atomic_sub_fetch(&info->group->count, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_sub_fetch(&parent->children, 1, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&tasks.pending, 1, __ATOMIC_SEQ_CST);
    release(info);
}

static void run_task(task_info *info, int32_t gtid) {
    thread_slot *slot = info->parent ? self() : NULL;
    task_info *interrupted = slot ? slot->current : NULL;
    if (slot) {
        slot->current = info;
    }
    int32_t final = info->parent == NULL && info->final; /* (an unattached instance counts final tasks itself) */
    unattached_final += final;
    info->running = 1;
    task_header *task = TASK_OF(info);
    task->routine(gtid, task);
    info->running = 0;
    unattached_final -= final;
    if (slot) {
        slot->current = interrupted;
    }
    complete(info);
}

static int descends_from(const task_info *info, const task_info *ancestor) {
    for (const task_info *p = info->parent; p != NULL; p = p->parent) {
        if (p == ancestor) {
            return 1;
        }
    }
    return 0;
}

/* Take a posted task and run it: with an `ancestor`, the newest of the first 64 that descends from it
 * (a waiting task's own work, depth first); without, the oldest (in a recursive split, the biggest). */
static int run_posted(const task_info *ancestor, int32_t gtid) {
    if (__atomic_load_n(&tasks.top, __ATOMIC_SEQ_CST) == NULL) {
        return 0;
    }
    spin_lock(&tasks.lock);
    task_info **link = &tasks.top, **taken = NULL;
    for (int looked = 0; *link != NULL && (ancestor == NULL || looked < 64); looked++, link = &(*link)->next) {
        if (ancestor == NULL) {
            taken = link; /* (the last one seen is the oldest) */
        } else if (descends_from(*link, ancestor)) {
            taken = link;
            break;
        }
    }
    task_info *found = taken ? *taken : NULL;
    if (found != NULL) {
        *taken = found->next;
    }
    spin_unlock(&tasks.lock);
    if (found == NULL) {
        return 0;
    }
    run_task(found, gtid);
    return 1;
}

/* Run posted tasks (descendants of `ancestor`, or any) while `*count` is above `floor`. */
static void help_while_above(const int32_t *count, int32_t floor, const task_info *ancestor, int32_t gtid) {
    int spins = 0;
    while (__atomic_load_n(count, __ATOMIC_SEQ_CST) > floor) {
        if (run_posted(ancestor, gtid)) {
            spins = 0;
        } else if (++spins >= 64) {
            faabric_omp_yield(); /* lets the tasks' runners have the core; stops if the team failed */
            spins = 0;
        }
    }
}

/* Whether the encountering thread may leave `info` to the team (else it runs it at once). */
static int deferred_here(const task_info *info) {
    const thread_slot *slot = self();
    return info->parent != NULL && info->deferrable && slot != NULL && slot->nth > 1;
}

int32_t __kmpc_omp_task(void *loc, int32_t gtid, void *task) {
    (void)loc;
    task_info *info = INFO_OF(task);
    if (info->running) { /* an untied task's next part */
        ((task_header *)task)->routine(gtid, task);
        return 0;
    }
    if (deferred_here(info)) {
        post(info);
    } else {
        run_task(info, gtid);
    }
    return 0;
}

int32_t __kmpc_omp_taskwait(void *loc, int32_t gtid) {
    (void)loc;
    thread_slot *slot = self();
    task_info *current = slot ? slot->current : NULL;
    if (current != NULL) {
        help_while_above(&current->children, 0, current, gtid);
        clear_deps(current); /* (later children depend on nothing before) */
    }
    return 0;
}

/* ---- dependences: among sibling tasks, through the addresses their depend clauses name ---- */

typedef struct kmp_depend_info { /* clang's layout */
    intptr_t base_addr;
    size_t len;
    uint8_t flags; /* 1 in, 2 out, 4 mutexinoutset (taken as inout), 8 inoutset (too) */
} kmp_depend_info;

static void hold(task_info *info) { __atomic_add_fetch(&info->refs, 1, __ATOMIC_SEQ_CST); }

/* `info` runs only after `before` completes (if it has not yet). */
static void after(task_info *info, task_info *before) {
    if (before == NULL || before == info) {
        return;
    }
    successor *node = malloc(sizeof *node);
    if (node == NULL) {
        abort();
    }
    node->task = info;
    spin_lock(&tasks.lock);
    if (!before->completed) {
        node->next = before->successors;
        before->successors = node;
        __atomic_add_fetch(&info->waiting_on, 1, __ATOMIC_SEQ_CST);
        node = NULL;
    }
    spin_unlock(&tasks.lock);
    free(node);
}

static dep_record *record_of(task_info *parent, intptr_t address) {
    dep_table *table = parent->deps;
    if (table == NULL) {
        table = parent->deps = calloc(1, sizeof *table);
        if (table == NULL) {
            abort();
        }
    }
    for (int32_t i = 0; i < table->count; i++) {
        if (table->records[i].address == address) {
            return &table->records[i];
        }
    }
    if (table->count == table->capacity) {
        table->capacity = table->capacity ? 2 * table->capacity : 8;
        table->records = realloc(table->records, sizeof(dep_record) * (size_t)table->capacity);
        if (table->records == NULL) {
            abort();
        }
    }
    dep_record *record = &table->records[table->count++];
    *record = (dep_record){.address = address};
    return record;
}

/* A writer follows the last writer and every reader since; a reader follows the last writer. */
static void depend(task_info *info, const kmp_depend_info *dep) {
    dep_record *record = record_of(info->parent, dep->base_addr);
    after(info, record->writer);
    if (dep->flags & 1 && !(dep->flags & ~1)) {
        if (record->count == record->capacity) {
            record->capacity = record->capacity ? 2 * record->capacity : 4;
            record->readers = realloc(record->readers, sizeof(task_info *) * (size_t)record->capacity);
            if (record->readers == NULL) {
                abort();
            }
        }
        hold(info);
        record->readers[record->count++] = info;
        return;
    }
    for (int32_t i = 0; i < record->count; i++) {
        after(info, record->readers[i]);
        release(record->readers[i]);
    }
    record->count = 0;
    release(record->writer);
    hold(info);
    record->writer = info;
}

/* Forget the dependences among `info`'s children (it creates no more, or they are all complete). */
static void clear_deps(task_info *info) {
    dep_table *table = info->deps;
    if (table == NULL) {
        return;
    }
    info->deps = NULL;
    for (int32_t i = 0; i < table->count; i++) {
        dep_record *record = &table->records[i];
        release(record->writer);
        for (int32_t r = 0; r < record->count; r++) {
            release(record->readers[r]);
        }
        free(record->readers);
    }
    free(table->records);
    free(table);
}

int32_t __kmpc_omp_task_with_deps(void *loc, int32_t gtid, void *task, int32_t ndeps, void *deps,
                                  int32_t ndeps_noalias, void *noalias) {
    (void)loc;
    task_info *info = INFO_OF(task);
    if (!deferred_here(info)) { /* at once, once every earlier sibling (all it may depend on) is done */
        if (info->parent != NULL) {
            help_while_above(&info->parent->children, 1, info->parent, gtid);
        }
        run_task(info, gtid);
        return 0;
    }
    info->waiting_on = 1; /* (until every dependence is registered) */
    for (int32_t i = 0; i < ndeps; i++) {
        depend(info, (const kmp_depend_info *)deps + i);
    }
    for (int32_t i = 0; i < ndeps_noalias; i++) {
        depend(info, (const kmp_depend_info *)noalias + i);
    }
    if (__atomic_sub_fetch(&info->waiting_on, 1, __ATOMIC_SEQ_CST) == 0) {
        post(info);
    }
    return 0;
}

void __kmpc_omp_wait_deps(void *loc, int32_t gtid, int32_t ndeps, void *deps, int32_t ndeps_noalias,
                          void *noalias) {
    (void)ndeps, (void)deps, (void)ndeps_noalias, (void)noalias;
    __kmpc_omp_taskwait(loc, gtid);
}

void __kmpc_taskgroup(void *loc, int32_t gtid);
void __kmpc_end_taskgroup(void *loc, int32_t gtid);

/* taskloop: the iterations split into chunk tasks, copies of `task` with their own bounds (clang's
 * task_dup copies the firstprivates and tells the last chunk it is last), as libomp does; inside a
 * taskgroup unless nogroup. `task` itself only serves as the model: it completes without running. */
void __kmpc_taskloop(void *loc, int32_t gtid, void *task, int32_t if_val, uint64_t *lb, uint64_t *ub, int64_t st,
                     int32_t nogroup, int32_t sched, uint64_t grainsize, void *task_dup) {
    task_info *model = INFO_OF(task);
    int64_t lower = (int64_t)*lb, upper = (int64_t)*ub;
    uint64_t trips = st > 0 ? (upper < lower ? 0 : (uint64_t)(upper - lower) / (uint64_t)st + 1)
                            : (st < 0 && lower >= upper ? (uint64_t)(lower - upper) / (uint64_t)-st + 1 : 0);
    uint64_t chunks = 1;
    const thread_slot *slot = self();
    if (if_val && deferred_here(model)) {
        uint64_t nth = (uint64_t)slot->nth;
        chunks = sched == 1 ? (grainsize ? trips / grainsize : trips) : sched == 2 ? grainsize : nth * 10;
        chunks = chunks < 1 ? 1 : chunks > trips ? trips : chunks;
    }
    if (!nogroup) {
        __kmpc_taskgroup(loc, gtid);
    }
    size_t bytes = (size_t)model->capacity - INFO_SPACE, lb_at = (char *)lb - (char *)task, ub_at = (char *)ub - (char *)task;
    task_header *original = task;
    uint64_t first = (uint64_t)lower, small = chunks ? trips / chunks : 0, extra = chunks ? trips % chunks : 0;
    for (uint64_t c = 0; c < chunks && trips > 0; c++) {
        uint64_t count = small + (c < extra);
        task_info *info = new_task((size_t)model->capacity, model->deferrable, model->final);
        task_header *chunk = TASK_OF(info);
        memcpy(chunk, original, bytes);
        if ((char *)original->shareds >= (char *)original && (char *)original->shareds < (char *)original + bytes) {
            chunk->shareds = (char *)chunk + ((char *)original->shareds - (char *)original);
        }
        *(uint64_t *)((char *)chunk + lb_at) = first;
        *(uint64_t *)((char *)chunk + ub_at) = first + (count - 1) * (uint64_t)st;
        if (task_dup) {
            ((void (*)(void *, void *, int32_t))task_dup)(chunk, original, c == chunks - 1);
        }
        first += count * (uint64_t)st;
        __kmpc_omp_task(loc, gtid, chunk);
    }
    if (!nogroup) {
        __kmpc_end_taskgroup(loc, gtid);
    }
    complete(model);
}

/* if(0): the encountering thread runs the task's body itself, between these two calls. */
void __kmpc_omp_task_begin_if0(void *loc, int32_t gtid, void *task) {
    (void)loc, (void)gtid;
    task_info *info = INFO_OF(task);
    thread_slot *slot = self();
    if (info->parent != NULL && slot != NULL) {
        info->resumed = slot->current;
        slot->current = info;
    }
    info->running = 1;
}

void __kmpc_omp_task_complete_if0(void *loc, int32_t gtid, void *task) {
    (void)loc, (void)gtid;
    task_info *info = INFO_OF(task);
    thread_slot *slot = self();
    info->running = 0;
    if (info->parent != NULL && slot != NULL) {
        slot->current = info->resumed;
    }
    complete(info);
}

int32_t __kmpc_omp_taskyield(void *loc, int32_t gtid, int end_part) { (void)loc, (void)gtid, (void)end_part; return 0; }

void __kmpc_taskgroup(void *loc, int32_t gtid) {
    (void)loc, (void)gtid;
    thread_slot *slot = self();
    task_info *current = slot ? slot->current : NULL;
    if (current == NULL) {
        return; /* tasks outside a region run at once */
    }
    taskgroup *group = calloc(1, sizeof *group);
    if (group == NULL) {
        abort();
    }
    group->outer = current->current_group;
    current->current_group = group;
}

void __kmpc_end_taskgroup(void *loc, int32_t gtid) {
    (void)loc;
    thread_slot *slot = self();
    task_info *current = slot ? slot->current : NULL;
    if (current == NULL || current->current_group == NULL) {
        return;
    }
    taskgroup *group = current->current_group;
    help_while_above(&group->count, 0, current, gtid);
    current->current_group = group->outer;
    free(group);
}

int omp_in_final(void) {
    const thread_slot *slot = self();
    return slot ? slot->current != NULL && slot->current->final : unattached_final > 0;
}

static void run_microtask(int32_t microtask, int32_t gtid, int32_t tid, int32_t argc, const int32_t *args);

/* A thread's part of a region: its implicit task, then every task of the team done (or running elsewhere). */
static void run_part(int32_t microtask, int32_t gtid, int32_t tid, int32_t argc, const int32_t *args) {
    thread_slot *slot = self();
    slot->implicit = (task_info){.implicit = 1};
    slot->current = &slot->implicit;
    run_microtask(microtask, gtid, tid, argc, args);
    help_while_above(&tasks.pending, 0, NULL, gtid);
    clear_deps(&slot->implicit);
    slot->current = NULL;
}

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
        help_while_above(&tasks.pending, 0, NULL, gtid); /* the team's tasks complete before the barrier */
        __atomic_store_n(&team.arrived, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&team.generation, seen + 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&team.events, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&team.sleepers, __ATOMIC_SEQ_CST)) {
            faabric_omp_barrier_wake();
        }
        return;
    }
    waiting wait = wait_begin();
    while (__atomic_load_n(&team.generation, __ATOMIC_SEQ_CST) == seen) {
        if (run_posted(NULL, gtid) || wait_poll(&wait)) {
            continue;
        }
        /* polled for long enough: block in the host until the barrier completes or a task is posted */
        int32_t events = __atomic_load_n(&team.events, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&team.sleepers, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&team.generation, __ATOMIC_SEQ_CST) == seen &&
            __atomic_load_n(&tasks.top, __ATOMIC_SEQ_CST) == NULL) {
            faabric_omp_barrier_wait(&team.events, events); /* returns once events moved on */
        }
        __atomic_sub_fetch(&team.sleepers, 1, __ATOMIC_SEQ_CST);
    }
    wait_end(&wait);
}

/* ---- critical sections and reductions ----
 *
 * An attached instance takes the first word of clang's kmp_critical_name
 * (zeroed static storage, one per name) as a spin lock; others ask the host,
 * which also reports leaving a section nobody entered. A reduction combines
 * under its lock (in snapshot mode the host gathers the threads' values).
 */

HOST(__kmpc_critical) void faabric_omp_critical(void *loc, int32_t gtid, int32_t *name);
HOST(__kmpc_end_critical) void faabric_omp_end_critical(void *loc, int32_t gtid, int32_t *name);
HOST(__kmpc_reduce) int32_t faabric_omp_reduce(void *loc, int32_t gtid, int32_t num_vars, size_t size, void *data,
                                               void *reduce_func, int32_t *lock);
HOST(__kmpc_reduce_nowait) int32_t faabric_omp_reduce_nowait(void *loc, int32_t gtid, int32_t num_vars, size_t size,
                                                             void *data, void *reduce_func, int32_t *lock);
HOST(__kmpc_end_reduce) void faabric_omp_end_reduce(void *loc, int32_t gtid, int32_t *lock);
HOST(__kmpc_end_reduce_nowait) void faabric_omp_end_reduce_nowait(void *loc, int32_t gtid, int32_t *lock);

void __kmpc_critical(void *loc, int32_t gtid, int32_t *name) {
    if (self() == NULL) {
        faabric_omp_critical(loc, gtid, name);
        return;
    }
    spin_lock(name);
}

void __kmpc_critical_with_hint(void *loc, int32_t gtid, int32_t *name, uint32_t hint) {
    (void)hint;
    __kmpc_critical(loc, gtid, name);
}

void __kmpc_end_critical(void *loc, int32_t gtid, int32_t *name) {
    if (self() == NULL || !spin_unlock(name)) {
        faabric_omp_end_critical(loc, gtid, name); /* (reports a section nobody entered) */
    }
}

int32_t __kmpc_reduce_nowait(void *loc, int32_t gtid, int32_t num_vars, size_t size, void *data,
                             void *reduce_func, int32_t *lock) {
    if (self() == NULL) {
        return faabric_omp_reduce_nowait(loc, gtid, num_vars, size, data, reduce_func, lock);
    }
    spin_lock(lock);
    return 1; /* the caller combines its values into the shared ones, then calls end_reduce */
}

int32_t __kmpc_reduce(void *loc, int32_t gtid, int32_t num_vars, size_t size, void *data, void *reduce_func,
                      int32_t *lock) {
    if (self() == NULL) {
        return faabric_omp_reduce(loc, gtid, num_vars, size, data, reduce_func, lock);
    }
    spin_lock(lock);
    return 1;
}

void __kmpc_end_reduce_nowait(void *loc, int32_t gtid, int32_t *lock) {
    if (self() == NULL || !spin_unlock(lock)) {
        faabric_omp_end_reduce_nowait(loc, gtid, lock);
    }
}

void __kmpc_end_reduce(void *loc, int32_t gtid, int32_t *lock) {
    if (self() == NULL || !spin_unlock(lock)) {
        faabric_omp_end_reduce(loc, gtid, lock);
        return;
    }
    __kmpc_barrier(loc, gtid);
}

/* ---- omp_lock_t and omp_nest_lock_t ----
 *
 * A lock initialised by an attached instance (shared mode) lives in its own
 * word: LOCK_MAGIC | nestable | owner (gtid + 1) | depth, taken with atomics.
 * The host initialises every lock too, and handles any other (snapshot mode,
 * a word that is not such a lock: it reports one never initialised); misuse
 * of a guest lock is reported through the host as well, as typed errors.
 */

#define LOCK_MAGIC 0x6F6D0000u
#define LOCK_NEST 0x8000u
#define LOCK_OWNER(v) (((v) >> 8) & 0x7Fu)
#define LOCK_DEPTH(v) ((v)&0xFFu)
enum { MISUSE_NOT_HELD, MISUSE_DEADLOCK, MISUSE_HELD_AT_DESTROY, MISUSE_TOO_DEEP };

typedef struct omp_lock_word { uint32_t word; } omp_lock_word;

HOST(omp_init_lock) void host_init_lock(omp_lock_word *lock);
HOST(omp_init_nest_lock) void host_init_nest_lock(omp_lock_word *lock);
HOST(omp_destroy_lock) void host_destroy_lock(omp_lock_word *lock);
HOST(omp_destroy_nest_lock) void host_destroy_nest_lock(omp_lock_word *lock);
HOST(omp_set_lock) void host_set_lock(omp_lock_word *lock);
HOST(omp_set_nest_lock) void host_set_nest_lock(omp_lock_word *lock);
HOST(omp_unset_lock) void host_unset_lock(omp_lock_word *lock);
HOST(omp_unset_nest_lock) void host_unset_nest_lock(omp_lock_word *lock);
HOST(omp_test_lock) int host_test_lock(omp_lock_word *lock);
HOST(omp_test_nest_lock) int host_test_nest_lock(omp_lock_word *lock);
HOST(__faabric_omp_lock_misuse) void faabric_omp_lock_misuse(int32_t misuse, int32_t nestable, omp_lock_word *lock);

static int in_guest(omp_lock_word *lock) {
    return self() != NULL && (__atomic_load_n(&lock->word, __ATOMIC_SEQ_CST) & 0xFFFF0000u) == LOCK_MAGIC;
}

static uint32_t lock_owner_id(void) { return (uint32_t)(self() - threads) + 1; }

/* Take the lock (waiting if `wait`): the new depth (1 for a simple lock), or 0 if another thread holds it. */
static int take_lock(omp_lock_word *lock, int wait) {
    uint32_t me = lock_owner_id();
    int spins = 0;
    for (;;) {
        uint32_t seen = __atomic_load_n(&lock->word, __ATOMIC_SEQ_CST);
        if (LOCK_OWNER(seen) == 0) {
            if (__atomic_compare_exchange_n(&lock->word, &seen, (seen & ~0x7FFFu) | me << 8 | 1u, 0,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
                return 1;
            }
            continue;
        }
        int nestable = (seen & LOCK_NEST) != 0;
        if (LOCK_OWNER(seen) == me) {
            if (!nestable) {
                if (!wait) {
                    return 0;
                }
                faabric_omp_lock_misuse(MISUSE_DEADLOCK, 0, lock);
            }
            if (LOCK_DEPTH(seen) == 0xFF) {
                faabric_omp_lock_misuse(MISUSE_TOO_DEEP, 1, lock);
            }
            __atomic_store_n(&lock->word, seen + 1, __ATOMIC_SEQ_CST); /* (only the owner writes a held lock) */
            return (int)LOCK_DEPTH(seen) + 1;
        }
        if (!wait) {
            return 0;
        }
        if (++spins >= 64) {
            faabric_omp_yield(); /* lets the holder run; stops if the team failed */
            spins = 0;
        }
    }
}

static void give_lock(omp_lock_word *lock, int nestable) {
    uint32_t seen = __atomic_load_n(&lock->word, __ATOMIC_SEQ_CST);
    if (LOCK_OWNER(seen) != lock_owner_id()) {
        faabric_omp_lock_misuse(MISUSE_NOT_HELD, nestable, lock);
    }
    uint32_t next = LOCK_DEPTH(seen) > 1 ? seen - 1 : seen & ~0x7FFFu;
    __atomic_store_n(&lock->word, next, __ATOMIC_RELEASE);
}

static void destroy_lock(omp_lock_word *lock, int nestable) {
    if (!in_guest(lock)) {
        (nestable ? host_destroy_nest_lock : host_destroy_lock)(lock);
        return;
    }
    if (LOCK_OWNER(__atomic_load_n(&lock->word, __ATOMIC_SEQ_CST))) {
        faabric_omp_lock_misuse(MISUSE_HELD_AT_DESTROY, nestable, lock);
    }
    __atomic_store_n(&lock->word, 0, __ATOMIC_SEQ_CST);
    (nestable ? host_destroy_nest_lock : host_destroy_lock)(lock);
}

void omp_init_lock(omp_lock_word *lock) {
    host_init_lock(lock); /* (the first OpenMP host call attaches the instance, in shared mode) */
    if (self() != NULL) {
        __atomic_store_n(&lock->word, LOCK_MAGIC, __ATOMIC_SEQ_CST);
    }
}

void omp_init_nest_lock(omp_lock_word *lock) {
    host_init_nest_lock(lock);
    if (self() != NULL) {
        __atomic_store_n(&lock->word, LOCK_MAGIC | LOCK_NEST, __ATOMIC_SEQ_CST);
    }
}

void omp_init_lock_with_hint(omp_lock_word *lock, int32_t hint) { (void)hint, omp_init_lock(lock); }
void omp_init_nest_lock_with_hint(omp_lock_word *lock, int32_t hint) { (void)hint, omp_init_nest_lock(lock); }
void omp_destroy_lock(omp_lock_word *lock) { destroy_lock(lock, 0); }
void omp_destroy_nest_lock(omp_lock_word *lock) { destroy_lock(lock, 1); }

void omp_set_lock(omp_lock_word *lock) {
    if (in_guest(lock)) {
        take_lock(lock, 1);
    } else {
        host_set_lock(lock);
    }
}

void omp_set_nest_lock(omp_lock_word *lock) {
    if (in_guest(lock)) {
        take_lock(lock, 1);
    } else {
        host_set_nest_lock(lock);
    }
}

int omp_test_lock(omp_lock_word *lock) { return in_guest(lock) ? take_lock(lock, 0) != 0 : host_test_lock(lock); }
int omp_test_nest_lock(omp_lock_word *lock) { return in_guest(lock) ? take_lock(lock, 0) : host_test_nest_lock(lock); }

void omp_unset_lock(omp_lock_word *lock) {
    if (in_guest(lock)) {
        give_lock(lock, 0);
    } else {
        host_unset_lock(lock);
    }
}

void omp_unset_nest_lock(omp_lock_word *lock) {
    if (in_guest(lock)) {
        give_lock(lock, 1);
    } else {
        host_unset_nest_lock(lock);
    }
}

/* ---- parallel regions ---- */

/* microtask(&gtid, &tid, args[0], ..., args[argc - 1]). An outlined region takes only pointer-sized
 * values, and call_indirect checks the signature: it is called with exactly argc of them. */
static void run_microtask(int32_t microtask, int32_t gtid, int32_t tid, int32_t argc, const int32_t *args) {
    if (argc > DIRECT_ARGS) {
        faabric_omp_call_microtask(microtask, gtid, tid, argc, (int32_t)(intptr_t)args);
        return;
    }
    int32_t a[DIRECT_ARGS] = {0}, *g = &gtid, *t = &tid;
    memcpy(a, args, sizeof(int32_t) * (size_t)argc);
    void *f = (void *)(intptr_t)microtask;
    typedef int32_t I;
    switch (argc) {
#define P I *, I *
#define CALL(...) ((void (*)(__VA_ARGS__))f)
    case 0: CALL(P)(g, t); break;
    case 1: CALL(P, I)(g, t, a[0]); break;
    case 2: CALL(P, I, I)(g, t, a[0], a[1]); break;
    case 3: CALL(P, I, I, I)(g, t, a[0], a[1], a[2]); break;
    case 4: CALL(P, I, I, I, I)(g, t, a[0], a[1], a[2], a[3]); break;
    case 5: CALL(P, I, I, I, I, I)(g, t, a[0], a[1], a[2], a[3], a[4]); break;
    case 6: CALL(P, I, I, I, I, I, I)(g, t, a[0], a[1], a[2], a[3], a[4], a[5]); break;
    case 7: CALL(P, I, I, I, I, I, I, I)(g, t, a[0], a[1], a[2], a[3], a[4], a[5], a[6]); break;
    case 8: CALL(P, I, I, I, I, I, I, I, I)(g, t, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]); break;
#define A8 a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
#define I8 I, I, I, I, I, I, I, I
    case 9: CALL(P, I8, I)(g, t, A8, a[8]); break;
    case 10: CALL(P, I8, I, I)(g, t, A8, a[8], a[9]); break;
    case 11: CALL(P, I8, I, I, I)(g, t, A8, a[8], a[9], a[10]); break;
    case 12: CALL(P, I8, I, I, I, I)(g, t, A8, a[8], a[9], a[10], a[11]); break;
    case 13: CALL(P, I8, I, I, I, I, I)(g, t, A8, a[8], a[9], a[10], a[11], a[12]); break;
    case 14: CALL(P, I8, I, I, I, I, I, I)(g, t, A8, a[8], a[9], a[10], a[11], a[12], a[13]); break;
    case 15: CALL(P, I8, I, I, I, I, I, I, I)(g, t, A8, a[8], a[9], a[10], a[11], a[12], a[13], a[14]); break;
    case 16: CALL(P, I8, I8)(g, t, A8, a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]); break;
#undef P
#undef CALL
#undef A8
#undef I8
    }
}

static int all_done(int32_t members, int32_t generation) {
    for (int32_t gtid = 1; gtid <= members; gtid++) {
        if (__atomic_load_n(&region.done[gtid], __ATOMIC_SEQ_CST) != generation) {
            return 0;
        }
    }
    return 1;
}

/* Start the parked workers 1..members on `microtask`, run thread 0's part, and return once every member
 * has finished (or stopped: the host tells which). */
static int32_t start_and_join(int32_t microtask, int32_t argc, const int32_t *args, int32_t members, int32_t gtid) {
    region.microtask = microtask;
    region.argc = argc;
    region.args = (int32_t)(intptr_t)args;
    region.members = members;
    region.join_sleeping = 0;
    __atomic_store_n(&region.active, 1, __ATOMIC_SEQ_CST);
    int32_t generation = __atomic_add_fetch(&region.generation, 1, __ATOMIC_SEQ_CST);
    for (int32_t worker = 1; worker <= members; worker++) {
        if (__atomic_load_n(&region.sleeping[worker], __ATOMIC_SEQ_CST)) {
            faabric_omp_park_wake(worker);
        }
    }
    run_part(microtask, gtid, 0, argc, args);
    waiting wait = wait_begin();
    while (!all_done(members, generation)) {
        if (!wait_poll(&wait)) {
            __atomic_store_n(&region.join_sleeping, 1, __ATOMIC_SEQ_CST);
            if (!all_done(members, generation)) {
                faabric_omp_join_wait(); /* returns once every member is done (or one stopped) */
            }
            break;
        }
    }
    wait_end(&wait);
    __atomic_store_n(&region.active, 0, __ATOMIC_SEQ_CST);
    return generation;
}

/* Called by the host for the forking thread, once it published the team's states. */
__attribute__((export_name("__faabric_omp_run_team"))) int32_t faabric_omp_run_team(int32_t microtask, int32_t argc,
                                                                                     int32_t args, int32_t members,
                                                                                     int32_t gtid) {
    return start_and_join(microtask, argc, (const int32_t *)(intptr_t)args, members, gtid);
}

/* The initial thread's fork, when the host has left a team of the wanted size parked and ready: the
 * region starts and joins here, and the host renews its view of the team only if a member calls it. */
static int fork_here(thread_slot *slot, int32_t pushed, int32_t argc, void *microtask, const int32_t *args) {
    int32_t size = __atomic_load_n(&region.fast_size, __ATOMIC_SEQ_CST);
    if (slot != &threads[0] || size < 1 || __atomic_load_n(&region.active, __ATOMIC_SEQ_CST)) {
        return 0;
    }
    int32_t wanted = pushed > 0 ? pushed : region.default_threads;
    if ((wanted < region.thread_limit ? wanted : region.thread_limit) != size) {
        return 0;
    }
    int32_t nth = slot->nth;
    slot->nth = size;
    start_and_join((int32_t)(intptr_t)microtask, argc, args, size - 1, 0);
    slot->nth = nth;
    if (__atomic_load_n(&region.failed, __ATOMIC_SEQ_CST) || __atomic_load_n(&region.output, __ATOMIC_SEQ_CST)) {
        faabric_omp_guest_join(); /* prints the workers' output; traps if one stopped */
    }
    return 1;
}

static int32_t pending_push; /* the initial thread's num_threads clause, for its next fork */

void __kmpc_push_num_threads(void *loc, int32_t gtid, int32_t count) {
    if (self() == &threads[0]) {
        pending_push = count > 0 ? count : 0;
        return;
    }
    faabric_omp_push_num_threads(loc, gtid, count);
}

/* clang passes the shared arguments as varargs: in wasm32 a va_list points at them, one i32 each. */
void __kmpc_fork_call(void *loc, int32_t argc, void *microtask, ...) {
    va_list varargs;
    va_start(varargs, microtask);
    const int32_t *args = (const int32_t *)varargs;
    thread_slot *slot = self();
    int32_t pushed = 0;
    if (slot == &threads[0]) {
        pushed = pending_push;
        pending_push = 0;
    }
    if (!fork_here(slot, pushed, argc, microtask, args)) {
        if (pushed) {
            faabric_omp_push_num_threads(loc, 0, pushed);
        }
        faabric_omp_fork_call(loc, argc, microtask, args);
    }
    va_end(varargs);
}

int omp_get_thread_num(void) {
    const thread_slot *slot = self();
    return slot ? slot->tid : faabric_omp_get_thread_num();
}

int omp_get_num_threads(void) {
    const thread_slot *slot = self();
    return slot ? slot->nth : faabric_omp_get_num_threads();
}

/* Called by the host on a worker's own thread: run each region it takes part in, from generation `seen`
 * on, until the host asks it to exit. */
__attribute__((export_name("__faabric_omp_park"))) int32_t faabric_omp_park(int32_t gtid, int32_t seen) {
    for (;;) {
        waiting wait = wait_begin();
        if (!poll_while_equal(&region.generation, seen, &wait)) {
            __atomic_store_n(&region.sleeping[gtid], 1, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&region.generation, __ATOMIC_SEQ_CST) == seen) {
                faabric_omp_park_wait(&region.generation, seen);
            }
            __atomic_store_n(&region.sleeping[gtid], 0, __ATOMIC_SEQ_CST);
        }
        wait_end(&wait);
        seen = __atomic_load_n(&region.generation, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&region.exit, __ATOMIC_SEQ_CST)) {
            return 0;
        }
        if (gtid > region.members) {
            continue; /* not in this team */
        }
        run_part(region.microtask, gtid, self()->tid, region.argc, (const int32_t *)(intptr_t)region.args);
        __atomic_store_n(&region.done[gtid], seen, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&region.join_sleeping, __ATOMIC_SEQ_CST)) {
            faabric_omp_join_wake();
        }
    }
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
