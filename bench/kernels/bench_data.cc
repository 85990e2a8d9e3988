// Data-movement kernels, one thread, scalar reference and vector table in one run; each result
// reports output Gelem/s and GB/s (bytes read plus bytes written).
// - Resize: PP-OCRv4 det's FPN upsampling (nearest, asymmetric, floor, x2 of 96x40x40 and x8 of
//   24x10x10), a bilinear x2 (half_pixel) and a non-integer nearest scale (gathers).
// - Transpose (the strided copy): MiniLM attention's K -> K^T ([12,128,32] perm (0,2,3,1), the
//   last axis strided) and its head split ([128,12,32] perm (1,0,2), rows of 32 floats).
//
//   bench_data --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_support.h"

namespace {

void report(benchmark::State& state, size_t inputs, size_t outputs) {
  state.counters["Gelem/s"] = benchmark::Counter(static_cast<double>(outputs) / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>((inputs + outputs) * sizeof(float)) / 1e9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

// Times `call`, one kernel call writing y, and reports its rates.
template <typename Call>
void time_calls(benchmark::State& state, float* y, size_t inputs, size_t outputs, Call call) {
  for (auto _ : state) {
    call();
    benchmark::DoNotOptimize(y);
    benchmark::ClobberMemory();
  }
  report(state, inputs, outputs);
}

// The table called `isa`, or nullptr with the benchmark marked skipped.
const thaw_kernels* table_or_skip(benchmark::State& state, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) state.SkipWithError("kernel table not available on this CPU");
  return kernels;
}

std::vector<float> make_inputs(size_t n) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; i++) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f;
  return x;
}

struct ResizeCase {
  size_t channels, in_height, in_width, out_height, out_width;
  int mode, coordinates, nearest;  // codes as in the format's resize attributes
};

// Planes are resized one call each way the executor calls the kernel: [channels, h, w] with
// the channel axis kept.
void run_resize(benchmark::State& state, const char* isa, ResizeCase c) {
  const thaw_kernels* kernels = table_or_skip(state, isa);
  if (kernels == nullptr) return;
  thaw_resize_params p = {};
  p.rank = 3;
  const size_t in_shape[3] = {c.channels, c.in_height, c.in_width};
  const size_t out_shape[3] = {c.channels, c.out_height, c.out_width};
  for (uint32_t d = 0; d < 3; d++) {
    p.in_shape[d] = in_shape[d];
    p.out_shape[d] = out_shape[d];
    p.scales[d] = static_cast<float>(out_shape[d]) / static_cast<float>(in_shape[d]);
  }
  p.mode = c.mode, p.coordinates = c.coordinates, p.nearest = c.nearest;
  const size_t inputs = c.channels * c.in_height * c.in_width;
  const size_t outputs = c.channels * c.out_height * c.out_width;
  const std::vector<float> x = make_inputs(inputs);
  std::vector<float> y(outputs);
  time_calls(state, y.data(), inputs, outputs,
             [&] { kernels->f32_resize(&p, x.data(), y.data()); });
}

// A 3-d copy of floats: y[i][j][k] = x[i * strides[0] + j * strides[1] + k * strides[2]].
void run_transpose(benchmark::State& state, const char* isa, size_t d0, size_t d1, size_t d2,
                   ptrdiff_t s0, ptrdiff_t s1, ptrdiff_t s2) {
  const thaw_kernels* kernels = table_or_skip(state, isa);
  if (kernels == nullptr) return;
  thaw_strided_copy_params p = {};
  p.element_size = sizeof(float);
  p.iter.rank = 3;
  p.iter.shape[0] = d0, p.iter.shape[1] = d1, p.iter.shape[2] = d2;
  p.iter.strides[0][0] = s0, p.iter.strides[0][1] = s1, p.iter.strides[0][2] = s2;
  const size_t elements = d0 * d1 * d2;
  const std::vector<float> x = make_inputs(elements);
  std::vector<float> y(elements);
  time_calls(state, y.data(), elements, elements,
             [&] { kernels->strided_copy(&p, x.data(), y.data()); });
}

constexpr int kNearest = 1, kLinear = 2;
constexpr int kHalfPixel = 1, kAsymmetric = 2;
constexpr int kRoundPreferFloor = 1, kFloor = 3;

const ResizeCase kOcrUpsample2 = {96, 40, 40, 80, 80, kNearest, kAsymmetric, kFloor};
const ResizeCase kOcrUpsample8 = {24, 10, 10, 80, 80, kNearest, kAsymmetric, kFloor};
const ResizeCase kBilinear2 = {32, 40, 40, 80, 80, kLinear, kHalfPixel, kRoundPreferFloor};
const ResizeCase kNearest1p5 = {32, 40, 40, 60, 60, kNearest, kHalfPixel, kRoundPreferFloor};

}  // namespace

#define THAW_DATA_BENCHMARKS(isa)                                                            \
  BENCHMARK_CAPTURE(run_resize, ocr_x2_##isa, #isa, kOcrUpsample2)                           \
      ->Name("resize_nearest_x2_96x40x40/" #isa);                                            \
  BENCHMARK_CAPTURE(run_resize, ocr_x8_##isa, #isa, kOcrUpsample8)                           \
      ->Name("resize_nearest_x8_24x10x10/" #isa);                                            \
  BENCHMARK_CAPTURE(run_resize, bilinear_##isa, #isa, kBilinear2)                            \
      ->Name("resize_bilinear_x2_32x40x40/" #isa);                                           \
  BENCHMARK_CAPTURE(run_resize, nearest_1p5_##isa, #isa, kNearest1p5)                        \
      ->Name("resize_nearest_x1.5_32x40x40/" #isa);                                          \
  BENCHMARK_CAPTURE(run_transpose, kt_##isa, #isa, 12, 32, 128, 32, 1, 384)                  \
      ->Name("transpose_12x128x32_0231/" #isa);                                              \
  BENCHMARK_CAPTURE(run_transpose, heads_##isa, #isa, 12, 128, 32, 32, 384, 1)               \
      ->Name("transpose_128x12x32_102/" #isa)

THAW_DATA_BENCHMARKS(scalar);
THAW_DATA_BENCHMARKS(avx2);

BENCHMARK_MAIN();
