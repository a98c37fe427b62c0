// cublas_dl.h: the slice of the cuBLAS ABI bellm_cuda uses, declared here so that building needs no
// cuBLAS headers or libraries. cuBLAS itself is dlopen()ed by bb_init (cublas.cu): BELLM_CUBLAS if set,
// else libcublas.so.13, libcublas.so.12, libcublas.so. Values from cublas_api.h / library_types.h.
#pragma once
#include "common.cuh"

namespace bb {

// cudaDataType_t (library_types.h)
enum { BB_CUDA_R_32F = 0, BB_CUDA_R_16F = 2, BB_CUDA_R_16BF = 14 };
// cublasOperation_t
enum { BB_CUBLAS_OP_N = 0, BB_CUBLAS_OP_T = 1 };
// cublasComputeType_t: CUBLAS_COMPUTE_32F = 68 (fp32 accumulation; no TF32 unless the math mode or
// NVIDIA_TF32_OVERRIDE asks for it, and we never set the math mode).
enum { BB_CUBLAS_COMPUTE_32F = 68 };
// cublasGemmAlgo_t
enum { BB_CUBLAS_GEMM_DEFAULT = -1 };
// cublasStatus_t: 0 success
enum { BB_CUBLAS_STATUS_SUCCESS = 0 };

typedef void *cublasHandle_dl;
typedef int (*cublasCreate_fn)(cublasHandle_dl *);
typedef int (*cublasDestroy_fn)(cublasHandle_dl);
typedef int (*cublasSetStream_fn)(cublasHandle_dl, cudaStream_t);
typedef int (*cublasGetVersion_fn)(cublasHandle_dl, int *);
typedef int (*cublasGemmEx_fn)(cublasHandle_dl, int transa, int transb, int m, int n, int k,
                               const void *alpha, const void *A, int Atype, int lda,
                               const void *B, int Btype, int ldb, const void *beta,
                               void *C, int Ctype, int ldc, int computeType, int algo);

struct Blas {
  void *lib = nullptr;
  cublasHandle_dl handle = nullptr;
  cublasCreate_fn create = nullptr;
  cublasDestroy_fn destroy = nullptr;
  cublasSetStream_fn set_stream = nullptr;
  cublasGetVersion_fn get_version = nullptr;   // optional
  cublasGemmEx_fn gemm_ex = nullptr;
  char info[512] = "";
};
extern Blas g_blas;

/** dlopen cuBLAS, resolve the symbols, create a handle bound to g_stream. */
int blas_init();
/** Destroy the handle and dlclose cuBLAS (a no-op when not loaded). */
int blas_shutdown();
const char *blas_status_name(int status);

}  // namespace bb
