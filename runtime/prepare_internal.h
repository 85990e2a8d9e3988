/*
 * What the preparation files (runtime/prepare.c, runtime/prepare_quant.c) share: the form of a
 * node's error message, shape text for messages and the size of a sliding window's output.
 * Internal to runtime/.
 */
#ifndef THAW_RUNTIME_PREPARE_INTERNAL_H
#define THAW_RUNTIME_PREPARE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/model.h"

/* Fill `error` with "node \"name\" (Op): detail", the detail formatted from `arguments`. */
thaw_status thaw_node_vfail(const thaw_prepared_node *node, thaw_error *error, thaw_status status,
                            const char *format, va_list arguments)
    __attribute__((format(printf, 4, 0)));

/* "[1,3,224,224]", for messages. C11 keeps the returned array alive for the whole call
 * expression the result is used in. */
typedef struct thaw_shape_text {
  char text[THAW_DIMS_TEXT_SIZE];
} thaw_shape_text;

thaw_shape_text thaw_tensor_shape_text(const thaw_format_tensor *tensor);

/* Length of a window of `kernel` taps `dilation` apart sliding by `stride` over `input` padded
 * by `pad_begin` and `pad_end`; false when the window does not fit once or a value overflows.
 * With ceil_mode a last partial step counts, unless that window would start in the end pad. */
bool thaw_sliding_output_size(uint64_t input, uint64_t pad_begin, uint64_t pad_end,
                              uint64_t kernel, uint64_t stride, uint64_t dilation, bool ceil_mode,
                              uint64_t *output);

#endif /* THAW_RUNTIME_PREPARE_INTERNAL_H */
