// GEMM throughput of thaw's kernels next to OpenBLAS, BLIS and (where it is installed)
// XNNPACK, one thread, in one run.
//
// Shapes: every (M; N, K) of ../shared/FIGURES.md plus three squares. thaw multiplies by a B
// packed offline (as the converter stores weights), OpenBLAS and BLIS by a plain row-major B
// they pack themselves, which is how each is used for inference. M = 1 goes to their GEMV.
// BM_thaw_avx2_pointwise runs MobileNetV2's 1x1 convolutions, whose B (the image) thaw packs
// at every call; a second BM_thaw_avx2 group, convolutions on small planes. The *_cold
// benchmarks run the products where the models spend their time (MiniLM's, SqueezeNet's,
// MobileNetV2's on the 14^2 and 7^2 planes) with weights that come from memory, as in a
// whole model, each iteration reading another of enough copies to overflow the L3;
// BM_thaw_avx2_pointwise runs the same shapes cache-hot next to them.
// BM_thaw_avx2_transposed_b runs attention's Q·Kᵀ, whose B (Kᵀ, read from the rows of K) has
// its columns contiguous in k, next to the same product with a row-major B
// (BM_thaw_avx2_pointwise): both packed at every call.
// XNNPACK runs its fully-connected operator (y = x W, W of k x n), which packs the weights
// once when it is created, outside the timed loop, as an inference engine does.
// Each result reports GFLOP/s and the percentage of the FMA peak that this program measures
// first (12 independent ymm FMA chains).
//
//   bench_gemm --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cblas.h>  // OpenBLAS's
// BLIS is called through its own API; without this, blis.h pulls in its cblas.h instead.
#define BLIS_DISABLE_CBLAS
#include <blis.h>

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

double fma_peak_flops;  // measured once in main(), before any benchmark

// Twelve independent dependency chains cover the FMA latency on both FMA pipes. Timed in CPU
// time, like the benchmarks' rates, so that other processes on a shared machine do not count.
__attribute__((target("avx2,fma"))) double measure_fma_peak() {
  constexpr int kChains = 12;
  constexpr long kIterations = 100'000'000;
  __m256 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm256_set1_ps(static_cast<float>(c));
  const __m256 multiplier = _mm256_set1_ps(0.999999f);
  const __m256 addend = _mm256_set1_ps(1e-7f);
  const double start = thread_cpu_seconds();
  for (long i = 0; i < kIterations; i++)
    for (int c = 0; c < kChains; c++) acc[c] = _mm256_fmadd_ps(acc[c], multiplier, addend);
  const double seconds = thread_cpu_seconds() - start;
  __m256 sum = acc[0];
  for (int c = 1; c < kChains; c++) sum = _mm256_add_ps(sum, acc[c]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  benchmark::DoNotOptimize(lanes);
  return 2.0 * 8 * kChains * static_cast<double>(kIterations) / seconds;
}

void BM_fma_peak(benchmark::State& state) {
  double flops = 0;
  for (auto _ : state) flops = measure_fma_peak();
  state.counters["GFLOP/s"] = flops / 1e9;
}

struct Operands {
  size_t m, n, k;
  std::vector<float> a, b, packed_b, c;
  Operands(size_t m_, size_t n_, size_t k_)
      : m(m_), n(n_), k(k_), a(m_ * k_), b(k_ * n_),
        packed_b(thaw_f32_gemm_packed_b_size(k_, n_) / sizeof(float)), c(m_ * n_) {
    for (size_t i = 0; i < a.size(); i++) a[i] = static_cast<float>(i % 13) * 0.01f - 0.06f;
    for (size_t i = 0; i < b.size(); i++) b[i] = static_cast<float>(i % 7) * 0.02f - 0.06f;
    thaw_f32_gemm_pack_b(k, n, b.data(), static_cast<ptrdiff_t>(n), 1, packed_b.data());
  }
};

void report(benchmark::State& state, const Operands& o) {
  const double flops = 2.0 * static_cast<double>(o.m) * static_cast<double>(o.n) *
                       static_cast<double>(o.k);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["%peak"] = benchmark::Counter(100.0 * flops / fma_peak_flops,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

// Where a product's weights come from: the same copy at every iteration (cache-hot, as in a
// loop over one layer), or one of enough copies to overflow the L3, as in a model whose
// weights (MiniLM's: 42 MB) are each read once per run and stream from memory.
enum class Weights { kHot, kFromMemory };

// The weights of one product, repeated `copies` times back to back.
struct WeightCopies {
  size_t floats_per_copy, copies;
  std::vector<float> data;
  WeightCopies(const std::vector<float>& weights, Weights where)
      : floats_per_copy(weights.size()),
        copies(where == Weights::kHot ? 1 : kLargerThanL3 / (weights.size() * sizeof(float)) + 2),
        data(floats_per_copy * copies) {
    for (size_t copy = 0; copy < copies; copy++)
      std::copy(weights.begin(), weights.end(), data.begin() + copy * floats_per_copy);
  }
  const float* copy(size_t index) const { return data.data() + index % copies * floats_per_copy; }
  static constexpr size_t kLargerThanL3 = 64u << 20;
};

// How a B that is not packed offline is laid out.
enum class PlainB { kRowMajor, kTransposed };

// b_packed: B packed offline (weights); otherwise a plain B that the GEMM packs at every call,
// row-major as a 1x1 convolution multiplies its weights (A) by its input image (B), or
// transposed (B(k, j) at b[j * K + k]) as attention multiplies by the keys.
void run_thaw(benchmark::State& state, const thaw_kernels* kernels, bool b_packed,
              Weights weights = Weights::kHot, PlainB plain_b = PlainB::kRowMajor) {
  Operands o(state.range(0), state.range(1), state.range(2));
  const WeightCopies weight_copies(b_packed ? o.packed_b : o.a, weights);
  thaw_gemm_params p = {};
  p.m = o.m;
  p.n = o.n;
  p.k = o.k;
  p.a_row_stride = static_cast<ptrdiff_t>(o.k);
  p.a_k_stride = 1;
  p.b_packed = b_packed;
  p.b_row_stride = plain_b == PlainB::kTransposed ? 1 : static_cast<ptrdiff_t>(o.n);
  p.b_column_stride = plain_b == PlainB::kTransposed ? static_cast<ptrdiff_t>(o.k) : 1;
  p.c_row_stride = static_cast<ptrdiff_t>(o.n);
  p.bias = THAW_GEMM_BIAS_NONE;
  p.activation.func = THAW_KERNEL_IDENTITY;
  std::vector<float> scratch(kernels->f32_gemm_scratch_size(&p) / sizeof(float));
  size_t iteration = 0;
  for (auto _ : state) {
    const float* weight = weight_copies.copy(iteration++);
    kernels->f32_gemm(&p, b_packed ? o.a.data() : weight, b_packed ? weight : o.b.data(), nullptr,
                      o.c.data(), scratch.data(), &thaw_parallel_serial);
    benchmark::ClobberMemory();
  }
  report(state, o);
}

// The AVX2 table, or nullptr once the benchmark is marked skipped on a CPU without it.
const thaw_kernels* avx2_table(benchmark::State& state) {
  const thaw_kernels* kernels = table_named("avx2");
  if (kernels == nullptr) state.SkipWithError("this CPU has no AVX2+FMA");
  return kernels;
}

void BM_thaw_avx2(benchmark::State& state) {
  if (const thaw_kernels* kernels = avx2_table(state)) run_thaw(state, kernels, true);
}

void BM_thaw_avx2_pointwise(benchmark::State& state) {
  if (const thaw_kernels* kernels = avx2_table(state)) run_thaw(state, kernels, false);
}

void BM_thaw_avx2_cold(benchmark::State& state) {
  if (const thaw_kernels* kernels = avx2_table(state))
    run_thaw(state, kernels, true, Weights::kFromMemory);
}

void BM_thaw_avx2_pointwise_cold(benchmark::State& state) {
  if (const thaw_kernels* kernels = avx2_table(state))
    run_thaw(state, kernels, false, Weights::kFromMemory);
}

void BM_thaw_avx2_transposed_b(benchmark::State& state) {
  if (const thaw_kernels* kernels = avx2_table(state))
    run_thaw(state, kernels, false, Weights::kHot, PlainB::kTransposed);
}

void BM_thaw_scalar(benchmark::State& state) { run_thaw(state, thaw_kernels_scalar(), true); }

void BM_openblas(benchmark::State& state) {
  Operands o(state.range(0), state.range(1), state.range(2));
  const int m = static_cast<int>(o.m), n = static_cast<int>(o.n), k = static_cast<int>(o.k);
  for (auto _ : state) {
    if (m == 1)  // y = Bt x: sgemm at M = 1 is 4-8x slower than OpenBLAS's own sgemv
      cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, o.b.data(), n, o.a.data(), 1, 0.0f,
                  o.c.data(), 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, o.a.data(), k,
                  o.b.data(), n, 0.0f, o.c.data(), n);
    benchmark::ClobberMemory();
  }
  report(state, o);
}

void BM_blis(benchmark::State& state) {
  Operands o(state.range(0), state.range(1), state.range(2));
  const dim_t m = o.m, n = o.n, k = o.k;
  float one = 1.0f, zero = 0.0f;
  for (auto _ : state) {
    if (m == 1)
      bli_sgemv(BLIS_TRANSPOSE, BLIS_NO_CONJUGATE, k, n, &one, o.b.data(), n, 1, o.a.data(), 1,
                &zero, o.c.data(), 1);
    else
      bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one, o.a.data(), k, 1,
                o.b.data(), n, 1, &zero, o.c.data(), n, 1);
    benchmark::ClobberMemory();
  }
  report(state, o);
}

#ifdef THAW_BENCH_XNNPACK
void BM_xnnpack(benchmark::State& state) {
  Operands o(state.range(0), state.range(1), state.range(2));
  xnn_operator_t op = nullptr;
  if (xnn_create_fully_connected_nc_f32(o.k, o.n, o.k, o.n, o.b.data(), nullptr, -INFINITY,
                                        INFINITY, XNN_FLAG_TRANSPOSE_WEIGHTS,
                                        &op) != xnn_status_success ||
      xnn_setup_fully_connected_nc_f32(op, o.m, o.a.data(), o.c.data(), nullptr) !=
          xnn_status_success) {
    xnn_delete_operator(op);
    state.SkipWithError("XNNPACK refused the fully-connected operator");
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);  // no thread pool: the calling thread only
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  report(state, o);
}
#endif

// FIGURES.md's (N, K) pairs: transformer projections and FFN, a classifier, a 3x3 conv.
const int64_t kNkPairs[][2] = {{384, 384}, {1536, 384}, {384, 1536}, {1000, 1280}, {64, 576}};
const int64_t kMs[] = {1, 8, 64, 128, 196, 3136};
const int64_t kSquares[] = {256, 512, 1024};

void library_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  for (const auto& nk : kNkPairs)
    for (int64_t m : kMs) b->Args({m, nk[0], nk[1]});
  for (int64_t s : kSquares) b->Args({s, s, s});
}

// MobileNetV2's 1x1 convolutions as the GEMM sees them: M output channels, N pixels of the
// plane (112^2 .. 7^2), K input channels; expansions (K < M) and projections (K > M).
void pointwise_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  static const int64_t kShapes[][3] = {
      {16, 12544, 32}, {96, 12544, 16}, {24, 3136, 96},  {144, 3136, 24},  {24, 3136, 144},
      {192, 784, 32},  {32, 784, 192},
  };
  for (const auto& shape : kShapes) b->Args({shape[0], shape[1], shape[2]});
}

// MobileNetV2's 1x1 convolutions on the 14^2 and 7^2 planes, where the weights (A) outweigh
// the image: each is read from memory once per run of the model.
void small_plane_pointwise_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  static const int64_t kShapes[][3] = {
      {384, 196, 64}, {64, 196, 384},  {576, 196, 96},  {96, 196, 576},   {160, 49, 576},
      {960, 49, 160}, {160, 49, 960},  {320, 49, 960},  {1280, 49, 320},
  };
  for (const auto& shape : kShapes) b->Args({shape[0], shape[1], shape[2]});
}

// Convolutions on small planes as the GEMM sees them: ResNet-18's last two 3x3 stages (K = 9
// input channels) and SqueezeNet's classifier, each next to the same product without its
// right-edge columns (N a multiple of 16), which shows what the narrow edge tile costs.
void small_plane_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  static const int64_t kShapes[][3] = {
      {512, 49, 4608}, {512, 48, 4608}, {256, 196, 2304},
      {256, 192, 2304}, {1000, 169, 512}, {1000, 160, 512},
  };
  for (const auto& shape : kShapes) b->Args({shape[0], shape[1], shape[2]});
}

// The products where the models spend their time, run with weights from memory as in a whole
// model: MiniLM's projections and FFN (B packed offline), SqueezeNet's 1x1 convolutions whose
// weights are A (B, the image, packed at every call): squeeze and expand on the 55^2, 27^2
// and 13^2 planes, and the classifier.
void model_packed_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  b->Args({128, 384, 384});
  b->Args({128, 1536, 384});
  b->Args({128, 384, 1536});
}

void model_pointwise_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  static const int64_t kShapes[][3] = {
      {16, 3025, 128}, {128, 729, 32}, {32, 729, 256}, {64, 169, 512}, {1000, 169, 512},
  };
  for (const auto& shape : kShapes) b->Args({shape[0], shape[1], shape[2]});
}

// Attention's Q·Kᵀ for one head of MiniLM: 128 tokens, 32 features per head.
void attention_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  b->Args({128, 128, 32});
}

// The reference is slow: enough shapes to show the gap, not all of them.
void scalar_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  b->Args({1, 384, 384});
  b->Args({64, 384, 384});
  b->Args({256, 256, 256});
}

}  // namespace

BENCHMARK(BM_fma_peak)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_thaw_avx2)->Apply(library_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_avx2_pointwise)->Apply(pointwise_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_avx2_pointwise)
    ->Apply(small_plane_pointwise_shapes)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_avx2_pointwise_cold)
    ->Apply(small_plane_pointwise_shapes)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_avx2)->Apply(small_plane_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_avx2_cold)->Apply(model_packed_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_avx2_pointwise)->Apply(model_pointwise_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_avx2_pointwise_cold)
    ->Apply(model_pointwise_shapes)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_avx2_transposed_b)->Apply(attention_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_thaw_avx2_pointwise)->Apply(attention_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_openblas)->Apply(library_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_blis)->Apply(library_shapes)->Unit(benchmark::kMicrosecond);
#ifdef THAW_BENCH_XNNPACK
BENCHMARK(BM_xnnpack)->Apply(library_shapes)->Unit(benchmark::kMicrosecond);
#endif
BENCHMARK(BM_thaw_scalar)->Apply(scalar_shapes)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  // One thread for everyone; the environment covers OpenMP (BLIS) and OpenBLAS's pool at start.
  setenv("OMP_NUM_THREADS", "1", 1);
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  openblas_set_num_threads(1);
  bli_thread_set_num_threads(1);
  fma_peak_flops = measure_fma_peak();
  benchmark::AddCustomContext("fma_peak_GFLOP/s", std::to_string(fma_peak_flops / 1e9));
  benchmark::AddCustomContext("openblas", openblas_get_config());
  benchmark::AddCustomContext("blis", bli_info_get_version_str());
#ifdef THAW_BENCH_XNNPACK
  if (xnn_initialize(nullptr) != xnn_status_success) {
    std::fprintf(stderr, "bench_gemm: xnn_initialize failed\n");
    return 1;
  }
  benchmark::AddCustomContext("xnnpack", "Debian libxnnpack-dev, fully-connected f32");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
