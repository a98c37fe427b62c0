// cublas.cu: load cuBLAS at run time (dlopen + dlsym), so the library builds without cuBLAS and a
// missing cuBLAS is a clear bb_init error instead of a loader failure.
// The emulation build loads libcublas_emu.so (cublas_emu.cpp, a CPU GEMM with the same ABI) from
// its own directory through this very code.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "cublas_dl.h"

namespace bb {

Blas g_blas;

const char *blas_status_name(int s) {
  switch (s) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_(unknown)";
  }
}

static std::string own_dir() {
  Dl_info info;
  if (dladdr((void *)&own_dir, &info) && info.dli_fname) {
    std::string p = info.dli_fname;
    size_t slash = p.rfind('/');
    if (slash != std::string::npos) return p.substr(0, slash);
  }
  return ".";
}

int blas_init() {
  if (g_blas.handle) return BB_OK;
  std::string candidates[4];
  int nc = 0;
  const char *env = getenv("BELLM_CUBLAS");
  if (env && *env) candidates[nc++] = env;
#ifdef BB_EMULATE
  candidates[nc++] = own_dir() + "/libcublas_emu.so";
#else
  candidates[nc++] = "libcublas.so.13";
  candidates[nc++] = "libcublas.so.12";
  candidates[nc++] = "libcublas.so";
#endif
  std::string tried;
  void *lib = nullptr;
  std::string used;
  for (int i = 0; i < nc && !lib; i++) {
    lib = dlopen(candidates[i].c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      used = candidates[i];
    } else {
      const char *e = dlerror();
      tried += "\n  " + candidates[i] + ": " + (e ? e : "not found");
    }
  }
  if (!lib) {
    return fail(BB_ERR_CUBLAS,
                "cuBLAS could not be loaded (install the CUDA 13 or 12 cuBLAS runtime, put libcublas.so.13 on the "
                "loader path, or set BELLM_CUBLAS=/path/to/libcublas.so.13); tried:%s",
                tried.c_str());
  }
  Blas b;
  b.lib = lib;
  b.create = (cublasCreate_fn)dlsym(lib, "cublasCreate_v2");
  b.destroy = (cublasDestroy_fn)dlsym(lib, "cublasDestroy_v2");
  b.set_stream = (cublasSetStream_fn)dlsym(lib, "cublasSetStream_v2");
  b.gemm_ex = (cublasGemmEx_fn)dlsym(lib, "cublasGemmEx");
  b.get_version = (cublasGetVersion_fn)dlsym(lib, "cublasGetVersion_v2");
  const char *missing = !b.create ? "cublasCreate_v2" : !b.destroy ? "cublasDestroy_v2"
                      : !b.set_stream ? "cublasSetStream_v2" : !b.gemm_ex ? "cublasGemmEx" : nullptr;
  if (missing) {
    dlclose(lib);
    return fail(BB_ERR_CUBLAS, "%s has no symbol %s", used.c_str(), missing);
  }
  int st = b.create(&b.handle);
  if (st != BB_CUBLAS_STATUS_SUCCESS) {
    dlclose(lib);
    return fail(BB_ERR_CUBLAS, "cublasCreate_v2 (%s): %s (%d)", used.c_str(), blas_status_name(st), st);
  }
  st = b.set_stream(b.handle, g_stream);
  if (st != BB_CUBLAS_STATUS_SUCCESS) {
    b.destroy(b.handle);
    dlclose(lib);
    return fail(BB_ERR_CUBLAS, "cublasSetStream_v2: %s (%d)", blas_status_name(st), st);
  }
  int version = 0;
  if (b.get_version) {
    st = b.get_version(b.handle, &version);
    if (st != BB_CUBLAS_STATUS_SUCCESS) {
      b.destroy(b.handle);
      dlclose(lib);
      return fail(BB_ERR_CUBLAS, "cublasGetVersion_v2 (%s): %s (%d)", used.c_str(), blas_status_name(st), st);
    }
  }
  snprintf(b.info, sizeof b.info, "%s (version %d)", used.c_str(), version);
  g_blas = b;
  return BB_OK;
}

int blas_shutdown() {
  if (!g_blas.handle) return BB_OK;
  const int st = g_blas.destroy(g_blas.handle);
  dlclose(g_blas.lib);
  g_blas = Blas();
  if (st != BB_CUBLAS_STATUS_SUCCESS) return fail(BB_ERR_CUBLAS, "cublasDestroy_v2: %s (%d)", blas_status_name(st), st);
  return BB_OK;
}

}  // namespace bb

extern "C" const char *bb_cublas_info(void) { return bb::g_blas.info; }
