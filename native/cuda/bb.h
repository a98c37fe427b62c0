/*
 * bellm_cuda: the C ABI of the CUDA backend (src/backend/cuda/lib.ts binds exactly these symbols).
 *
 * One .cu per op family, entry points named after the TS ops in src/backend/ops.ts:
 *   runtime.cu    bb_init, bb_malloc/bb_free, bb_upload/bb_download, bb_fill_*, errors, host bf16 helpers
 *   cublas.cu     run-time loading of cuBLAS (dlopen, no cuBLAS headers needed at build time)
 *   matmul.cu     bb_matmul            (cublasGemmEx, fp32 accumulation)
 *   embedding.cu  bb_embedding         (row gather)
 *   rmsnorm.cu    bb_rmsnorm           (also per group: [N, G*h] viewed as [N*G, h])
 *   rope.cu       bb_rope              (Hugging Face rotate_half layout, cos/sin table from the caller)
 *   attention.cu  bb_attention_varlen  (packed varlen sequences, GQA, causal/bidirectional, sliding window,
 *                                       scale, logit soft-capping, online softmax)
 *                 bb_attention_plan    (host: query tiles of a packed batch)
 *   elementwise.cu bb_silu_mul, bb_gelu_tanh_mul, bb_add, bb_add_bias, bb_scale
 *   pool.cu       bb_pool, bb_pool_span (last/avg/first/weighted over each sequence's valid tokens or a span)
 *
 * Conventions
 * - Every tensor is row-major and dense. `dt` is the storage type of the activations AND weights the
 *   op reads and writes (BB_F32, BB_BF16 or BB_F16); all arithmetic is fp32 (bf16/fp16 values are
 *   widened on load and rounded to nearest-even once on store; fp16 overflows to inf past 65504).
 *   bb_pool always writes fp32.
 * - Device pointers come from bb_malloc. Ops are asynchronous on the library's one stream; bb_download
 *   and bb_synchronize wait for it. Index arrays (ids, positions, starts, valid, tiles) are DEVICE int32
 *   arrays uploaded with bb_upload_i32.
 * - Return value: 0 = ok, else a BB_ERR_* code and bb_last_error() says what failed.
 * - Built twice by scripts/build-cuda.mjs: libbellm_cuda.so (nvcc, the real thing) and
 *   libbellm_cuda_emu.so (g++ -DBB_EMULATE: the same kernel source run on the CPU by emu.h, with a
 *   CPU "cuBLAS" loaded through the same dlopen path), so the whole ABI can be tested without a GPU.
 */
#ifndef BELLM_BB_H
#define BELLM_BB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BB_ABI_VERSION 5

enum { BB_F32 = 0, BB_BF16 = 1, BB_F16 = 2 };
enum { BB_OK = 0, BB_ERR_ARG = 1, BB_ERR_CUDA = 2, BB_ERR_CUBLAS = 3, BB_ERR_STATE = 4 };
enum { BB_MASK_CAUSAL = 0, BB_MASK_BIDIRECTIONAL = 1 };
enum { BB_POOL_LAST = 0, BB_POOL_AVG = 1, BB_POOL_FIRST = 2, BB_POOL_WEIGHTED = 3 };

/* ---- library, device, errors (runtime.cu) ---- */
int bb_abi_version(void);
/** "bellm_cuda abi 1, CUDA 13.0, sm_80 sm_90" or "... emulated on the CPU". */
const char *bb_build_info(void);
int bb_is_emulated(void);
/** Message of the last failure on this thread ("" if none). */
const char *bb_last_error(void);
/** Number of CUDA devices, or -1 (bb_last_error says why: no driver, no device...). Needs no init. */
int bb_device_count(void);
/** "NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB, driver 13.0" into buf. Needs no init. */
int bb_device_describe(int device, char *buf, int len);
/** Select the device, check it supports stream-ordered memory pools, create the stream and memory pool,
 *  load cuBLAS. Idempotent for one device. */
int bb_init(int device);
/** Wait for the stream, destroy the cuBLAS handle, unload cuBLAS and destroy the stream. Live buffers
 *  from bb_malloc are an error unless free_all is nonzero (then they are freed first: process exit).
 *  bb_init may be called again afterwards. A no-op before bb_init. */
int bb_shutdown(int free_all);
/** cuBLAS as loaded by bb_init: "libcublas.so.13 (version 130100)". */
const char *bb_cublas_info(void);
int bb_synchronize(void);
/** Named integer options: "sync_debug" (1: synchronize and check after every op),
 *  "emu_order" (emulation only: 0 thread order, 1 reverse, 2 seeded shuffle per block). */
int bb_set_option(const char *name, int64_t value);

/* ---- memory ---- */
/** Device memory (stream-ordered pool). NULL on failure (see bb_last_error). */
void *bb_malloc(size_t bytes);
int bb_free(void *p);
/** out[0] live bytes from bb_malloc, out[1] peak live bytes, out[2] device free, out[3] device total. */
int bb_mem_stats(uint64_t *out);
int bb_mem_reset_peak(void);
/** Host fp32 -> device storage `dt` (bf16/fp16: round to nearest even on the host). Synchronous. */
int bb_upload(void *dst, int dt, const float *src, size_t n);
/** Device storage `dt` -> host fp32. Waits for all queued work first. */
int bb_download(float *dst, const void *src, int dt, size_t n);
int bb_upload_i32(void *dst, const int32_t *src, size_t n);
/** Device to device, bytes. */
int bb_copy(void *dst, const void *src, size_t bytes);
/** dst[i] = mean + std * N(0,1) from a counter-based generator (seed, i): same values for any launch shape. */
int bb_fill_normal(void *dst, int dt, size_t n, float mean, float std, uint64_t seed);
int bb_fill(void *dst, int dt, size_t n, float value);

/* ---- host helpers (no device, no init) ---- */
void bb_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
void bb_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
/** IEEE binary16: round to nearest even, overflow to inf, NaN stays a quiet NaN. */
void bb_f32_to_f16(const float *src, uint16_t *dst, size_t n);
void bb_f16_to_f32(const uint16_t *src, float *dst, size_t n);
/** Query rows per attention tile (the block size bb_attention_plan must be called with). */
int bb_attention_block_q(void);
/** Tiles of a packed batch: (sequence, first query row) pairs, for every ceil(T_s / block_q) block of
 *  every sequence, written as tiles[2i], tiles[2i+1]. Returns the tile count, or -1 if `cap` (pairs)
 *  is too small or starts is not non-decreasing. */
int bb_attention_plan(const int32_t *starts, int count, int block_q, int32_t *tiles, int cap);

/* ---- ops (asynchronous) ---- */
/** out[n, :] = table[ids[n], :]   table [vocab, h]; an id outside [0, vocab) gives a row of NaN. */
int bb_embedding(void *out, const void *table, int dt, const int32_t *ids, int n, int vocab, int h);
/** out = x / sqrt(mean(x^2) + eps) * w, row-wise   x, out [n, h], w [h]. Per-group norms (Qwen-3/Gemma-3
 *  q/k norms over each head) pass x [N, G*h] as n = N*G rows of h. */
int bb_rmsnorm(void *out, const void *x, const void *w, int dt, int n, int h, float eps);
/** out = x W^T   x [n, k], W [o, k], out [n, o] (cublasGemmEx, CUBLAS_COMPUTE_32F; A, B, C all of type `dt`) */
int bb_matmul(void *out, const void *x, const void *w, int dt, int n, int k, int o);
/** In place on x [n, n_heads * head_dim]: pairs (i, i + head_dim/2) rotated by the angle of
 *  positions[row] from cos_tab/sin_tab [tab_rows, head_dim/2] (fp32; a position >= tab_rows gives NaN). */
int bb_rope(void *x, int dt, const int32_t *positions, int n, int n_heads, int head_dim,
            const float *cos_tab, const float *sin_tab, int tab_rows);
/** Softmax attention per packed sequence and head. q/out [N, n_heads*head_dim], k/v [N, n_kv_heads*head_dim],
 *  starts [count+1], valid [count], tiles from bb_attention_plan (n_tiles pairs). Query row i of a
 *  sequence with T rows and `valid` real tokens sees keys [0, end): causal end = min(i+1, valid);
 *  bidirectional end = pad_keys_visible ? T : valid (src/backend/cpu/kernels.ts keyEnd); with
 *  window > 0 only keys j with |i - j| < window of those (0 = no window). Scores are (q.k) * scale, then
 *  softcap * tanh(score / softcap) when softcap > 0 (0 = none). A row that sees no key gives 0.
 *  head_dim <= 256. */
int bb_attention_varlen(void *out, const void *q, const void *k, const void *v, int dt,
                        const int32_t *starts, const int32_t *valid, const int32_t *tiles, int n_tiles,
                        int n_heads, int n_kv_heads, int head_dim, int mask, int pad_keys_visible,
                        float scale, float softcap, int window);
/** out = silu(gate) * up, n elements */
int bb_silu_mul(void *out, const void *gate, const void *up, int dt, size_t n);
/** out = gelu_tanh(gate) * up, n elements: 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))), fp32 */
int bb_gelu_tanh_mul(void *out, const void *gate, const void *up, int dt, size_t n);
/** x += y, n elements */
int bb_add(void *x, const void *y, int dt, size_t n);
/** x[r, :] += b   x [rows, cols], b [cols] (both `dt`) */
int bb_add_bias(void *x, const void *b, int dt, int rows, int cols);
/** x *= s, n elements (fp32 product, one rounding) */
int bb_scale(void *x, int dt, size_t n, float s);
/** out [count, h] fp32: per sequence, over its first valid[s] rows of x [N, h] (dt). */
int bb_pool(float *out, const void *x, int dt, const int32_t *starts, const int32_t *valid, int count, int h, int mode);
/** out [count, h] fp32: per sequence, over its rows [from[s], to[s]) (offsets within the sequence; DEVICE int32
 *  arrays [count]); the caller guarantees 0 <= from < to <= its rows (an empty range gives NaN). */
int bb_pool_span(float *out, const void *x, int dt, const int32_t *starts, const int32_t *from, const int32_t *to,
                 int count, int h, int mode);

#ifdef __cplusplus
}
#endif
#endif
