// Elementwise and normalisation kernels, one thread, in one run; each result reports Gelem/s.
// - exp, tanh, erf, GELU, SiLU: thaw's scalar reference, thaw's AVX2 kernel and SLEEF's AVX2 1-ulp
//   functions over the same 4096 floats (L1-resident, as in a fused epilogue).
// - softmax over 12x128 rows of 128 (BERT-base attention scores for 128 tokens) and layer norm
//   over 128 rows of 768: scalar and AVX2 tables.
// Built with -mavx2 -mfma (SLEEF declares its AVX2 functions only then), so it runs on AVX2
// CPUs only.
//
//   bench_elementwise --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <sleef.h>

#include <cstring>
#include <vector>

#include "bench_support.h"

namespace {

constexpr size_t kElements = 4096;

std::vector<float> make_inputs() {
  std::vector<float> x(kElements);
  // -5 .. 5: where exp, tanh, erf, GELU and SiLU all still vary.
  for (size_t i = 0; i < kElements; i++)
    x[i] = -5.0f + 10.0f * static_cast<float>((i * 2654435761u) % kElements) / kElements;
  return x;
}

void report(benchmark::State& state, size_t elements) {
  state.counters["Gelem/s"] = benchmark::Counter(
      static_cast<double>(elements) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void run_thaw(benchmark::State& state, const char* isa, thaw_kernel_unary func) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) {
    state.SkipWithError("kernel table not available on this CPU");
    return;
  }
  const std::vector<float> x = make_inputs();
  std::vector<float> y(kElements);
  const thaw_unary_params params = {func, 0.0f, 0.0f};
  for (auto _ : state) {
    kernels->f32_unary(&params, kElements, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, kElements);
}

// The same functions from SLEEF's u10 AVX2 entry points; GELU and SiLU composed as thaw
// defines them.
__m256 sleef_apply(thaw_kernel_unary func, __m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  switch (func) {
  case THAW_KERNEL_EXP: return Sleef_expf8_u10avx2(x);
  case THAW_KERNEL_TANH: return Sleef_tanhf8_u10avx2(x);
  case THAW_KERNEL_ERF: return Sleef_erff8_u10avx2(x);
  case THAW_KERNEL_GELU: {
    const __m256 half_x = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    const __m256 erf = Sleef_erff8_u10avx2(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678f)));
    return _mm256_fmadd_ps(half_x, erf, half_x);
  }
  case THAW_KERNEL_SILU: {
    const __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(x, _mm256_add_ps(one, e));
  }
  default: return x;
  }
}

void run_sleef(benchmark::State& state, thaw_kernel_unary func) {
  const std::vector<float> x = make_inputs();
  std::vector<float> y(kElements);
  for (auto _ : state) {
    for (size_t i = 0; i < kElements; i += 8)
      _mm256_storeu_ps(&y[i], sleef_apply(func, _mm256_loadu_ps(&x[i])));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, kElements);
}

void run_softmax(benchmark::State& state, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) {
    state.SkipWithError("kernel table not available on this CPU");
    return;
  }
  constexpr size_t kRows = 12 * 128, kColumns = 128;
  std::vector<float> x(kRows * kColumns), y(kRows * kColumns);
  for (size_t i = 0; i < x.size(); i++) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 100;
  for (auto _ : state) {
    kernels->f32_softmax(kRows, kColumns, 1, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, x.size());
}

void run_layer_norm(benchmark::State& state, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) {
    state.SkipWithError("kernel table not available on this CPU");
    return;
  }
  constexpr size_t kRows = 128, kColumns = 768;
  std::vector<float> x(kRows * kColumns), y(kRows * kColumns);
  std::vector<float> scale(kColumns, 1.5f), bias(kColumns, 0.25f);
  for (size_t i = 0; i < x.size(); i++) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 100;
  for (auto _ : state) {
    kernels->f32_layer_norm(kRows, kColumns, 1e-5f, x.data(), scale.data(), bias.data(),
                            y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, x.size());
}

}  // namespace

#define THAW_UNARY_BENCHMARKS(name, func)                                          \
  BENCHMARK_CAPTURE(run_thaw, name##_scalar, "scalar", func)->Name(#name "/scalar"); \
  BENCHMARK_CAPTURE(run_thaw, name##_avx2, "avx2", func)->Name(#name "/avx2");       \
  BENCHMARK_CAPTURE(run_sleef, name##_sleef, func)->Name(#name "/sleef_u10_avx2")

THAW_UNARY_BENCHMARKS(exp, THAW_KERNEL_EXP);
THAW_UNARY_BENCHMARKS(tanh, THAW_KERNEL_TANH);
THAW_UNARY_BENCHMARKS(erf, THAW_KERNEL_ERF);
THAW_UNARY_BENCHMARKS(gelu, THAW_KERNEL_GELU);
THAW_UNARY_BENCHMARKS(silu, THAW_KERNEL_SILU);
BENCHMARK_CAPTURE(run_softmax, scalar, "scalar")->Name("softmax_1536x128/scalar");
BENCHMARK_CAPTURE(run_softmax, avx2, "avx2")->Name("softmax_1536x128/avx2");
BENCHMARK_CAPTURE(run_layer_norm, scalar, "scalar")->Name("layer_norm_128x768/scalar");
BENCHMARK_CAPTURE(run_layer_norm, avx2, "avx2")->Name("layer_norm_128x768/avx2");

BENCHMARK_MAIN();
