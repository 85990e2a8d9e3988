#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/scalar.h"

static const thaw_kernels scalar_kernels = {
    .isa = "scalar",
    .f32_unary = thaw_f32_unary__scalar,
    .f32_binary = thaw_f32_binary__scalar,
    .f32_conv2d = thaw_f32_conv2d__scalar,
    .f32_conv2d_scratch_size = thaw_f32_conv2d_scratch_size__scalar,
    .f32_conv_transpose2d = thaw_f32_conv_transpose2d__scalar,
    .f32_gemm = thaw_f32_gemm__scalar,
    .f32_gemm_scratch_size = thaw_f32_gemm_scratch_size,
    .f32_max_pool2d = thaw_f32_max_pool2d__scalar,
    .f32_average_pool2d = thaw_f32_average_pool2d__scalar,
    .f32_global_average_pool = thaw_f32_global_average_pool__scalar,
    .f32_softmax = thaw_f32_softmax__scalar,
    .f32_layer_norm = thaw_f32_layer_norm__scalar,
    .f32_reduce_mean = thaw_f32_reduce_mean__scalar,
    .f32_channel_affine = thaw_f32_channel_affine__scalar,
    .f32_pad = thaw_f32_pad__scalar,
    .f32_resize = thaw_f32_resize__scalar,
    .strided_copy = thaw_x_strided_copy__scalar,
    .concat = thaw_x_concat__scalar,
    .split = thaw_x_split__scalar,
    .gather = thaw_x_gather__scalar,
    .qs8_gather = thaw_qs8_gather__scalar,
    .cast = thaw_x_cast__scalar,
    .where = thaw_x_where__scalar,
    .qs8_gemm = thaw_qs8_gemm__scalar,
    .qs8_conv2d = thaw_qs8_conv2d__scalar,
    .quantize_linear = thaw_f32_quantize_linear__scalar,
    .dequantize_linear = thaw_x_dequantize_linear__scalar,
    .dynamic_quantize_linear = thaw_f32_dynamic_quantize_linear__scalar,
    .f32_rnn = thaw_f32_rnn__scalar,
    .f32_rnn_scratch_size = thaw_f32_rnn_scratch_size,
};

#if defined(__x86_64__)
#include "kernels/avx2.h"

/* AVX2 + FMA (Haswell, Zen and later). Entries without an AVX2 variant use the reference. */
static const thaw_kernels avx2_kernels = {
    .isa = "avx2",
    .f32_unary = thaw_f32_unary__avx2,
    .f32_binary = thaw_f32_binary__avx2,
    .f32_conv2d = thaw_f32_conv2d__avx2,
    .f32_conv2d_scratch_size = thaw_f32_conv2d_scratch_size__avx2,
    .f32_conv_transpose2d = thaw_f32_conv_transpose2d__avx2,
    .f32_gemm = thaw_f32_gemm__avx2,
    .f32_gemm_scratch_size = thaw_f32_gemm_scratch_size,
    .f32_max_pool2d = thaw_f32_max_pool2d__avx2,
    .f32_average_pool2d = thaw_f32_average_pool2d__avx2,
    .f32_global_average_pool = thaw_f32_global_average_pool__avx2,
    .f32_softmax = thaw_f32_softmax__avx2,
    .f32_layer_norm = thaw_f32_layer_norm__avx2,
    .f32_reduce_mean = thaw_f32_reduce_mean__avx2,
    .f32_channel_affine = thaw_f32_channel_affine__avx2,
    .f32_pad = thaw_f32_pad__scalar,
    .f32_resize = thaw_f32_resize__avx2,
    .strided_copy = thaw_x_strided_copy__avx2,
    .concat = thaw_x_concat__scalar,
    .split = thaw_x_split__scalar,
    .gather = thaw_x_gather__scalar,
    .qs8_gather = thaw_qs8_gather__scalar,
    .cast = thaw_x_cast__scalar,
    .where = thaw_x_where__scalar,
    .qs8_gemm = thaw_qs8_gemm__avx2,
    .qs8_conv2d = thaw_qs8_conv2d__avx2,
    .quantize_linear = thaw_f32_quantize_linear__avx2,
    .dequantize_linear = thaw_x_dequantize_linear__avx2,
    .dynamic_quantize_linear = thaw_f32_dynamic_quantize_linear__avx2,
    .f32_rnn = thaw_f32_rnn__avx2,
    .f32_rnn_scratch_size = thaw_f32_rnn_scratch_size,
};
#endif

#if defined(__aarch64__)
#include <sys/auxv.h>

#include "kernels/neon.h"

/* Advanced SIMD (every AArch64 CPU that Linux runs on, Graviton 1 and later). Entries without a
 * NEON variant use the reference. */
static const thaw_kernels neon_kernels = {
    .isa = "neon",
    .f32_unary = thaw_f32_unary__neon,
    .f32_binary = thaw_f32_binary__neon,
    .f32_conv2d = thaw_f32_conv2d__neon,
    .f32_conv2d_scratch_size = thaw_f32_conv2d_scratch_size__neon,
    .f32_conv_transpose2d = thaw_f32_conv_transpose2d__neon,
    .f32_gemm = thaw_f32_gemm__neon,
    .f32_gemm_scratch_size = thaw_f32_gemm_scratch_size,
    .f32_max_pool2d = thaw_f32_max_pool2d__neon,
    .f32_average_pool2d = thaw_f32_average_pool2d__neon,
    .f32_global_average_pool = thaw_f32_global_average_pool__neon,
    .f32_softmax = thaw_f32_softmax__neon,
    .f32_layer_norm = thaw_f32_layer_norm__neon,
    .f32_reduce_mean = thaw_f32_reduce_mean__neon,
    .f32_channel_affine = thaw_f32_channel_affine__neon,
    .f32_pad = thaw_f32_pad__scalar,
    .f32_resize = thaw_f32_resize__neon,
    .strided_copy = thaw_x_strided_copy__neon,
    .concat = thaw_x_concat__scalar,
    .split = thaw_x_split__scalar,
    .gather = thaw_x_gather__scalar,
    .qs8_gather = thaw_qs8_gather__scalar,
    .cast = thaw_x_cast__scalar,
    .where = thaw_x_where__scalar,
    .qs8_gemm = thaw_qs8_gemm__neon,
    .qs8_conv2d = thaw_qs8_conv2d__neon,
    .quantize_linear = thaw_f32_quantize_linear__neon,
    .dequantize_linear = thaw_x_dequantize_linear__neon,
    .dynamic_quantize_linear = thaw_f32_dynamic_quantize_linear__neon,
    .f32_rnn = thaw_f32_rnn__neon,
    .f32_rnn_scratch_size = thaw_f32_rnn_scratch_size,
};

/* The NEON table with its int8 products on the Armv8.2 dot product (SDOT: Neoverse N1 and
 * Graviton 2 onwards). Copied from neon_kernels by select_kernels, so that the two cannot
 * differ in anything else. */
static thaw_kernels neondot_kernels;

static void build_neondot_kernels(void) {
  neondot_kernels = neon_kernels;
  neondot_kernels.isa = "neondot";
  neondot_kernels.qs8_gemm = thaw_qs8_gemm__neondot;
  neondot_kernels.qs8_conv2d = thaw_qs8_conv2d__neondot;
}
#endif

/* CPU features a kernel table may require. */
enum {
  CPU_X86_AVX2_FMA = 1u << 0,
  CPU_ARM_ASIMD = 1u << 1,
  CPU_ARM_ASIMD_DOTPROD = 1u << 2,
};

/* Every table built into this binary, the reference first and then from slowest to fastest;
 * a table is usable when the CPU has all of its required features. */
static const struct {
  const thaw_kernels *table;
  uint32_t required_features;
} all_variants[] = {
    {&scalar_kernels, 0},
#if defined(__x86_64__)
    {&avx2_kernels, CPU_X86_AVX2_FMA},
#endif
#if defined(__aarch64__)
    {&neon_kernels, CPU_ARM_ASIMD},
    {&neondot_kernels, CPU_ARM_ASIMD | CPU_ARM_ASIMD_DOTPROD},
#endif
};
#define VARIANT_COUNT (sizeof(all_variants) / sizeof(all_variants[0]))

static uint32_t read_cpu_features(void) {
  uint32_t features = 0;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    features |= CPU_X86_AVX2_FMA;
#endif
#if defined(__aarch64__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  if (hwcap & HWCAP_ASIMD) features |= CPU_ARM_ASIMD;
  if (hwcap & HWCAP_ASIMDDP) features |= CPU_ARM_ASIMD_DOTPROD;
#endif
  return features;
}

static pthread_once_t selection_once = PTHREAD_ONCE_INIT;
static uint32_t cpu_features;
static const thaw_kernels *selected_kernels;

static bool variant_supported(size_t i) {
  return (all_variants[i].required_features & cpu_features) ==
         all_variants[i].required_features;
}

/* The fastest usable table, unless THAW_ISA names a usable one (THAW_ISA=scalar forces the
 * reference, e.g. to rule a vector kernel out when chasing a wrong result); a name that is
 * unknown or unusable here is ignored. */
static void select_kernels(void) {
#if defined(__aarch64__)
  build_neondot_kernels();
#endif
  cpu_features = read_cpu_features();
  const char *forced = getenv("THAW_ISA");
  for (size_t i = 0; i < VARIANT_COUNT; i++) {
    if (!variant_supported(i)) continue;
    selected_kernels = all_variants[i].table;
    if (forced != NULL && strcmp(forced, all_variants[i].table->isa) == 0) return;
  }
}

const thaw_kernels *thaw_kernels_get(void) {
  pthread_once(&selection_once, select_kernels);
  return selected_kernels;
}

const thaw_kernels *thaw_kernels_scalar(void) { return &scalar_kernels; }

size_t thaw_kernels_variants(const thaw_kernels **tables, size_t capacity) {
  pthread_once(&selection_once, select_kernels);
  size_t count = 0;
  for (size_t i = 0; i < VARIANT_COUNT && count < capacity; i++)
    if (variant_supported(i)) tables[count++] = all_variants[i].table;
  return count;
}
