// pool.cu: bb_pool and bb_pool_span (CPU reference: poolRef in src/backend/cpu/kernels.ts). One fp32
// vector per sequence from a range of its rows, reduced on the device (only [count, h] is downloaded):
// bb_pool over its first valid[s] rows, bb_pool_span over rows [from[s], to[s]) (a prompt template's
// pooled span). Modes: last, first, mean, or SGPT's position-weighted mean (weights 1..n over the n
// rows of the range). Output is always fp32.
#include "common.cuh"

namespace bb {

// from == nullptr: the range starts at row 0 of the sequence; `to` is its end (valid for bb_pool).
template <typename T>
__global__ void pool_kernel(float *out, const T *x, const int32_t *starts, const int32_t *from, const int32_t *to, int h,
                            int mode) {
  const int s = blockIdx.x;
  const int c = blockIdx.y * blockDim.x + threadIdx.x;
  if (c >= h) return;
  const int f = from ? from[s] : 0;
  const size_t start = (size_t)starts[s] + (size_t)f;
  const int n = to[s] - f;
  float r;
  if (n <= 0) {
    r = NAN;
  } else if (mode == BB_POOL_LAST || mode == BB_POOL_FIRST) {
    const size_t row = start + (mode == BB_POOL_LAST ? n - 1 : 0);
    r = ld(x, row * h + c);
  } else {
    float acc = 0.f;
    for (int t = 0; t < n; t++) {
      const float wt = mode == BB_POOL_AVG ? 1.f : (float)(t + 1);
      acc += wt * ld(x, (start + t) * h + c);
    }
    const float wsum = mode == BB_POOL_AVG ? (float)n : 0.5f * (float)n * (float)(n + 1);
    r = acc / wsum;
  }
  out[(size_t)s * h + c] = r;
}

template <typename T>
static int launch(float *out, const void *x, const int32_t *starts, const int32_t *from, const int32_t *to, int count,
                  int h, int mode, const char *op) {
  auto k = pool_kernel<T>;
  const unsigned threads = 128;
  BB_LAUNCH(k, dim3((unsigned)count, (unsigned)((h + threads - 1) / threads)), dim3(threads), 0, out, (const T *)x,
            starts, from, to, h, mode);
  return after_launch(op);
}

static int pool_any(float *out, const void *x, int dt, const int32_t *starts, const int32_t *from, const int32_t *to,
                    int count, int h, int mode, const char *op) {
  if (dt == BB_F32) return launch<float>(out, x, starts, from, to, count, h, mode, op);
  if (dt == BB_BF16) return launch<bf16>(out, x, starts, from, to, count, h, mode, op);
  if (dt == BB_F16) return launch<f16>(out, x, starts, from, to, count, h, mode, op);
  return fail(BB_ERR_ARG, "%s: bad dtype %d", op, dt);
}

}  // namespace bb

extern "C" int bb_pool(float *out, const void *x, int dt, const int32_t *starts, const int32_t *valid, int count, int h,
                       int mode) {
  BB_REQUIRE_INIT("bb_pool");
  BB_REQUIRE(out && x && starts && valid, "bb_pool: null pointer");
  BB_REQUIRE(count > 0 && h > 0, "bb_pool: bad shape count=%d h=%d", count, h);
  BB_REQUIRE(mode >= BB_POOL_LAST && mode <= BB_POOL_WEIGHTED, "bb_pool: bad mode %d", mode);
  BB_REQUIRE((h + 127) / 128 <= 65535, "bb_pool: h=%d too wide", h);
  return bb::pool_any(out, x, dt, starts, nullptr, valid, count, h, mode, "bb_pool");
}

extern "C" int bb_pool_span(float *out, const void *x, int dt, const int32_t *starts, const int32_t *from,
                            const int32_t *to, int count, int h, int mode) {
  BB_REQUIRE_INIT("bb_pool_span");
  BB_REQUIRE(out && x && starts && from && to, "bb_pool_span: null pointer");
  BB_REQUIRE(count > 0 && h > 0, "bb_pool_span: bad shape count=%d h=%d", count, h);
  BB_REQUIRE(mode >= BB_POOL_LAST && mode <= BB_POOL_WEIGHTED, "bb_pool_span: bad mode %d", mode);
  BB_REQUIRE((h + 127) / 128 <= 65535, "bb_pool_span: h=%d too wide", h);
  return bb::pool_any(out, x, dt, starts, from, to, count, h, mode, "bb_pool_span");
}
