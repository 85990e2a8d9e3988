/* The kernel tables: complete, the reference first, and THAW_ISA=scalar honoured. */
#define _POSIX_C_SOURCE 200809L /* setenv */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test_kernels_oracle.h"

static void test_every_table_is_complete(void **state) {
  (void)state;
  const thaw_kernels *tables[ORACLE_MAX_VARIANTS];
  const size_t count = oracle_variants(tables);
  assert_string_equal(tables[0]->isa, "scalar");
  for (size_t i = 0; i < count; i++) {
    const thaw_kernels *k = tables[i];
    assert_non_null(k->isa);
    const void *entries[] = {
        (const void *)k->f32_unary,          (const void *)k->f32_binary,
        (const void *)k->f32_conv2d,         (const void *)k->f32_conv_transpose2d,
        (const void *)k->f32_max_pool2d,
        (const void *)k->f32_average_pool2d, (const void *)k->f32_global_average_pool,
        (const void *)k->f32_softmax,        (const void *)k->f32_layer_norm,
        (const void *)k->f32_reduce_mean,    (const void *)k->f32_channel_affine,
        (const void *)k->f32_pad,            (const void *)k->f32_resize,
        (const void *)k->strided_copy,       (const void *)k->concat,
        (const void *)k->split,              (const void *)k->gather,
        (const void *)k->cast,               (const void *)k->where,
        (const void *)k->f32_gemm,           (const void *)k->f32_gemm_scratch_size,
    };
    for (size_t e = 0; e < sizeof(entries) / sizeof(entries[0]); e++)
      if (entries[e] == NULL) fail_msg("%s table: entry %zu is NULL", k->isa, e);
  }
  /* A capacity of 1 returns just the reference. */
  const thaw_kernels *first = NULL;
  assert_int_equal(thaw_kernels_variants(&first, 1), 1);
  assert_ptr_equal(first, thaw_kernels_scalar());
}

static void *get_kernels(void *unused) {
  (void)unused;
  return (void *)thaw_kernels_get();
}

/* main() sets THAW_ISA=scalar before the first selection; concurrent first calls all see the
 * same table. */
static void test_forced_scalar_from_many_threads(void **state) {
  (void)state;
  enum { THREADS = 4 };
  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&threads[i], NULL, get_kernels, NULL), 0);
  for (int i = 0; i < THREADS; i++) {
    void *table = NULL;
    assert_int_equal(pthread_join(threads[i], &table), 0);
    assert_ptr_equal(table, thaw_kernels_scalar());
  }
  assert_ptr_equal(thaw_kernels_get(), thaw_kernels_scalar());
}

int main(void) {
  assert_int_equal(setenv("THAW_ISA", "scalar", 1), 0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forced_scalar_from_many_threads),
      cmocka_unit_test(test_every_table_is_complete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
