// gx_pool.h -- the cpu platform's worker threads: one pool per process, built into a shared object
// of its own that stays loaded (backends/cpu/runtime.py `_pool_entry`); every kernel module gets
// its entry, gx_pool_run, through gx_cpu_set_pool, and gx_parallel (gx_cpu.h) runs on it.
//
// Why not OpenMP's threads: libgomp's idle workers either sleep (OMP_WAIT_POLICY=PASSIVE) -- then
// each parallel loop pays a wake-up, twice (the workers at its start, the caller at its barrier),
// 20-50 us on a virtual machine, which made selu on 1e5 floats slower on 2 threads than on one --
// or spin without yielding, taking the cores from OpenBLAS's and JAX's threads between kernels
// (the MLP step 4-11 ms instead of 2.1 with GOMP_SPINCOUNT). Here the caller starts on the chunks
// at once, the workers join as they wake and take chunks one at a time (a late worker takes
// fewer), an idle worker spins for GX_POOL_SPIN_US yielding its core to any thread that wants it,
// then sleeps. The chunks of a job are independent, so which thread runs one changes no bits.
//
// A job at a time: a call while one runs (another Python thread, a chunk's own call) runs its
// chunks itself. The job's fields are read by a worker only while it is counted in `active`
// and the job is `open`; the caller closes it and waits for `active` to drain before returning,
// so nothing reads a finished job's (stack) context.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GX_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define GX_PAUSE() __asm__ __volatile__("yield")
#else
#define GX_PAUSE() ((void)0)
#endif

#ifndef GX_POOL_SPIN_US
#define GX_POOL_SPIN_US 200
#endif
#define GX_POOL_MAX 256

typedef void (*gx_chunk_fn)(void* ctx, long long lo, long long hi);

namespace gx_pool_impl {

struct Pool {
  std::atomic<bool> busy{false};          // set by the caller whose job runs
  std::mutex mu;                          // (sleeping workers)
  std::condition_variable cv;
  std::atomic<unsigned long long> generation{0};   // bumped for each job
  std::atomic<int> sleepers{0}, active{0}, workers{0};
  std::atomic<bool> open{false};
  // the job (written before `open`, read after it)
  gx_chunk_fn fn = nullptr;
  void* ctx = nullptr;
  long long n = 0, grain = 1, chunks = 0;
  int threads = 1;
  std::atomic<long long> next{0}, done{0};
};

// Allocated once and never freed: detached workers wait on its members until the process ends.
static std::atomic<Pool*> current{nullptr};

static Pool* pool() {
  Pool* p = current.load(std::memory_order_acquire);
  if (p == nullptr) {
    Pool* fresh = new Pool();
    if (current.compare_exchange_strong(p, fresh)) p = fresh;
    else delete fresh;
  }
  return p;
}

// A forked child has none of the parent's workers, and a mutex a parent thread held stays held:
// it starts a pool of its own.
static void after_fork_in_child() { current.store(nullptr); }

static void run_chunks(Pool* p) {
  long long c;
  while ((c = p->next.fetch_add(1)) < p->chunks) {
    long long lo = c * p->grain, hi = lo + p->grain < p->n ? lo + p->grain : p->n;
    p->fn(p->ctx, lo, hi);
    p->done.fetch_add(1);
  }
}

static void worker(Pool* p, int id) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);     // (signals are the Python thread's to handle)
  unsigned long long seen = p->generation.load();
  for (;;) {
    // Wait for a new job: spin (yielding the core now and then), then sleep.
    auto start = std::chrono::steady_clock::now();
    for (int i = 1; p->generation.load() == seen; ++i) {
      GX_PAUSE();
      if (i % 16 == 0) {
        sched_yield();
        if (std::chrono::steady_clock::now() - start > std::chrono::microseconds(GX_POOL_SPIN_US)) {
          std::unique_lock<std::mutex> lock(p->mu);
          p->sleepers.fetch_add(1);
          p->cv.wait(lock, [&] { return p->generation.load() != seen; });
          p->sleepers.fetch_sub(1);
          break;
        }
      }
    }
    seen = p->generation.load();
    p->active.fetch_add(1);
    if (p->open.load() && id < p->threads - 1) run_chunks(p);
    p->active.fetch_sub(1);
  }
}

template <class T>
static void spin_until(const std::atomic<T>& v, T want) {
  for (int i = 1; v.load() != want; ++i) {
    GX_PAUSE();
    if (i % 64 == 0) sched_yield();
  }
}

}  // namespace gx_pool_impl

// body(ctx, lo, hi) over [0, n) in chunks of `grain`, on the caller and up to threads - 1 workers.
extern "C" __attribute__((visibility("default")))
void gx_pool_run(long long n, long long grain, int threads, gx_chunk_fn fn, void* ctx) {
  using namespace gx_pool_impl;
  long long chunks = (n + grain - 1) / grain;
  if (threads > GX_POOL_MAX) threads = GX_POOL_MAX;
  Pool* p = threads > 1 && chunks > 1 ? pool() : nullptr;
  if (p == nullptr || p->busy.exchange(true)) {    // (one thread, one chunk, or a job running)
    for (long long c = 0; c < chunks; ++c) fn(ctx, c * grain, c + 1 < chunks ? (c + 1) * grain : n);
    return;
  }
  static std::once_flag atfork;
  std::call_once(atfork, [] { pthread_atfork(nullptr, nullptr, after_fork_in_child); });
  int want = (long long)threads - 1 < chunks - 1 ? threads - 1 : (int)(chunks - 1);
  for (int w = p->workers.load(); w < want; w = p->workers.load()) {
    std::thread(worker, p, w).detach();
    p->workers.store(w + 1);
  }
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->grain = grain;
  p->chunks = chunks;
  p->threads = want + 1;
  p->next.store(0);
  p->done.store(0);
  p->open.store(true);
  p->generation.fetch_add(1);
  if (p->sleepers.load() > 0) {
    std::lock_guard<std::mutex> lock(p->mu);
    p->cv.notify_all();
  }
  run_chunks(p);
  spin_until(p->done, chunks);
  p->open.store(false);
  spin_until(p->active, 0);
  p->busy.store(false);
}

// Workers started so far in this process (tests).
extern "C" __attribute__((visibility("default"))) int gx_pool_workers() {
  gx_pool_impl::Pool* p = gx_pool_impl::current.load();
  return p == nullptr ? 0 : p->workers.load();
}
