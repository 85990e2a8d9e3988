// Convolution and pooling throughput: thaw's scalar reference and AVX2 table on the same layers,
// next to the AVX2 GEMM of the same (M, N, K) and a memcpy of the same bytes, one thread, in one
// run.
//
// K x K and 1x1 layers report GFLOP/s, to compare with the GEMM line of equal FLOPs. The
// GEMM line reads B already packed, as a K x K conv's GEMM reads the columns it gathers into
// packed panels, so for K x K the difference is the gathering (a 1x1 layer's GEMM packs the
// image rows it reads in place). Depthwise layers do 2 FLOPs per byte or so, so they also
// report GB/s of input read + output written, to compare with a memcpy of the input (GB/s of
// its bytes read + written) over the same cache levels.
//
//   bench_conv --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.h"

extern "C" {
#include "kernels/conv/conv-driver.h"
}

namespace {

struct Layer {
  const char* name;
  size_t channels, height, width, out_channels, kernel, stride, groups;
  bool unpadded = false;  // no padding (SqueezeNet 1.1's stem); otherwise kernel / 2 on every side
  size_t stride_w = 0;    // across the rows, when not `stride` (the text-line models' (2, 1))
};

// MobileNetV2's depthwise layers at four resolutions (two at 112x112), PP-OCR's (planes of a
// few wide rows, strides (2, 1) and (1, 2)) and a 7x7 one (ConvNeXt's, the general kernel), the
// stems of ResNet-18, MobileNetV2 and SqueezeNet 1.1 (3-channel image, stride 2), ResNet-18's
// 3x3 layers at every stage, SqueezeNet 1.1's expand 3x3 layers and MobileNetV2's widest
// expansion (as 1x1).
const Layer kLayers[] = {
    {"mobilenetv2_dw_112x112x32_3x3s1", 32, 112, 112, 32, 3, 1, 32},
    {"mobilenetv2_dw_112x112x96_3x3s2", 96, 112, 112, 96, 3, 2, 96},
    {"mobilenetv2_dw_56x56x144_3x3s2", 144, 56, 56, 144, 3, 2, 144},
    {"mobilenetv2_dw_14x14x576_3x3s1", 576, 14, 14, 576, 3, 1, 576},
    {"mobilenetv2_dw_14x14x576_3x3s2", 576, 14, 14, 576, 3, 2, 576},
    {"mobilenetv2_dw_7x7x960_3x3s1", 960, 7, 7, 960, 3, 1, 960},
    {"mnasnet_dw_28x28x240_5x5s1", 240, 28, 28, 240, 5, 1, 240},
    {"ppocr_cls_dw_3x96x88_5x5s1", 88, 3, 96, 88, 5, 1, 88},
    {"ppocr_cls_dw_2x96x200_5x5s1", 200, 2, 96, 200, 5, 1, 200},
    {"ppocr_cls_dw_6x96x32_5x5s2x1", 32, 6, 96, 32, 5, 2, 32, false, 1},
    {"ppocr_cls_dw_24x96x8_3x3s2x1", 8, 24, 96, 8, 3, 2, 8, false, 1},
    {"ppocr_rec_dw_12x80x240_5x5s1", 240, 12, 80, 240, 5, 1, 240},
    {"ppocr_rec_dw_12x80x240_5x5s2x1", 240, 12, 80, 240, 5, 2, 240, false, 1},
    {"ppocr_rec_dw_24x160x64_3x3s2x1", 64, 24, 160, 64, 3, 2, 64, false, 1},
    {"ppocr_rec_dw_12x160x128_3x3s1x2", 128, 12, 160, 128, 3, 1, 128, false, 2},
    {"ppocr_det_dw_20x20x192_5x5s1", 192, 20, 20, 192, 5, 1, 192},
    {"convnext_dw_28x28x192_7x7s1", 192, 28, 28, 192, 7, 1, 192},
    {"resnet18_stem_224x224x3_7x7s2_64", 3, 224, 224, 64, 7, 2, 1},
    {"mobilenetv2_stem_224x224x3_3x3s2_32", 3, 224, 224, 32, 3, 2, 1},
    {"squeezenet_stem_224x224x3_3x3s2_64", 3, 224, 224, 64, 3, 2, 1, true},
    {"resnet18_56x56x64_3x3_64", 64, 56, 56, 64, 3, 1, 1},
    {"resnet18_56x56x64_3x3s2_128", 64, 56, 56, 128, 3, 2, 1},
    {"resnet18_28x28x128_3x3_128", 128, 28, 28, 128, 3, 1, 1},
    {"resnet18_14x14x256_3x3_256", 256, 14, 14, 256, 3, 1, 1},
    {"resnet18_7x7x512_3x3_512", 512, 7, 7, 512, 3, 1, 1},
    {"squeezenet_55x55x16_3x3_64", 16, 55, 55, 64, 3, 1, 1},
    {"squeezenet_27x27x32_3x3_128", 32, 27, 27, 128, 3, 1, 1},
    {"squeezenet_13x13x48_3x3_192", 48, 13, 13, 192, 3, 1, 1},
    {"squeezenet_13x13x64_3x3_256", 64, 13, 13, 256, 3, 1, 1},
    {"pointwise_28x28x96_1x1_576", 96, 28, 28, 576, 1, 1, 1},
};

thaw_conv2d_params params_of(const Layer& l) {
  thaw_conv2d_params p = {};
  p.batch = 1;
  p.in_channels = l.channels;
  p.in_height = l.height;
  p.in_width = l.width;
  p.out_channels = l.out_channels;
  p.kernel_height = p.kernel_width = l.kernel;
  p.groups = l.groups;
  p.stride_h = l.stride;
  p.stride_w = l.stride_w != 0 ? l.stride_w : l.stride;
  p.dilation_h = p.dilation_w = 1;
  const size_t pad = l.unpadded ? 0 : l.kernel / 2;
  p.pad_top = p.pad_left = pad;
  p.out_height = (l.height + 2 * pad - l.kernel) / p.stride_h + 1;
  p.out_width = (l.width + 2 * pad - l.kernel) / p.stride_w + 1;
  p.activation.func = THAW_KERNEL_CLIP;  // ReLU6, as MobileNetV2 fuses it
  p.activation.alpha = 0.0f;
  p.activation.beta = 6.0f;
  return p;
}

double conv_flops(const thaw_conv2d_params& p) {
  return 2.0 * static_cast<double>(p.out_channels * p.out_height * p.out_width) *
         static_cast<double>(p.in_channels / p.groups * p.kernel_height * p.kernel_width);
}

double conv_bytes(const thaw_conv2d_params& p) {
  return 4.0 * static_cast<double>(p.in_channels * p.in_height * p.in_width +
                                   p.out_channels * p.out_height * p.out_width);
}

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<float>(i % 17) * scale - 8.0f * scale;
  return v;
}

void* aligned_scratch(size_t bytes) {
  return bytes == 0 ? nullptr : std::aligned_alloc(64, (bytes + 63) / 64 * 64);
}

void report(benchmark::State& state, double flops, double bytes) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] =
      benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void run_conv(benchmark::State& state, const Layer& layer, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) {
    state.SkipWithError("kernel table not available on this CPU");
    return;
  }
  const thaw_conv2d_params p = params_of(layer);
  const std::vector<float> x = ramp(p.in_channels * p.in_height * p.in_width, 0.01f);
  const std::vector<float> w =
      ramp(p.out_channels * (p.in_channels / p.groups) * p.kernel_height * p.kernel_width,
           0.001f);
  const std::vector<float> bias = ramp(p.out_channels, 0.1f);
  std::vector<float> y(p.out_channels * p.out_height * p.out_width);
  void* scratch = aligned_scratch(kernels->f32_conv2d_scratch_size(&p));
  for (auto _ : state) {
    kernels->f32_conv2d(&p, x.data(), w.data(), bias.data(), y.data(), scratch,
                        &thaw_parallel_serial);
    benchmark::ClobberMemory();
  }
  std::free(scratch);
  report(state, conv_flops(p), conv_bytes(p));
}

// The vector ISA whose convolution paths are timed one by one.
#if defined(__aarch64__)
constexpr const char* kPathIsa = "neon";
#define PATH_FUNCTION(path) thaw_f32_conv2d_##path##__neon
#else
constexpr const char* kPathIsa = "avx2";
#define PATH_FUNCTION(path) thaw_f32_conv2d_##path##__avx2
#endif

enum class Path { kIm2col, kWinograd, kIgemm };

// A layer through one path forced, whichever the driver would choose, in the GFLOP/s of direct
// convolution (Winograd does fewer): 3x3 stride-1 layers through im2col and Winograd, layers
// with few taps over wide rows (the stems) through im2col and the implicit GEMM.
void run_conv_path(benchmark::State& state, const Layer& layer, Path path) {
  if (table_named(kPathIsa) == nullptr) {
    state.SkipWithError("kernel table not available on this CPU");
    return;
  }
  const thaw_conv2d_params p = params_of(layer);
  const std::vector<float> x = ramp(p.in_channels * p.in_height * p.in_width, 0.01f);
  const std::vector<float> w =
      ramp(p.out_channels * p.in_channels * p.kernel_height * p.kernel_width, 0.001f);
  const std::vector<float> bias = ramp(p.out_channels, 0.1f);
  std::vector<float> y(p.out_channels * p.out_height * p.out_width);
  void* scratch = nullptr;
  auto conv = PATH_FUNCTION(im2col);
  switch (path) {
    case Path::kIm2col: scratch = aligned_scratch(thaw_f32_conv2d_im2col_scratch_size(&p)); break;
    case Path::kWinograd:
      scratch = aligned_scratch(thaw_f32_winograd_scratch_size(&p));
      conv = PATH_FUNCTION(winograd);
      break;
    case Path::kIgemm:
      scratch = aligned_scratch(thaw_f32_igemm_scratch_size(&p));
      conv = PATH_FUNCTION(igemm);
      break;
  }
  for (auto _ : state) {
    conv(&p, x.data(), w.data(), bias.data(), y.data(), scratch, &thaw_parallel_serial);
    benchmark::ClobberMemory();
  }
  std::free(scratch);
  report(state, conv_flops(p), conv_bytes(p));
}

// The GEMM a K x K or 1x1 layer amounts to, with B packed ahead of time.
void run_gemm(benchmark::State& state, const Layer& layer) {
  const thaw_kernels* kernels = table_named("avx2");
  if (kernels == nullptr) {
    state.SkipWithError("no AVX2 on this CPU");
    return;
  }
  const thaw_conv2d_params c = params_of(layer);
  thaw_gemm_params p = {};
  p.m = c.out_channels;
  p.n = c.out_height * c.out_width;
  p.k = c.in_channels * c.kernel_height * c.kernel_width;
  p.a_row_stride = static_cast<ptrdiff_t>(p.k);
  p.a_k_stride = 1;
  p.b_packed = true;
  p.c_row_stride = static_cast<ptrdiff_t>(p.n);
  p.bias = THAW_GEMM_BIAS_PER_ROW;
  p.activation = c.activation;
  const std::vector<float> a = ramp(p.m * p.k, 0.001f);
  const std::vector<float> b =
      ramp(thaw_f32_gemm_packed_b_size(p.k, p.n) / sizeof(float), 0.01f);
  const std::vector<float> bias = ramp(p.m, 0.1f);
  std::vector<float> out(p.m * p.n);
  void* scratch = aligned_scratch(kernels->f32_gemm_scratch_size(&p));
  for (auto _ : state) {
    kernels->f32_gemm(&p, a.data(), b.data(), bias.data(), out.data(), scratch,
                      &thaw_parallel_serial);
    benchmark::ClobberMemory();
  }
  std::free(scratch);
  report(state, conv_flops(c), conv_bytes(c));
}

// The memory rate to compare a depthwise layer with: memcpy of its input, reporting the
// bytes read and written.
void run_copy(benchmark::State& state, const Layer& layer) {
  const thaw_conv2d_params p = params_of(layer);
  const std::vector<float> x = ramp(p.in_channels * p.in_height * p.in_width, 0.01f);
  std::vector<float> y(x.size());
  for (auto _ : state) {
    std::memcpy(y.data(), x.data(), x.size() * sizeof(float));
    benchmark::ClobberMemory();
  }
  report(state, 0.0, 2.0 * sizeof(float) * static_cast<double>(x.size()));
}

// 3x3 stride-2 max pools: ResNet-18's stem (pad 1, 64 x 112x112 -> 56x56) and SqueezeNet
// 1.1's three (no padding, ceil mode: 64 x 111x111, 128 x 55x55, 256 x 27x27); and ResNet-18's
// global average pool (512 x 7x7), in GB/s of input read.
struct MaxPoolShape {
  const char* name;
  size_t channels, in_side, out_side, pad;
};

constexpr MaxPoolShape kMaxPools[] = {
    {"resnet18_max_pool_3x3s2", 64, 112, 56, 1},
    {"squeezenet_max_pool_111", 64, 111, 55, 0},
    {"squeezenet_max_pool_55", 128, 55, 27, 0},
    {"squeezenet_max_pool_27", 256, 27, 13, 0},
};

void run_max_pool(benchmark::State& state, const MaxPoolShape& shape, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) {
    state.SkipWithError("kernel table not available on this CPU");
    return;
  }
  thaw_pool2d_params p = {};
  p.batch_channels = shape.channels;
  p.in_height = p.in_width = shape.in_side;
  p.out_height = p.out_width = shape.out_side;
  p.kernel_height = p.kernel_width = 3;
  p.stride_h = p.stride_w = 2;
  p.dilation_h = p.dilation_w = 1;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = shape.pad;
  const std::vector<float> x = ramp(p.batch_channels * p.in_height * p.in_width, 0.01f);
  std::vector<float> y(p.batch_channels * p.out_height * p.out_width);
  for (auto _ : state) {
    kernels->f32_max_pool2d(&p, x.data(), y.data());
    benchmark::ClobberMemory();
  }
  report(state, 0.0, 4.0 * static_cast<double>(x.size()));
}

void run_global_average_pool(benchmark::State& state, const char* isa) {
  const thaw_kernels* kernels = table_named(isa);
  if (kernels == nullptr) {
    state.SkipWithError("kernel table not available on this CPU");
    return;
  }
  const size_t channels = 512, spatial = 49;
  const std::vector<float> x = ramp(channels * spatial, 0.01f);
  std::vector<float> y(channels);
  for (auto _ : state) {
    kernels->f32_global_average_pool(channels, spatial, x.data(), y.data());
    benchmark::ClobberMemory();
  }
  report(state, 0.0, 4.0 * static_cast<double>(x.size()));
}

void register_all() {
  for (const Layer& layer : kLayers) {
    const std::string name = layer.name;
    benchmark::RegisterBenchmark((name + "/scalar").c_str(), run_conv, layer, "scalar")
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((name + "/avx2").c_str(), run_conv, layer, "avx2")
        ->Unit(benchmark::kMicrosecond);
    if (layer.groups == 1)
      benchmark::RegisterBenchmark((name + "/gemm_avx2").c_str(), run_gemm, layer)
          ->Unit(benchmark::kMicrosecond);
    const thaw_conv2d_params p = params_of(layer);
    const bool winograd = layer.groups == 1 && layer.kernel == 3 && layer.stride == 1;
    const bool igemm = layer.groups == 1 && thaw_f32_igemm_pays(&p);
    if (winograd || igemm)
      benchmark::RegisterBenchmark((name + "/im2col_" + kPathIsa).c_str(), run_conv_path, layer,
                                   Path::kIm2col)
          ->Unit(benchmark::kMicrosecond);
    if (winograd)
      benchmark::RegisterBenchmark((name + "/winograd_" + kPathIsa).c_str(), run_conv_path,
                                   layer, Path::kWinograd)
          ->Unit(benchmark::kMicrosecond);
    if (igemm)
      benchmark::RegisterBenchmark((name + "/igemm_" + kPathIsa).c_str(), run_conv_path, layer,
                                   Path::kIgemm)
          ->Unit(benchmark::kMicrosecond);
    if (!winograd)
      benchmark::RegisterBenchmark((name + "/memcpy_input").c_str(), run_copy, layer)
          ->Unit(benchmark::kMicrosecond);
  }
  for (const char* isa : {"scalar", "avx2"}) {
    for (const MaxPoolShape& shape : kMaxPools)
      benchmark::RegisterBenchmark((std::string(shape.name) + "/" + isa).c_str(), run_max_pool,
                                   shape, isa)
          ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("resnet18_global_average_pool/") + isa).c_str(),
                                 run_global_average_pool, isa)
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
