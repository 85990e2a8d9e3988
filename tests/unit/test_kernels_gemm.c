/* GEMM and MatMul of every variant against naive double-precision products, and each GEMM
 * microkernel against the scalar one on every edge tile. */
#include <math.h>

#include "kernels/gemm/gemm-prefetch.h"
#include "kernels/scalar.h"
#include "test_kernels_oracle.h"
#if defined(__x86_64__)
#include "kernels/avx2.h"
#elif defined(__aarch64__)
#include "kernels/neon.h"
#endif

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

/* ---- f32_gemm through the tables ---- */

typedef enum a_layout { A_ROW_MAJOR, A_COLUMN_MAJOR } a_layout;
/* B_TRANSPOSED is a plain B stored as Bt (n x k row-major): attention's Q.Kt. */
typedef enum b_layout { B_PACKED, B_ROW_MAJOR, B_TRANSPOSED } b_layout;

static const thaw_unary_params gemm_activations[] = {
    {THAW_KERNEL_IDENTITY, 0, 0}, {THAW_KERNEL_RELU, 0, 0},
    {THAW_KERNEL_CLIP, -0.5f, 0.75f}, {THAW_KERNEL_GELU, 0, 0},
    {THAW_KERNEL_SIGMOID, 0, 0},  {THAW_KERNEL_HARD_SWISH, 0, 0},
    {THAW_KERNEL_LEAKY_RELU, 0.1f, 0},
};
#define GEMM_ACTIVATION_COUNT (sizeof(gemm_activations) / sizeof(gemm_activations[0]))

typedef struct gemm_case {
  size_t m, n, k;
  a_layout a_layout;
  b_layout b_layout;
  thaw_gemm_bias bias;
  thaw_unary_params activation;
} gemm_case;

static const float sentinel = -12345.0f;

static void run_gemm_case(const gemm_case *g, thaw_test_rng *rng) {
  const size_t m = g->m, n = g->n, k = g->k;
  float *a = oracle_random(rng, m * k, -1, 1);
  float *b = oracle_random(rng, k * n, -1, 1);
  float *bias = oracle_random(rng, g->bias == THAW_GEMM_BIAS_PER_ROW ? m : n, -1, 1);
  thaw_gemm_params p = {.m = m, .n = n, .k = k, .bias = g->bias, .activation = g->activation};
  p.a_row_stride = g->a_layout == A_ROW_MAJOR ? (ptrdiff_t)k : 1;
  p.a_k_stride = g->a_layout == A_ROW_MAJOR ? 1 : (ptrdiff_t)m;
  p.b_row_stride = g->b_layout == B_TRANSPOSED ? 1 : (ptrdiff_t)n;
  p.b_column_stride = g->b_layout == B_TRANSPOSED ? (ptrdiff_t)k : 1;
  p.c_row_stride = (ptrdiff_t)n + 3; /* three columns between rows that must stay untouched */

  double *expected = oracle_doubles(m * n);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double sum = g->bias == THAW_GEMM_BIAS_PER_ROW      ? bias[i]
                   : g->bias == THAW_GEMM_BIAS_PER_COLUMN ? bias[j]
                                                          : 0.0;
      for (size_t kk = 0; kk < k; kk++)
        sum += (double)a[(ptrdiff_t)i * p.a_row_stride + (ptrdiff_t)kk * p.a_k_stride] *
               b[(ptrdiff_t)kk * p.b_row_stride + (ptrdiff_t)j * p.b_column_stride];
      expected[i * n + j] = oracle_unary(&g->activation, sum);
    }

  const float *b_operand = b;
  float *packed = NULL;
  if (g->b_layout == B_PACKED) {
    const size_t packed_bytes = thaw_f32_gemm_packed_b_size(k, n);
    assert_int_equal(packed_bytes, (n + 15) / 16 * 16 * k * sizeof(float));
    packed = malloc(packed_bytes ? packed_bytes : 1);
    assert_non_null(packed);
    thaw_f32_gemm_pack_b(k, n, b, p.b_row_stride, p.b_column_stride, packed);
    p.b_packed = true;
    b_operand = packed;
  }
  const size_t c_count = (m - 1) * (size_t)p.c_row_stride + n;
  for (size_t v = 0; v < variant_count; v++) {
    const size_t scratch_bytes = variants[v]->f32_gemm_scratch_size(&p);
    if (p.b_packed) assert_int_equal(scratch_bytes, 0);
    void *scratch = scratch_bytes ? malloc(scratch_bytes) : NULL;
    float *c = oracle_floats(c_count);
    for (size_t e = 0; e < c_count; e++) c[e] = sentinel;
    variants[v]->f32_gemm(&p, a, b_operand, g->bias == THAW_GEMM_BIAS_NONE ? NULL : bias, c,
                          scratch, &thaw_parallel_serial);
    char what[160];
    snprintf(what, sizeof(what), "%s gemm %zux%zux%zu A %s B %s bias %d act %d", variants[v]->isa,
             m, n, k, g->a_layout == A_ROW_MAJOR ? "rows" : "columns",
             g->b_layout == B_PACKED ? "packed" : (g->b_layout == B_ROW_MAJOR ? "rows" : "Bt"),
             (int)g->bias, (int)g->activation.func);
    for (size_t i = 0; i < m; i++) {
      const float *c_row = c + i * (size_t)p.c_row_stride;
      thaw_test_assert_close(what, c_row, expected + i * n, n, 1e-5, 1e-6 * (double)(k + 1));
      if (i + 1 < m)
        for (size_t gap = n; gap < (size_t)p.c_row_stride; gap++)
          if (c_row[gap] != sentinel)
            fail_msg("%s: wrote between rows %zu and %zu", what, i, i + 1);
    }
    free(c);
    free(scratch);
  }
  free(packed);
  free(a);
  free(b);
  free(bias);
  free(expected);
}

/* Odd sizes around the tile (6 rows, 16 columns; an edge of at most 8 columns takes its own
 * path, one of at most 4 the dot edge tile when A's rows are contiguous in k), the GEMV path
 * (m <= 4), the column block (256 for a plain B, 512 for a packed one), the k block (384:
 * 520 takes two, but one with a packed B, which takes up to 576; 600 takes two with either)
 * and the row groups (257 rows are 43 tiles: 15 + 15 + 13 with a plain B; with a packed B,
 * one group of 43 at small k down to 15 + 15 + 13 at k = 520).
 * The layouts and bias kinds rotate with the size indices so that each meets every m, n and
 * k; the activations rotate apart. */
static void test_gemm_sizes(void **state) {
  (void)state;
  static const size_t ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 17, 33, 65, 257};
  static const size_t ns[] = {1, 2, 4, 5, 15, 16, 17, 24, 33, 52, 65, 257, 300, 530};
  static const size_t ks[] = {1, 2, 7, 33, 257, 520, 600};
  thaw_test_rng rng = {17};
  size_t index = 0;
  for (size_t mi = 0; mi < sizeof(ms) / sizeof(ms[0]); mi++)
    for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++)
      for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++, index++) {
        /* The largest products only once per layout, to keep the test short. */
        if (ms[mi] * ns[ni] * ks[ki] > 4000000 && index % 4 != 0) continue;
        const gemm_case g = {
            .m = ms[mi], .n = ns[ni], .k = ks[ki],
            .a_layout = (a_layout)((mi + ni) % 2),
            .b_layout = (b_layout)((mi + 2 * ni + ki) % 3),
            .bias = (thaw_gemm_bias)((mi + ni + 2 * ki) % 3),
            .activation = gemm_activations[index % GEMM_ACTIVATION_COUNT],
        };
        run_gemm_case(&g, &rng);
      }
}

/* A = [[1,3],[2,4]] read column-major from {1,2,3,4}, B = [[5,6],[7,8]], per-row bias
 * [1,-100], ReLU: row 0 is [26+1, 30+1], row 1 is [38-100, 44-100] -> [0, 0]. */
static void test_gemm_hand_values(void **state) {
  (void)state;
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, bias[2] = {1, -100};
  const double expected[4] = {27, 31, 0, 0};
  thaw_gemm_params p = {.m = 2, .n = 2, .k = 2, .a_row_stride = 1, .a_k_stride = 2,
                        .b_row_stride = 2, .b_column_stride = 1, .c_row_stride = 2,
                        .bias = THAW_GEMM_BIAS_PER_ROW,
                        .activation = {THAW_KERNEL_RELU, 0, 0}};
  for (size_t v = 0; v < variant_count; v++) {
    float c[4];
    /* A whole B packed per thread: a 64-byte header, then 2 rows of one panel. */
    _Alignas(THAW_SCRATCH_ALIGNMENT) char scratch[THAW_SCRATCH_ALIGNMENT + 2 * 16 * sizeof(float)];
    assert_true(variants[v]->f32_gemm_scratch_size(&p) <= sizeof(scratch));
    variants[v]->f32_gemm(&p, a, b, bias, c, scratch, &thaw_parallel_serial);
    thaw_test_assert_close(variants[v]->isa, c, expected, 4, 0, 0);
  }
}

/* Packing is column panels of 16, zero-filled: B = 2 x 17 with B(k, j) = 100k + j. */
static void test_gemm_pack_layout(void **state) {
  (void)state;
  float b[2 * 17];
  for (size_t kk = 0; kk < 2; kk++)
    for (size_t j = 0; j < 17; j++) b[kk * 17 + j] = (float)(100 * kk + j);
  assert_int_equal(thaw_f32_gemm_packed_b_size(2, 17), 2 * 2 * 16 * sizeof(float));
  float packed[2 * 2 * 16];
  thaw_f32_gemm_pack_b(2, 17, b, 17, 1, packed);
  for (size_t panel = 0; panel < 2; panel++)
    for (size_t kk = 0; kk < 2; kk++)
      for (size_t lane = 0; lane < 16; lane++) {
        const size_t j = panel * 16 + lane;
        const float want = j < 17 ? (float)(100 * kk + j) : 0.0f;
        assert_true(packed[(panel * 2 + kk) * 16 + lane] == want);
      }
  assert_int_equal(thaw_f32_gemm_packed_b_size(SIZE_MAX / 8, 17), SIZE_MAX);
}

/* The same panels from a B whose columns are contiguous in k (b_row_stride 1, as attention's
 * Kᵀ), two floats apart between columns: B(k, j) = 100k + j at b[j * (k + 2) + k], for every k
 * from 1 to 9 (the blocks of four rows and the rows after them) and n = 35 (two full panels and
 * a partial one). */
static void test_gemm_pack_transposed_layout(void **state) {
  (void)state;
  enum { N = 35, PANELS = 3, MAX_K = 9, COLUMN_GAP = 2 };
  for (size_t k = 1; k <= MAX_K; k++) {
    const size_t column_stride = k + COLUMN_GAP;
    float b[N * (MAX_K + COLUMN_GAP)];
    for (size_t j = 0; j < N; j++)
      for (size_t kk = 0; kk < column_stride; kk++)
        b[j * column_stride + kk] = kk < k ? (float)(100 * kk + j) : -1.0f;
    float packed[PANELS * MAX_K * 16];
    thaw_f32_gemm_pack_b(k, N, b, 1, (ptrdiff_t)column_stride, packed);
    for (size_t panel = 0; panel < PANELS; panel++)
      for (size_t kk = 0; kk < k; kk++)
        for (size_t lane = 0; lane < 16; lane++) {
          const size_t j = panel * 16 + lane;
          const float want = j < N ? (float)(100 * kk + j) : 0.0f;
          const float got = packed[(panel * k + kk) * 16 + lane];
          if (got != want)
            fail_msg("k %zu: B(%zu, %zu) packed as %g, want %g", k, kk, j, got, want);
        }
  }
}

/* ---- microkernels against the scalar ones ---- */

typedef struct ukernel_variant {
  const char *name;
  thaw_f32_gemm_ukernel_fn gemm;
  thaw_f32_gemv_ukernel_fn gemv;
  thaw_f32_gemm_dot_ukernel_fn dot;
} ukernel_variant;

/* The scalar microkernels first, then those this CPU runs. */
static size_t ukernel_variants(ukernel_variant *out) {
  size_t count = 0;
  out[count++] = (ukernel_variant){"scalar", thaw_f32_gemm_ukernel_6x16__scalar,
                                   thaw_f32_gemv_ukernel__scalar,
                                   thaw_f32_gemm_dot_ukernel_6x4__scalar};
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    out[count++] = (ukernel_variant){"avx2", thaw_f32_gemm_ukernel_6x16__avx2,
                                     thaw_f32_gemv_ukernel_4x16__avx2,
                                     thaw_f32_gemm_dot_ukernel_6x4__avx2};
#elif defined(__aarch64__)
  out[count++] = (ukernel_variant){"neon", thaw_f32_gemm_ukernel_6x16__neon,
                                   thaw_f32_gemv_ukernel_4x16__neon,
                                   thaw_f32_gemm_dot_ukernel_6x4__neon};
#endif
  return count;
}

/* The cells of a C of rows x stride outside its first mr rows and nr columns kept their
 * start values. */
static void assert_only_tile_written(const char *what, const float *c, const float *c_start,
                                     size_t rows, size_t stride, size_t mr, size_t nr) {
  for (size_t e = 0; e < rows * stride; e++)
    if ((e / stride >= mr || e % stride >= nr) && c[e] != c_start[e])
      fail_msg("%s: wrote outside the tile at row %zu column %zu", what, e / stride,
               e % stride);
}

static const thaw_gemm_tile_init tile_inits[] = {
    THAW_GEMM_TILE_ZERO, THAW_GEMM_TILE_ACCUMULATE, THAW_GEMM_TILE_BIAS_PER_ROW,
    THAW_GEMM_TILE_BIAS_PER_COLUMN};
static const float clamps[][2] = {{-INFINITY, INFINITY}, {-0.25f, 0.3f}};

/* Every tile size up to 6x16 with every start and clamp, A through both stride orders, in a
 * C of 8 rows x 24 columns whose cells outside the tile must keep their values. A column must
 * also get the same bits in an edge tile as in the full tile over the same panel: callers cut
 * C into column chunks that may depend on their thread count, and threads must not change a
 * bit of any output. */
static void test_gemm_ukernel_edges(void **state) {
  (void)state;
  enum { C_ROWS = 8, C_STRIDE = 24, KC_MAX = 17 };
  ukernel_variant kernels[4];
  const size_t kernel_count = ukernel_variants(kernels);
  thaw_test_rng rng = {29};
  float a[6 * KC_MAX], b[KC_MAX * 16], bias[16], c_start[C_ROWS * C_STRIDE];
  float c_reference[C_ROWS * C_STRIDE], c_actual[C_ROWS * C_STRIDE], c_full[C_ROWS * C_STRIDE];
  double expected[C_ROWS * C_STRIDE];
  static const size_t kcs[] = {0, 1, 3, 8, KC_MAX};
  for (size_t kci = 0; kci < sizeof(kcs) / sizeof(kcs[0]); kci++)
    for (size_t mr = 1; mr <= 6; mr++)
      for (size_t nr = 1; nr <= 16; nr++)
        for (size_t init = 0; init < 4; init++)
          for (size_t clamp = 0; clamp < 2; clamp++)
            for (size_t column_major = 0; column_major < 2; column_major++) {
              const size_t kc = kcs[kci];
              thaw_test_fill_uniform(&rng, a, 6 * KC_MAX, -1, 1);
              thaw_test_fill_uniform(&rng, b, KC_MAX * 16, -1, 1);
              thaw_test_fill_uniform(&rng, bias, 16, -1, 1);
              thaw_test_fill_uniform(&rng, c_start, C_ROWS * C_STRIDE, -1, 1);
              const ptrdiff_t a_row_stride = column_major ? 1 : (ptrdiff_t)kc;
              const ptrdiff_t a_k_stride = column_major ? (ptrdiff_t)mr : 1;
              const thaw_gemm_tile_args args = {tile_inits[init], bias, clamps[clamp][0],
                                                clamps[clamp][1]};
              memcpy(c_reference, c_start, sizeof(c_start));
              thaw_f32_gemm_ukernel_6x16__scalar(mr, nr, kc, a, a_row_stride, a_k_stride, b,
                                                 c_reference, C_STRIDE, &args);
              for (size_t e = 0; e < C_ROWS * C_STRIDE; e++) expected[e] = c_reference[e];
              for (size_t v = 1; v < kernel_count; v++) {
                memcpy(c_actual, c_start, sizeof(c_start));
                kernels[v].gemm(mr, nr, kc, a, a_row_stride, a_k_stride, b, c_actual,
                                C_STRIDE, &args);
                char what[128];
                snprintf(what, sizeof(what), "%s 6x16 ukernel mr %zu nr %zu kc %zu init %zu",
                         kernels[v].name, mr, nr, kc, init);
                thaw_test_assert_close(what, c_actual, expected, C_ROWS * C_STRIDE, 1e-6, 1e-6);
                assert_only_tile_written(what, c_actual, c_start, C_ROWS, C_STRIDE, mr, nr);
                memcpy(c_full, c_start, sizeof(c_start));
                kernels[v].gemm(mr, 16, kc, a, a_row_stride, a_k_stride, b, c_full, C_STRIDE,
                                &args);
                for (size_t i = 0; i < mr; i++)
                  if (memcmp(c_actual + i * C_STRIDE, c_full + i * C_STRIDE,
                             nr * sizeof(float)) != 0)
                    fail_msg("%s: row %zu differs from the full tile's", what, i);
              }
            }
}

/* Every dot edge tile (up to 6 rows by THAW_GEMM_DOT_NR columns) with every start and clamp,
 * kc around the vector widths (4 and 8 lanes, two vectors for a lone column), against double
 * sums; A rows and B columns have gaps between them, and the cells of C outside the tile
 * must keep their values. Every variant, the scalar one too. */
static void test_gemm_dot_ukernel_edges(void **state) {
  (void)state;
  enum { C_ROWS = 8, C_STRIDE = 7, KC_MAX = 35, A_STRIDE = KC_MAX + 3, B_STRIDE = KC_MAX + 2 };
  ukernel_variant kernels[4];
  const size_t kernel_count = ukernel_variants(kernels);
  thaw_test_rng rng = {37};
  float a[6 * A_STRIDE], b[THAW_GEMM_DOT_NR * B_STRIDE], bias[6], c_start[C_ROWS * C_STRIDE];
  float c_actual[C_ROWS * C_STRIDE];
  double expected[C_ROWS * C_STRIDE];
  static const size_t kcs[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, KC_MAX};
  for (size_t kci = 0; kci < sizeof(kcs) / sizeof(kcs[0]); kci++)
    for (size_t mr = 1; mr <= 6; mr++)
      for (size_t nr = 1; nr <= THAW_GEMM_DOT_NR; nr++)
        for (size_t init = 0; init < 4; init++)
          for (size_t clamp = 0; clamp < 2; clamp++) {
            const size_t kc = kcs[kci];
            thaw_test_fill_uniform(&rng, a, 6 * A_STRIDE, -1, 1);
            thaw_test_fill_uniform(&rng, b, THAW_GEMM_DOT_NR * B_STRIDE, -1, 1);
            thaw_test_fill_uniform(&rng, bias, 6, -1, 1);
            thaw_test_fill_uniform(&rng, c_start, C_ROWS * C_STRIDE, -1, 1);
            const thaw_gemm_tile_args args = {tile_inits[init], bias, clamps[clamp][0],
                                              clamps[clamp][1]};
            for (size_t e = 0; e < C_ROWS * C_STRIDE; e++) {
              const size_t i = e / C_STRIDE, j = e % C_STRIDE;
              if (i >= mr || j >= nr) {
                expected[e] = c_start[e];
                continue;
              }
              double sum = 0.0;
              for (size_t kk = 0; kk < kc; kk++)
                sum += (double)a[i * A_STRIDE + kk] * b[j * B_STRIDE + kk];
              switch (tile_inits[init]) {
              case THAW_GEMM_TILE_ACCUMULATE: sum += c_start[e]; break;
              case THAW_GEMM_TILE_BIAS_PER_ROW: sum += bias[i]; break;
              case THAW_GEMM_TILE_BIAS_PER_COLUMN: sum += bias[j]; break;
              case THAW_GEMM_TILE_ZERO: break;
              }
              expected[e] = fmin(fmax(sum, clamps[clamp][0]), clamps[clamp][1]);
            }
            for (size_t v = 0; v < kernel_count; v++) {
              memcpy(c_actual, c_start, sizeof(c_start));
              kernels[v].dot(mr, nr, kc, a, A_STRIDE, b, B_STRIDE, c_actual, C_STRIDE, &args);
              char what[128];
              snprintf(what, sizeof(what), "%s dot ukernel mr %zu nr %zu kc %zu init %zu",
                       kernels[v].name, mr, nr, kc, init);
              thaw_test_assert_close(what, c_actual, expected, C_ROWS * C_STRIDE, 1e-5, 1e-6);
              assert_only_tile_written(what, c_actual, c_start, C_ROWS, C_STRIDE, mr, nr);
            }
          }
}

/* Every m up to 4 against n around the lane groups (16, 32, 64 columns) and k = 0. */
static void test_gemv_ukernel_edges(void **state) {
  (void)state;
  enum { N_MAX = 70, C_STRIDE = N_MAX + 5, K_MAX = 33 };
  ukernel_variant kernels[4];
  const size_t kernel_count = ukernel_variants(kernels);
  thaw_test_rng rng = {31};
  static const size_t ks[] = {0, 1, 5, K_MAX};
  float *a = oracle_floats(THAW_GEMV_MAX_M * K_MAX);
  float *b = oracle_floats(K_MAX * ((N_MAX + 15) / 16 * 16));
  float *packed = oracle_floats(K_MAX * ((N_MAX + 15) / 16 * 16));
  float *bias = oracle_floats(N_MAX);
  float *c_reference = oracle_floats(THAW_GEMV_MAX_M * C_STRIDE);
  float *c_actual = oracle_floats(THAW_GEMV_MAX_M * C_STRIDE);
  double *expected = oracle_doubles(THAW_GEMV_MAX_M * C_STRIDE);
  static const thaw_gemm_tile_init gemv_inits[] = {
      THAW_GEMM_TILE_ZERO, THAW_GEMM_TILE_BIAS_PER_ROW, THAW_GEMM_TILE_BIAS_PER_COLUMN};
  for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++)
    for (size_t m = 1; m <= THAW_GEMV_MAX_M; m++)
      for (size_t n = 1; n <= N_MAX; n++)
        for (size_t init = 0; init < 3; init++)
          for (size_t clamp = 0; clamp < 2; clamp++) {
            const size_t k = ks[ki];
            thaw_test_fill_uniform(&rng, a, m * k, -1, 1);
            thaw_test_fill_uniform(&rng, b, k * n, -1, 1);
            thaw_test_fill_uniform(&rng, bias, N_MAX, -1, 1);
            thaw_f32_gemm_pack_b(k, n, b, (ptrdiff_t)n, 1, packed);
            const thaw_gemm_tile_args args = {gemv_inits[init], bias, clamps[clamp][0],
                                              clamps[clamp][1]};
            for (size_t e = 0; e < m * C_STRIDE; e++) c_reference[e] = sentinel;
            thaw_f32_gemv_ukernel__scalar(m, n, k, a, (ptrdiff_t)k, 1, packed, c_reference,
                                          C_STRIDE, &args);
            for (size_t e = 0; e < m * C_STRIDE; e++) expected[e] = c_reference[e];
            for (size_t v = 1; v < kernel_count; v++) {
              for (size_t e = 0; e < m * C_STRIDE; e++) c_actual[e] = sentinel;
              kernels[v].gemv(m, n, k, a, (ptrdiff_t)k, 1, packed, c_actual, C_STRIDE, &args);
              char what[128];
              snprintf(what, sizeof(what), "%s gemv m %zu n %zu k %zu init %zu",
                       kernels[v].name, m, n, k, init);
              /* The sentinels past column n must survive. */
              thaw_test_assert_close(what, c_actual, expected, m * C_STRIDE, 1e-6, 1e-6);
            }
          }
  free(a);
  free(b);
  free(packed);
  free(bias);
  free(c_reference);
  free(c_actual);
  free(expected);
}

/* ---- the prefetch stream the GEMM driver spreads over its tiles ---- */

/* The addresses one share names. */
typedef struct named_lines {
  const char *addresses[128];
  size_t count;
} named_lines;

static void record_line(const char *address, void *context) {
  named_lines *lines = context;
  if (lines->count == sizeof lines->addresses / sizeof lines->addresses[0])
    fail_msg("a share named more than %zu lines", lines->count);
  lines->addresses[lines->count++] = address;
}

/* Runs at every alignment, one byte to several lines long, back to back or apart: the stream
 * names, in address order, every line that overlaps a run, each by an address inside a run,
 * no other line, and all of them within the shares it was made for. */
static void test_gemm_prefetch_stream(void **state) {
  (void)state;
  enum { LINE = THAW_PREFETCH_LINE, LINES = 96 };
  static _Alignas(THAW_PREFETCH_LINE) char memory[LINES * LINE];
  static const size_t offsets[] = {0, 1, 4, 63};
  static const size_t lengths[] = {1, 4, 60, 64, 65, 640, 700};
  static const size_t gaps[] = {0, 4, 100}; /* bytes between one run's end and the next */
  static const size_t run_counts[] = {1, 2, 3, 6};
  static const size_t share_counts[] = {1, 3, 7, 1000};
  for (size_t oi = 0; oi < sizeof(offsets) / sizeof(offsets[0]); oi++)
    for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
      for (size_t gi = 0; gi < sizeof(gaps) / sizeof(gaps[0]); gi++)
        for (size_t ri = 0; ri < sizeof(run_counts) / sizeof(run_counts[0]); ri++)
          for (size_t si = 0; si < sizeof(share_counts) / sizeof(share_counts[0]); si++) {
            const size_t offset = offsets[oi], length = lengths[li], runs = run_counts[ri];
            const size_t stride = length + gaps[gi], shares = share_counts[si];
            if (offset + (runs - 1) * stride + length > sizeof(memory)) continue;
            bool overlapped[LINES] = {false}, named[LINES] = {false};
            for (size_t run = 0; run < runs; run++)
              for (size_t byte = 0; byte < length; byte++)
                overlapped[(offset + run * stride + byte) / LINE] = true;

            thaw_prefetch_stream s =
                thaw_prefetch_stream_make(memory + offset, runs, length, stride, shares);
            size_t previous_line = 0;
            for (size_t share = 0; share < shares; share++) {
              named_lines visited = {0};
              thaw_prefetch_share_each(&s, record_line, &visited);
              assert_true(visited.count <= s.lines_per_share);
              for (size_t i = 0; i < visited.count; i++) {
                const char *address = visited.addresses[i];
                assert_true(address >= memory + offset);
                const size_t position = (size_t)(address - memory) - offset;
                if (position / stride >= runs || position % stride >= length)
                  fail_msg("offset %zu, %zu runs of %zu bytes %zu apart: byte %zu is in no run",
                           offset, runs, length, stride, position);
                const size_t line = (size_t)(address - memory) / LINE;
                assert_true(line >= previous_line);
                previous_line = line;
                named[line] = true;
              }
            }
            named_lines left = {0};
            thaw_prefetch_share_each(&s, record_line, &left);
            if (left.count != 0)
              fail_msg("offset %zu, %zu runs of %zu bytes %zu apart: lines left after %zu shares",
                       offset, runs, length, stride, shares);
            for (size_t line = 0; line < LINES; line++)
              if (named[line] != overlapped[line])
                fail_msg("offset %zu, %zu runs of %zu bytes %zu apart: line %zu %s", offset,
                         runs, length, stride, line, named[line] ? "named" : "not named");
          }
  /* Nothing to fetch, or no share to fetch it in: an empty stream. */
  named_lines visited = {0};
  thaw_prefetch_stream empty = thaw_prefetch_stream_make(memory, 0, LINE, LINE, 4);
  thaw_prefetch_share_each(&empty, record_line, &visited);
  empty = thaw_prefetch_stream_make(memory, 3, LINE, LINE, 0);
  thaw_prefetch_share_each(&empty, record_line, &visited);
  assert_int_equal(visited.count, 0);
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm_sizes),
      cmocka_unit_test(test_gemm_hand_values),
      cmocka_unit_test(test_gemm_pack_layout),
      cmocka_unit_test(test_gemm_pack_transposed_layout),
      cmocka_unit_test(test_gemm_ukernel_edges),
      cmocka_unit_test(test_gemv_ukernel_edges),
      cmocka_unit_test(test_gemm_dot_ukernel_edges),
      cmocka_unit_test(test_gemm_prefetch_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
