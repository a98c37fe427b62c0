// rmsnorm.cu: bb_rmsnorm (CPU reference: rmsnormRef in src/backend/cpu/kernels.ts).
// out = x / sqrt(mean(x^2) + eps) * w, one block per row, fp32 sum of squares. A per-group norm (each head
// of [N, G*h]) is the caller's view of x as N*G rows of h (src/backend/cuda/backend.ts).
#include "common.cuh"

namespace bb {

template <typename T>
__global__ void __launch_bounds__(256) rmsnorm_kernel(T *out, const T *x, const T *w, int h, float eps) {
  const size_t off = (size_t)blockIdx.x * h;
  float ss = 0.f;
  for (int c = threadIdx.x; c < h; c += blockDim.x) {
    const float v = ld(x, off + c);
    ss += v * v;
  }
  ss = block_sum(ss);
  const float inv = 1.0f / sqrtf(ss / (float)h + eps);
  for (int c = threadIdx.x; c < h; c += blockDim.x) st(out, off + c, ld(x, off + c) * inv * ld(w, c));
}

template <typename T>
static int launch(void *out, const void *x, const void *w, int n, int h, float eps) {
  auto k = rmsnorm_kernel<T>;
  const unsigned threads = h >= 1024 ? 256 : h >= 256 ? 128 : 64;
  BB_LAUNCH(k, dim3((unsigned)n), dim3(threads), 0, (T *)out, (const T *)x, (const T *)w, h, eps);
  return after_launch("bb_rmsnorm");
}

}  // namespace bb

extern "C" int bb_rmsnorm(void *out, const void *x, const void *w, int dt, int n, int h, float eps) {
  BB_REQUIRE_INIT("bb_rmsnorm");
  BB_REQUIRE(out && x && w, "bb_rmsnorm: null pointer");
  BB_REQUIRE(n > 0 && h > 0, "bb_rmsnorm: bad shape n=%d h=%d", n, h);
  if (dt == BB_F32) return bb::launch<float>(out, x, w, n, h, eps);
  if (dt == BB_BF16) return bb::launch<bb::bf16>(out, x, w, n, h, eps);
  if (dt == BB_F16) return bb::launch<bb::f16>(out, x, w, n, h, eps);
  return bb::fail(BB_ERR_ARG, "bb_rmsnorm: bad dtype %d", dt);
}
