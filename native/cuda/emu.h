// emu.h: the CUDA subset the bellm kernels use, run on the CPU (built with g++ -DBB_EMULATE).
//
// Why: no GPU on the development/CI machines. With this header the kernels in *.cu compile as plain
// C++ and run, one block at a time, each CUDA thread a cooperative fiber (ucontext). That checks the
// indexing, tiling, masking, online-softmax and reduction logic of the real kernel source against the
// CPU reference, and the real cuBLAS call (through a CPU cuBLAS with the same ABI, cublas_emu.cpp).
// It cannot check GPU timing, the memory model, or nvcc code generation.
//
// Supported: threadIdx/blockIdx/blockDim/gridDim, __syncthreads, __shfl_sync and __shfl_xor_sync with
// a full mask, __shared__ arrays (static: blocks run one after another), one dynamic shared buffer
// (BB_DYNAMIC_SMEM), launches through BB_LAUNCH. Checks: a warp shuffle with inactive lanes (divergent
// shuffle), a barrier that can never complete (deadlock) and a non-full mask fail the launch with a
// message. Threads switch only at barriers and shuffles, in an order set by bb_set_option("emu_order"),
// so a missing __syncthreads shows up as a wrong result.
#pragma once
#ifndef BB_EMULATE
#error "emu.h is only for the CPU emulation build (-DBB_EMULATE)"
#endif

#include <ucontext.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "half_host.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__

struct alignas(16) float4 { float x, y, z, w; };

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// swapcontext/bb_emu_switch "return twice" like setjmp, which makes GCC warn about locals of the scheduler. They are
// safe: the scheduler is suspended (registers and stack saved whole) while a fiber runs.
#pragma GCC diagnostic ignored "-Wclobbered"

namespace bb_emu {

struct bf16 { uint16_t bits; };
struct f16 { uint16_t bits; };

inline float bf16_to_float(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// Round to nearest even; NaN stays a (quiet) NaN. Same rule as cuda_bf16.h __float2bfloat16_rn.
inline uint16_t float_to_bf16(float f) { return bb_host::f32_to_bf16(f); }
// IEEE binary16, the rules of cuda_fp16.h __half2float / __float2half_rn (half_host.h).
inline float half_to_float(uint16_t h) { return bb_host::f16_to_f32(h); }
inline uint16_t float_to_half(float f) { return bb_host::f32_to_f16(f); }

enum State { RUNNABLE, WAIT_BLOCK, WAIT_WARP, DONE };

// Context switch. x86-64: bb_emu_switch (runtime.cu, a few instructions: callee-saved registers,
// MXCSR and the x87 control word) because glibc's swapcontext makes a signal-mask syscall on every
// switch, which made the emulator ~15x slower. Elsewhere: ucontext.
#if defined(__x86_64__)
#define BB_EMU_FAST_SWITCH 1
extern "C" void bb_emu_switch(void **save_sp, void *load_sp);
#endif

struct Fiber {
#ifdef BB_EMU_FAST_SWITCH
  void *sp = nullptr;
#else
  ucontext_t ctx;
#endif
  State state = RUNNABLE;
  dim3 tid;
  std::vector<char> stack;
};

constexpr size_t kStack = 256 * 1024;

#ifdef BB_EMU_FAST_SWITCH
inline void *g_sched_sp = nullptr;
#else
inline ucontext_t g_sched;
#endif
inline std::vector<Fiber> g_fibers;
inline unsigned g_cur = 0;
inline unsigned g_nthreads = 0;
inline dim3 g_block_idx, g_block_dim, g_grid_dim;
inline std::function<void()> g_body;
inline std::vector<char> g_dyn_smem;
inline std::vector<uint64_t> g_slots;   // one exchange slot per thread, for shuffles
inline int g_order = 0;                 // 0 forward, 1 reverse, 2 shuffled per block
inline uint64_t g_rng = 0x9E3779B97F4A7C15ull;
inline std::string g_error;             // first failure of the current launch

inline const dim3 &cur_tid() { return g_fibers[g_cur].tid; }

inline void yield_as(State s) {
  g_fibers[g_cur].state = s;
#ifdef BB_EMU_FAST_SWITCH
  bb_emu_switch(&g_fibers[g_cur].sp, g_sched_sp);
#else
  swapcontext(&g_fibers[g_cur].ctx, &g_sched);
#endif
}

inline void fiber_entry() {
  g_body();
  g_fibers[g_cur].state = DONE;
#ifdef BB_EMU_FAST_SWITCH
  bb_emu_switch(&g_fibers[g_cur].sp, g_sched_sp);   // never resumed
  __builtin_unreachable();
#endif
  // ucontext: returning switches to uc_link (the scheduler)
}

inline void fiber_start(Fiber &f) {
#ifdef BB_EMU_FAST_SWITCH
  // Stack image that bb_emu_switch "returns" from into fiber_entry, with the SysV alignment of a call:
  // [csr][r15][r14][r13][r12][rbx][rbp][&fiber_entry][0 = fiber_entry's return address] <- 16-aligned top
  uintptr_t top = ((uintptr_t)f.stack.data() + f.stack.size()) & ~(uintptr_t)15;
  void **sp = (void **)top;
  *--sp = nullptr;
  *--sp = (void *)&fiber_entry;
  for (int i = 0; i < 6; i++) *--sp = nullptr;   // rbp rbx r12 r13 r14 r15
  uint64_t csr = 0x1F80u | ((uint64_t)0x037Fu << 32);   // default MXCSR, x87 control word
  *--sp = (void *)csr;
  f.sp = sp;
#else
  getcontext(&f.ctx);
  f.ctx.uc_stack.ss_sp = f.stack.data();
  f.ctx.uc_stack.ss_size = f.stack.size();
  f.ctx.uc_link = &g_sched;
  makecontext(&f.ctx, (void (*)())fiber_entry, 0);
#endif
}

inline void resume(unsigned t) {
  g_cur = t;
#ifdef BB_EMU_FAST_SWITCH
  bb_emu_switch(&g_sched_sp, g_fibers[t].sp);
#else
  swapcontext(&g_sched, &g_fibers[t].ctx);
#endif
}

inline uint64_t next_rand() {
  g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
  return g_rng;
}

// Runs one block to completion. Returns false (g_error set) on deadlock or divergent shuffle.
inline bool run_block() {
  const unsigned n = g_nthreads;
  std::vector<unsigned> order(n);
  for (unsigned i = 0; i < n; i++) order[i] = g_order == 1 ? n - 1 - i : i;
  if (g_order == 2) {
    for (unsigned i = n; i > 1; i--) std::swap(order[i - 1], order[next_rand() % i]);
  }
  for (unsigned t = 0; t < n; t++) {
    Fiber &f = g_fibers[t];
    f.state = RUNNABLE;
    f.tid = dim3(t % g_block_dim.x, (t / g_block_dim.x) % g_block_dim.y, t / (g_block_dim.x * g_block_dim.y));
    fiber_start(f);
  }
  for (;;) {
    bool ran = false;
    for (unsigned t : order) {
      if (g_fibers[t].state != RUNNABLE) continue;
      resume(t);
      ran = true;
    }
    unsigned done = 0, atBlock = 0;
    for (unsigned t = 0; t < n; t++) {
      done += g_fibers[t].state == DONE;
      atBlock += g_fibers[t].state == WAIT_BLOCK;
    }
    if (done == n) return true;
    bool released = false;
    // __syncthreads: every thread that has not exited is waiting.
    if (atBlock > 0 && atBlock + done == n) {
      for (auto &f : g_fibers) if (f.state == WAIT_BLOCK) f.state = RUNNABLE;
      released = true;
    }
    // warp barrier (shuffle): every lane of the warp waiting at it.
    for (unsigned w = 0; w * 32 < n; w++) {
      unsigned lanes = std::min(32u, n - w * 32), waiting = 0, exited = 0;
      for (unsigned l = 0; l < lanes; l++) {
        waiting += g_fibers[w * 32 + l].state == WAIT_WARP;
        exited += g_fibers[w * 32 + l].state == DONE;
      }
      if (waiting == lanes) {
        for (unsigned l = 0; l < lanes; l++) g_fibers[w * 32 + l].state = RUNNABLE;
        released = true;
      } else if (waiting > 0 && waiting + exited == lanes) {
        g_error = "emulator: warp " + std::to_string(w) + " shuffles with " + std::to_string(exited) +
                  " exited lanes (divergent shuffle)";
        return false;
      }
    }
    if (!ran && !released) {
      std::string s;
      for (unsigned t = 0; t < n && t < 64; t++) s += "0BWD"[g_fibers[t].state];
      g_error = "emulator: deadlock in block (" + std::to_string(g_block_idx.x) + "," + std::to_string(g_block_idx.y) +
                "): thread states " + s + " (R runnable/0, B __syncthreads, W shuffle, D done)";
      return false;
    }
  }
}

// Launch: returns false and sets g_error on failure (read by bb::after_launch).
inline bool launch(dim3 grid, dim3 block, size_t smem, std::function<void()> body) {
  const unsigned n = block.x * block.y * block.z;
  if (n == 0 || n > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0) {
    g_error = "emulator: invalid launch configuration";
    return false;
  }
  if (g_fibers.size() < n) g_fibers.resize(n);
  for (unsigned t = 0; t < n; t++) if (g_fibers[t].stack.size() != kStack) g_fibers[t].stack.resize(kStack);
  g_nthreads = n;
  g_block_dim = block;
  g_grid_dim = grid;
  g_dyn_smem.assign(smem + 16, 0x7f);   // garbage-ish fill: reads before writes show up as large values
  g_slots.assign(n, 0);
  g_body = std::move(body);
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) {
        g_block_idx = dim3(x, y, z);
        if (!run_block()) return false;
      }
  return true;
}

template <typename T>
inline T warp_exchange(T v, int src_lane) {
  static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
  const unsigned t = g_cur;
  const unsigned warp_base = t & ~31u;
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  g_slots[t] = bits;
  yield_as(WAIT_WARP);
  const unsigned src = warp_base + ((unsigned)src_lane & 31u);
  uint64_t got = src < g_nthreads ? g_slots[src] : bits;
  yield_as(WAIT_WARP);   // nobody overwrites a slot before every lane has read
  T r;
  std::memcpy(&r, &got, sizeof(T));
  return r;
}

inline void check_mask(unsigned mask) {
  if (mask != 0xffffffffu) {
    std::fprintf(stderr, "emulator: only full-warp shuffles are supported (mask %08x)\n", mask);
    std::abort();
  }
}

}  // namespace bb_emu

#define threadIdx (bb_emu::cur_tid())
#define blockIdx (bb_emu::g_block_idx)
#define blockDim (bb_emu::g_block_dim)
#define gridDim (bb_emu::g_grid_dim)

inline void __syncthreads() { bb_emu::yield_as(bb_emu::WAIT_BLOCK); }
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src) {
  bb_emu::check_mask(mask);
  return bb_emu::warp_exchange(v, src);
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask) {
  bb_emu::check_mask(mask);
  return bb_emu::warp_exchange(v, (int)(bb_emu::g_cur & 31u) ^ lane_mask);
}
