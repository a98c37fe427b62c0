// runtime.cu: library state, errors, device queries, init, memory, transfers, fills, host bf16 helpers.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unordered_map>
#include <vector>

#include "common.cuh"
#include "cublas_dl.h"
#include "half_host.h"

#ifndef BB_ARCHS
#define BB_ARCHS "unknown archs"
#endif

#if defined(BB_EMULATE) && defined(__x86_64__)
// bb_emu_switch(save_sp, load_sp): the emulator's fiber switch (emu.h). Pushes the callee-saved
// registers and MXCSR/x87 control word, stores rsp in *save_sp, continues on load_sp's stack image.
__asm__(
    ".text\n"
    ".globl bb_emu_switch\n"
    ".hidden bb_emu_switch\n"
    ".type bb_emu_switch,@function\n"
    "bb_emu_switch:\n"
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  subq $8, %rsp\n"
    "  stmxcsr (%rsp)\n"
    "  fnstcw 4(%rsp)\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  ldmxcsr (%rsp)\n"
    "  fldcw 4(%rsp)\n"
    "  addq $8, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".size bb_emu_switch, .-bb_emu_switch\n");
#endif

namespace bb {

cudaStream_t g_stream = nullptr;
bool g_initialized = false;
bool g_sync_debug = false;
static int g_device = -1;
static thread_local char g_err[4096] = "";

// Allocation accounting (bb_malloc/bb_free only): live and peak bytes, for the benchmarks.
static std::unordered_map<void *, size_t> g_sizes;
static uint64_t g_live = 0, g_peak = 0;

int fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_err, sizeof g_err, fmt, ap);
  va_end(ap);
  return code;
}

int require_init(const char *op) {
  if (!g_initialized) return fail(BB_ERR_STATE, "%s: bb_init has not succeeded", op);
  return BB_OK;
}

#ifndef BB_EMULATE
static int cuda_fail(const char *what, cudaError_t e) {
  return fail(BB_ERR_CUDA, "%s: %s (%s, %d)", what, cudaGetErrorString(e), cudaGetErrorName(e), (int)e);
}
#endif

int after_launch(const char *op) {
#ifndef BB_EMULATE
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return cuda_fail(op, e);
  if (g_sync_debug) {
    e = cudaStreamSynchronize(g_stream);
    if (e != cudaSuccess) return cuda_fail(op, e);
  }
#else
  (void)op;
#endif
  return BB_OK;
}

static int sync_stream(const char *op) {
#ifndef BB_EMULATE
  cudaError_t e = cudaStreamSynchronize(g_stream);
  if (e != cudaSuccess) return cuda_fail(op, e);
#else
  (void)op;
#endif
  return BB_OK;
}

// Host copies. In the emulation build "device" memory is host memory.
static int memcpy_h2d(void *dst, const void *src, size_t bytes, const char *op) {
#ifndef BB_EMULATE
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g_stream);
  if (e != cudaSuccess) return cuda_fail(op, e);
  return sync_stream(op);   // the source is caller memory (a JS typed array): done before returning
#else
  (void)op;
  memcpy(dst, src, bytes);
  return BB_OK;
#endif
}
static int memcpy_d2h(void *dst, const void *src, size_t bytes, const char *op) {
#ifndef BB_EMULATE
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, g_stream);
  if (e != cudaSuccess) return cuda_fail(op, e);
  return sync_stream(op);
#else
  (void)op;
  memcpy(dst, src, bytes);
  return BB_OK;
#endif
}

static int check_capacity(const void *p, size_t bytes, const char *op) {
  auto it = g_sizes.find(const_cast<void *>(p));
  if (it != g_sizes.end() && bytes > it->second) {
    return fail(BB_ERR_ARG, "%s: %zu bytes but the buffer holds %zu", op, bytes, it->second);
  }
  return BB_OK;
}

// fp32 <-> 16-bit on the host (half_host.h), for one storage type.
static inline uint16_t host_to16(int dt, float f) { return dt == BB_BF16 ? bb_host::f32_to_bf16(f) : bb_host::f32_to_f16(f); }
static inline float host_from16(int dt, uint16_t b) { return dt == BB_BF16 ? bb_host::bf16_to_f32(b) : bb_host::f16_to_f32(b); }

// ---- fills ----
__device__ __forceinline__ uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <typename T>
__global__ void fill_normal_kernel(T *dst, size_t n, float mean, float stdev, uint64_t seed) {
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    const uint64_t r = mix64(seed ^ mix64(i));
    const float u1 = ((float)(r >> 40) + 0.5f) * (1.0f / 16777216.0f);   // (0, 1)
    const float u2 = (float)(r & 0xFFFFFFull) * (1.0f / 16777216.0f);    // [0, 1)
    const float z = sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958648f * u2);
    st(dst, i, mean + stdev * z);
  }
}

template <typename T>
__global__ void fill_kernel(T *dst, size_t n, float value) {
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) st(dst, i, value);
}

template <typename T>
static int launch_fill_normal(void *dst, size_t n, float mean, float stdev, uint64_t seed) {
  auto k = fill_normal_kernel<T>;
  BB_LAUNCH(k, dim3(bb_grid_for(n)), dim3(256), 0, (T *)dst, n, mean, stdev, seed);
  return after_launch("bb_fill_normal");
}
template <typename T>
static int launch_fill(void *dst, size_t n, float value) {
  auto k = fill_kernel<T>;
  BB_LAUNCH(k, dim3(bb_grid_for(n)), dim3(256), 0, (T *)dst, n, value);
  return after_launch("bb_fill");
}

}  // namespace bb

using namespace bb;

extern "C" {

int bb_abi_version(void) { return BB_ABI_VERSION; }

const char *bb_build_info(void) {
  static char info[256];
#ifdef BB_EMULATE
  snprintf(info, sizeof info, "bellm_cuda abi %d, emulated on the CPU (emu.h; not a GPU build)", BB_ABI_VERSION);
#else
  snprintf(info, sizeof info, "bellm_cuda abi %d, CUDA %d.%d, %s, static cudart", BB_ABI_VERSION, CUDART_VERSION / 1000,
           (CUDART_VERSION % 1000) / 10, BB_ARCHS);
#endif
  return info;
}

int bb_is_emulated(void) {
#ifdef BB_EMULATE
  return 1;
#else
  return 0;
#endif
}

const char *bb_last_error(void) { return g_err; }

int bb_device_count(void) {
#ifdef BB_EMULATE
  return 1;
#else
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cuda_fail("cudaGetDeviceCount", e);
    cudaGetLastError();   // clear, so later calls are not poisoned
    return -1;
  }
  if (n == 0) fail(BB_ERR_CUDA, "cudaGetDeviceCount: no CUDA device");
  return n;
#endif
}

int bb_device_describe(int device, char *buf, int len) {
  if (!buf || len <= 0) return fail(BB_ERR_ARG, "bb_device_describe: no buffer");
#ifdef BB_EMULATE
  (void)device;
  snprintf(buf, (size_t)len, "CPU emulation of the CUDA kernels (emu.h), not a GPU");
  return BB_OK;
#else
  cudaDeviceProp p;
  cudaError_t e = cudaGetDeviceProperties(&p, device);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return cuda_fail("cudaGetDeviceProperties", e);
  }
  int drv = 0;
  cudaDriverGetVersion(&drv);
  snprintf(buf, (size_t)len, "%s, sm_%d%d, %d SMs, %.1f GiB, driver %d.%d", p.name, p.major, p.minor,
           p.multiProcessorCount, (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), drv / 1000, (drv % 1000) / 10);
  return BB_OK;
#endif
}

int bb_init(int device) {
  if (g_initialized) {
    if (device == g_device) return BB_OK;
    return fail(BB_ERR_STATE, "bb_init(%d): already initialized on device %d (one device per process)", device, g_device);
  }
#ifndef BB_EMULATE
  int n = bb_device_count();
  if (n < 0) return BB_ERR_CUDA;
  if (device < 0 || device >= n) return fail(BB_ERR_ARG, "bb_init: device %d does not exist (%d CUDA devices)", device, n);
  cudaDeviceProp p;
  cudaError_t e = cudaGetDeviceProperties(&p, device);
  if (e != cudaSuccess) return cuda_fail("cudaGetDeviceProperties", e);
  if (p.major < 8) {
    return fail(BB_ERR_CUDA, "bb_init: %s is sm_%d%d; this build needs sm_80 or newer (bf16 tensor cores)", p.name,
                p.major, p.minor);
  }
  // bb_malloc/bb_free are cudaMallocAsync/cudaFreeAsync: refuse a device (or a virtualized setup, such
  // as some vGPU/MIG profiles) that has no stream-ordered memory pools, instead of failing at the first op.
  int pools = 0;
  if ((e = cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device)) != cudaSuccess)
    return cuda_fail("cudaDeviceGetAttribute(cudaDevAttrMemoryPoolsSupported)", e);
  if (!pools) {
    return fail(BB_ERR_CUDA, "bb_init: %s does not support stream-ordered memory pools (cudaMallocAsync), which this "
                "library needs; use --device cpu", p.name);
  }
  if ((e = cudaSetDevice(device)) != cudaSuccess) return cuda_fail("cudaSetDevice", e);
  if (!g_stream && (e = cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking)) != cudaSuccess)
    return cuda_fail("cudaStreamCreateWithFlags", e);
  // Keep freed blocks in the stream-ordered pool: activations are freed and reallocated every layer.
  cudaMemPool_t pool;
  if ((e = cudaDeviceGetDefaultMemPool(&pool, device)) != cudaSuccess) return cuda_fail("cudaDeviceGetDefaultMemPool", e);
  uint64_t threshold = UINT64_MAX;
  if ((e = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold)) != cudaSuccess)
    return cuda_fail("cudaMemPoolSetAttribute", e);
#endif
  int rc = blas_init();
  if (rc) return rc;
  g_device = device;
  g_initialized = true;
  return BB_OK;
}

int bb_shutdown(int free_all) {
  if (!g_initialized) return BB_OK;
  if (free_all) {
    std::vector<void *> live;
    for (auto &kv : g_sizes) live.push_back(kv.first);
    for (void *p : live) bb_free(p);
  }
  if (!g_sizes.empty()) {
    return fail(BB_ERR_STATE, "bb_shutdown: %zu buffers (%llu bytes) from bb_malloc are still live; free them first",
                g_sizes.size(), (unsigned long long)g_live);
  }
  int rc = sync_stream("bb_shutdown");
  const int rc_blas = blas_shutdown();
  if (!rc) rc = rc_blas;
#ifndef BB_EMULATE
  if (g_stream) {
    cudaError_t e = cudaStreamDestroy(g_stream);
    g_stream = nullptr;
    if (e != cudaSuccess && !rc) rc = cuda_fail("cudaStreamDestroy", e);
  }
#endif
  g_initialized = false;
  g_device = -1;
  return rc;
}

int bb_synchronize(void) {
  BB_REQUIRE_INIT("bb_synchronize");
  return sync_stream("bb_synchronize");
}

int bb_set_option(const char *name, int64_t value) {
  if (!name) return fail(BB_ERR_ARG, "bb_set_option: no name");
  if (!strcmp(name, "sync_debug")) {
    g_sync_debug = value != 0;
    return BB_OK;
  }
  if (!strcmp(name, "emu_order")) {
#ifdef BB_EMULATE
    if (value < 0 || value > 2) return fail(BB_ERR_ARG, "emu_order must be 0, 1 or 2, got %lld", (long long)value);
    bb_emu::g_order = (int)value;
    return BB_OK;
#else
    return fail(BB_ERR_ARG, "emu_order: this is not the emulation build");
#endif
  }
  return fail(BB_ERR_ARG, "bb_set_option: unknown option \"%s\" (sync_debug, emu_order)", name);
}

void *bb_malloc(size_t bytes) {
  if (require_init("bb_malloc")) return nullptr;
  if (bytes == 0) bytes = 16;
  void *p = nullptr;
#ifndef BB_EMULATE
  cudaError_t e = cudaMallocAsync(&p, bytes, g_stream);
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    fail(BB_ERR_CUDA, "bb_malloc(%zu bytes): %s (device free %.2f GiB of %.2f GiB; bellm holds %.2f GiB)", bytes,
         cudaGetErrorString(e), free_b / 1073741824.0, total_b / 1073741824.0, g_live / 1073741824.0);
    return nullptr;
  }
#else
  p = aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p) {
    fail(BB_ERR_CUDA, "bb_malloc(%zu bytes): out of host memory (emulation)", bytes);
    return nullptr;
  }
  memset(p, 0xff, bytes);   // NaN-ish garbage, so a kernel reading unwritten memory is noticed
#endif
  g_sizes[p] = bytes;
  g_live += bytes;
  if (g_live > g_peak) g_peak = g_live;
  return p;
}

int bb_free(void *p) {
  if (!p) return BB_OK;
  auto it = g_sizes.find(p);
  if (it == g_sizes.end()) return fail(BB_ERR_ARG, "bb_free: %p was not returned by bb_malloc (or was freed twice)", p);
  g_live -= it->second;
  g_sizes.erase(it);
#ifndef BB_EMULATE
  cudaError_t e = cudaFreeAsync(p, g_stream);
  if (e != cudaSuccess) return cuda_fail("bb_free", e);
#else
  free(p);
#endif
  return BB_OK;
}

int bb_mem_stats(uint64_t *out) {
  if (!out) return fail(BB_ERR_ARG, "bb_mem_stats: no output");
  out[0] = g_live;
  out[1] = g_peak;
  out[2] = out[3] = 0;
#ifndef BB_EMULATE
  if (g_initialized) {
    size_t free_b = 0, total_b = 0;
    cudaError_t e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess) return cuda_fail("cudaMemGetInfo", e);
    out[2] = free_b;
    out[3] = total_b;
  }
#endif
  return BB_OK;
}

int bb_mem_reset_peak(void) {
  g_peak = g_live;
  return BB_OK;
}

int bb_upload(void *dst, int dt, const float *src, size_t n) {
  BB_REQUIRE_INIT("bb_upload");
  BB_REQUIRE(dst && (src || n == 0), "bb_upload: null pointer");
  BB_REQUIRE(valid_dtype(dt), "bb_upload: bad dtype %d", dt);
  int rc = check_capacity(dst, n * dtype_size(dt), "bb_upload");
  if (rc) return rc;
  if (dt == BB_F32) return memcpy_h2d(dst, src, n * 4, "bb_upload");
  const size_t chunk = (size_t)1 << 23;
  std::vector<uint16_t> tmp(n < chunk ? n : chunk);
  for (size_t off = 0; off < n; off += chunk) {
    const size_t m = n - off < chunk ? n - off : chunk;
    for (size_t i = 0; i < m; i++) tmp[i] = host_to16(dt, src[off + i]);
    rc = memcpy_h2d((uint16_t *)dst + off, tmp.data(), m * 2, "bb_upload");
    if (rc) return rc;
  }
  return BB_OK;
}

int bb_download(float *dst, const void *src, int dt, size_t n) {
  BB_REQUIRE_INIT("bb_download");
  BB_REQUIRE(src && (dst || n == 0), "bb_download: null pointer");
  BB_REQUIRE(valid_dtype(dt), "bb_download: bad dtype %d", dt);
  int rc = check_capacity(src, n * dtype_size(dt), "bb_download");
  if (rc) return rc;
  if (dt == BB_F32) return memcpy_d2h(dst, src, n * 4, "bb_download (or an earlier asynchronous op)");
  std::vector<uint16_t> tmp(n);
  rc = memcpy_d2h(tmp.data(), src, n * 2, "bb_download (or an earlier asynchronous op)");
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) dst[i] = host_from16(dt, tmp[i]);
  return BB_OK;
}

int bb_upload_i32(void *dst, const int32_t *src, size_t n) {
  BB_REQUIRE_INIT("bb_upload_i32");
  BB_REQUIRE(dst && (src || n == 0), "bb_upload_i32: null pointer");
  int rc = check_capacity(dst, n * 4, "bb_upload_i32");
  if (rc) return rc;
  return memcpy_h2d(dst, src, n * 4, "bb_upload_i32");
}

int bb_copy(void *dst, const void *src, size_t bytes) {
  BB_REQUIRE_INIT("bb_copy");
  BB_REQUIRE(dst && src, "bb_copy: null pointer");
  int rc = check_capacity(dst, bytes, "bb_copy");
  if (rc) return rc;
#ifndef BB_EMULATE
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, g_stream);
  if (e != cudaSuccess) return cuda_fail("bb_copy", e);
  return after_launch("bb_copy");
#else
  memcpy(dst, src, bytes);
  return BB_OK;
#endif
}

int bb_fill_normal(void *dst, int dt, size_t n, float mean, float stdev, uint64_t seed) {
  BB_REQUIRE_INIT("bb_fill_normal");
  BB_REQUIRE(dst, "bb_fill_normal: null pointer");
  int rc = check_capacity(dst, n * dtype_size(dt), "bb_fill_normal");
  if (rc) return rc;
  if (n == 0) return BB_OK;
  if (dt == BB_F32) return launch_fill_normal<float>(dst, n, mean, stdev, seed);
  if (dt == BB_BF16) return launch_fill_normal<bf16>(dst, n, mean, stdev, seed);
  if (dt == BB_F16) return launch_fill_normal<f16>(dst, n, mean, stdev, seed);
  return fail(BB_ERR_ARG, "bb_fill_normal: bad dtype %d", dt);
}

int bb_fill(void *dst, int dt, size_t n, float value) {
  BB_REQUIRE_INIT("bb_fill");
  BB_REQUIRE(dst, "bb_fill: null pointer");
  int rc = check_capacity(dst, n * dtype_size(dt), "bb_fill");
  if (rc) return rc;
  if (n == 0) return BB_OK;
  if (dt == BB_F32) return launch_fill<float>(dst, n, value);
  if (dt == BB_BF16) return launch_fill<bf16>(dst, n, value);
  if (dt == BB_F16) return launch_fill<f16>(dst, n, value);
  return fail(BB_ERR_ARG, "bb_fill: bad dtype %d", dt);
}

void bb_f32_to_bf16(const float *src, uint16_t *dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = bb_host::f32_to_bf16(src[i]);
}

void bb_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = bb_host::bf16_to_f32(src[i]);
}

void bb_f32_to_f16(const float *src, uint16_t *dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = bb_host::f32_to_f16(src[i]);
}

void bb_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = bb_host::f16_to_f32(src[i]);
}

}  // extern "C"
