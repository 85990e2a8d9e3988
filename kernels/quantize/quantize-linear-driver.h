/*
 * ONNX's linear quantization kernels (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear),
 * one source for every vector ISA: the walk over [outer][channels][inner] and the choice of
 * dtype. An ISA's kernels/quantize/quantize-linear-<isa>.h brings the row functions declared
 * below; its three entry files include that header, then this one, and bind a drive function.
 *
 * A row function converts the longest prefix of a row that is a whole number of its vector
 * steps and returns its length; the rest of the row (fewer elements than one step) goes
 * through the reference's own per-value formula, so a row never reads or writes past its end
 * and every variant computes each value with the same operations in the same order: the
 * results are bit-exact against the scalar reference.
 */
#ifndef THAW_KERNELS_QUANTIZE_LINEAR_DRIVER_H
#define THAW_KERNELS_QUANTIZE_LINEAR_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/quantize/quantize-linear.h"

/* thaw_quantize_value of each x[i] with these operands, the level stored as its byte (two's
 * complement for int8). */
static inline size_t thaw_quantize_row(size_t n, const float *x, float scale, float zero_point,
                                       float lowest, float highest, uint8_t *y);
/* y[i] = (float(x[i]) - zero_point) * scale, x int8 or uint8 (is_signed), or int32. */
static inline size_t thaw_dequantize_row_bytes(size_t n, const uint8_t *x, bool is_signed,
                                               float zero_point, float scale, float *y);
static inline size_t thaw_dequantize_row_i32(size_t n, const int32_t *x, float zero_point,
                                             float scale, float *y);
/* The minimum and maximum of a whole row and 0, NaN skipped (thaw_qs8_range__<isa>). */
static inline void thaw_quantize_range(size_t n, const float *x, float *min, float *max);

static inline void thaw_f32_quantize_linear_drive(const thaw_quantize_params *p, const float *x,
                                                  const float *scale, const void *zero_point,
                                                  void *y) {
  const bool is_signed = p->quantized == THAW_DTYPE_I8;
  const float lowest = is_signed ? -128.0f : 0.0f, highest = is_signed ? 127.0f : 255.0f;
  const size_t n = p->inner;
  size_t row = 0;
  for (size_t o = 0; o < p->outer; o++) {
    for (size_t c = 0; c < p->channels; c++, row += n) {
      const float zero = thaw_zero_point_of(p, zero_point, c);
      uint8_t *y_row = (uint8_t *)y + row;
      const size_t done = thaw_quantize_row(n, x + row, scale[c], zero, lowest, highest, y_row);
      for (size_t i = done; i < n; i++) {
        const float level = thaw_quantize_value(x[row + i], scale[c], zero, lowest, highest);
        y_row[i] = is_signed ? (uint8_t)(int8_t)level : (uint8_t)level;
      }
    }
  }
}

static inline void thaw_x_dequantize_linear_drive(const thaw_quantize_params *p, const void *x,
                                                  const float *scale, const void *zero_point,
                                                  float *y) {
  const size_t n = p->inner;
  size_t row = 0;
  for (size_t o = 0; o < p->outer; o++) {
    for (size_t c = 0; c < p->channels; c++, row += n) {
      const float zero = thaw_zero_point_of(p, zero_point, c);
      const uint8_t *x_bytes = (const uint8_t *)x + row;
      size_t done; /* constant signedness: each call gets its own loop */
      switch (p->quantized) {
        case THAW_DTYPE_I8:
          done = thaw_dequantize_row_bytes(n, x_bytes, true, zero, scale[c], y + row);
          break;
        case THAW_DTYPE_U8:
          done = thaw_dequantize_row_bytes(n, x_bytes, false, zero, scale[c], y + row);
          break;
        default:
          done = thaw_dequantize_row_i32(n, (const int32_t *)x + row, zero, scale[c], y + row);
          break;
      }
      for (size_t i = done; i < n; i++)
        y[row + i] = ((float)thaw_load_quantized(p->quantized, x, row + i) - zero) * scale[c];
    }
  }
}

static inline void thaw_f32_dynamic_quantize_linear_drive(size_t n, const float *x, uint8_t *y,
                                                          float *scale, uint8_t *zero_point) {
  float lo, hi, step, zero;
  thaw_quantize_range(n, x, &lo, &hi);
  if (!thaw_dynamic_quantization(lo, hi, &step, &zero)) {
    *scale = 0.0f;
    *zero_point = 0;
    memset(y, 0, n);
    return;
  }
  *scale = step;
  *zero_point = (uint8_t)zero;
  for (size_t i = thaw_quantize_row(n, x, step, zero, 0.0f, 255.0f, y); i < n; i++)
    y[i] = (uint8_t)thaw_quantize_value(x[i], step, zero, 0.0f, 255.0f);
}

#endif /* THAW_KERNELS_QUANTIZE_LINEAR_DRIVER_H */
