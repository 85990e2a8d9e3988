#include <immintrin.h>
#include <math.h>

#include "kernels/avx2.h"
#include "kernels/broadcast-scalar.h"
#include "kernels/math/x32-tail-mask-avx2.h"

typedef __m256 (*binary_vector_fn)(__m256 a, __m256 b);

static inline __m256 vector_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
static inline __m256 vector_sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
static inline __m256 vector_mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
static inline __m256 vector_div(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }

/* powf lane by lane: its special cases (negative bases with integral exponents, zeros,
 * infinities) and its accuracy for large results are not worth a vector re-implementation for
 * an op that models use rarely and mostly with a constant exponent. */
static inline __m256 vector_pow(__m256 a, __m256 b) {
  float a_lanes[8], b_lanes[8];
  _mm256_storeu_ps(a_lanes, a);
  _mm256_storeu_ps(b_lanes, b);
  for (int i = 0; i < 8; i++) a_lanes[i] = powf(a_lanes[i], b_lanes[i]);
  return _mm256_loadu_ps(a_lanes);
}

/* a^2, exact to the last bit as powf(a, 2) should be: decomposed LayerNorm and L2 norms square
 * through Pow with a constant 2. */
static inline __m256 vector_square(__m256 a, __m256 b) {
  (void)b;
  return _mm256_mul_ps(a, a);
}

/* ONNX Max/Min propagate NaN from either side; _mm256_max_ps alone drops a NaN in a. */
static inline __m256 vector_max(__m256 a, __m256 b) {
  const __m256 take_a =
      _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  return _mm256_blendv_ps(b, a, take_a);
}

static inline __m256 vector_min(__m256 a, __m256 b) {
  const __m256 take_a =
      _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  return _mm256_blendv_ps(b, a, take_a);
}

/* How an operand advances along the innermost axis. */
enum operand_walk {
  WALK_CONTIGUOUS, /* step 1 */
  WALK_BROADCAST,  /* step 0: one value for the whole row */
  WALK_STRIDED,    /* any other step, read element by element */
};

/* Elements [i, i + count) of an operand, count <= 8; `mask` has the first `count` lanes set
 * and is used only when count < 8. */
static inline __attribute__((always_inline)) __m256
load_operand(enum operand_walk walk, const float *row, ptrdiff_t step, size_t i, size_t count,
             __m256i mask) {
  switch (walk) {
  case WALK_CONTIGUOUS:
    return count == 8 ? _mm256_loadu_ps(row + i) : _mm256_maskload_ps(row + i, mask);
  case WALK_BROADCAST: return _mm256_set1_ps(row[0]);
  case WALK_STRIDED: break;
  }
  float lanes[8] = {0};
  for (size_t lane = 0; lane < count; lane++) lanes[lane] = row[(ptrdiff_t)(i + lane) * step];
  return _mm256_loadu_ps(lanes);
}

/* One output row; inlined with constant walks and function so each combination gets its own
 * loop without per-element branches. */
static inline __attribute__((always_inline)) void
binary_row(binary_vector_fn apply, enum operand_walk a_walk, enum operand_walk b_walk,
           size_t length, const float *a, ptrdiff_t a_step, const float *b, ptrdiff_t b_step,
           float *y) {
  const __m256i full = _mm256_set1_epi32(-1);
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    const __m256 a_values = load_operand(a_walk, a, a_step, i, 8, full);
    const __m256 b_values = load_operand(b_walk, b, b_step, i, 8, full);
    _mm256_storeu_ps(y + i, apply(a_values, b_values));
  }
  if (i < length) {
    const size_t count = length - i;
    const __m256i mask = thaw_tail_mask__avx2(count);
    const __m256 a_values = load_operand(a_walk, a, a_step, i, count, mask);
    const __m256 b_values = load_operand(b_walk, b, b_step, i, count, mask);
    _mm256_maskstore_ps(y + i, mask, apply(a_values, b_values));
  }
}

static inline __attribute__((always_inline)) void
binary_broadcast(binary_vector_fn apply, const thaw_broadcast *iter, const float *a,
                 const float *b, float *y) {
  const size_t rows = thaw_broadcast_rows(iter);
  const size_t length = thaw_broadcast_row_length(iter);
  const ptrdiff_t a_step = iter->strides[0][iter->rank - 1];
  const ptrdiff_t b_step = iter->strides[1][iter->rank - 1];
  thaw_broadcast_cursor cursor;
  thaw_broadcast_cursor_init(&cursor);
  for (size_t row = 0; row < rows; row++) {
    const float *a_row = a + cursor.offset[0];
    const float *b_row = b + cursor.offset[1];
    if (a_step == 1 && b_step == 1)
      binary_row(apply, WALK_CONTIGUOUS, WALK_CONTIGUOUS, length, a_row, 1, b_row, 1, y);
    else if (a_step == 1 && b_step == 0)
      binary_row(apply, WALK_CONTIGUOUS, WALK_BROADCAST, length, a_row, 1, b_row, 0, y);
    else if (a_step == 0 && b_step == 1)
      binary_row(apply, WALK_BROADCAST, WALK_CONTIGUOUS, length, a_row, 0, b_row, 1, y);
    else
      binary_row(apply, WALK_STRIDED, WALK_STRIDED, length, a_row, a_step, b_row, b_step, y);
    y += length;
    thaw_broadcast_cursor_advance(iter, 2, &cursor);
  }
}

/* One value of operand k serves every element (a scalar, possibly stored with broadcast dims). */
static bool operand_is_scalar(const thaw_broadcast *iter, size_t k) {
  for (uint32_t d = 0; d < iter->rank; d++)
    if (iter->strides[k][d] != 0 && iter->shape[d] != 1) return false;
  return true;
}

void thaw_f32_binary__avx2(const thaw_binary_params *p, const float *a, const float *b,
                           float *y) {
  switch (p->func) {
  case THAW_KERNEL_ADD: binary_broadcast(vector_add, &p->iter, a, b, y); return;
  case THAW_KERNEL_SUB: binary_broadcast(vector_sub, &p->iter, a, b, y); return;
  case THAW_KERNEL_MUL: binary_broadcast(vector_mul, &p->iter, a, b, y); return;
  case THAW_KERNEL_DIV: binary_broadcast(vector_div, &p->iter, a, b, y); return;
  case THAW_KERNEL_POW:
    if (operand_is_scalar(&p->iter, 1) && b[0] == 2.0f)
      binary_broadcast(vector_square, &p->iter, a, b, y);
    else
      binary_broadcast(vector_pow, &p->iter, a, b, y);
    return;
  case THAW_KERNEL_MAX: binary_broadcast(vector_max, &p->iter, a, b, y); return;
  case THAW_KERNEL_MIN: binary_broadcast(vector_min, &p->iter, a, b, y); return;
  }
  /* The runtime validates the function code when the model is opened. */
}
