// elementwise.cu: bb_silu_mul (siluMulRef), bb_gelu_tanh_mul (geluTanhMulRef), bb_add (CpuBackend.addInPlace),
// bb_add_bias (addBiasRef) and bb_scale (scaleInPlace). Grid-stride, fp32 math, one rounding on store.
#include "common.cuh"

namespace bb {

template <typename T>
__global__ void silu_mul_kernel(T *out, const T *gate, const T *up, size_t n) {
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float g = ld(gate, i);
    st(out, i, g / (1.0f + expf(-g)) * ld(up, i));
  }
}

// PyTorch's gelu(approximate='tanh'): 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))), in fp32 as its CUDA kernel.
template <typename T>
__global__ void gelu_tanh_mul_kernel(T *out, const T *gate, const T *up, size_t n) {
  const float kBeta = 0.7978845608028654f;   // sqrt(2 / pi)
  const float kKappa = 0.044715f;
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float g = ld(gate, i);
    const float inner = kBeta * (g + kKappa * g * g * g);
    st(out, i, 0.5f * g * (1.0f + tanhf(inner)) * ld(up, i));
  }
}

// x[r, c] += b[c], x [rows, cols] (rows * cols = n).
template <typename T>
__global__ void add_bias_kernel(T *x, const T *b, size_t n, int cols) {
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    st(x, i, ld(x, i) + ld(b, i % (size_t)cols));
  }
}

template <typename T>
__global__ void scale_kernel(T *x, float s, size_t n) {
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) st(x, i, ld(x, i) * s);
}

template <typename T>
__global__ void add_kernel(T *x, const T *y, size_t n) {
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) st(x, i, ld(x, i) + ld(y, i));
}

template <typename T>
static int launch_silu_mul(void *out, const void *gate, const void *up, size_t n) {
  auto k = silu_mul_kernel<T>;
  BB_LAUNCH(k, dim3(bb_grid_for(n)), dim3(256), 0, (T *)out, (const T *)gate, (const T *)up, n);
  return after_launch("bb_silu_mul");
}

template <typename T>
static int launch_gelu_tanh_mul(void *out, const void *gate, const void *up, size_t n) {
  auto k = gelu_tanh_mul_kernel<T>;
  BB_LAUNCH(k, dim3(bb_grid_for(n)), dim3(256), 0, (T *)out, (const T *)gate, (const T *)up, n);
  return after_launch("bb_gelu_tanh_mul");
}

template <typename T>
static int launch_add_bias(void *x, const void *b, size_t n, int cols) {
  auto k = add_bias_kernel<T>;
  BB_LAUNCH(k, dim3(bb_grid_for(n)), dim3(256), 0, (T *)x, (const T *)b, n, cols);
  return after_launch("bb_add_bias");
}

template <typename T>
static int launch_scale(void *x, float s, size_t n) {
  auto k = scale_kernel<T>;
  BB_LAUNCH(k, dim3(bb_grid_for(n)), dim3(256), 0, (T *)x, s, n);
  return after_launch("bb_scale");
}

template <typename T>
static int launch_add(void *x, const void *y, size_t n) {
  auto k = add_kernel<T>;
  BB_LAUNCH(k, dim3(bb_grid_for(n)), dim3(256), 0, (T *)x, (const T *)y, n);
  return after_launch("bb_add");
}

}  // namespace bb

extern "C" int bb_silu_mul(void *out, const void *gate, const void *up, int dt, size_t n) {
  BB_REQUIRE_INIT("bb_silu_mul");
  BB_REQUIRE(out && gate && up, "bb_silu_mul: null pointer");
  if (n == 0) return BB_OK;
  if (dt == BB_F32) return bb::launch_silu_mul<float>(out, gate, up, n);
  if (dt == BB_BF16) return bb::launch_silu_mul<bb::bf16>(out, gate, up, n);
  if (dt == BB_F16) return bb::launch_silu_mul<bb::f16>(out, gate, up, n);
  return bb::fail(BB_ERR_ARG, "bb_silu_mul: bad dtype %d", dt);
}

extern "C" int bb_add(void *x, const void *y, int dt, size_t n) {
  BB_REQUIRE_INIT("bb_add");
  BB_REQUIRE(x && y, "bb_add: null pointer");
  if (n == 0) return BB_OK;
  if (dt == BB_F32) return bb::launch_add<float>(x, y, n);
  if (dt == BB_BF16) return bb::launch_add<bb::bf16>(x, y, n);
  if (dt == BB_F16) return bb::launch_add<bb::f16>(x, y, n);
  return bb::fail(BB_ERR_ARG, "bb_add: bad dtype %d", dt);
}

extern "C" int bb_gelu_tanh_mul(void *out, const void *gate, const void *up, int dt, size_t n) {
  BB_REQUIRE_INIT("bb_gelu_tanh_mul");
  BB_REQUIRE(out && gate && up, "bb_gelu_tanh_mul: null pointer");
  if (n == 0) return BB_OK;
  if (dt == BB_F32) return bb::launch_gelu_tanh_mul<float>(out, gate, up, n);
  if (dt == BB_BF16) return bb::launch_gelu_tanh_mul<bb::bf16>(out, gate, up, n);
  if (dt == BB_F16) return bb::launch_gelu_tanh_mul<bb::f16>(out, gate, up, n);
  return bb::fail(BB_ERR_ARG, "bb_gelu_tanh_mul: bad dtype %d", dt);
}

extern "C" int bb_add_bias(void *x, const void *b, int dt, int rows, int cols) {
  BB_REQUIRE_INIT("bb_add_bias");
  BB_REQUIRE(x && b, "bb_add_bias: null pointer");
  BB_REQUIRE(rows >= 0 && cols > 0, "bb_add_bias: bad shape rows=%d cols=%d", rows, cols);
  const size_t n = (size_t)rows * (size_t)cols;
  if (n == 0) return BB_OK;
  if (dt == BB_F32) return bb::launch_add_bias<float>(x, b, n, cols);
  if (dt == BB_BF16) return bb::launch_add_bias<bb::bf16>(x, b, n, cols);
  if (dt == BB_F16) return bb::launch_add_bias<bb::f16>(x, b, n, cols);
  return bb::fail(BB_ERR_ARG, "bb_add_bias: bad dtype %d", dt);
}

extern "C" int bb_scale(void *x, int dt, size_t n, float s) {
  BB_REQUIRE_INIT("bb_scale");
  BB_REQUIRE(x, "bb_scale: null pointer");
  if (n == 0) return BB_OK;
  if (dt == BB_F32) return bb::launch_scale<float>(x, s, n);
  if (dt == BB_BF16) return bb::launch_scale<bb::bf16>(x, s, n);
  if (dt == BB_F16) return bb::launch_scale<bb::f16>(x, s, n);
  return bb::fail(BB_ERR_ARG, "bb_scale: bad dtype %d", dt);
}
