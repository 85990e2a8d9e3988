/*
 * `thaw convert --quantize int8 --report`: how far a quantized model's outputs are from the f32
 * model's on real inputs (DESIGN.md §5: accuracy is reported against the f32 model).
 */
#ifndef THAW_CONVERT_QUANTIZE_REPORT_H
#define THAW_CONVERT_QUANTIZE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "thaw.h"

/* One output's agreement over all samples. Cosine similarity is over the whole output tensor
 * of a sample (1 when both are all zeros, 0 when only one is). A rank-2 output [rows, classes]
 * with at least 2 classes is a classifier's: top-1 (the first largest class) is also compared
 * row by row. */
typedef struct thaw_output_agreement {
  char name[128];
  double min_cosine, mean_cosine;
  bool classifier;
  size_t top1_rows, top1_agreeing; /* over all samples */
} thaw_output_agreement;

/* Run `reference` and `candidate`, which must have the same inputs and outputs, on every sample
 * of `inputs_dir`: each subfolder is a sample (in name order) holding NAME.npy for every model
 * input NAME, or, without subfolders, the folder itself is the only sample. *agreements
 * (*count = the outputs, in model order) is freed by the caller with free(); *samples receives
 * how many samples ran. */
thaw_status thaw_compare_models(const thaw_model *reference, const thaw_model *candidate,
                                const char *inputs_dir, thaw_output_agreement **agreements,
                                size_t *count, size_t *samples, thaw_error *error);

void thaw_output_agreements_print(const thaw_output_agreement *agreements, size_t count,
                                  size_t samples, FILE *stream);

#endif /* THAW_CONVERT_QUANTIZE_REPORT_H */
