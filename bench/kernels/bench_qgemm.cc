// Quantized (qs8) GEMM throughput next to thaw's f32 GEMM on the same shapes and, where it is
// installed, Debian's XNNPACK qs8 fully-connected operator, one thread, in one run.
//
// thaw's qs8 GEMM takes f32 activations, quantizes them per row and returns f32 (that is the
// whole cost an inference pays); XNNPACK's qs8 operator takes int8 activations quantized
// beforehand and returns int8, so its figure leaves out the quantization of the input.
// Rates are Gop/s (2 * M * N * K per run) and the percentage of the int8 peak this program
// measures first (the best of five): independent chains of vpmaddubsw + vpmaddwd + vpaddd, the
// inner loop of the AVX2 kernel (32 multiply-adds per chain step), timed in thread CPU time.
//
//   bench_qgemm --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <time.h>

#ifdef THAW_BENCH_XNNPACK
#include <xnnpack.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_support.h"

namespace {

double int8_peak_ops;  // measured once in main(), before any benchmark

// Each step multiplies a vector loaded from a small table (L1-resident, changing with the
// iteration, so no multiply can be hoisted or shared), and only the vpaddd chains carry a
// dependency: the rate is the throughput of the multiply pipes.
__attribute__((target("avx2"))) double measure_int8_peak() {
  constexpr int kChains = 8, kRows = 8;
  constexpr long kIterations = 20'000'000;
  alignas(32) int8_t table[kRows][kChains][32];
  for (int r = 0; r < kRows; r++)
    for (int c = 0; c < kChains; c++)
      for (int byte = 0; byte < 32; byte++) table[r][c][byte] = static_cast<int8_t>(r + c + byte);
  benchmark::DoNotOptimize(table);
  __m256i acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm256_set1_epi32(c);
  const __m256i b = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1);
  const double start = thread_cpu_seconds();
  for (long i = 0; i < kIterations; i++) {
    for (int c = 0; c < kChains; c++) {
      const __m256i a = _mm256_load_si256(reinterpret_cast<const __m256i*>(table[i % kRows][c]));
      acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    }
  }
  const double seconds = thread_cpu_seconds() - start;
  __m256i sum = acc[0];
  for (int c = 1; c < kChains; c++) sum = _mm256_add_epi32(sum, acc[c]);
  int32_t lanes[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), sum);
  benchmark::DoNotOptimize(lanes);
  return 2.0 * 32 * kChains * static_cast<double>(kIterations) / seconds;
}

void BM_int8_peak(benchmark::State& state) {
  double ops = 0;
  for (auto _ : state) ops = measure_int8_peak();
  state.counters["Gop/s"] = ops / 1e9;
}

void report(benchmark::State& state, size_t m, size_t n, size_t k) {
  const double ops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  state.counters["Gop/s"] =
      benchmark::Counter(ops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["%int8peak"] = benchmark::Counter(100.0 * ops / int8_peak_ops,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

// Activations in [-1, 1), weights over the whole int8 range but -128.
struct Operands {
  size_t m, n, k;
  std::vector<float> a, c;
  std::vector<int8_t> b;
  std::vector<uint8_t> packed_b;
  Operands(size_t m_, size_t n_, size_t k_)
      : m(m_), n(n_), k(k_), a(m_ * k_), c(m_ * n_), b(k_ * n_),
        packed_b(thaw_qs8_gemm_packed_b_size(k_, n_)) {
    for (size_t i = 0; i < a.size(); i++) a[i] = static_cast<float>(i % 29) / 14.5f - 1.0f;
    for (size_t i = 0; i < b.size(); i++) b[i] = static_cast<int8_t>(i % 255 - 127);
    std::vector<float> scales(n_, 0.01f);
    thaw_qs8_gemm_pack_b(k, n, b.data(), static_cast<ptrdiff_t>(n), 1, scales.data(),
                         packed_b.data());
  }
};

void run_thaw_qs8(benchmark::State& state, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) {
    state.SkipWithError("this CPU cannot run these kernels");
    return;
  }
  Operands o(state.range(0), state.range(1), state.range(2));
  thaw_qs8_gemm_params p = {};
  p.m = o.m;
  p.n = o.n;
  p.k = o.k;
  p.a_row_stride = static_cast<ptrdiff_t>(o.k);
  p.c_row_stride = static_cast<ptrdiff_t>(o.n);
  p.input.mode = THAW_QS8_DYNAMIC;
  p.activation.func = THAW_KERNEL_IDENTITY;
  std::vector<uint8_t> scratch(thaw_qs8_gemm_scratch_size(&p));
  for (auto _ : state) {
    kernels->qs8_gemm(&p, o.a.data(), o.packed_b.data(), nullptr, o.c.data(), scratch.data(),
                      &thaw_parallel_serial);
    benchmark::ClobberMemory();
  }
  report(state, o.m, o.n, o.k);
}

void BM_thaw_qs8_avx2(benchmark::State& state) { run_thaw_qs8(state, "avx2"); }
void BM_thaw_qs8_scalar(benchmark::State& state) { run_thaw_qs8(state, "scalar"); }

// thaw's f32 GEMM over a prepacked B of the same shape: what the int8 kernel replaces.
void BM_thaw_f32_avx2(benchmark::State& state) {
  const thaw_kernels* kernels = table_named("avx2");
  if (kernels == nullptr) {
    state.SkipWithError("this CPU has no AVX2+FMA");
    return;
  }
  const size_t m = state.range(0), n = state.range(1), k = state.range(2);
  std::vector<float> a(m * k), b(k * n), c(m * n);
  for (size_t i = 0; i < a.size(); i++) a[i] = static_cast<float>(i % 13) * 0.01f - 0.06f;
  for (size_t i = 0; i < b.size(); i++) b[i] = static_cast<float>(i % 7) * 0.02f - 0.06f;
  std::vector<float> packed_b(thaw_f32_gemm_packed_b_size(k, n) / sizeof(float));
  thaw_f32_gemm_pack_b(k, n, b.data(), static_cast<ptrdiff_t>(n), 1, packed_b.data());
  thaw_gemm_params p = {};
  p.m = m;
  p.n = n;
  p.k = k;
  p.a_row_stride = static_cast<ptrdiff_t>(k);
  p.a_k_stride = 1;
  p.b_packed = true;
  p.c_row_stride = static_cast<ptrdiff_t>(n);
  p.bias = THAW_GEMM_BIAS_NONE;
  p.activation.func = THAW_KERNEL_IDENTITY;
  std::vector<float> scratch(kernels->f32_gemm_scratch_size(&p) / sizeof(float) + 1);
  for (auto _ : state) {
    kernels->f32_gemm(&p, a.data(), packed_b.data(), nullptr, c.data(), scratch.data(),
                      &thaw_parallel_serial);
    benchmark::ClobberMemory();
  }
  report(state, m, n, k);
}

#ifdef THAW_BENCH_XNNPACK
void BM_xnnpack_qs8(benchmark::State& state) {
  const size_t m = state.range(0), n = state.range(1), k = state.range(2);
  std::vector<int8_t> a(m * k), w(n * k), c(m * n);
  for (size_t i = 0; i < a.size(); i++) a[i] = static_cast<int8_t>(i % 251 - 125);
  for (size_t i = 0; i < w.size(); i++) w[i] = static_cast<int8_t>(i % 255 - 127);
  xnn_operator_t op = nullptr;
  // Weights [n][k] as XNNPACK stores them by default; output requantized to int8.
  if (xnn_create_fully_connected_nc_qs8(k, n, k, n, 0, 0.02f, 0.01f, w.data(), nullptr, 0,
                                        1.0f, -128, 127, 0, &op) != xnn_status_success ||
      xnn_setup_fully_connected_nc_qs8(op, m, a.data(), c.data(), nullptr) !=
          xnn_status_success) {
    xnn_delete_operator(op);
    state.SkipWithError("XNNPACK refused the qs8 fully-connected operator");
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);  // no thread pool: the calling thread only
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  report(state, m, n, k);
}
#endif

// Convolutions (NCHW, one image) in int8 and f32 on the same layer: the int8 one quantizes the
// input image itself, as at run time. Args: channels, size, out channels, kernel, stride.
thaw_conv2d_params conv_params(benchmark::State& state) {
  thaw_conv2d_params p = {};
  const size_t channels = state.range(0), size = state.range(1), kernel = state.range(3);
  const size_t stride = state.range(4), pad = kernel / 2;
  p.batch = 1;
  p.in_channels = channels;
  p.in_height = p.in_width = size;
  p.out_channels = state.range(2);
  p.kernel_height = p.kernel_width = kernel;
  p.out_height = p.out_width = (size + 2 * pad - kernel) / stride + 1;
  p.groups = 1;
  p.stride_h = p.stride_w = stride;
  p.dilation_h = p.dilation_w = 1;
  p.pad_top = p.pad_left = pad;
  p.activation.func = THAW_KERNEL_RELU;
  return p;
}

void report_conv(benchmark::State& state, const thaw_conv2d_params& p) {
  report(state, p.out_height * p.out_width, p.out_channels,
         p.in_channels * p.kernel_height * p.kernel_width);
}

void BM_thaw_qs8_conv_avx2(benchmark::State& state) {
  const thaw_kernels* kernels = table_named("avx2");
  if (kernels == nullptr) {
    state.SkipWithError("this CPU has no AVX2+FMA");
    return;
  }
  const thaw_conv2d_params p = conv_params(state);
  const size_t k = p.in_channels * p.kernel_height * p.kernel_width;
  std::vector<float> x(p.in_channels * p.in_height * p.in_width);
  std::vector<float> y(p.out_channels * p.out_height * p.out_width);
  for (size_t i = 0; i < x.size(); i++) x[i] = static_cast<float>(i % 29) / 14.5f - 0.5f;
  std::vector<int8_t> w(k * p.out_channels);
  for (size_t i = 0; i < w.size(); i++) w[i] = static_cast<int8_t>(i % 255 - 127);
  std::vector<float> scales(p.out_channels, 0.01f);
  std::vector<uint8_t> packed(thaw_qs8_gemm_packed_b_size(k, p.out_channels));
  thaw_qs8_gemm_pack_b(k, p.out_channels, w.data(), 1, static_cast<ptrdiff_t>(k), scales.data(),
                       packed.data());
  std::vector<uint8_t> scratch(thaw_qs8_conv2d_scratch_size(&p));
  const thaw_qs8_input input = {THAW_QS8_DYNAMIC, 0.0f, 0};
  for (auto _ : state) {
    kernels->qs8_conv2d(&p, &input, x.data(), packed.data(), nullptr, y.data(), scratch.data(),
                        &thaw_parallel_serial);
    benchmark::ClobberMemory();
  }
  report_conv(state, p);
}

void BM_thaw_f32_conv_avx2(benchmark::State& state) {
  const thaw_kernels* kernels = table_named("avx2");
  if (kernels == nullptr) {
    state.SkipWithError("this CPU has no AVX2+FMA");
    return;
  }
  const thaw_conv2d_params p = conv_params(state);
  const size_t k = p.in_channels * p.kernel_height * p.kernel_width;
  std::vector<float> x(p.in_channels * p.in_height * p.in_width);
  std::vector<float> y(p.out_channels * p.out_height * p.out_width);
  std::vector<float> w(k * p.out_channels), bias(p.out_channels, 0.1f);
  for (size_t i = 0; i < x.size(); i++) x[i] = static_cast<float>(i % 29) / 14.5f - 0.5f;
  for (size_t i = 0; i < w.size(); i++) w[i] = static_cast<float>(i % 7) * 0.02f - 0.06f;
  std::vector<uint8_t> scratch(kernels->f32_conv2d_scratch_size(&p) + 1);
  for (auto _ : state) {
    kernels->f32_conv2d(&p, x.data(), w.data(), bias.data(), y.data(), scratch.data(),
                        &thaw_parallel_serial);
    benchmark::ClobberMemory();
  }
  report_conv(state, p);
}

// MobileNetV2's 1x1 expansion and projection convolutions (one on a 7x7 plane, whose last
// panel holds 1 pixel), ResNet-18's 3x3 ones, a stride-2 3x3 and a stride-2 1x1 (downsample),
// and its stem.
void conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "HW", "M", "k", "s"});
  b->Args({16, 112, 96, 1, 1});
  b->Args({96, 56, 24, 1, 1});
  b->Args({24, 56, 144, 1, 1});
  b->Args({192, 14, 64, 1, 1});
  b->Args({160, 7, 960, 1, 1});
  b->Args({64, 56, 64, 3, 1});
  b->Args({256, 14, 256, 3, 1});
  b->Args({512, 7, 512, 3, 1});
  b->Args({64, 56, 128, 3, 2});
  b->Args({64, 56, 128, 1, 2});
  b->Args({3, 224, 64, 7, 2});
}

// The MiniLM encoder's projections and FFN, a classifier, ResNet-18's 3x3 convolutions as
// GEMMs (N output channels, K = 9 * input channels), and two squares.
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  const int64_t nk[][2] = {{384, 384}, {1536, 384}, {384, 1536}, {1000, 512}};
  for (const auto& pair : nk)
    for (int64_t m : {1, 64, 128}) b->Args({m, pair[0], pair[1]});
  b->Args({3136, 64, 576});
  b->Args({196, 256, 2304});
  b->Args({49, 512, 4608});
  b->Args({256, 256, 256});
  b->Args({512, 512, 512});
}

void scalar_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  b->Args({64, 384, 384});
}

}  // namespace

BENCHMARK(BM_int8_peak)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_thaw_qs8_avx2)->Apply(shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_f32_avx2)->Apply(shapes)->Unit(benchmark::kMicrosecond);
#ifdef THAW_BENCH_XNNPACK
BENCHMARK(BM_xnnpack_qs8)->Apply(shapes)->Unit(benchmark::kMicrosecond);
#endif
BENCHMARK(BM_thaw_qs8_conv_avx2)->Apply(conv_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_f32_conv_avx2)->Apply(conv_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_qs8_scalar)->Apply(scalar_shapes)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  // The best of five: on a shared machine a busy sibling hyperthread lowers single measurements.
  for (int attempt = 0; attempt < 5; attempt++)
    int8_peak_ops = std::max(int8_peak_ops, measure_int8_peak());
  benchmark::AddCustomContext("int8_peak_Gop/s", std::to_string(int8_peak_ops / 1e9));
#ifdef THAW_BENCH_XNNPACK
  if (xnn_initialize(nullptr) != xnn_status_success) {
    std::fprintf(stderr, "bench_qgemm: xnn_initialize failed\n");
    return 1;
  }
  benchmark::AddCustomContext("xnnpack", "Debian libxnnpack-dev, fully-connected qs8");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
