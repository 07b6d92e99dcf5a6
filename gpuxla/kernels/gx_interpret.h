// gx_interpret.h -- run CUDA C kernels on the CPU (the `cuda-interpret` platform).
//
// The host C++ compiler gets this header through `-include gx_interpret.h`, then the very same
// kernel text that NVRTC compiles for the GPU.  It provides:
//   * the CUDA keywords (__global__, __device__, __shared__, ...) as host C++;
//   * threadIdx/blockIdx/blockDim/gridDim, warpSize;
//   * a block scheduler that runs the threads of one block as cooperative fibers on the calling OS
//     thread, so __syncthreads(), shared memory and warp collectives (shuffles, ballot, vote,
//     __syncwarp, __reduce_*_sync) behave as on a GPU;
//   * atomics; the bit-cast and integer intrinsics and the CUDA math functions glibc lacks come
//     from gx_host.h, which the native `cpu` platform uses too.
//
// Blocks run one after another (serially), so atomics are plain read-modify-writes and float
// atomics give the same bits every run.  A fiber switches only inside a barrier or a warp
// collective: code between two of them runs uninterrupted, exactly one CUDA thread at a time.
//
// Launch: gx_rt::launch(grid, block, dynamic_smem_bytes, callable) runs `callable()` once per CUDA
// thread; the Python side (gpuxla/backends/interpret.py) generates one extern "C" launcher per
// kernel that unpacks CUDA-style `void** args` and calls it.  Dynamic shared memory is reached with
// GX_DYNAMIC_SHARED(T, name) from gx_common.cuh (`extern __shared__` cannot be emulated by a macro).
//
// Limits: blockDim.x*y*z <= 1024; each fiber has GX_FIBER_STACK_SIZE bytes of stack (default
// 64 KiB, a guard page below it turns an overflow into a crash instead of silent corruption).
// An out-of-bounds access in a kernel is an out-of-bounds access in this process.
#pragma once
#ifndef GX_INTERPRET
#define GX_INTERPRET 1
// The runtime below is all `static`; a kernel module uses only part of it.
#pragma GCC diagnostic ignored "-Wunused-function"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <pthread.h>
#include <unistd.h>

#if !defined(__x86_64__) || defined(GX_INTERPRET_UCONTEXT)
#define GX_FIBER_UCONTEXT 1
#include <ucontext.h>
#endif

#ifndef GX_FIBER_STACK_SIZE
#define GX_FIBER_STACK_SIZE (64 * 1024)
#endif

// ---------------------------------------------------------------------------------------------
// CUDA keywords
// ---------------------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __grid_constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
// Block-scope `thread_local` implies static storage: one instance per OS thread, and an OS thread
// runs one block at a time, so every fiber (CUDA thread) of the block sees the same array.
#define __shared__ thread_local
// __restrict__ is already a g++/clang++ keyword.

#include "gx_host.h"

// ---------------------------------------------------------------------------------------------
// Vector types and the built-in index variables
// ---------------------------------------------------------------------------------------------
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
typedef dim3 uint3;

#define GX_VEC2(N, T, A) \
  struct __attribute__((aligned(A))) N { T x, y; }; \
  static inline N make_##N(T x, T y) { N v; v.x = x; v.y = y; return v; }
#define GX_VEC4(N, T, A) \
  struct __attribute__((aligned(A))) N { T x, y, z, w; }; \
  static inline N make_##N(T x, T y, T z, T w) { N v; v.x = x; v.y = y; v.z = z; v.w = w; return v; }
GX_VEC2(float2, float, 8)
GX_VEC4(float4, float, 16)
GX_VEC2(double2, double, 16)
GX_VEC2(int2, int, 8)
GX_VEC4(int4, int, 16)
GX_VEC2(uint2, unsigned, 8)
GX_VEC4(uint4, unsigned, 16)
GX_VEC2(longlong2, long long, 16)
GX_VEC2(ulonglong2, unsigned long long, 16)
GX_VEC2(short2, short, 4)
GX_VEC4(short4, short, 8)
GX_VEC2(ushort2, unsigned short, 4)
GX_VEC4(ushort4, unsigned short, 8)
GX_VEC4(char4, signed char, 4)
GX_VEC4(uchar4, unsigned char, 4)
#undef GX_VEC2
#undef GX_VEC4

static thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
static const int warpSize = 32;

// ---------------------------------------------------------------------------------------------
// Fibers and the block scheduler
// ---------------------------------------------------------------------------------------------
#ifndef GX_FIBER_UCONTEXT
// x86-64 System V context switch: push the callee-saved registers on the current stack, store the
// stack pointer in *save_sp, load load_sp, pop the registers saved there, return into that fiber.
// No system call (swapcontext makes one per switch to save the signal mask).
extern "C" void gx_fiber_switch(void** save_sp, void* load_sp);
extern "C" void gx_fiber_trampoline();
__asm__(
    ".pushsection .text\n"
    ".p2align 4\n"
    ".globl gx_fiber_switch\n"
    ".hidden gx_fiber_switch\n"
    ".type gx_fiber_switch,@function\n"
    "gx_fiber_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size gx_fiber_switch, .-gx_fiber_switch\n"
    ".p2align 4\n"
    ".globl gx_fiber_trampoline\n"
    ".hidden gx_fiber_trampoline\n"
    ".type gx_fiber_trampoline,@function\n"
    "gx_fiber_trampoline:\n"  // first entry of a fresh fiber: rbx = function, r12 = argument
    "  movq %r12, %rdi\n"
    "  callq *%rbx\n"
    "  ud2\n"  // the fiber function never returns
    ".size gx_fiber_trampoline, .-gx_fiber_trampoline\n"
    ".popsection\n");
#endif

namespace gx_rt {

enum { GX_OK = 0, GX_ERR_CONFIG = 1, GX_ERR_DEADLOCK = 2, GX_ERR_TRAP = 3, GX_ERR_NOMEM = 4 };
enum State { READY = 0, WAIT_WARP = 1, WAIT_BLOCK = 2, DONE = 3 };
enum WarpOp { W_SYNC, W_SHFL, W_BALLOT, W_ADD, W_MIN_S, W_MAX_S, W_MIN_U, W_MAX_U, W_AND, W_OR, W_XOR };

struct Fiber {
  void* sp;
#ifdef GX_FIBER_UCONTEXT
  ucontext_t uc;
#endif
  char* stack_lo;  // lowest usable address (above the guard page)
  dim3 tid;
  unsigned lane, warp;
  int state;
  // posted by the fiber when it enters a warp collective, answered by the scheduler
  int wop;
  unsigned wmask;
  int wsrc;  // source lane of a shuffle, -1: keep own value
  unsigned long long wval, wres, wpart;
  // block barrier with a count (__syncthreads_count/and/or)
  int bpred, bres;
};

struct Sched {
  Fiber* fibers = nullptr;
  unsigned capacity = 0;  // fibers (and stacks) allocated
  unsigned nthreads = 0;  // threads of the current block
  char* stacks = nullptr;
  size_t stacks_bytes = 0, stack_stride = 0;
  void* sched_sp = nullptr;
#ifdef GX_FIBER_UCONTEXT
  ucontext_t sched_uc;
#endif
  Fiber* cur = nullptr;
  void (*body)(void*) = nullptr;
  void* ctx = nullptr;
  int error = GX_OK;
  unsigned char* dyn_smem = nullptr;
  size_t dyn_cap = 0;
  Sched* next = nullptr;  // gx_all_scheds
};

// Each OS thread that launches gets its own Sched (fibers, stacks). They are owned by the module
// and freed when it is unloaded, not at thread exit: a thread_local with a destructor would make
// glibc pin the module (no dlclose) until every thread that ran a kernel has exited, and gpuxla
// unloads modules no executable uses any more (backends/cache.py, unload_when_unused).
static pthread_mutex_t gx_sched_lock = PTHREAD_MUTEX_INITIALIZER;
static Sched* gx_all_scheds = nullptr;
static thread_local Sched* gx_my_sched = nullptr;

static Sched& gx_sched() {
  if (!gx_my_sched) {
    Sched* s = new Sched();
    pthread_mutex_lock(&gx_sched_lock);
    s->next = gx_all_scheds;
    gx_all_scheds = s;
    pthread_mutex_unlock(&gx_sched_lock);
    gx_my_sched = s;
  }
  return *gx_my_sched;
}

__attribute__((destructor)) static void gx_free_scheds() {
  for (Sched* s = gx_all_scheds; s;) {
    Sched* next = s->next;
    if (s->stacks) munmap(s->stacks, s->stacks_bytes);
    free(s->fibers);
    free(s->dyn_smem);
    delete s;
    s = next;
  }
  gx_all_scheds = nullptr;
}
static thread_local char last_error[512];

static void set_error(int code, const char* msg) {
  if (gx_sched().error == GX_OK) {
    gx_sched().error = code;
    snprintf(last_error, sizeof last_error, "%s", msg);
  }
}

static inline void to_scheduler(Fiber* f) {
#ifdef GX_FIBER_UCONTEXT
  swapcontext(&f->uc, &gx_sched().sched_uc);
#else
  gx_fiber_switch(&f->sp, gx_sched().sched_sp);
#endif
}

static void fiber_main(void*) {
  gx_sched().body(gx_sched().ctx);
  Fiber* f = gx_sched().cur;
  f->state = DONE;
  to_scheduler(f);
  __builtin_unreachable();
}

#ifdef GX_FIBER_UCONTEXT
static void fiber_main_uc() { fiber_main(nullptr); }
#endif

static bool reserve(unsigned n) {
  if (n <= gx_sched().capacity) return true;
  long page = sysconf(_SC_PAGESIZE);
  size_t stack = ((size_t)GX_FIBER_STACK_SIZE + page - 1) / page * page;
  size_t stride = stack + page;  // guard page at the low end of every stack
  size_t bytes = stride * n;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return false;
  for (unsigned i = 0; i < n; ++i) mprotect((char*)mem + i * stride, page, PROT_NONE);
  Fiber* fibers = (Fiber*)calloc(n, sizeof(Fiber));
  if (!fibers) {
    munmap(mem, bytes);
    return false;
  }
  if (gx_sched().stacks) munmap(gx_sched().stacks, gx_sched().stacks_bytes);
  free(gx_sched().fibers);
  gx_sched().stacks = (char*)mem;
  gx_sched().stacks_bytes = bytes;
  gx_sched().stack_stride = stride;
  gx_sched().fibers = fibers;
  gx_sched().capacity = n;
  for (unsigned i = 0; i < n; ++i) fibers[i].stack_lo = (char*)mem + i * stride + page;
  return true;
}

static void init_fiber(Fiber* f) {
  size_t size = gx_sched().stack_stride - (size_t)sysconf(_SC_PAGESIZE);
#ifdef GX_FIBER_UCONTEXT
  getcontext(&f->uc);
  f->uc.uc_stack.ss_sp = f->stack_lo;
  f->uc.uc_stack.ss_size = size;
  f->uc.uc_link = nullptr;
  makecontext(&f->uc, fiber_main_uc, 0);
#else
  // Frame popped by gx_fiber_switch: r15 r14 r13 r12 rbx rbp, then the return address.  The
  // return address sits at top-24 so that the trampoline starts with rsp 16-byte aligned.
  unsigned long long top = ((unsigned long long)(f->stack_lo + size)) & ~15ull;
  void** ret = (void**)(top - 24);
  ret[0] = (void*)gx_fiber_trampoline;
  void** frame = ret - 6;
  frame[0] = frame[1] = frame[2] = nullptr;     // r15 r14 r13
  frame[3] = nullptr;                           // r12: argument
  frame[4] = (void*)fiber_main;                 // rbx: function
  frame[5] = nullptr;                           // rbp
  f->sp = frame;
#endif
}

static inline void resume(Fiber* f) {
  gx_sched().cur = f;
  threadIdx = f->tid;
#ifdef GX_FIBER_UCONTEXT
  swapcontext(&gx_sched().sched_uc, &f->uc);
#else
  gx_fiber_switch(&gx_sched().sched_sp, f->sp);
#endif
}

static inline unsigned warp_exist_mask(unsigned w) {
  unsigned n = gx_sched().nthreads - w * 32;
  return n >= 32 ? 0xffffffffu : ((1u << n) - 1u);
}

// Answer the collectives of warp w whose member lanes have all arrived (or exited).
static bool release_warp(unsigned w) {
  Fiber* lanes = gx_sched().fibers + w * 32;
  unsigned exist = warp_exist_mask(w);
  unsigned waiting = 0, done = 0;
  for (unsigned l = 0; l < 32; ++l) {
    if (!(exist >> l & 1)) continue;
    if (lanes[l].state == WAIT_WARP) waiting |= 1u << l;
    else if (lanes[l].state == DONE) done |= 1u << l;
  }
  if (!waiting) return false;
  unsigned go = 0;
  for (unsigned l = 0; l < 32; ++l) {
    if (!(waiting >> l & 1)) continue;
    unsigned need = (lanes[l].wmask | (1u << l)) & exist;
    if ((need & ~(waiting | done)) == 0) go |= 1u << l;
  }
  if (!go) return false;
  for (unsigned l = 0; l < 32; ++l) {
    if (!(go >> l & 1)) continue;
    Fiber& f = lanes[l];
    unsigned part = go & (f.wmask | (1u << l));
    unsigned long long res = 0;
    switch (f.wop) {
      case W_SYNC: break;
      case W_SHFL:
        res = (f.wsrc >= 0 && f.wsrc < 32 && (go >> f.wsrc & 1)) ? lanes[f.wsrc].wval : f.wval;
        break;
      case W_BALLOT:
        for (unsigned k = 0; k < 32; ++k)
          if ((part >> k & 1) && lanes[k].wval) res |= 1ull << k;
        break;
      default: {
        bool first = true;
        for (unsigned k = 0; k < 32; ++k) {
          if (!(part >> k & 1)) continue;
          unsigned long long v = lanes[k].wval;
          if (first) { res = v; first = false; continue; }
          switch (f.wop) {
            case W_ADD: res = (unsigned)(res + v); break;
            case W_MIN_S: res = (int)v < (int)res ? v : res; break;
            case W_MAX_S: res = (int)v > (int)res ? v : res; break;
            case W_MIN_U: res = (unsigned)v < (unsigned)res ? v : res; break;
            case W_MAX_U: res = (unsigned)v > (unsigned)res ? v : res; break;
            case W_AND: res &= v; break;
            case W_OR: res |= v; break;
            case W_XOR: res ^= v; break;
          }
        }
      }
    }
    f.wres = res;
    f.wpart = part;
  }
  for (unsigned l = 0; l < 32; ++l)
    if (go >> l & 1) lanes[l].state = READY;
  return true;
}

static int run_block() {
  unsigned n = gx_sched().nthreads;
  Fiber* fs = gx_sched().fibers;
  for (unsigned i = 0; i < n; ++i) {
    fs[i].state = READY;
    init_fiber(&fs[i]);
  }
  unsigned nwarps = (n + 31) / 32;
  for (;;) {
    unsigned live = 0;
    for (unsigned i = 0; i < n; ++i) {
      if (fs[i].state == READY) resume(&fs[i]);
      if (gx_sched().error) return gx_sched().error;
      if (fs[i].state != DONE) ++live;
    }
    if (!live) return GX_OK;
    bool progress = false;
    for (unsigned w = 0; w < nwarps; ++w) progress |= release_warp(w);
    if (progress) continue;
    unsigned at_block = 0, count = 0;
    for (unsigned i = 0; i < n; ++i)
      if (fs[i].state == WAIT_BLOCK) { ++at_block; count += fs[i].bpred != 0; }
    if (at_block != live) {
      char msg[256];
      snprintf(msg, sizeof msg,
               "deadlock in block (%u,%u,%u): %u live threads, %u waiting at __syncthreads and the rest "
               "in warp collectives whose mask names threads that never arrive",
               blockIdx.x, blockIdx.y, blockIdx.z, live, at_block);
      set_error(GX_ERR_DEADLOCK, msg);
      return gx_sched().error;
    }
    for (unsigned i = 0; i < n; ++i)
      if (fs[i].state == WAIT_BLOCK) { fs[i].bres = (int)count; fs[i].state = READY; }
  }
}

// Run `body(ctx)` once per CUDA thread of the grid.  Returns 0 or a GX_ERR_* code (message in
// gx_interpret_last_error()).
static int launch_impl(dim3 grid, dim3 block, unsigned smem, void (*body)(void*), void* ctx) {
  gx_sched().error = GX_OK;
  last_error[0] = 0;
  unsigned long long nt = (unsigned long long)block.x * block.y * block.z;
  if (!grid.x || !grid.y || !grid.z || !nt || nt > 1024 || block.z > 64 || grid.y > 65535 || grid.z > 65535 ||
      grid.x > 2147483647u) {
    char msg[160];
    snprintf(msg, sizeof msg, "invalid launch configuration grid=(%u,%u,%u) block=(%u,%u,%u)", grid.x, grid.y,
             grid.z, block.x, block.y, block.z);
    set_error(GX_ERR_CONFIG, msg);
    return gx_sched().error;
  }
  if (gx_sched().cur) {
    set_error(GX_ERR_CONFIG, "nested launch from inside a kernel is not supported");
    return gx_sched().error;
  }
  if (!reserve((unsigned)nt)) {
    set_error(GX_ERR_NOMEM, "cannot allocate fiber stacks");
    return gx_sched().error;
  }
  if (smem > gx_sched().dyn_cap) {
    void* p = nullptr;
    if (posix_memalign(&p, 64, smem)) {
      set_error(GX_ERR_NOMEM, "cannot allocate dynamic shared memory");
      return gx_sched().error;
    }
    free(gx_sched().dyn_smem);
    gx_sched().dyn_smem = (unsigned char*)p;
    gx_sched().dyn_cap = smem;
  }
  gx_sched().nthreads = (unsigned)nt;
  gx_sched().body = body;
  gx_sched().ctx = ctx;
  for (unsigned i = 0; i < nt; ++i) {
    Fiber& f = gx_sched().fibers[i];
    f.tid = dim3(i % block.x, (i / block.x) % block.y, i / (block.x * block.y));
    f.lane = i % 32;
    f.warp = i / 32;
  }
  gridDim = grid;
  blockDim = block;
  int rc = GX_OK;
  for (unsigned z = 0; z < grid.z && rc == GX_OK; ++z)
    for (unsigned y = 0; y < grid.y && rc == GX_OK; ++y)
      for (unsigned x = 0; x < grid.x && rc == GX_OK; ++x) {
        blockIdx = dim3(x, y, z);
        rc = run_block();
      }
  gx_sched().cur = nullptr;
  // Give the stacks back after every launch: each loaded module has its own scheduler, and its
  // guard pages cost two memory maps per thread, so keeping them would exhaust the process's map
  // limit (vm.max_map_count) after a few dozen modules, e.g. eager programs on cuda-interpret.
  if (gx_sched().stacks) munmap(gx_sched().stacks, gx_sched().stacks_bytes);
  free(gx_sched().fibers);
  gx_sched().stacks = nullptr;
  gx_sched().fibers = nullptr;
  gx_sched().capacity = 0;
  return rc;
}

template <class F>
static void call_body(void* p) { (*(F*)p)(); }

template <class F>
static int launch(dim3 grid, dim3 block, unsigned smem, F& body) {
  return launch_impl(grid, block, smem, &call_body<F>, (void*)&body);
}

static inline void* dynamic_smem() { return gx_sched().dyn_smem; }

static inline Fiber* current() { return gx_sched().cur; }

static inline void block_wait(int pred) {
  Fiber* f = gx_sched().cur;
  f->bpred = pred;
  f->state = WAIT_BLOCK;
  to_scheduler(f);
}

static inline unsigned long long warp_op(int op, unsigned mask, unsigned long long val, int src) {
  Fiber* f = gx_sched().cur;
  f->wop = op;
  f->wmask = mask;
  f->wval = val;
  f->wsrc = src;
  f->state = WAIT_WARP;
  to_scheduler(f);
  return f->wres;
}

template <class T>
static inline unsigned long long to_bits(T v) {
  static_assert(sizeof(T) <= 8, "warp shuffle of a type wider than 8 bytes");
  unsigned long long b = 0;
  memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
static inline T from_bits(unsigned long long b) {
  T v;
  memcpy(&v, &b, sizeof(T));
  return v;
}

}  // namespace gx_rt

extern "C" __attribute__((visibility("default"))) const char* gx_interpret_last_error() { return gx_rt::last_error; }

// ---------------------------------------------------------------------------------------------
// Barriers, warp collectives
// ---------------------------------------------------------------------------------------------
static inline void __syncthreads() { gx_rt::block_wait(0); }
static inline int __syncthreads_count(int p) { gx_rt::block_wait(p != 0); return gx_rt::current()->bres; }
static inline int __syncthreads_and(int p) {
  gx_rt::block_wait(p != 0);
  unsigned live = 0;
  for (unsigned i = 0; i < gx_rt::gx_sched().nthreads; ++i) live += gx_rt::gx_sched().fibers[i].state != gx_rt::DONE;
  return gx_rt::current()->bres == (int)live;
}
static inline int __syncthreads_or(int p) { gx_rt::block_wait(p != 0); return gx_rt::current()->bres != 0; }
static inline void __syncwarp(unsigned mask = 0xffffffffu) { gx_rt::warp_op(gx_rt::W_SYNC, mask, 0, -1); }
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __threadfence_block() {}
static inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline unsigned __activemask() {
  unsigned w = gx_rt::current()->warp, m = 0;
  for (unsigned l = 0; l < 32 && w * 32 + l < gx_rt::gx_sched().nthreads; ++l)
    if (gx_rt::gx_sched().fibers[w * 32 + l].state != gx_rt::DONE) m |= 1u << l;
  return m;
}
static inline unsigned __lanemask_lt() { return (1u << gx_rt::current()->lane) - 1u; }

[[noreturn]] static inline void __trap() {
  char msg[128];
  snprintf(msg, sizeof msg, "__trap() in block (%u,%u,%u) thread (%u,%u,%u)", blockIdx.x, blockIdx.y, blockIdx.z,
           threadIdx.x, threadIdx.y, threadIdx.z);
  gx_rt::set_error(gx_rt::GX_ERR_TRAP, msg);
  gx_rt::Fiber* f = gx_rt::current();
  f->state = gx_rt::DONE;
  gx_rt::to_scheduler(f);  // never resumed
  __builtin_unreachable();
}
static inline void __brkpt() { __trap(); }

template <class T>
static inline T __shfl_sync(unsigned mask, T var, int src, int width = 32) {
  int lane = (int)gx_rt::current()->lane;
  int s = (lane & ~(width - 1)) + (src & (width - 1));
  return gx_rt::from_bits<T>(gx_rt::warp_op(gx_rt::W_SHFL, mask, gx_rt::to_bits(var), s));
}
template <class T>
static inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  int lane = (int)gx_rt::current()->lane;
  int s = (unsigned)(lane & (width - 1)) >= delta ? lane - (int)delta : -1;
  return gx_rt::from_bits<T>(gx_rt::warp_op(gx_rt::W_SHFL, mask, gx_rt::to_bits(var), s));
}
template <class T>
static inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  int lane = (int)gx_rt::current()->lane;
  int s = (unsigned)(lane & (width - 1)) + delta < (unsigned)width ? lane + (int)delta : -1;
  return gx_rt::from_bits<T>(gx_rt::warp_op(gx_rt::W_SHFL, mask, gx_rt::to_bits(var), s));
}
template <class T>
static inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  int lane = (int)gx_rt::current()->lane;
  int s = lane ^ lane_mask;
  if (s >= (lane & ~(width - 1)) + width) s = -1;  // later groups are out of reach
  return gx_rt::from_bits<T>(gx_rt::warp_op(gx_rt::W_SHFL, mask, gx_rt::to_bits(var), s));
}
static inline unsigned __ballot_sync(unsigned mask, int pred) {
  return (unsigned)gx_rt::warp_op(gx_rt::W_BALLOT, mask, pred != 0, -1);
}
static inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
static inline int __all_sync(unsigned mask, int pred) {
  unsigned b = __ballot_sync(mask, pred);
  return b == (unsigned)gx_rt::current()->wpart;
}
static inline unsigned __reduce_add_sync(unsigned m, unsigned v) { return (unsigned)gx_rt::warp_op(gx_rt::W_ADD, m, v, -1); }
static inline int __reduce_add_sync(unsigned m, int v) { return (int)gx_rt::warp_op(gx_rt::W_ADD, m, (unsigned)v, -1); }
static inline unsigned __reduce_min_sync(unsigned m, unsigned v) { return (unsigned)gx_rt::warp_op(gx_rt::W_MIN_U, m, v, -1); }
static inline int __reduce_min_sync(unsigned m, int v) { return (int)gx_rt::warp_op(gx_rt::W_MIN_S, m, (unsigned)v, -1); }
static inline unsigned __reduce_max_sync(unsigned m, unsigned v) { return (unsigned)gx_rt::warp_op(gx_rt::W_MAX_U, m, v, -1); }
static inline int __reduce_max_sync(unsigned m, int v) { return (int)gx_rt::warp_op(gx_rt::W_MAX_S, m, (unsigned)v, -1); }
static inline unsigned __reduce_and_sync(unsigned m, unsigned v) { return (unsigned)gx_rt::warp_op(gx_rt::W_AND, m, v, -1); }
static inline unsigned __reduce_or_sync(unsigned m, unsigned v) { return (unsigned)gx_rt::warp_op(gx_rt::W_OR, m, v, -1); }
static inline unsigned __reduce_xor_sync(unsigned m, unsigned v) { return (unsigned)gx_rt::warp_op(gx_rt::W_XOR, m, v, -1); }

// ---------------------------------------------------------------------------------------------
// Atomics: blocks run serially and fibers switch only at barriers, so a read-modify-write is atomic.
// ---------------------------------------------------------------------------------------------
template <class T, class U> static inline T atomicAdd(T* p, U v) { T o = *p; *p = (T)(o + (T)v); return o; }
template <class T, class U> static inline T atomicSub(T* p, U v) { T o = *p; *p = (T)(o - (T)v); return o; }
template <class T, class U> static inline T atomicExch(T* p, U v) { T o = *p; *p = (T)v; return o; }
template <class T, class U> static inline T atomicMax(T* p, U v) { T o = *p; if ((T)v > o) *p = (T)v; return o; }
template <class T, class U> static inline T atomicMin(T* p, U v) { T o = *p; if ((T)v < o) *p = (T)v; return o; }
template <class T, class U> static inline T atomicAnd(T* p, U v) { T o = *p; *p = o & (T)v; return o; }
template <class T, class U> static inline T atomicOr(T* p, U v) { T o = *p; *p = o | (T)v; return o; }
template <class T, class U> static inline T atomicXor(T* p, U v) { T o = *p; *p = o ^ (T)v; return o; }
template <class T, class U, class V> static inline T atomicCAS(T* p, U cmp, V v) {
  T o = *p;
  if (o == (T)cmp) *p = (T)v;
  return o;
}
static inline unsigned atomicInc(unsigned* p, unsigned v) { unsigned o = *p; *p = o >= v ? 0u : o + 1u; return o; }
static inline unsigned atomicDec(unsigned* p, unsigned v) { unsigned o = *p; *p = (o == 0 || o > v) ? v : o - 1u; return o; }
#define GX_ATOMIC_ALIAS(n) \
  template <class T, class U> static inline T n##_block(T* p, U v) { return n(p, v); } \
  template <class T, class U> static inline T n##_system(T* p, U v) { return n(p, v); }
GX_ATOMIC_ALIAS(atomicAdd)
GX_ATOMIC_ALIAS(atomicExch)
GX_ATOMIC_ALIAS(atomicMax)
GX_ATOMIC_ALIAS(atomicMin)
#undef GX_ATOMIC_ALIAS

#endif  // GX_INTERPRET
