// common.cuh: what every bellm_cuda translation unit shares.
//   - CUDA headers, or emu.h in the CPU emulation build (-DBB_EMULATE)
//   - bf16 and fp16 storage types and the ld/st helpers (widen to fp32 on load, round once on store)
//   - BB_LAUNCH (the one place a kernel is launched), after_launch (error check, optional sync)
//   - warp_sum / warp_max / block_sum reductions
//   - the library state (stream, error buffer) defined in runtime.cu
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "bb.h"

#ifdef BB_EMULATE
#include "emu.h"
typedef void *cudaStream_t;
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#endif

namespace bb {

#ifdef BB_EMULATE
typedef bb_emu::bf16 bf16;
typedef bb_emu::f16 f16;
__device__ __forceinline__ float to_f32(bf16 v) { return bb_emu::bf16_to_float(v.bits); }
__device__ __forceinline__ bf16 from_f32_bf16(float v) { return bf16{bb_emu::float_to_bf16(v)}; }
__device__ __forceinline__ float to_f32(f16 v) { return bb_emu::half_to_float(v.bits); }
__device__ __forceinline__ f16 from_f32_f16(float v) { return f16{bb_emu::float_to_half(v)}; }
#else
typedef __nv_bfloat16 bf16;
typedef __half f16;
__device__ __forceinline__ float to_f32(bf16 v) { return __bfloat162float(v); }
__device__ __forceinline__ bf16 from_f32_bf16(float v) { return __float2bfloat16_rn(v); }
__device__ __forceinline__ float to_f32(f16 v) { return __half2float(v); }
__device__ __forceinline__ f16 from_f32_f16(float v) { return __float2half_rn(v); }
#endif

__device__ __forceinline__ float ld(const float *p, size_t i) { return p[i]; }
__device__ __forceinline__ float ld(const bf16 *p, size_t i) { return to_f32(p[i]); }
__device__ __forceinline__ float ld(const f16 *p, size_t i) { return to_f32(p[i]); }
__device__ __forceinline__ void st(float *p, size_t i, float v) { p[i] = v; }
__device__ __forceinline__ void st(bf16 *p, size_t i, float v) { p[i] = from_f32_bf16(v); }
__device__ __forceinline__ void st(f16 *p, size_t i, float v) { p[i] = from_f32_f16(v); }

__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int imax(int a, int b) { return a > b ? a : b; }

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}
// Sum over the block (blockDim.x a multiple of 32, at most 1024). Every thread gets the total.
__device__ __forceinline__ float block_sum(float v) {
  __shared__ float partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < nwarps ? partial[lane] : 0.f;
  v = warp_sum(v);          // every warp reduces the partials: no second broadcast needed
  __syncthreads();          // partial[] may be reused by a following block_sum
  return v;
}

inline size_t dtype_size(int dt) { return dt == BB_F32 ? 4 : 2; }
inline bool valid_dtype(int dt) { return dt == BB_F32 || dt == BB_BF16 || dt == BB_F16; }
inline const char *dtype_name(int dt) { return dt == BB_F32 ? "fp32" : dt == BB_BF16 ? "bf16" : dt == BB_F16 ? "fp16" : "?"; }

// ---- state and errors (runtime.cu) ----
extern cudaStream_t g_stream;
extern bool g_initialized;
extern bool g_sync_debug;
/** Formats the message for bb_last_error and returns `code`. */
int fail(int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/** Checks the launch just made (and, with sync_debug, its completion). */
int after_launch(const char *op);
/** BB_ERR_STATE unless bb_init succeeded. */
int require_init(const char *op);

}  // namespace bb

// The only way kernels are launched, so the emulation build can run them on the CPU.
// `kernel` must be a plain name (take a function pointer first for template instances: auto k = f<T, 4>).
#ifdef BB_EMULATE
#define BB_LAUNCH(kernel, grid, block, smem, ...)                                              \
  do {                                                                                         \
    if (!bb_emu::launch((grid), (block), (smem), [=]() { kernel(__VA_ARGS__); }))              \
      return bb::fail(BB_ERR_CUDA, "%s: %s", #kernel, bb_emu::g_error.c_str());                \
  } while (0)
#define BB_DYNAMIC_SMEM(type, name) type *name = reinterpret_cast<type *>(bb_emu::g_dyn_smem.data())
#else
#define BB_LAUNCH(kernel, grid, block, smem, ...) kernel<<<(grid), (block), (smem), bb::g_stream>>>(__VA_ARGS__)
#define BB_DYNAMIC_SMEM(type, name) \
  extern __shared__ __align__(16) unsigned char bb_dyn_smem_raw[]; \
  type *name = reinterpret_cast<type *>(bb_dyn_smem_raw)
#endif

// Common argument checks of the entry points.
#define BB_REQUIRE(cond, ...) \
  do { if (!(cond)) return bb::fail(BB_ERR_ARG, __VA_ARGS__); } while (0)
#define BB_REQUIRE_INIT(op) \
  do { int rc_ = bb::require_init(op); if (rc_) return rc_; } while (0)

// Grid for a grid-stride loop over n elements with 256-thread blocks.
inline unsigned bb_grid_for(size_t n, unsigned threads = 256) {
  size_t blocks = (n + threads - 1) / threads;
  const size_t cap = 65535u * 16u;   // grid-stride beyond ~268M elements
  if (blocks > cap) blocks = cap;
  return (unsigned)(blocks == 0 ? 1 : blocks);
}
