#include <math.h>
#include <string.h>

#include "kernels/scalar.h"

/*
 * Every conversion goes through one of two carriers: float for f32 sources, int64_t for the
 * integer and bool sources (which it holds exactly).
 *
 * Float to integer truncates toward zero and saturates at the target's range, with NaN giving
 * 0. ONNX leaves out-of-range values undefined and in C they are undefined behaviour, so some
 * definite answer is needed; saturation is the one a vector kernel can reproduce exactly on
 * every ISA (clamp, then convert). Integer to narrower integer wraps modulo 2^bits like NumPy
 * (GCC and Clang define signed narrowing that way).
 */

static int64_t load_integer(thaw_dtype dtype, const void *x, size_t i) {
  switch (dtype) {
  case THAW_DTYPE_I8: return ((const int8_t *)x)[i];
  case THAW_DTYPE_U8:
  case THAW_DTYPE_BOOL: return ((const uint8_t *)x)[i];
  case THAW_DTYPE_I32: return ((const int32_t *)x)[i];
  default: return ((const int64_t *)x)[i];
  }
}

static void store_integer(thaw_dtype dtype, void *y, size_t i, int64_t value) {
  switch (dtype) {
  case THAW_DTYPE_I8: ((int8_t *)y)[i] = (int8_t)value; break;
  case THAW_DTYPE_U8: ((uint8_t *)y)[i] = (uint8_t)value; break;
  case THAW_DTYPE_BOOL: ((uint8_t *)y)[i] = value != 0; break;
  case THAW_DTYPE_I32: ((int32_t *)y)[i] = (int32_t)value; break;
  default: ((int64_t *)y)[i] = value; break;
  }
}

static void integer_range(thaw_dtype dtype, int64_t *low, int64_t *high) {
  switch (dtype) {
  case THAW_DTYPE_I8: *low = INT8_MIN, *high = INT8_MAX; break;
  case THAW_DTYPE_U8: *low = 0, *high = UINT8_MAX; break;
  case THAW_DTYPE_I32: *low = INT32_MIN, *high = INT32_MAX; break;
  default: *low = INT64_MIN, *high = INT64_MAX; break;
  }
}

static int64_t float_to_integer(float value, int64_t low, int64_t high) {
  if (isnan(value)) return 0;
  const double truncated = truncf(value);
  /* high + 1 and low are powers of two (or 0), so both bounds are exact in double. */
  if (truncated >= (double)high + 1.0) return high;
  if (truncated < (double)low) return low;
  return (int64_t)truncated;
}

void thaw_x_cast__scalar(thaw_dtype from, thaw_dtype to, size_t n, const void *x, void *y) {
  if (from == to) {
    memcpy(y, x, n * thaw_dtype_size(from));
    return;
  }
  if (from == THAW_DTYPE_F32) {
    const float *x_float = x;
    if (to == THAW_DTYPE_BOOL) {
      for (size_t i = 0; i < n; i++) ((uint8_t *)y)[i] = x_float[i] != 0.0f;
      return;
    }
    int64_t low, high;
    integer_range(to, &low, &high);
    for (size_t i = 0; i < n; i++)
      store_integer(to, y, i, float_to_integer(x_float[i], low, high));
    return;
  }
  if (to == THAW_DTYPE_F32) {
    for (size_t i = 0; i < n; i++) ((float *)y)[i] = (float)load_integer(from, x, i);
    return;
  }
  for (size_t i = 0; i < n; i++) store_integer(to, y, i, load_integer(from, x, i));
}
