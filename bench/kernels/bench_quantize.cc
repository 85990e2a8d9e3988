// ONNX linear quantization throughput: thaw's scalar reference and AVX2 table on the same rows,
// one thread, in one run. The rows are a MiniLM-shaped activation (128 tokens x 768), what ORT's
// dynamic quantization runs DynamicQuantizeLinear over before each MatMulInteger; the rate is
// elements per second (Gelem/s), and the AVX2 lines' ratio to the scalar ones is the speed-up.
//
//   bench_quantize --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "bench_support.h"

namespace {

constexpr size_t kRows = 128, kColumns = 768, kCount = kRows * kColumns;

// Activations in [-4, 4) from a fixed linear congruential sequence.
std::vector<float> activations() {
  std::vector<float> x(kCount);
  uint32_t state = 12345;
  for (float& value : x) {
    state = state * 1664525u + 1013904223u;
    value = static_cast<float>(state >> 8) * (8.0f / 16777216.0f) - 4.0f;
  }
  return x;
}

void report(benchmark::State& state) {
  state.counters["Gelem/s"] = benchmark::Counter(static_cast<double>(kCount) / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_quantize_linear_u8(benchmark::State& state, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) return state.SkipWithError("ISA not available on this CPU");
  const std::vector<float> x = activations();
  std::vector<uint8_t> y(kCount);
  const float scale = 8.0f / 255.0f;
  const uint8_t zero_point = 128;
  const thaw_quantize_params p = {1, 1, kCount, THAW_DTYPE_U8};
  for (auto _ : state) {
    kernels->quantize_linear(&p, x.data(), &scale, &zero_point, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  report(state);
}

void BM_dequantize_linear_u8(benchmark::State& state, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) return state.SkipWithError("ISA not available on this CPU");
  std::vector<uint8_t> x(kCount);
  for (size_t i = 0; i < kCount; i++) x[i] = static_cast<uint8_t>(i * 37);
  std::vector<float> y(kCount);
  const float scale = 8.0f / 255.0f;
  const uint8_t zero_point = 128;
  const thaw_quantize_params p = {1, 1, kCount, THAW_DTYPE_U8};
  for (auto _ : state) {
    kernels->dequantize_linear(&p, x.data(), &scale, &zero_point, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  report(state);
}

void BM_dynamic_quantize_linear(benchmark::State& state, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) return state.SkipWithError("ISA not available on this CPU");
  const std::vector<float> x = activations();
  std::vector<uint8_t> y(kCount);
  float scale;
  uint8_t zero_point;
  for (auto _ : state) {
    kernels->dynamic_quantize_linear(kCount, x.data(), y.data(), &scale, &zero_point);
    benchmark::DoNotOptimize(y.data());
  }
  report(state);
}

}  // namespace

BENCHMARK_CAPTURE(BM_quantize_linear_u8, scalar, "scalar")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_quantize_linear_u8, avx2, "avx2")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_dequantize_linear_u8, scalar, "scalar")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_dequantize_linear_u8, avx2, "avx2")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_dynamic_quantize_linear, scalar, "scalar")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_dynamic_quantize_linear, avx2, "avx2")->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
