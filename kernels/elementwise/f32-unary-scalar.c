#include <math.h>

#include "kernels/scalar.h"

static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline float clamp_unit(float x) { return fmaxf(0.0f, fminf(1.0f, x)); }

static inline float apply_unary(const thaw_unary_params *p, float x) {
  switch (p->func) {
  case THAW_KERNEL_IDENTITY: return x;
  case THAW_KERNEL_RELU: return x > 0.0f ? x : 0.0f;
  case THAW_KERNEL_CLIP: return fminf(fmaxf(x, p->alpha), p->beta);
  case THAW_KERNEL_SIGMOID: return sigmoid(x);
  case THAW_KERNEL_HARD_SIGMOID: return clamp_unit(p->alpha * x + p->beta);
  case THAW_KERNEL_HARD_SWISH: return x * clamp_unit(x / 6.0f + 0.5f);
  case THAW_KERNEL_TANH: return tanhf(x);
  case THAW_KERNEL_ERF: return erff(x);
  /* The constant is 1/sqrt(2). */
  case THAW_KERNEL_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
  case THAW_KERNEL_SILU: return x * sigmoid(x);
  case THAW_KERNEL_LEAKY_RELU: return x < 0.0f ? p->alpha * x : x;
  case THAW_KERNEL_SQRT: return sqrtf(x);
  case THAW_KERNEL_EXP: return expf(x);
  case THAW_KERNEL_NEG: return -x;
  case THAW_KERNEL_ABS: return fabsf(x);
  case THAW_KERNEL_RECIPROCAL: return 1.0f / x;
  case THAW_KERNEL_LOG: return logf(x);
  }
  /* The runtime validates the function code when the model is opened. */
  return x;
}

void thaw_f32_unary__scalar(const thaw_unary_params *p, size_t n, const float *x, float *y) {
  if (p->func == THAW_KERNEL_IDENTITY && x == y) return;
  for (size_t i = 0; i < n; i++) y[i] = apply_unary(p, x[i]);
}
