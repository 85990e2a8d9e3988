#include <immintrin.h>

#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"
#include "kernels/math/f32-vmath-avx2.h"

/* alpha and beta of thaw_unary_params, broadcast once per call. */
typedef struct unary_constants {
  __m256 alpha, beta;
} unary_constants;

typedef __m256 (*unary_vector_fn)(__m256 x, const unary_constants *c);

/* Eight lanes at a time, then the last n % 8 through a masked load and store so nothing past
 * the end is touched. Always inlined with a constant `apply`, so each function gets its own
 * loop with the math inlined into it. Reading a block before writing it makes x == y safe. */
static inline __attribute__((always_inline)) void unary_loop(size_t n, const float *x, float *y,
                                                             const unary_constants *c,
                                                             unary_vector_fn apply) {
  for (; n >= 8; n -= 8, x += 8, y += 8) _mm256_storeu_ps(y, apply(_mm256_loadu_ps(x), c));
  if (n != 0) {
    const __m256i mask = thaw_tail_mask__avx2(n);
    _mm256_maskstore_ps(y, mask, apply(_mm256_maskload_ps(x, mask), c));
  }
}

static inline __m256 vector_relu(__m256 x, const unary_constants *c) {
  (void)c;
  /* max returns its second operand for NaN: 0, as the reference's x > 0 ? x : 0. */
  return _mm256_max_ps(x, _mm256_setzero_ps());
}

static inline __m256 vector_clip(__m256 x, const unary_constants *c) {
  return _mm256_min_ps(_mm256_max_ps(x, c->alpha), c->beta);
}

static inline __m256 vector_sigmoid(__m256 x, const unary_constants *c) {
  (void)c;
  return thaw_vsigmoid_f32__avx2(x);
}

static inline __m256 clamp_unit(__m256 x) {
  return _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(1.0f));
}

static inline __m256 vector_hard_sigmoid(__m256 x, const unary_constants *c) {
  return clamp_unit(_mm256_fmadd_ps(c->alpha, x, c->beta));
}

static inline __m256 vector_hard_swish(__m256 x, const unary_constants *c) {
  (void)c;
  const __m256 gate = _mm256_fmadd_ps(x, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
  return _mm256_mul_ps(x, clamp_unit(gate));
}

static inline __m256 vector_tanh(__m256 x, const unary_constants *c) {
  (void)c;
  return thaw_vtanh_f32__avx2(x);
}

static inline __m256 vector_erf(__m256 x, const unary_constants *c) {
  (void)c;
  return thaw_verf_f32__avx2(x);
}

static inline __m256 vector_gelu(__m256 x, const unary_constants *c) {
  (void)c;
  const __m256 half_x = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
  const __m256 erf = thaw_verf_f32__avx2(_mm256_mul_ps(x, _mm256_set1_ps(0x1.6a09e6p-1f)));
  return _mm256_fmadd_ps(half_x, erf, half_x);
}

static inline __m256 vector_silu(__m256 x, const unary_constants *c) {
  (void)c;
  return _mm256_mul_ps(x, thaw_vsigmoid_f32__avx2(x));
}

static inline __m256 vector_leaky_relu(__m256 x, const unary_constants *c) {
  const __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  return _mm256_blendv_ps(x, _mm256_mul_ps(x, c->alpha), negative);
}

static inline __m256 vector_sqrt(__m256 x, const unary_constants *c) {
  (void)c;
  return _mm256_sqrt_ps(x);
}

static inline __m256 vector_exp(__m256 x, const unary_constants *c) {
  (void)c;
  return thaw_vexp_f32__avx2(x);
}

static inline __m256 vector_neg(__m256 x, const unary_constants *c) {
  (void)c;
  return _mm256_xor_ps(x, thaw_vsign_mask_f32__avx2());
}

static inline __m256 vector_abs(__m256 x, const unary_constants *c) {
  (void)c;
  return _mm256_andnot_ps(thaw_vsign_mask_f32__avx2(), x);
}

static inline __m256 vector_reciprocal(__m256 x, const unary_constants *c) {
  (void)c;
  return _mm256_div_ps(_mm256_set1_ps(1.0f), x);
}

static inline __m256 vector_log(__m256 x, const unary_constants *c) {
  (void)c;
  return thaw_vlog_f32__avx2(x);
}

static inline __m256 vector_identity(__m256 x, const unary_constants *c) {
  (void)c;
  return x;
}

void thaw_f32_unary__avx2(const thaw_unary_params *p, size_t n, const float *x, float *y) {
  if (p->func == THAW_KERNEL_IDENTITY && x == y) return;
  const unary_constants c = {_mm256_set1_ps(p->alpha), _mm256_set1_ps(p->beta)};
  switch (p->func) {
  case THAW_KERNEL_IDENTITY: unary_loop(n, x, y, &c, vector_identity); return;
  case THAW_KERNEL_RELU: unary_loop(n, x, y, &c, vector_relu); return;
  case THAW_KERNEL_CLIP: unary_loop(n, x, y, &c, vector_clip); return;
  case THAW_KERNEL_SIGMOID: unary_loop(n, x, y, &c, vector_sigmoid); return;
  case THAW_KERNEL_HARD_SIGMOID: unary_loop(n, x, y, &c, vector_hard_sigmoid); return;
  case THAW_KERNEL_HARD_SWISH: unary_loop(n, x, y, &c, vector_hard_swish); return;
  case THAW_KERNEL_TANH: unary_loop(n, x, y, &c, vector_tanh); return;
  case THAW_KERNEL_ERF: unary_loop(n, x, y, &c, vector_erf); return;
  case THAW_KERNEL_GELU: unary_loop(n, x, y, &c, vector_gelu); return;
  case THAW_KERNEL_SILU: unary_loop(n, x, y, &c, vector_silu); return;
  case THAW_KERNEL_LEAKY_RELU: unary_loop(n, x, y, &c, vector_leaky_relu); return;
  case THAW_KERNEL_SQRT: unary_loop(n, x, y, &c, vector_sqrt); return;
  case THAW_KERNEL_EXP: unary_loop(n, x, y, &c, vector_exp); return;
  case THAW_KERNEL_NEG: unary_loop(n, x, y, &c, vector_neg); return;
  case THAW_KERNEL_ABS: unary_loop(n, x, y, &c, vector_abs); return;
  case THAW_KERNEL_RECIPROCAL: unary_loop(n, x, y, &c, vector_reciprocal); return;
  case THAW_KERNEL_LOG: unary_loop(n, x, y, &c, vector_log); return;
  }
  /* The runtime validates the function code when the model is opened. */
}
