/* The cube's tile GEMM in C (compiled together with fp16.c by mmad_build.py).
 *
 * One call does a whole `npu.mmad`: widen A and B to fp32 (fp16.c), then float32 BLAS
 * (numpy's own OpenBLAS, bound at run time by blas.py) on row parts of the tile. fp16
 * accumulates straight into L0C (beta = 1, K in chunks the caller gives); int8/int4 go
 * through an fp32 temporary per exact K chunk, added into L0C with int32 wrap-around.
 *
 * The caller splits the rows in at most two parts, by shape alone. The parts are always
 * computed as separate single-threaded sgemm calls, so the result is the same bits
 * whether one thread does both or a helper thread takes the second: the host's thread
 * count never shows in the result.
 *
 * The helper is off unless asked for (mmad_helper): on the busy two-core host it was
 * measured on, it sped up back-to-back tiles (256x128x256: ~140-180 us instead of ~220)
 * but slowed a real tile loop, whose DMAs between tiles leave it either polling on the
 * caller's core or asleep and waking too late. When on, it only takes a part nobody has
 * started (the caller claims parts too); one descheduled in the middle of its part
 * makes the caller wait, so after a wait of more than twice the caller's own part (more
 * than a late wake-up explains) it sits out the next tiles: twice as many after each
 * such stall (up to BACKOFF_MAX), half as many after each tile it shared well.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef void (*sgemm32_fn)(int, int, int, int32_t, int32_t, int32_t, float, const float *, int32_t,
                           const float *, int32_t, float, float *, int32_t);
typedef void (*sgemm64_fn)(int, int, int, int64_t, int64_t, int64_t, float, const float *, int64_t,
                           const float *, int64_t, float, float *, int64_t);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);

enum { ROW_MAJOR = 101, NO_TRANS = 111, MAX_PARTS = 2 };
/* The helper polls this long for the next tile before it sleeps (a tile follows the
 * previous one after its DMAs, tens of microseconds). It polls with sched_yield, not a
 * busy pause loop: on a busy host a pausing helper takes the core the caller needs. */
#define SPIN_NS 500000L
enum { BACKOFF_MIN = 16, BACKOFF_MAX = 4096 };

static struct {
    void *sgemm;
    int int64;
    set_threads_fn set_threads;
    get_threads_fn get_threads;
} blas;

typedef struct {
    int dtype;  /* 0 fp16, 1 int8, 2 int4 */
    const uint8_t *a;
    void *c;
    int m, k, n, overwrite, kchunk;
    int bounds[MAX_PARTS + 1];
    float *a32, *b32, *t32;
} job_t;

static job_t job;
/* gen << 32 | next part << 16 | parts: claiming a part is one compare-and-swap */
static _Atomic uint64_t state;
static atomic_int done;
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int want_helper = 0;
static int backoff_left, backoff_next = BACKOFF_MIN;  /* tiles the helper sits out */
static atomic_long stats[3];  /* parts run, parts the helper ran, backoffs */
static pid_t helper_pid;  /* the process the helper was started in (0: none) */

static struct { float *p; size_t n; } scratch[3];

static float *scratch_get(int i, size_t n)
{
    if (scratch[i].n < n) {
        float *p = realloc(scratch[i].p, n * sizeof(float));
        if (!p)
            return NULL;
        scratch[i].p = p;
        scratch[i].n = n;
    }
    return scratch[i].p;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void sgemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc)
{
    if (blas.int64)
        ((sgemm64_fn)blas.sgemm)(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    else
        ((sgemm32_fn)blas.sgemm)(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

void fp16_to_f32(const void *src, void *dst, size_t n);
void i8_to_f32(const void *src, void *dst, size_t n);
void i4_to_f32(const void *src, void *dst, size_t n);

static void widen(int dtype, const uint8_t *src, float *dst, size_t count)
{
    if (dtype == 0)
        fp16_to_f32(src, dst, count);
    else if (dtype == 1)
        i8_to_f32(src, dst, count);
    else
        i4_to_f32(src, dst, count / 2);
}

static const size_t in_bits[3] = {16, 8, 4};

static void run_part(int part)
{
    const int r0 = job.bounds[part], rows = job.bounds[part + 1] - r0;
    const int k = job.k, n = job.n;
    float *a32 = job.a32 + (size_t)r0 * k;
    widen(job.dtype, job.a + (size_t)r0 * k * in_bits[job.dtype] / 8, a32, (size_t)rows * k);
    for (int k0 = 0; k0 < k; k0 += job.kchunk) {
        const int kk = k - k0 < job.kchunk ? k - k0 : job.kchunk;
        const int first = job.overwrite && k0 == 0;
        if (job.dtype == 0) {
            sgemm(rows, n, kk, a32 + k0, k, job.b32 + (size_t)k0 * n, n, first ? 0.0f : 1.0f,
                  (float *)job.c + (size_t)r0 * n, n);
            continue;
        }
        float *t = job.t32 + (size_t)r0 * n;
        int32_t *c = (int32_t *)job.c + (size_t)r0 * n;
        sgemm(rows, n, kk, a32 + k0, k, job.b32 + (size_t)k0 * n, n, 0.0f, t, n);
        const size_t count = (size_t)rows * n;
        if (first) {
            for (size_t i = 0; i < count; i++)
                c[i] = (int32_t)t[i];  /* exact: a chunk's sums are integers below 2^24 */
        } else {
            for (size_t i = 0; i < count; i++)  /* int32 wrap-around, as numpy's int32 adds */
                c[i] = (int32_t)((uint32_t)c[i] + (uint32_t)(int32_t)t[i]);
        }
    }
}

/* Claim and run parts of job `gen` until none is left. */
static void work(uint32_t gen, int by_helper)
{
    uint64_t s = atomic_load(&state);
    for (;;) {
        const uint32_t next = (uint32_t)(s >> 16) & 0xffffu, parts = (uint32_t)s & 0xffffu;
        if ((uint32_t)(s >> 32) != gen || next >= parts)
            return;
        if (atomic_compare_exchange_weak(&state, &s, s + (1u << 16))) {
            run_part((int)next);
            atomic_fetch_add(&stats[1], by_helper);
            atomic_fetch_add(&done, 1);
            s = atomic_load(&state);
        }
    }
}

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static void *helper_main(void *arg)
{
    (void)arg;
    uint32_t seen = (uint32_t)(atomic_load(&state) >> 32);
    for (;;) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        unsigned spins = 0;
        while ((uint32_t)(atomic_load(&state) >> 32) == seen) {
            sched_yield();
            if (++spins % 4 == 0 && elapsed_ns(&t0) > SPIN_NS) {
                pthread_mutex_lock(&wake_lock);
                while ((uint32_t)(atomic_load(&state) >> 32) == seen)
                    pthread_cond_wait(&wake, &wake_lock);
                pthread_mutex_unlock(&wake_lock);
            }
        }
        seen = (uint32_t)(atomic_load(&state) >> 32);
        work(seen, 1);
    }
    return NULL;
}

/* fork: wait for a call in flight; the child starts without a helper (threads do not fork) */
static void before_fork(void) { pthread_mutex_lock(&call_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&call_lock); }

static void after_fork_child(void)
{
    pthread_mutex_init(&wake_lock, NULL);
    pthread_cond_init(&wake, NULL);
    helper_pid = 0;
    pthread_mutex_unlock(&call_lock);
}

static void register_fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static void ensure_helper(void)
{
    pid_t pid = getpid();
    if (helper_pid == pid)
        return;
    pthread_t thread;
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  /* the helper inherits it: signals stay with Python's threads */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, helper_main, NULL) == 0)
        helper_pid = pid;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int mmad_bind(void *sgemm_fn, int int64, void *set_threads, void *get_threads)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handlers);
    pthread_mutex_lock(&call_lock);
    blas.sgemm = sgemm_fn;
    blas.int64 = int64;
    blas.set_threads = (set_threads_fn)set_threads;
    blas.get_threads = (get_threads_fn)get_threads;
    pthread_mutex_unlock(&call_lock);
    return sgemm_fn && set_threads && get_threads;
}

int mmad_helper(int want)
{
    pthread_mutex_lock(&call_lock);
    int previous = want_helper;
    want_helper = want ? 1 : 0;
    backoff_left = 0;  /* switched (back) on: trust it afresh */
    backoff_next = BACKOFF_MIN;
    pthread_mutex_unlock(&call_lock);
    return previous;
}

/* Run the job's parts with the helper: publish them, claim what is left, wait for the rest. */
static void share(int parts)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    atomic_store(&done, 0);
    const uint32_t gen = (uint32_t)(atomic_load(&state) >> 32) + 1;
    atomic_store(&state, (uint64_t)gen << 32 | (uint64_t)parts);
    pthread_mutex_lock(&wake_lock);
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&wake_lock);
    work(gen, 0);
    if (atomic_load(&done) == parts)
        return;  /* the helper took nothing: it cost nothing */
    const long own = elapsed_ns(&t0);
    for (unsigned spins = 1; atomic_load(&done) < parts; spins++) {
        if (spins % 64)
            cpu_relax();
        else
            sched_yield();  /* the helper runs the other part; let it have a core */
    }
    if (elapsed_ns(&t0) - own > 2 * own) {  /* a stall, not a late start: descheduled mid-part */
        backoff_left = backoff_next;
        backoff_next = backoff_next < BACKOFF_MAX ? 2 * backoff_next : BACKOFF_MAX;
        atomic_fetch_add(&stats[2], 1);
    } else if (backoff_next > BACKOFF_MIN) {
        backoff_next /= 2;
    }
}

/* Counters since the start: parts run, parts the helper ran, times the helper backed off. */
void mmad_stats(long *out)
{
    for (int i = 0; i < 3; i++)
        out[i] = atomic_load(&stats[i]);
}

/* C[m x n] (+)= A[m x k] x B[k x n]; rows [0, split) and [split, m) are separate parts
 * (split 0 or m: one part). Returns 0, -1 when no BLAS is bound, -2 when out of memory. */
int mmad_run(int dtype, const void *a, const void *b, void *c, int m, int k, int n, int overwrite,
             int kchunk, int split)
{
    pthread_mutex_lock(&call_lock);
    if (!blas.sgemm) {
        pthread_mutex_unlock(&call_lock);
        return -1;
    }
    float *a32 = scratch_get(0, (size_t)m * k), *b32 = scratch_get(1, (size_t)k * n);
    float *t32 = dtype ? scratch_get(2, (size_t)m * n) : NULL;
    if (!a32 || !b32 || (dtype && !t32)) {
        pthread_mutex_unlock(&call_lock);
        return -2;
    }
    const int parts = split > 0 && split < m ? 2 : 1;
    job = (job_t){dtype, a, c, m, k, n, overwrite, kchunk, {0, parts == 2 ? split : m, m}, a32, b32, t32};
    widen(dtype, b, b32, (size_t)k * n);
    const int threads = blas.get_threads();
    if (threads != 1)
        blas.set_threads(1);
    int helped = parts > 1 && want_helper;
    if (helped && backoff_left > 0) {
        backoff_left--;
        helped = 0;
    }
    if (helped)
        ensure_helper();
    if (helped && helper_pid == getpid())
        share(parts);
    else
        for (int part = 0; part < parts; part++)
            run_part(part);
    atomic_fetch_add(&stats[0], parts);
    if (threads != 1)
        blas.set_threads(threads);
    pthread_mutex_unlock(&call_lock);
    return 0;
}
