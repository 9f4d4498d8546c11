/* threadpool.c — a small persistent pthread pool. fcn_parallel_for gives each thread a static
 * contiguous share of [0, n), which it takes in parts; a thread done with its share takes what
 * is left of the others' from their backs (run_chunk). The kernels' results do not depend on
 * which thread runs a task nor on how a range is cut into calls, so they stay bit-identical
 * from run to run. The calling thread takes part and waits for the rest.
 * Jobs are serialized per pool; a parallel_for issued from inside a job runs serially. */
#include "runtime/op.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif
/* Workers and the caller spin up to SPIN_NS before sleeping on the condition variable: an
 * inference issues ~60 parallel loops, and a wake-up through the futex (tens of µs in a VM)
 * costs more than a whole small loop, so without the spin two threads end up taking turns.
 * The budget is time, not a pause count: a PAUSE takes 12 ns on this Xeon and ~45 ns on
 * Skylake, and 2000 of them (24 µs here) let the worker fall asleep in the gaps of small
 * models (SqueezeNet at 2 threads: 3.75 -> 2.87 ms with a 200 µs budget). Kept well under a
 * millisecond so a busy machine does not lose a core to spinning. Fields read while spinning
 * are written with atomic stores (under the lock as before). */
#define SPIN_NS 200000

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A spin budget: call spin_more() each round of a wait loop; 0 once SPIN_NS have passed. */
typedef struct spin_budget { unsigned round; int64_t deadline; } spin_budget;

static int spin_more(spin_budget *b)
{
    if ((b->round++ & 31) == 0) {
        int64_t t = now_ns();
        if (!b->deadline) b->deadline = t + SPIN_NS;
        else if (t > b->deadline) return 0;
    }
    CPU_RELAX();
    return 1;
}

struct fcn_threadpool {
    int nthreads;                  /* including the caller */
    pthread_t *workers;            /* nthreads - 1 */
    pthread_mutex_t lock;          /* only around sleeping and waking: the fast path is atomics */
    pthread_cond_t wake, done;
    pthread_mutex_t job_lock;      /* one job at a time per pool */
    uint64_t generation;           /* bumped (release) once the job's fields are written */
    int pending;                   /* workers still running the current job */
    int sleepers;                  /* workers asleep on wake, or about to be */
    int caller_sleeping;           /* the caller asleep on done, or about to be */
    int stop;
    /* the current job */
    fcn_range_fn fn;
    void *ctx;
    int64_t n;
    int active;                    /* threads taking part in this job */
    /* Each taking part thread's share of the job, front | back << 32, a line apart: the owner
     * takes chunks from the front, a thread done with its own share takes them from the back */
    uint64_t *shares;
    int job_steal;                 /* this job's shares may be stolen from */
    int steal;                     /* 0 under FULLCONV_NO_STEAL=1: the static shares alone */
    /* FULLCONV_SPLIT_TASKS=1 (tests): every job's tasks one call each, in order, on the caller,
     * the thread ids taken in turn — the finest cut stealing could make, deterministically: a
     * kernel whose result depends on how its range is cut shows up as different bits */
    int split;
};

enum { SHARE_STRIDE = 8 };   /* uint64_t a share: 64 bytes */

static _Thread_local int in_job;

typedef struct { struct fcn_threadpool *p; int tid; } worker_arg;

/* Takes from the front of a share (its owner: three quarters of what is left, so a share is
 * a few calls and its last tasks small) or from its back (a thief: half of what is left): 0
 * when the share is empty, else 1 with the range taken. */
static int take(uint64_t *share, int own, uint32_t *lo, uint32_t *hi)
{
    uint64_t v = __atomic_load_n(share, __ATOMIC_ACQUIRE);
    for (;;) {
        uint32_t f = (uint32_t)v, b = (uint32_t)(v >> 32);
        if (f >= b) return 0;
        uint32_t left = b - f;
        uint64_t nv;
        if (own) {
            *lo = f;
            *hi = f + (left - left / 4);
            nv = ((uint64_t)b << 32) | *hi;
        } else {
            *hi = b;
            *lo = b - (left + 1) / 2;
            nv = ((uint64_t)*lo << 32) | f;
        }
        if (__atomic_compare_exchange_n(share, &v, nv, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return 1;
    }
}

/* A thread's part of the job: its static share, in chunks from the front; then, with
 * stealing on, what is left of the other shares, in chunks from their backs. A host that
 * slows one vCPU (this project's 2-vCPU VMs share their cores) then costs the job the time the
 * slow thread needs for the chunk it is in, not for its whole half; unslowed, the other
 * thread finds the shares empty or nearly so, and each thread keeps the part of the data its
 * share touched in the layers before (static shares are what the kernels' locality assumes). */
static void run_chunk(struct fcn_threadpool *p, int tid)
{
    if (!p->job_steal) {
        int64_t begin = p->n * tid / p->active, end = p->n * (tid + 1) / p->active;
        if (begin < end) p->fn(p->ctx, begin, end, tid);
        return;
    }
    uint32_t lo, hi;
    while (take(p->shares + (size_t)tid * SHARE_STRIDE, 1, &lo, &hi)) p->fn(p->ctx, lo, hi, tid);
    for (int k = 1; k < p->active; k++) {
        uint64_t *other = p->shares + (size_t)((tid + k) % p->active) * SHARE_STRIDE;
        while (take(other, 0, &lo, &hi)) p->fn(p->ctx, lo, hi, tid);
    }
}

/* The handshakes take no lock while the threads spin, so a worker never blocks on a mutex the
 * caller holds for a moment (before, ~12% of the loops put a thread to sleep in the futex that
 * way: a wake-up in a VM costs tens of µs). A thread that runs out of spin budget announces it
 * (sleepers / caller_sleeping, sequentially consistent) and then re-checks under the lock; the
 * other side publishes its change and then reads the announcement, so one of the two always
 * sees the other and no wake-up is lost. */
static void *worker_main(void *arg)
{
    worker_arg a = *(worker_arg *)arg;
    free(arg);
    struct fcn_threadpool *p = a.p;
    uint64_t seen = 0;
    in_job = 1;
    for (;;) {
        spin_budget sb = { 0, 0 };
        while (__atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == seen &&
               !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE) && spin_more(&sb)) {}
        if (__atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == seen && !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
            pthread_mutex_lock(&p->lock);
            __atomic_add_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
            while (__atomic_load_n(&p->generation, __ATOMIC_SEQ_CST) == seen && !__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST))
                pthread_cond_wait(&p->wake, &p->lock);
            __atomic_sub_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&p->lock);
        }
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) break;
        seen = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
        /* every worker acknowledges every job, taking part or not: the caller writes the next
         * job's fields only once no worker can still be reading these */
        if (a.tid < p->active) run_chunk(p, a.tid);
        if (__atomic_sub_fetch(&p->pending, 1, __ATOMIC_SEQ_CST) == 0 &&
            __atomic_load_n(&p->caller_sleeping, __ATOMIC_SEQ_CST)) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

struct fcn_threadpool *fcn_threadpool_create(int nthreads)
{
    if (nthreads < 2) return NULL;
    if (nthreads > 256) nthreads = 256;
    struct fcn_threadpool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->workers = calloc((size_t)nthreads, sizeof(pthread_t));
    if (!p->workers) {
        free(p);
        return NULL;
    }
    p->shares = aligned_alloc(64, sizeof(uint64_t) * SHARE_STRIDE * (size_t)nthreads);
    if (!p->shares) {
        free(p->workers);
        free(p);
        return NULL;
    }
    const char *ns = getenv("FULLCONV_NO_STEAL");
    p->steal = !(ns && ns[0] && strcmp(ns, "0") != 0);
    const char *sp = getenv("FULLCONV_SPLIT_TASKS");
    p->split = sp && sp[0] && strcmp(sp, "0") != 0;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->job_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->nthreads = 1;
    for (int t = 1; t < nthreads; t++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a) break;
        a->p = p;
        a->tid = t;
        if (pthread_create(&p->workers[t - 1], NULL, worker_main, a) != 0) {
            free(a);
            break;   /* fewer threads than asked: still correct */
        }
        p->nthreads = t + 1;
    }
    if (p->nthreads < 2) {
        fcn_threadpool_destroy(p);
        return NULL;
    }
    return p;
}

void fcn_threadpool_destroy(struct fcn_threadpool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int t = 1; t < p->nthreads; t++) pthread_join(p->workers[t - 1], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->job_lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p->shares);
    free(p);
}

void fcn_parallel_for(const fcn_exec *x, int64_t n, fcn_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    struct fcn_threadpool *p = x ? x->pool : NULL;
    int want = x ? x->nthreads : 1;
    if (!p || want <= 1 || n == 1 || in_job) {
        fn(ctx, 0, n, 0);
        return;
    }
    if (want > p->nthreads) want = p->nthreads;
    if ((int64_t)want > n) want = (int)n;
    if (p->split) {
        in_job = 1;
        for (int64_t i = 0; i < n; i++) fn(ctx, i, i + 1, (int)(i % want));
        in_job = 0;
        return;
    }
    pthread_mutex_lock(&p->job_lock);
    /* the job's fields, then the generation that publishes them */
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->active = want;
    /* the static shares, to be taken in parts (stealing needs the task indices in 32 bits) */
    p->job_steal = p->steal && n <= (int64_t)UINT32_MAX;
    if (p->job_steal)
        for (int t = 0; t < want; t++) {
            uint64_t b = (uint64_t)(n * t / want), e = (uint64_t)(n * (t + 1) / want);
            __atomic_store_n(p->shares + (size_t)t * SHARE_STRIDE, b | e << 32, __ATOMIC_RELAXED);
        }
    __atomic_store_n(&p->pending, p->nthreads - 1, __ATOMIC_RELAXED);
    __atomic_store_n(&p->generation, p->generation + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    in_job = 1;
    run_chunk(p, 0);
    in_job = 0;
    spin_budget sb = { 0, 0 };
    while (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0 && spin_more(&sb)) {}
    if (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0) {
        pthread_mutex_lock(&p->lock);
        __atomic_store_n(&p->caller_sleeping, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&p->pending, __ATOMIC_SEQ_CST) > 0) pthread_cond_wait(&p->done, &p->lock);
        __atomic_store_n(&p->caller_sleeping, 0, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_unlock(&p->job_lock);
}
