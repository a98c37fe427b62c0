// attention.cu: bb_attention_varlen over packed sequences (CPU reference: attentionRef and keyEnd in
// src/backend/cpu/kernels.ts), and bb_attention_plan, the host-side tiling of a packed batch.
//
// Layout: q/out [N, nH*D], k/v [N, nKV*D]; sequence s owns rows [starts[s], starts[s+1]); query head h
// reads kv head h / (nH / nKV) (GQA). Query row i (0-based in its sequence, T rows, `valid` real tokens)
// sees keys [0, end):  causal end = min(i + 1, valid);  bidirectional end = padKeysVisible ? T : valid;
// with a sliding window W (> 0) further only keys j with |i - j| < W: [max(0, i - W + 1), min(end, i + W)).
// Scores: s = (q.k) * scale, then with softcap C > 0 s = C * tanh(s / C) (Gemma-2), then the softmax.
//
// Kernel (version 1, straightforward flash-style): one block per (tile, head), a tile being BQ = 16
// query rows of one sequence. 4 warps, each owning 4 query rows. Keys stream through shared memory in
// chunks of BK = 32, one key per lane: each lane computes its key's score (a D-long dot product
// against the query row held in shared memory; float4 reads when D % 4 == 0), the warp takes the
// chunk max and sum with shuffles, the running max/sum are corrected (online softmax), and each lane
// accumulates D/32 output columns from the chunk's V rows. Tiles are loaded row by row, a warp per
// row and lanes along the head dimension (coalesced, no integer division). fp32 throughout, expf
// (not __expf). head_dim <= 256. A window narrows each tile's key loop to [first visible key of its first
// row, last of its last row); a chunk with no visible key for a row is skipped by that row (warp-uniform),
// so the running max is finite whenever it is used and a row with no visible key at all writes 0.
// Not tensor cores: for STS sentences (tens of tokens) attention is ~1% of the model's FLOPs.
#include "common.cuh"

namespace bb {

constexpr int kBQ = 16;        // query rows per tile (block)
constexpr int kBK = 32;        // keys per chunk: one per lane
constexpr int kWarps = 4;
constexpr int kRows = kBQ / kWarps;   // query rows per warp

// Row stride of the K tile: lane j reads row j. D + 1 (scalar reads) is conflict-free; with float4 reads
// (D % 4 == 0) D + 4 keeps rows 16-byte aligned, and each quarter-warp phase of 8 lanes then covers
// 8 distinct 4-bank groups.
__host__ __device__ inline int k_stride(int D) { return D % 4 == 0 ? D + 4 : D + 1; }

inline size_t attention_smem_bytes(int D) {
  return sizeof(float) * ((size_t)kBQ * D + (size_t)kBK * k_stride(D) + (size_t)kBK * D);
}

// DS: output columns per lane (D <= 32 * DS).
template <typename T, int DS>
__global__ void __launch_bounds__(128) attention_kernel(T *out, const T *q, const T *k, const T *v,
                                                        const int32_t *starts, const int32_t *valid,
                                                        const int32_t *tiles, int n_heads, int n_kv_heads, int D,
                                                        int causal, int pad_visible, float scale, float softcap,
                                                        int window) {
  BB_DYNAMIC_SMEM(float, smem);
  const int KS = k_stride(D);
  const bool vec4 = D % 4 == 0;
  float *Qs = smem;                    // [kBQ][D]
  float *Ks = Qs + kBQ * D;            // [kBK][KS]  (padded: lane j reads row j, no bank conflicts)
  float *Vs = Ks + kBK * KS;           // [kBK][D]

  const int tile = blockIdx.x, h = blockIdx.y;
  const int seq = tiles[2 * tile], q0 = tiles[2 * tile + 1];
  const int start = starts[seq];
  const int T_len = starts[seq + 1] - start;
  const int nvalid = valid[seq];
  const int kvh = h / (n_heads / n_kv_heads);
  const size_t qW = (size_t)n_heads * D, kW = (size_t)n_kv_heads * D;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int q_end = imin(q0 + kBQ, T_len);              // this tile's rows: [q0, q_end)
  // Row i sees keys [max(0, i - back), min(cap, i + ahead)): causal cap = valid, ahead = 1; bidirectional
  // cap = padKeysVisible ? T : valid, ahead = window or T; back = window - 1 or T (no window: no bound).
  // Three values instead of the mask, window and lengths stay live through the key loop (register pressure).
  const int cap = causal || !pad_visible ? nvalid : T_len;
  const int ahead = causal ? 1 : window > 0 ? imin(window, T_len) : T_len;
  const int back = window > 0 ? imin(window - 1, T_len) : T_len;
  const int kv_begin = imax(0, q0 - back);         // keys any row of the tile needs: both bounds grow with i
  const int kv_end = imin(cap, q_end - 1 + ahead);

  for (int r = warp; r < kBQ; r += kWarps) {
    const int i = q0 + r;
    const size_t base = (size_t)(start + i) * qW + (size_t)h * D;
    for (int c = lane; c < D; c += 32) Qs[r * D + c] = i < q_end ? ld(q, base + c) : 0.f;
  }

  float m[kRows], l[kRows], acc[kRows][DS];
#pragma unroll
  for (int rr = 0; rr < kRows; rr++) {
    m[rr] = -INFINITY;
    l[rr] = 0.f;
#pragma unroll
    for (int t = 0; t < DS; t++) acc[rr][t] = 0.f;
  }

  for (int kc = kv_begin; kc < kv_end; kc += kBK) {
    __syncthreads();   // the previous chunk is consumed (and, the first time, Qs is written)
    for (int j = warp; j < kBK; j += kWarps) {
      const int key = kc + j;
      const bool ok = key < kv_end;
      const size_t base = (size_t)(start + key) * kW + (size_t)kvh * D;
      for (int c = lane; c < D; c += 32) {
        Ks[j * KS + c] = ok ? ld(k, base + c) : 0.f;
        Vs[j * D + c] = ok ? ld(v, base + c) : 0.f;
      }
    }
    __syncthreads();

#pragma unroll
    for (int rr = 0; rr < kRows; rr++) {
      const int r = warp * kRows + rr, i = q0 + r;
      if (i >= q_end) continue;                                   // warp-uniform
      const int lo = imax(kc, i - back), hi = imin(imin(kc + kBK, cap), i + ahead);   // the row's keys in the chunk
      if (lo >= hi) continue;                                     // warp-uniform: none (fully masked chunk)
      const int key = kc + lane;
      const bool vis = key >= lo && key < hi;
      float s = -INFINITY;
      if (vis) {
        const float *qr = Qs + r * D, *kr = Ks + lane * KS;
        float d = 0.f;
        if (vec4) {   // same summation order as the scalar loop
          const float4 *q4 = reinterpret_cast<const float4 *>(qr), *k4 = reinterpret_cast<const float4 *>(kr);
#pragma unroll 4   // 8 (with the window/softcap logic) made ptxas spill a few registers on sm_80
          for (int c = 0; c < D / 4; c++) {
            const float4 a = q4[c], b = k4[c];
            d += a.x * b.x;
            d += a.y * b.y;
            d += a.z * b.z;
            d += a.w * b.w;
          }
        } else {
          for (int c = 0; c < D; c++) d += qr[c] * kr[c];
        }
        s = d * scale;
        if (softcap > 0.f) s = softcap * tanhf(s / softcap);
      }
      const float m_new = fmaxf(m[rr], warp_max(s));             // finite: key lo is visible
      const float p = vis ? expf(s - m_new) : 0.f;
      const float corr = expf(m[rr] - m_new);                     // 0 on the first chunk (m = -inf)
      l[rr] = l[rr] * corr + warp_sum(p);
      m[rr] = m_new;
#pragma unroll
      for (int t = 0; t < DS; t++) acc[rr][t] *= corr;
      for (int j = lo - kc; j < hi - kc; j++) {                   // p = 0 outside [lo, hi)
        const float pj = __shfl_sync(kFullMask, p, j);
#pragma unroll
        for (int t = 0; t < DS; t++) {
          const int c = lane + 32 * t;
          if (c < D) acc[rr][t] += pj * Vs[j * D + c];
        }
      }
    }
  }

#pragma unroll
  for (int rr = 0; rr < kRows; rr++) {
    const int r = warp * kRows + rr, i = q0 + r;
    if (i >= q_end) continue;
    const float inv = l[rr] > 0.f ? 1.0f / l[rr] : 0.f;   // no visible key: 0, as attentionRef
#pragma unroll
    for (int t = 0; t < DS; t++) {
      const int c = lane + 32 * t;
      if (c < D) st(out, (size_t)(start + i) * qW + (size_t)h * D + c, acc[rr][t] * inv);
    }
  }
}

template <typename T, int DS>
static int launch_ds(void *out, const void *q, const void *k, const void *v, const int32_t *starts,
                     const int32_t *valid, const int32_t *tiles, int n_tiles, int n_heads, int n_kv_heads, int D,
                     int causal, int pad_visible, float scale, float softcap, int window) {
  auto kern = attention_kernel<T, DS>;
  const size_t smem = attention_smem_bytes(D);
#ifndef BB_EMULATE
  if (smem > 48 * 1024) {
    cudaError_t e = cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return fail(BB_ERR_CUDA, "bb_attention_varlen: %zu bytes of shared memory: %s", smem, cudaGetErrorString(e));
  }
#endif
  BB_LAUNCH(kern, dim3((unsigned)n_tiles, (unsigned)n_heads), dim3(32 * kWarps), smem, (T *)out, (const T *)q,
            (const T *)k, (const T *)v, starts, valid, tiles, n_heads, n_kv_heads, D, causal, pad_visible, scale,
            softcap, window);
  return after_launch("bb_attention_varlen");
}

template <typename T>
static int launch(void *out, const void *q, const void *k, const void *v, const int32_t *starts, const int32_t *valid,
                  const int32_t *tiles, int n_tiles, int n_heads, int n_kv_heads, int D, int causal, int pad_visible,
                  float scale, float softcap, int window) {
#define BB_ATTN_ARGS out, q, k, v, starts, valid, tiles, n_tiles, n_heads, n_kv_heads, D, causal, pad_visible, scale, softcap, window
  if (D <= 32) return launch_ds<T, 1>(BB_ATTN_ARGS);
  if (D <= 64) return launch_ds<T, 2>(BB_ATTN_ARGS);
  if (D <= 128) return launch_ds<T, 4>(BB_ATTN_ARGS);
  return launch_ds<T, 8>(BB_ATTN_ARGS);
#undef BB_ATTN_ARGS
}

}  // namespace bb

extern "C" {

int bb_attention_block_q(void) { return bb::kBQ; }

int bb_attention_plan(const int32_t *starts, int count, int block_q, int32_t *tiles, int cap) {
  if (!starts || count < 0 || block_q <= 0 || (cap > 0 && !tiles)) {
    bb::fail(BB_ERR_ARG, "bb_attention_plan: bad arguments");
    return -1;
  }
  int n = 0;
  for (int s = 0; s < count; s++) {
    const int T = starts[s + 1] - starts[s];
    if (T < 0) {
      bb::fail(BB_ERR_ARG, "bb_attention_plan: starts decreases at sequence %d (%d -> %d)", s, starts[s], starts[s + 1]);
      return -1;
    }
    for (int q0 = 0; q0 < T; q0 += block_q) {
      if (n >= cap) {
        bb::fail(BB_ERR_ARG, "bb_attention_plan: more than %d tiles", cap);
        return -1;
      }
      tiles[2 * n] = s;
      tiles[2 * n + 1] = q0;
      n++;
    }
  }
  return n;
}

int bb_attention_varlen(void *out, const void *q, const void *k, const void *v, int dt, const int32_t *starts,
                        const int32_t *valid, const int32_t *tiles, int n_tiles, int n_heads, int n_kv_heads,
                        int head_dim, int mask, int pad_keys_visible, float scale, float softcap, int window) {
  BB_REQUIRE_INIT("bb_attention_varlen");
  BB_REQUIRE(out && q && k && v && starts && valid && tiles, "bb_attention_varlen: null pointer");
  BB_REQUIRE(n_heads > 0 && n_kv_heads > 0 && n_heads % n_kv_heads == 0,
             "bb_attention_varlen: %d query heads is not a multiple of %d kv heads", n_heads, n_kv_heads);
  BB_REQUIRE(head_dim > 0 && head_dim <= 256, "bb_attention_varlen: head_dim %d outside 1..256", head_dim);
  BB_REQUIRE(n_heads <= 65535, "bb_attention_varlen: %d heads", n_heads);
  BB_REQUIRE(mask == BB_MASK_CAUSAL || mask == BB_MASK_BIDIRECTIONAL, "bb_attention_varlen: bad mask %d", mask);
  BB_REQUIRE(isfinite(scale) && scale > 0.f, "bb_attention_varlen: scale %g (must be > 0)", (double)scale);
  BB_REQUIRE(isfinite(softcap) && softcap >= 0.f, "bb_attention_varlen: softcap %g (0 = none)", (double)softcap);
  BB_REQUIRE(window >= 0, "bb_attention_varlen: window %d (0 = none)", window);
  if (n_tiles == 0) return BB_OK;
  BB_REQUIRE(n_tiles > 0, "bb_attention_varlen: %d tiles", n_tiles);
  const int causal = mask == BB_MASK_CAUSAL, pv = pad_keys_visible != 0;
  if (dt == BB_F32) return bb::launch<float>(out, q, k, v, starts, valid, tiles, n_tiles, n_heads, n_kv_heads, head_dim, causal, pv, scale, softcap, window);
  if (dt == BB_BF16) return bb::launch<bb::bf16>(out, q, k, v, starts, valid, tiles, n_tiles, n_heads, n_kv_heads, head_dim, causal, pv, scale, softcap, window);
  if (dt == BB_F16) return bb::launch<bb::f16>(out, q, k, v, starts, valid, tiles, n_tiles, n_heads, n_kv_heads, head_dim, causal, pv, scale, softcap, window);
  return bb::fail(BB_ERR_ARG, "bb_attention_varlen: bad dtype %d", dt);
}

}  // extern "C"
