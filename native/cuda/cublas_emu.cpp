// cublas_emu.cpp: libcublas_emu.so, a CPU stand-in for the five cuBLAS entry points bellm_cuda uses,
// with cuBLAS's ABI and argument rules. The emulation build of bellm_cuda dlopen()s it through the
// same loader as the real cuBLAS (cublas.cu), so the GEMM call in matmul.cu (transposes, leading
// dimensions, types) is checked on machines without a GPU. Column-major, as cuBLAS:
//   C[i + j*ldc] = alpha * sum_p op(A)[i, p] * op(B)[p, j] + beta * C[i + j*ldc]
//   op(A)[i, p] = transa == N ? A[i + p*lda] : A[p + i*lda]   (m x k)
//   op(B)[p, j] = transb == N ? B[p + j*ldb] : B[j + p*ldb]   (k x n)
// Supported exactly where bellm needs it: A, B, C all CUDA_R_32F, all CUDA_R_16BF or all CUDA_R_16F, compute
// CUBLAS_COMPUTE_32F (68), fp32 accumulation, alpha/beta host floats. Anything else returns
// CUBLAS_STATUS_NOT_SUPPORTED (15); bad sizes or leading dimensions CUBLAS_STATUS_INVALID_VALUE (7),
// following the cuBLAS documentation of cublasGemmEx.
#include <stdint.h>
#include <string.h>

#include <vector>

#include "half_host.h"

namespace {

constexpr int kSuccess = 0, kNotInitialized = 1, kInvalidValue = 7, kNotSupported = 15;
constexpr int kR32F = 0, kR16F = 2, kR16BF = 14, kCompute32F = 68, kOpN = 0, kOpT = 1;

struct Handle { int magic; void *stream; };
constexpr int kMagic = 0x0b1a5;
int g_live_handles = 0;   // created and not yet destroyed (tests check that bellm destroys its handle)

float load(const void *p, int type, size_t i) {
  if (type == kR32F) return static_cast<const float *>(p)[i];
  const uint16_t b = static_cast<const uint16_t *>(p)[i];
  return type == kR16BF ? bb_host::bf16_to_f32(b) : bb_host::f16_to_f32(b);
}

void store(void *p, int type, size_t i, float v) {
  if (type == kR32F) {
    static_cast<float *>(p)[i] = v;
    return;
  }
  static_cast<uint16_t *>(p)[i] = type == kR16BF ? bb_host::f32_to_bf16(v) : bb_host::f32_to_f16(v);
}

}  // namespace

extern "C" {

/** Not a cuBLAS symbol: handles created and not destroyed, for the lifecycle tests. */
int cublasEmuLiveHandles(void) { return g_live_handles; }

int cublasCreate_v2(void **handle) {
  if (!handle) return kInvalidValue;
  *handle = new Handle{kMagic, nullptr};
  g_live_handles++;
  return kSuccess;
}

int cublasDestroy_v2(void *handle) {
  Handle *h = static_cast<Handle *>(handle);
  if (!h || h->magic != kMagic) return kNotInitialized;
  h->magic = 0;
  delete h;
  g_live_handles--;
  return kSuccess;
}

int cublasSetStream_v2(void *handle, void *stream) {
  Handle *h = static_cast<Handle *>(handle);
  if (!h || h->magic != kMagic) return kNotInitialized;
  h->stream = stream;
  return kSuccess;
}

int cublasGetVersion_v2(void *handle, int *version) {
  if (!handle || !version) return kInvalidValue;
  *version = 0;   // "0" marks the CPU stand-in
  return kSuccess;
}

int cublasGemmEx(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, const void *A,
                 int Atype, int lda, const void *B, int Btype, int ldb, const void *beta, void *C, int Ctype, int ldc,
                 int computeType, int algo) {
  (void)algo;
  Handle *h = static_cast<Handle *>(handle);
  if (!h || h->magic != kMagic) return kNotInitialized;
  if (computeType != kCompute32F) return kNotSupported;
  if (!(Atype == Btype && Btype == Ctype && (Atype == kR32F || Atype == kR16BF || Atype == kR16F))) return kNotSupported;
  if ((transa != kOpN && transa != kOpT) || (transb != kOpN && transb != kOpT)) return kInvalidValue;
  if (m < 0 || n < 0 || k < 0) return kInvalidValue;
  const int minLda = transa == kOpN ? m : k, minLdb = transb == kOpN ? k : n;
  if (lda < (minLda > 1 ? minLda : 1) || ldb < (minLdb > 1 ? minLdb : 1) || ldc < (m > 1 ? m : 1)) return kInvalidValue;
  if (!alpha || !beta || !A || !B || !C) return kInvalidValue;
  const float a = *static_cast<const float *>(alpha), b = *static_cast<const float *>(beta);
  std::vector<float> col(k);
  for (int j = 0; j < n; j++) {
    for (int p = 0; p < k; p++) col[p] = load(B, Btype, transb == kOpN ? (size_t)p + (size_t)j * ldb : (size_t)j + (size_t)p * ldb);
    for (int i = 0; i < m; i++) {
      float s = 0.f;
      for (int p = 0; p < k; p++) {
        s += load(A, Atype, transa == kOpN ? (size_t)i + (size_t)p * lda : (size_t)p + (size_t)i * lda) * col[p];
      }
      const size_t ci = (size_t)i + (size_t)j * ldc;
      store(C, Ctype, ci, b == 0.f ? a * s : a * s + b * load(C, Ctype, ci));   // beta 0: C is not read (cuBLAS)
    }
  }
  return kSuccess;
}

}  // extern "C"
