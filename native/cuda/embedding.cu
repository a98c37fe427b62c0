// embedding.cu: bb_embedding, the token-embedding row gather (CPU reference: CpuBackend.embedding).
#include "common.cuh"

namespace bb {

// One block per token row; the row is copied as stored (no rounding: same dtype in and out).
template <typename T>
__global__ void embedding_kernel(T *out, const T *table, const int32_t *ids, int vocab, int h) {
  const size_t row = blockIdx.x;
  const int id = ids[row];
  const bool ok = id >= 0 && id < vocab;
  for (int c = threadIdx.x; c < h; c += blockDim.x) {
    if (ok) out[row * h + c] = table[(size_t)id * h + c];
    else st(out, row * h + c, NAN);
  }
}

template <typename T>
static int launch(void *out, const void *table, const int32_t *ids, int n, int vocab, int h) {
  auto k = embedding_kernel<T>;
  BB_LAUNCH(k, dim3((unsigned)n), dim3(h >= 256 ? 256 : 64), 0, (T *)out, (const T *)table, ids, vocab, h);
  return after_launch("bb_embedding");
}

}  // namespace bb

extern "C" int bb_embedding(void *out, const void *table, int dt, const int32_t *ids, int n, int vocab, int h) {
  BB_REQUIRE_INIT("bb_embedding");
  BB_REQUIRE(out && table && ids, "bb_embedding: null pointer");
  BB_REQUIRE(n > 0 && vocab > 0 && h > 0, "bb_embedding: bad shape n=%d vocab=%d h=%d", n, vocab, h);
  if (dt == BB_F32) return bb::launch<float>(out, table, ids, n, vocab, h);
  if (dt == BB_BF16) return bb::launch<bb::bf16>(out, table, ids, n, vocab, h);
  if (dt == BB_F16) return bb::launch<bb::f16>(out, table, ids, n, vocab, h);
  return bb::fail(BB_ERR_ARG, "bb_embedding: bad dtype %d", dt);
}
