// rope.cu: bb_rope (CPU reference: ropeRef in src/backend/cpu/kernels.ts), Hugging Face rotate_half:
// element i pairs with i + D/2 in every head. The cos/sin table [positions, D/2] is computed by the
// caller in float64 exactly as ropeRef does (src/backend/cuda/backend.ts), then stored as fp32.
#include "common.cuh"

namespace bb {

template <typename T>
__global__ void rope_kernel(T *x, const int32_t *positions, int n, int n_heads, int head_dim,
                            const float *cos_tab, const float *sin_tab, int tab_rows) {
  const int half = head_dim / 2;
  const size_t total = (size_t)n * n_heads * half;
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int i = (int)(e % half);
    const size_t rh = e / half;                 // row * n_heads + head
    const size_t row = rh / n_heads;
    const int p = positions[row];
    const size_t off = rh * head_dim;           // == row * (n_heads * head_dim) + head * head_dim
    float c = NAN, s = NAN;
    if (p >= 0 && p < tab_rows) {
      c = cos_tab[(size_t)p * half + i];
      s = sin_tab[(size_t)p * half + i];
    }
    const float a = ld(x, off + i), b = ld(x, off + i + half);
    st(x, off + i, a * c - b * s);
    st(x, off + i + half, b * c + a * s);
  }
}

template <typename T>
static int launch(void *x, const int32_t *positions, int n, int n_heads, int head_dim, const float *cos_tab,
                  const float *sin_tab, int tab_rows) {
  auto k = rope_kernel<T>;
  const size_t total = (size_t)n * n_heads * (head_dim / 2);
  BB_LAUNCH(k, dim3(bb_grid_for(total)), dim3(256), 0, (T *)x, positions, n, n_heads, head_dim, cos_tab, sin_tab,
            tab_rows);
  return after_launch("bb_rope");
}

}  // namespace bb

extern "C" int bb_rope(void *x, int dt, const int32_t *positions, int n, int n_heads, int head_dim,
                       const float *cos_tab, const float *sin_tab, int tab_rows) {
  BB_REQUIRE_INIT("bb_rope");
  BB_REQUIRE(x && positions && cos_tab && sin_tab, "bb_rope: null pointer");
  BB_REQUIRE(n > 0 && n_heads > 0 && head_dim > 0 && head_dim % 2 == 0 && tab_rows > 0,
             "bb_rope: bad shape n=%d heads=%d head_dim=%d (must be even) table rows=%d", n, n_heads, head_dim, tab_rows);
  if (dt == BB_F32) return bb::launch<float>(x, positions, n, n_heads, head_dim, cos_tab, sin_tab, tab_rows);
  if (dt == BB_BF16) return bb::launch<bb::bf16>(x, positions, n, n_heads, head_dim, cos_tab, sin_tab, tab_rows);
  if (dt == BB_F16) return bb::launch<bb::f16>(x, positions, n, n_heads, head_dim, cos_tab, sin_tab, tab_rows);
  return bb::fail(BB_ERR_ARG, "bb_rope: bad dtype %d", dt);
}
