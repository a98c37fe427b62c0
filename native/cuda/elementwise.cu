// elementwise.cu: bb_silu_mul (siluMulRef) and bb_add (CpuBackend.addInPlace). Grid-stride, fp32 math.
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
