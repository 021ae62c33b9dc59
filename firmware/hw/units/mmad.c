/* The cube's C tile kernel (`_mmad`, mmad.c, compiled together with fp16.c by mmad_build.py)
 * and the worker thread that takes a device's unit work off the model's thread.
 *
 * One mmad job: widen A and B to fp32 (fp16.c), then float32 BLAS (numpy's own OpenBLAS,
 * bound at run time by blas.py) on at most two row parts of the tile, cut by shape alone.
 * fp16 accumulates straight into L0C (beta = 1, K in chunks the caller gives); int8/int4 go
 * through an fp32 temporary per exact K chunk, added into L0C with int32 wrap-around. Every
 * sgemm runs with one BLAS thread, so the bits never depend on the host.
 *
 * Two ways to run work, same arithmetic and same bits:
 * - mmad_run: an mmad now, on the caller's thread (after any queued tasks, so order is kept);
 * - mmad_submit / copy_submit: an mmad, or a DMA's plain 2-D copy, queued for the worker,
 *   which runs tasks strictly in the order queued. The device queues each unit operation
 *   when it retires, so the worker sees memory exactly as the model orders it, and the
 *   model's thread goes on with the next instruction. Until the queue is empty, memory the
 *   queued tasks read or write must not be touched by anyone else: the device's Python side
 *   calls worker_drain first, and the control core's loads and stores wait on the flag
 *   `worker_busy` (nonzero from a submit until the queue has emptied) through the core's
 *   region fences.
 */
#include <pthread.h>
#include <signal.h>
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

enum { ROW_MAJOR = 101, NO_TRANS = 111 };
enum { QUEUE = 64 };  /* tasks in flight at most: a submit past this waits for the oldest */
enum { TASK_MMAD = 0, TASK_COPY = 1 };

static struct {
    void *sgemm;
    int int64;
    set_threads_fn set_threads;
    get_threads_fn get_threads;
} blas;

typedef struct {
    int dtype;  /* 0 fp16, 1 int8, 2 int4 */
    const uint8_t *a, *b;
    void *c;
    int m, k, n, overwrite, kchunk, split;
} job_t;

typedef struct { float *p; size_t n; } buf_t;
typedef struct { buf_t a32, b32, t32; } scratch_t;

/* A DMA's plain copy: `rows` rows of `row_bytes`, each pitch bytes after the one before. */
typedef struct {
    uint8_t *dst;
    const uint8_t *src;
    size_t rows, row_bytes, src_pitch, dst_pitch;
} copy_t;

/* A queued task. */
typedef struct {
    int kind;  /* TASK_MMAD or TASK_COPY */
    job_t job;
    copy_t copy;
} task_t;

static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;  /* one caller at a time */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_work = PTHREAD_COND_INITIALIZER;   /* a job was queued */
static pthread_cond_t q_done = PTHREAD_COND_INITIALIZER;   /* a job finished */
static task_t tasks[QUEUE];
static unsigned q_head, q_tail;  /* tasks [q_head, q_tail) are queued; the worker runs q_head */
static pid_t worker_pid;  /* the process the worker was started in (0: none) */
static scratch_t caller_scratch, worker_scratch;
/* mmads run now, mmads queued, copies queued, ns the worker spent on tasks, ns callers waited
 * for it (under q_lock) */
static long stats[5];
int worker_busy;  /* nonzero from a submit until the queue is empty again (atomic access) */

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Wait on `cond` (q_lock held), counting the time as the callers' wait. */
static void wait_counted(pthread_cond_t *cond)
{
    const long t0 = now_ns();
    pthread_cond_wait(cond, &q_lock);
    stats[4] += now_ns() - t0;
}

static float *buf_get(buf_t *b, size_t n)
{
    if (b->n < n) {
        float *p = realloc(b->p, n * sizeof(float));
        if (!p)
            return NULL;
        b->p = p;
        b->n = n;
    }
    return b->p;
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

/* Make `s` big enough for `j`; 0, or -2 when out of memory. */
static int reserve(scratch_t *s, const job_t *j)
{
    const size_t mk = (size_t)j->m * j->k, kn = (size_t)j->k * j->n, mn = (size_t)j->m * j->n;
    if (!buf_get(&s->a32, mk) || !buf_get(&s->b32, kn) || (j->dtype && !buf_get(&s->t32, mn)))
        return -2;
    return 0;
}

/* Rows [r0, r1) of the job, K chunk by K chunk. */
static void run_part(const job_t *j, const scratch_t *s, int r0, int r1)
{
    const int rows = r1 - r0, k = j->k, n = j->n;
    const float *a32 = s->a32.p + (size_t)r0 * k;
    for (int k0 = 0; k0 < k; k0 += j->kchunk) {
        const int kk = k - k0 < j->kchunk ? k - k0 : j->kchunk;
        const int first = j->overwrite && k0 == 0;
        if (j->dtype == 0) {
            sgemm(rows, n, kk, a32 + k0, k, s->b32.p + (size_t)k0 * n, n, first ? 0.0f : 1.0f,
                  (float *)j->c + (size_t)r0 * n, n);
            continue;
        }
        float *t = s->t32.p + (size_t)r0 * n;
        int32_t *c = (int32_t *)j->c + (size_t)r0 * n;
        sgemm(rows, n, kk, a32 + k0, k, s->b32.p + (size_t)k0 * n, n, 0.0f, t, n);
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

/* The whole job on the calling thread (`s` reserved for it, BLAS set to one thread). */
static void run_job(const job_t *j, const scratch_t *s)
{
    widen(j->dtype, j->a, s->a32.p, (size_t)j->m * j->k);
    widen(j->dtype, j->b, s->b32.p, (size_t)j->k * j->n);
    const int cut = j->split > 0 && j->split < j->m ? j->split : j->m;
    run_part(j, s, 0, cut);
    if (cut < j->m)
        run_part(j, s, cut, j->m);
}

/* BLAS to one thread; returns the count to give back with `threads_back`. */
static int one_thread(void)
{
    if (!blas.get_threads)  /* (nothing bound: only copies can be queued, and they use no BLAS) */
        return 1;
    const int threads = blas.get_threads();
    if (threads != 1)
        blas.set_threads(1);
    return threads;
}

static void threads_back(int threads)
{
    if (threads != 1)
        blas.set_threads(threads);
}

static void run_copy(const copy_t *c)
{
    if (c->src_pitch == c->row_bytes && c->dst_pitch == c->row_bytes) {
        memcpy(c->dst, c->src, c->rows * c->row_bytes);
        return;
    }
    for (size_t r = 0; r < c->rows; r++)
        memcpy(c->dst + r * c->dst_pitch, c->src + r * c->src_pitch, c->row_bytes);
}

/* Runs queued tasks in order. BLAS stays on one thread while tasks follow each other and gets
 * its count back before the queue is seen empty (under q_lock, so no task can slip in after),
 * so the host's numpy finds BLAS as it was whenever it may run. */
static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&q_lock);
    for (;;) {
        while (q_head == q_tail)
            pthread_cond_wait(&q_work, &q_lock);
        pthread_mutex_unlock(&q_lock);
        const int threads = one_thread();
        pthread_mutex_lock(&q_lock);
        for (int last = 0; !last;) {
            const task_t *task = &tasks[q_head % QUEUE];
            pthread_mutex_unlock(&q_lock);
            const long t0 = now_ns();
            if (task->kind == TASK_COPY)
                run_copy(&task->copy);
            else
                run_job(&task->job, &worker_scratch);
            const long spent = now_ns() - t0;
            pthread_mutex_lock(&q_lock);
            stats[3] += spent;
            last = q_head + 1 == q_tail;
            if (last) {
                threads_back(threads);
                __atomic_store_n(&worker_busy, 0, __ATOMIC_RELEASE);
            }
            q_head++;
            pthread_cond_broadcast(&q_done);
        }
    }
    return NULL;
}

/* Wait until every queued task has finished (q_lock held). */
static void drain_locked(void)
{
    while (q_head != q_tail)
        wait_counted(&q_done);
}

void worker_drain(void)
{
    if (!__atomic_load_n(&worker_busy, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&q_lock);
    drain_locked();
    pthread_mutex_unlock(&q_lock);
}

/* fork: let queued tasks finish and hold the locks; the child starts without a worker
 * (threads do not fork) and starts one of its own on its first submit. */
static void before_fork(void)
{
    pthread_mutex_lock(&call_lock);
    pthread_mutex_lock(&q_lock);
    drain_locked();
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&q_lock);
    pthread_mutex_unlock(&call_lock);
}

static void after_fork_child(void)
{
    pthread_cond_init(&q_work, NULL);
    pthread_cond_init(&q_done, NULL);
    worker_pid = 0;
    pthread_mutex_unlock(&q_lock);
    pthread_mutex_unlock(&call_lock);
}

static void register_fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Start this process's worker if it has none; 0 when there is one. */
static int ensure_worker(void)
{
    pid_t pid = getpid();
    if (worker_pid == pid)
        return 0;
    pthread_t thread;
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  /* the worker inherits it: signals stay with Python's threads */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, worker_main, NULL) == 0)
        worker_pid = pid;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return worker_pid == pid ? 0 : -3;
}

int mmad_bind(void *sgemm_fn, int int64, void *set_threads, void *get_threads)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handlers);
    pthread_mutex_lock(&call_lock);
    worker_drain();
    blas.sgemm = sgemm_fn;
    blas.int64 = int64;
    blas.set_threads = (set_threads_fn)set_threads;
    blas.get_threads = (get_threads_fn)get_threads;
    pthread_mutex_unlock(&call_lock);
    return sgemm_fn && set_threads && get_threads;
}

/* Since the start: mmads run on the caller's thread, mmads and copies queued for the worker,
 * nanoseconds the worker spent on tasks and nanoseconds callers waited for it (draining, or a
 * full queue). */
void mmad_stats(long *out)
{
    pthread_mutex_lock(&q_lock);
    memcpy(out, stats, sizeof stats);
    pthread_mutex_unlock(&q_lock);
}

static job_t make_job(int dtype, const void *a, const void *b, void *c, int m, int k, int n,
                      int overwrite, int kchunk, int split)
{
    return (job_t){dtype, a, b, c, m, k, n, overwrite, kchunk, split};
}

/* C[m x n] (+)= A[m x k] x B[k x n] now, after any queued jobs; rows [0, split) and [split, m)
 * are separate parts (split 0 or m: one part). Returns 0, -1 when no BLAS is bound, -2 when
 * out of memory. */
int mmad_run(int dtype, const void *a, const void *b, void *c, int m, int k, int n, int overwrite,
             int kchunk, int split)
{
    pthread_mutex_lock(&call_lock);
    int rc = blas.sgemm ? 0 : -1;
    const job_t j = make_job(dtype, a, b, c, m, k, n, overwrite, kchunk, split);
    if (!rc)
        rc = reserve(&caller_scratch, &j);
    if (!rc) {
        worker_drain();
        const int threads = one_thread();
        run_job(&j, &caller_scratch);
        threads_back(threads);
        pthread_mutex_lock(&q_lock);
        stats[0]++;
        pthread_mutex_unlock(&q_lock);
    }
    pthread_mutex_unlock(&call_lock);
    return rc;
}

/* Queue `task` (call_lock held): 0, or -3 (no worker thread), -2 (out of memory): then
 * nothing was queued and the caller does the work itself. */
static int enqueue(const task_t *task)
{
    int rc = ensure_worker();
    pthread_mutex_lock(&q_lock);
    if (!rc) {
        while (q_tail - q_head == QUEUE)
            wait_counted(&q_done);
        const job_t *j = &task->job;
        if (task->kind == TASK_MMAD &&
            (worker_scratch.a32.n < (size_t)j->m * j->k || worker_scratch.b32.n < (size_t)j->k * j->n ||
             (j->dtype && worker_scratch.t32.n < (size_t)j->m * j->n))) {
            drain_locked();  /* the worker's buffers grow only while it is idle */
            rc = reserve(&worker_scratch, j);
        }
    }
    if (!rc) {
        tasks[q_tail % QUEUE] = *task;  /* free: the worker only reads [q_head, q_tail) */
        __atomic_store_n(&worker_busy, 1, __ATOMIC_RELEASE);
        q_tail++;
        stats[task->kind == TASK_MMAD ? 1 : 2]++;
        pthread_cond_signal(&q_work);
    }
    pthread_mutex_unlock(&q_lock);
    return rc;
}

/* The mmad queued for the worker, to run after every task queued before it and to read A and B
 * when it runs: 0 when queued, or -1 (no BLAS), -2, -3 (see enqueue). */
int mmad_submit(int dtype, const void *a, const void *b, void *c, int m, int k, int n, int overwrite,
                int kchunk, int split)
{
    pthread_mutex_lock(&call_lock);
    task_t task = {.kind = TASK_MMAD, .job = make_job(dtype, a, b, c, m, k, n, overwrite, kchunk, split)};
    const int rc = blas.sgemm ? enqueue(&task) : -1;
    pthread_mutex_unlock(&call_lock);
    return rc;
}

/* A DMA's plain copy queued for the worker, in order with the mmads: 0 when queued, or -2, -3. */
int copy_submit(void *dst, const void *src, size_t rows, size_t row_bytes, size_t src_pitch,
                size_t dst_pitch)
{
    pthread_mutex_lock(&call_lock);
    task_t task = {.kind = TASK_COPY, .copy = {dst, src, rows, row_bytes, src_pitch, dst_pitch}};
    const int rc = enqueue(&task);
    pthread_mutex_unlock(&call_lock);
    return rc;
}
