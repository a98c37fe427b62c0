// half_host.h: host-side (plain C++) conversions between fp32 and the two 16-bit storage types, shared
// by runtime.cu (bb_upload/bb_download and the bb_f32_to_* helpers), the emulation's device types
// (emu.h) and the CPU cuBLAS stand-in (cublas_emu.cpp), so every side rounds the same way:
//   bf16: round to nearest even, NaN -> quiet NaN, overflow -> inf     (cuda_bf16.h __float2bfloat16_rn)
//   fp16: round to nearest even of the float32 value, |x| >= 65520 -> inf, below 2^-14 a subnormal,
//         NaN -> quiet NaN                                               (cuda_fp16.h __float2half_rn)
// Widening is exact. The TypeScript twins are bf16Bits / f16Bits in src/model/dtype.ts.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

namespace bb_host {

inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

inline float bf16_to_f32(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, frac = h & 0x3ffu;
  uint32_t u;
  if (exp == 0x1fu) {
    u = sign | 0x7f800000u | (frac << 13);
  } else if (exp != 0) {
    u = sign | ((exp + 112u) << 23) | (frac << 13);
  } else {
    const float v = (float)frac * 5.9604644775390625e-8f;   // frac * 2^-24, exact
    memcpy(&u, &v, 4);
    u |= sign;
  }
  float f;
  memcpy(&f, &u, 4);
  return f;
}

inline uint16_t f32_to_f16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0u));
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);
  if (a < 0x38800000u) {                                   // subnormal: round |f| * 2^24 to an integer
    const double t = fabs((double)f) * 16777216.0;         // exact
    double r = floor(t);
    const double d = t - r;
    if (d > 0.5 || (d == 0.5 && fmod(r, 2.0) == 1.0)) r += 1.0;
    return (uint16_t)(sign | (uint32_t)r);
  }
  uint32_t h = (a >> 13) - (112u << 10);
  const uint32_t rem = a & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
  return (uint16_t)(sign | h);
}

}  // namespace bb_host
