// matmul.cu: bb_matmul, out = x W^T with cublasGemmEx (CPU reference: matmulRef).
//
// Row-major x [n, k], W [o, k] (the checkpoint's [out, in]), out [n, o]. cuBLAS is column-major: a
// row-major [r, c] buffer is the column-major [c, r] matrix, so x is X = x^T (k x n), W is Wc = W^T
// (k x o) and out is O = out^T (o x n) = W x^T = Wc^T X. Hence transa = T, transb = N, m = o, n = n,
// k = k, lda = k, ldb = k, ldc = o.
// Types: A, B, C all CUDA_R_16BF (bf16 backend), all CUDA_R_16F (fp16 backend) or all CUDA_R_32F (fp32
// backend), CUBLAS_COMPUTE_32F: fp32 accumulation, one rounding of each output to the storage type.
#include "cublas_dl.h"

extern "C" int bb_matmul(void *out, const void *x, const void *w, int dt, int n, int k, int o) {
  BB_REQUIRE_INIT("bb_matmul");
  BB_REQUIRE(out && x && w, "bb_matmul: null pointer");
  BB_REQUIRE(n > 0 && k > 0 && o > 0, "bb_matmul: bad shape x [%d, %d], W [%d, %d]", n, k, o, k);
  BB_REQUIRE(bb::valid_dtype(dt), "bb_matmul: bad dtype %d", dt);
  const int t = dt == BB_BF16 ? bb::BB_CUDA_R_16BF : dt == BB_F16 ? bb::BB_CUDA_R_16F : bb::BB_CUDA_R_32F;
  const float alpha = 1.0f, beta = 0.0f;
  const int st = bb::g_blas.gemm_ex(bb::g_blas.handle, bb::BB_CUBLAS_OP_T, bb::BB_CUBLAS_OP_N, o, n, k, &alpha, w, t, k,
                                    x, t, k, &beta, out, t, o, bb::BB_CUBLAS_COMPUTE_32F, bb::BB_CUBLAS_GEMM_DEFAULT);
  if (st != bb::BB_CUBLAS_STATUS_SUCCESS) {
    return bb::fail(BB_ERR_CUBLAS, "bb_matmul: cublasGemmEx(x [%d, %d], W [%d, %d], %s): %s (%d)", n, k, o, k,
                    bb::dtype_name(dt), bb::blas_status_name(st), st);
  }
  return bb::after_launch("bb_matmul");
}
