/* End-to-end runs of small models built with the writer, against naive double-precision
 * references computed here. */
#define _POSIX_C_SOURCE 200809L /* setenv, dup, dup2 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "test_runtime_builder.h"

/* ---- Naive references ---- */

static void reference_conv2d(const float *x, size_t channels, size_t height, size_t width,
                             const float *w, const float *bias, size_t out_channels, size_t kernel,
                             size_t groups, size_t stride, size_t pad, size_t out_height,
                             size_t out_width, double *y) {
  const size_t group_in = channels / groups, group_out = out_channels / groups;
  for (size_t m = 0; m < out_channels; m++) {
    const size_t g = m / group_out;
    for (size_t oh = 0; oh < out_height; oh++) {
      for (size_t ow = 0; ow < out_width; ow++) {
        double sum = bias[m];
        for (size_t c = 0; c < group_in; c++) {
          for (size_t kh = 0; kh < kernel; kh++) {
            for (size_t kw = 0; kw < kernel; kw++) {
              const long ih = (long)(oh * stride + kh) - (long)pad;
              const long iw = (long)(ow * stride + kw) - (long)pad;
              if (ih < 0 || iw < 0 || ih >= (long)height || iw >= (long)width) continue;
              sum += (double)x[((g * group_in + c) * height + (size_t)ih) * width + (size_t)iw] *
                     w[((m * group_in + c) * kernel + kh) * kernel + kw];
            }
          }
        }
        y[(m * out_height + oh) * out_width + ow] = sum;
      }
    }
  }
}

static void reference_matmul(const double *a, const float *b, const float *bias, size_t m, size_t k,
                             size_t n, double *y) {
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++) {
      double sum = bias != NULL ? bias[j] : 0.0;
      for (size_t p = 0; p < k; p++) sum += a[i * k + p] * b[p * n + j];
      y[i * n + j] = sum;
    }
  }
}

static double gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

/* ---- A small CNN: conv+relu, depthwise conv+relu6, max pool (ceil), global pool, gemm ---- */

enum { CNN_IN = 3, CNN_SIZE = 9, CNN_MID = 8, CNN_DW = 5, CNN_POOL = 3, CNN_OUT = 5 };

typedef struct cnn_weights {
  float w1[CNN_MID * CNN_IN * 9], b1[CNN_MID];
  float w2[CNN_MID * 9], b2[CNN_MID];
  float w3[CNN_MID * CNN_OUT], b3[CNN_OUT];
} cnn_weights;

static test_model_bytes build_cnn(const cnn_weights *weights) {
  thaw_writer *w = thaw_writer_create();
  const uint32_t x =
      test_activation(w, "image", THAW_DTYPE_F32, DIMS(1, CNN_IN, CNN_SIZE, CNN_SIZE));
  const uint32_t w1 =
      test_constant(w, "w1", THAW_DTYPE_F32, DIMS(CNN_MID, CNN_IN, 3, 3), weights->w1);
  const uint32_t b1 = test_constant(w, "b1", THAW_DTYPE_F32, DIMS(CNN_MID), weights->b1);
  const uint32_t a = test_activation(w, "a", THAW_DTYPE_F32, DIMS(1, CNN_MID, CNN_SIZE, CNN_SIZE));
  const uint32_t w2 = test_constant(w, "w2", THAW_DTYPE_F32, DIMS(CNN_MID, 1, 3, 3), weights->w2);
  const uint32_t b2 = test_constant(w, "b2", THAW_DTYPE_F32, DIMS(CNN_MID), weights->b2);
  const uint32_t b = test_activation(w, "b", THAW_DTYPE_F32, DIMS(1, CNN_MID, CNN_DW, CNN_DW));
  const uint32_t c = test_activation(w, "c", THAW_DTYPE_F32, DIMS(1, CNN_MID, CNN_POOL, CNN_POOL));
  const uint32_t d = test_activation(w, "d", THAW_DTYPE_F32, DIMS(1, CNN_MID, 1, 1));
  const uint32_t e = test_activation(w, "e", THAW_DTYPE_F32, DIMS(1, CNN_MID));
  const uint32_t w3 = test_constant(w, "w3", THAW_DTYPE_F32, DIMS(CNN_MID, CNN_OUT), weights->w3);
  const uint32_t b3 = test_constant(w, "b3", THAW_DTYPE_F32, DIMS(CNN_OUT), weights->b3);
  const uint32_t y = test_activation(w, "logits", THAW_DTYPE_F32, DIMS(1, CNN_OUT));

  const thaw_conv_attrs conv1 = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, {THAW_UNARY_RELU, 0, 0}};
  const thaw_conv_attrs depthwise = {2, 2, 1,       1, 1, 1,
                                     1, 1, CNN_MID, 0, 0, {THAW_UNARY_CLIP, 0.0f, 6.0f}};
  const thaw_pool_attrs pool = {.kernel_h = 2,
                                .kernel_w = 2,
                                .stride_h = 2,
                                .stride_w = 2,
                                .dilation_h = 1,
                                .dilation_w = 1,
                                .ceil_mode = 1};
  const thaw_matmul_attrs gemm = {{THAW_UNARY_IDENTITY, 0, 0}};
  test_node(w, THAW_OP_CONV, "conv1", &conv1, 3, (uint32_t[]){x, w1, b1}, a);
  test_node(w, THAW_OP_CONV, "depthwise", &depthwise, 3, (uint32_t[]){a, w2, b2}, b);
  test_node(w, THAW_OP_MAX_POOL, "pool", &pool, 1, &b, c);
  test_node(w, THAW_OP_GLOBAL_AVERAGE_POOL, "gap", NULL, 1, &c, d);
  test_node(w, THAW_OP_RESHAPE, "flatten", NULL, 1, &d, e);
  test_node(w, THAW_OP_MATMUL, "fc", &gemm, 3, (uint32_t[]){e, w3, b3}, y);
  thaw_writer_add_input(w, x);
  thaw_writer_add_output(w, y);
  return test_finish(w);
}

static void reference_cnn(const cnn_weights *weights, const float *x, double *y) {
  double a[CNN_MID * CNN_SIZE * CNN_SIZE], b[CNN_MID * CNN_DW * CNN_DW];
  reference_conv2d(x, CNN_IN, CNN_SIZE, CNN_SIZE, weights->w1, weights->b1, CNN_MID, 3, 1, 1, 1,
                   CNN_SIZE, CNN_SIZE, a);
  float a_relu[CNN_MID * CNN_SIZE * CNN_SIZE];
  for (size_t i = 0; i < CNN_MID * CNN_SIZE * CNN_SIZE; i++) a_relu[i] = (float)fmax(a[i], 0.0);
  reference_conv2d(a_relu, CNN_MID, CNN_SIZE, CNN_SIZE, weights->w2, weights->b2, CNN_MID, 3,
                   CNN_MID, 2, 1, CNN_DW, CNN_DW, b);
  for (size_t i = 0; i < CNN_MID * CNN_DW * CNN_DW; i++) b[i] = fmin(fmax(b[i], 0.0), 6.0);
  /* 2x2 stride-2 windows over 5x5 in ceil mode: the last row/column window holds one line. */
  double pooled_mean[CNN_MID];
  for (size_t ch = 0; ch < CNN_MID; ch++) {
    double sum = 0;
    for (size_t ph = 0; ph < CNN_POOL; ph++) {
      for (size_t pw = 0; pw < CNN_POOL; pw++) {
        double best = -INFINITY;
        for (size_t ih = 2 * ph; ih < 2 * ph + 2 && ih < CNN_DW; ih++) {
          for (size_t iw = 2 * pw; iw < 2 * pw + 2 && iw < CNN_DW; iw++) {
            best = fmax(best, b[(ch * CNN_DW + ih) * CNN_DW + iw]);
          }
        }
        sum += best;
      }
    }
    pooled_mean[ch] = sum / (CNN_POOL * CNN_POOL);
  }
  reference_matmul(pooled_mean, weights->w3, weights->b3, 1, CNN_MID, CNN_OUT, y);
}

static void make_cnn_weights(cnn_weights *weights, thaw_test_rng *rng) {
  thaw_test_fill_uniform(rng, weights->w1, sizeof weights->w1 / sizeof(float), -0.5f, 0.5f);
  thaw_test_fill_uniform(rng, weights->b1, CNN_MID, -0.2f, 0.2f);
  thaw_test_fill_uniform(rng, weights->w2, sizeof weights->w2 / sizeof(float), -0.8f, 0.8f);
  thaw_test_fill_uniform(rng, weights->b2, CNN_MID, -0.2f, 0.2f);
  thaw_test_fill_uniform(rng, weights->w3, sizeof weights->w3 / sizeof(float), -1.0f, 1.0f);
  thaw_test_fill_uniform(rng, weights->b3, CNN_OUT, -0.5f, 0.5f);
}

static void run_and_check_cnn(thaw_model *model, const cnn_weights *weights, const float *x) {
  thaw_session *session = NULL;
  thaw_error error = {0};
  assert_int_equal(thaw_session_create(model, NULL, &session, &error), THAW_OK);
  test_set_input(session, 0, x);
  assert_int_equal(thaw_session_run(session, NULL, &error), THAW_OK);
  double expected[CNN_OUT];
  reference_cnn(weights, x, expected);
  thaw_test_assert_close("cnn logits", test_output(session, 0), expected, CNN_OUT, 1e-4, 1e-5);
  thaw_session_destroy(session);
}

static void test_cnn_from_memory_and_file(void **state) {
  (void)state;
  thaw_test_rng rng = {1};
  cnn_weights weights;
  make_cnn_weights(&weights, &rng);
  float x[CNN_IN * CNN_SIZE * CNN_SIZE];
  thaw_test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
  test_model_bytes bytes = build_cnn(&weights);

  thaw_model *model = test_open(&bytes);
  assert_int_equal(thaw_model_input_count(model), 1);
  assert_int_equal(thaw_model_output_count(model), 1);
  thaw_tensor input;
  assert_int_equal(thaw_model_input(model, 0, &input), THAW_OK);
  assert_string_equal(input.name, "image");
  assert_int_equal(input.rank, 4);
  assert_int_equal(input.shape[3], CNN_SIZE);
  assert_int_equal(input.size_bytes, sizeof x);
  assert_null(input.data);
  size_t index = 99;
  assert_int_equal(thaw_model_find_output(model, "logits", &index), THAW_OK);
  assert_int_equal(index, 0);
  assert_true(thaw_model_session_bytes(model) >= sizeof x);
  run_and_check_cnn(model, &weights, x);
  thaw_model_close(model);

  char *path = thaw_test_tmp_path("cnn.thaw");
  thaw_test_write_file(path, bytes.bytes, bytes.size);
  thaw_error error = {0};
  assert_int_equal(
      thaw_model_open(path, THAW_OPEN_VERIFY_WEIGHTS | THAW_OPEN_PREFETCH, &model, &error),
      THAW_OK);
  run_and_check_cnn(model, &weights, x);
  thaw_model_close(model);
  free(path);
  free(bytes.bytes);
}

static void test_input_buffer_unchanged_by_run(void **state) {
  (void)state;
  thaw_test_rng rng = {2};
  cnn_weights weights;
  make_cnn_weights(&weights, &rng);
  float x[CNN_IN * CNN_SIZE * CNN_SIZE];
  thaw_test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
  test_model_bytes bytes = build_cnn(&weights);
  thaw_model *model = test_open(&bytes);
  thaw_session *session = NULL;
  assert_int_equal(thaw_session_create(model, NULL, &session, NULL), THAW_OK);
  test_set_input(session, 0, x);
  thaw_tensor input;
  assert_int_equal(thaw_session_input(session, 0, &input), THAW_OK);
  assert_int_equal((uintptr_t)input.data % 64, 0);
  assert_int_equal(thaw_session_run(session, NULL, NULL), THAW_OK);
  assert_memory_equal(input.data, x, sizeof x);
  /* A second run on the untouched input gives the same result. */
  float first[CNN_OUT];
  memcpy(first, test_output(session, 0), sizeof first);
  assert_int_equal(thaw_session_run(session, NULL, NULL), THAW_OK);
  assert_memory_equal(test_output(session, 0), first, sizeof first);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes.bytes);
}

typedef struct thread_job {
  const thaw_model *model;
  const float *x;
  float y[CNN_OUT];
  thaw_status status;
} thread_job;

static void *run_job(void *argument) {
  thread_job *job = argument;
  thaw_session *session = NULL;
  job->status = thaw_session_create(job->model, NULL, &session, NULL);
  if (job->status != THAW_OK) return NULL;
  thaw_tensor tensor;
  thaw_session_input(session, 0, &tensor);
  memcpy(tensor.data, job->x, tensor.size_bytes);
  for (int run = 0; run < 20 && job->status == THAW_OK; run++) {
    job->status = thaw_session_run(session, NULL, NULL);
  }
  thaw_session_output(session, 0, &tensor);
  memcpy(job->y, tensor.data, sizeof job->y);
  thaw_session_destroy(session);
  return NULL;
}

static void test_two_threads_share_one_model(void **state) {
  (void)state;
  thaw_test_rng rng = {3};
  cnn_weights weights;
  make_cnn_weights(&weights, &rng);
  float x[CNN_IN * CNN_SIZE * CNN_SIZE];
  thaw_test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
  test_model_bytes bytes = build_cnn(&weights);
  thaw_model *model = test_open(&bytes);
  thread_job jobs[2] = {{.model = model, .x = x}, {.model = model, .x = x}};
  pthread_t threads[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&threads[i], NULL, run_job, &jobs[i]), 0);
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(threads[i], NULL), 0);
  assert_int_equal(jobs[0].status, THAW_OK);
  assert_int_equal(jobs[1].status, THAW_OK);
  assert_memory_equal(jobs[0].y, jobs[1].y, sizeof jobs[0].y);
  double expected[CNN_OUT];
  reference_cnn(&weights, x, expected);
  thaw_test_assert_close("threaded logits", jobs[0].y, expected, CNN_OUT, 1e-4, 1e-5);
  thaw_model_close(model);
  free(bytes.bytes);
}

/* ---- An attention-like block ---- */

enum { SEQ = 4, HEADS = 2, HEAD_DIM = 3, DIM = HEADS * HEAD_DIM, BATCH = 2 };

typedef struct attention_weights {
  float gamma[DIM], beta[DIM], wq[DIM * DIM], wk[DIM * DIM], w2[DIM * DIM], b2[DIM];
  float scale[1];
} attention_weights;

static test_model_bytes build_attention(const attention_weights *weights) {
  thaw_writer *w = thaw_writer_create();
  const thaw_dtype f32 = THAW_DTYPE_F32;
  const uint32_t x = test_activation(w, "x", f32, DIMS(BATCH, SEQ, DIM));
  const uint32_t gamma = test_constant(w, "gamma", f32, DIMS(DIM), weights->gamma);
  const uint32_t beta = test_constant(w, "beta", f32, DIMS(DIM), weights->beta);
  const uint32_t wq = test_constant(w, "wq", f32, DIMS(DIM, DIM), weights->wq);
  const uint32_t wk = test_constant(w, "wk", f32, DIMS(DIM, DIM), weights->wk);
  const uint32_t w2 = test_constant(w, "w2", f32, DIMS(DIM, DIM), weights->w2);
  const uint32_t b2 = test_constant(w, "b2", f32, DIMS(DIM), weights->b2);
  const uint32_t scale = test_constant(w, "scale", f32, DIMS(1), weights->scale);
  const uint32_t h = test_activation(w, "h", f32, DIMS(BATCH, SEQ, DIM));
  const uint32_t q = test_activation(w, "q", f32, DIMS(BATCH, SEQ, DIM));
  const uint32_t k = test_activation(w, "k", f32, DIMS(BATCH, SEQ, DIM));
  const uint32_t q4 = test_activation(w, "q4", f32, DIMS(BATCH, SEQ, HEADS, HEAD_DIM));
  const uint32_t k4 = test_activation(w, "k4", f32, DIMS(BATCH, SEQ, HEADS, HEAD_DIM));
  const uint32_t qt = test_activation(w, "qt", f32, DIMS(BATCH, HEADS, SEQ, HEAD_DIM));
  const uint32_t kt = test_activation(w, "kt", f32, DIMS(BATCH, HEADS, HEAD_DIM, SEQ));
  const uint32_t scores = test_activation(w, "scores", f32, DIMS(BATCH, HEADS, SEQ, SEQ));
  const uint32_t scaled = test_activation(w, "scaled", f32, DIMS(BATCH, HEADS, SEQ, SEQ));
  const uint32_t probs = test_activation(w, "probs", f32, DIMS(BATCH, HEADS, SEQ, SEQ));
  const uint32_t context = test_activation(w, "context", f32, DIMS(BATCH, HEADS, SEQ, HEAD_DIM));
  const uint32_t merged4 = test_activation(w, "merged4", f32, DIMS(BATCH, SEQ, HEADS, HEAD_DIM));
  const uint32_t merged = test_activation(w, "merged", f32, DIMS(BATCH, SEQ, DIM));
  const uint32_t projected = test_activation(w, "projected", f32, DIMS(BATCH, SEQ, DIM));
  const uint32_t activated = test_activation(w, "activated", f32, DIMS(BATCH, SEQ, DIM));
  const uint32_t y = test_activation(w, "y", f32, DIMS(BATCH, SEQ, DIM));

  const thaw_layer_norm_attrs norm = {2, 1e-5f};
  const thaw_matmul_attrs plain = {{THAW_UNARY_IDENTITY, 0, 0}};
  const thaw_transpose_attrs heads_first = {{0, 2, 1, 3}};
  const thaw_transpose_attrs keys_transposed = {{0, 2, 3, 1}};
  const thaw_binary_attrs mul = {THAW_BINARY_MUL}, add = {THAW_BINARY_ADD};
  const thaw_axis_attrs last_axis = {3};
  const thaw_unary_attrs gelu_attrs = {THAW_UNARY_GELU, 0, 0};
  test_node(w, THAW_OP_LAYER_NORM, "norm", &norm, 3, (uint32_t[]){x, gamma, beta}, h);
  test_node(w, THAW_OP_MATMUL, "q_proj", &plain, 2, (uint32_t[]){h, wq}, q);
  test_node(w, THAW_OP_MATMUL, "k_proj", &plain, 2, (uint32_t[]){h, wk}, k);
  test_node(w, THAW_OP_RESHAPE, "q_split", NULL, 1, &q, q4);
  test_node(w, THAW_OP_RESHAPE, "k_split", NULL, 1, &k, k4);
  test_node(w, THAW_OP_TRANSPOSE, "q_heads", &heads_first, 1, &q4, qt);
  test_node(w, THAW_OP_TRANSPOSE, "k_heads", &keys_transposed, 1, &k4, kt);
  test_node(w, THAW_OP_MATMUL, "qk", &plain, 2, (uint32_t[]){qt, kt}, scores);
  test_node(w, THAW_OP_BINARY, "scale", &mul, 2, (uint32_t[]){scores, scale}, scaled);
  test_node(w, THAW_OP_SOFTMAX, "softmax", &last_axis, 1, &scaled, probs);
  test_node(w, THAW_OP_MATMUL, "attend", &plain, 2, (uint32_t[]){probs, qt}, context);
  test_node(w, THAW_OP_TRANSPOSE, "merge_heads", &heads_first, 1, &context, merged4);
  test_node(w, THAW_OP_RESHAPE, "merge", NULL, 1, &merged4, merged);
  test_node(w, THAW_OP_MATMUL, "out_proj", &plain, 3, (uint32_t[]){merged, w2, b2}, projected);
  test_node(w, THAW_OP_UNARY, "gelu", &gelu_attrs, 1, &projected, activated);
  test_node(w, THAW_OP_BINARY, "residual", &add, 2, (uint32_t[]){activated, x}, y);
  thaw_writer_add_input(w, x);
  thaw_writer_add_output(w, y);
  return test_finish(w);
}

static void reference_attention(const attention_weights *weights, const float *x, double *y) {
  double h[BATCH * SEQ * DIM], q[BATCH * SEQ * DIM], k[BATCH * SEQ * DIM];
  double merged[BATCH * SEQ * DIM], projected[BATCH * SEQ * DIM];
  for (size_t row = 0; row < BATCH * SEQ; row++) {
    double mean = 0, variance = 0;
    for (size_t i = 0; i < DIM; i++) mean += x[row * DIM + i];
    mean /= DIM;
    for (size_t i = 0; i < DIM; i++) variance += pow(x[row * DIM + i] - mean, 2);
    variance /= DIM;
    for (size_t i = 0; i < DIM; i++) {
      h[row * DIM + i] =
          (x[row * DIM + i] - mean) / sqrt(variance + 1e-5) * weights->gamma[i] + weights->beta[i];
    }
  }
  reference_matmul(h, weights->wq, NULL, BATCH * SEQ, DIM, DIM, q);
  reference_matmul(h, weights->wk, NULL, BATCH * SEQ, DIM, DIM, k);
  for (size_t b = 0; b < BATCH; b++) {
    for (size_t head = 0; head < HEADS; head++) {
      for (size_t i = 0; i < SEQ; i++) {
        double probs[SEQ], max = -INFINITY, total = 0;
        for (size_t j = 0; j < SEQ; j++) {
          double dot = 0;
          for (size_t d = 0; d < HEAD_DIM; d++) {
            dot += q[(b * SEQ + i) * DIM + head * HEAD_DIM + d] *
                   k[(b * SEQ + j) * DIM + head * HEAD_DIM + d];
          }
          probs[j] = dot * weights->scale[0];
          max = fmax(max, probs[j]);
        }
        for (size_t j = 0; j < SEQ; j++) total += probs[j] = exp(probs[j] - max);
        for (size_t d = 0; d < HEAD_DIM; d++) {
          double sum = 0;
          for (size_t j = 0; j < SEQ; j++) {
            sum += probs[j] / total * q[(b * SEQ + j) * DIM + head * HEAD_DIM + d];
          }
          merged[(b * SEQ + i) * DIM + head * HEAD_DIM + d] = sum;
        }
      }
    }
  }
  reference_matmul(merged, weights->w2, weights->b2, BATCH * SEQ, DIM, DIM, projected);
  for (size_t i = 0; i < BATCH * SEQ * DIM; i++) y[i] = gelu(projected[i]) + x[i];
}

static void test_attention_block(void **state) {
  (void)state;
  thaw_test_rng rng = {4};
  attention_weights weights;
  thaw_test_fill_uniform(&rng, weights.gamma, DIM, 0.5f, 1.5f);
  thaw_test_fill_uniform(&rng, weights.beta, DIM, -0.3f, 0.3f);
  thaw_test_fill_uniform(&rng, weights.wq, DIM * DIM, -0.7f, 0.7f);
  thaw_test_fill_uniform(&rng, weights.wk, DIM * DIM, -0.7f, 0.7f);
  thaw_test_fill_uniform(&rng, weights.w2, DIM * DIM, -0.7f, 0.7f);
  thaw_test_fill_uniform(&rng, weights.b2, DIM, -0.3f, 0.3f);
  weights.scale[0] = 1.0f / sqrtf((float)HEAD_DIM);
  float x[BATCH * SEQ * DIM];
  thaw_test_fill_uniform(&rng, x, BATCH * SEQ * DIM, -2.0f, 2.0f);

  test_model_bytes bytes = build_attention(&weights);
  thaw_model *model = test_open(&bytes);
  thaw_session *session = NULL;
  assert_int_equal(thaw_session_create(model, NULL, &session, NULL), THAW_OK);
  test_set_input(session, 0, x);
  thaw_error error = {0};
  assert_int_equal(thaw_session_run(session, NULL, &error), THAW_OK);
  double expected[BATCH * SEQ * DIM];
  reference_attention(&weights, x, expected);
  thaw_test_assert_close("attention", test_output(session, 0), expected, BATCH * SEQ * DIM, 1e-4,
                         1e-5);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes.bytes);
}

/* ---- Broadcasting: binaries, Where, Expand ---- */

static void test_broadcasting(void **state) {
  (void)state;
  thaw_test_rng rng = {5};
  float a[2 * 3 * 4], b[3], c[4], s[1] = {0.75f};
  thaw_test_fill_uniform(&rng, a, 24, 0.5f, 2.0f);
  thaw_test_fill_uniform(&rng, b, 3, 0.5f, 2.0f);
  thaw_test_fill_uniform(&rng, c, 4, -1.0f, 1.0f);
  const uint8_t condition[3] = {1, 0, 1};

  thaw_writer *w = thaw_writer_create();
  const thaw_dtype f32 = THAW_DTYPE_F32;
  const uint32_t ta = test_activation(w, "a", f32, DIMS(2, 3, 4));
  const uint32_t tb = test_activation(w, "b", f32, DIMS(3, 1));
  const uint32_t tcond = test_activation(w, "cond", THAW_DTYPE_BOOL, DIMS(3, 1));
  const uint32_t tc = test_constant(w, "c", f32, DIMS(4), c);
  const uint32_t ts = test_constant(w, "s", f32, DIMS(1), s);
  const uint32_t sum = test_activation(w, "sum", f32, DIMS(2, 3, 4));
  const uint32_t outer = test_activation(w, "outer", f32, DIMS(3, 4));
  const uint32_t diff = test_activation(w, "diff", f32, DIMS(2, 3, 4));
  const uint32_t ratio = test_activation(w, "ratio", f32, DIMS(2, 3, 4));
  const uint32_t power = test_activation(w, "power", f32, DIMS(2, 3, 4));
  const uint32_t chosen = test_activation(w, "chosen", f32, DIMS(2, 3, 4));
  const uint32_t expanded = test_activation(w, "expanded", f32, DIMS(2, 3, 4));
  test_node(w, THAW_OP_BINARY, "add", &(thaw_binary_attrs){THAW_BINARY_ADD}, 2,
            (uint32_t[]){ta, tb}, sum);
  test_node(w, THAW_OP_BINARY, "mul", &(thaw_binary_attrs){THAW_BINARY_MUL}, 2,
            (uint32_t[]){tc, tb}, outer);
  test_node(w, THAW_OP_BINARY, "sub", &(thaw_binary_attrs){THAW_BINARY_SUB}, 2,
            (uint32_t[]){ts, ta}, diff);
  test_node(w, THAW_OP_BINARY, "div", &(thaw_binary_attrs){THAW_BINARY_DIV}, 2,
            (uint32_t[]){tb, ta}, ratio);
  test_node(w, THAW_OP_BINARY, "pow", &(thaw_binary_attrs){THAW_BINARY_POW}, 2,
            (uint32_t[]){ta, tc}, power);
  test_node(w, THAW_OP_WHERE, "where", NULL, 3, (uint32_t[]){tcond, ta, tc}, chosen);
  test_node(w, THAW_OP_EXPAND, "expand", NULL, 1, &tb, expanded);
  thaw_writer_add_input(w, ta);
  thaw_writer_add_input(w, tb);
  thaw_writer_add_input(w, tcond);
  const uint32_t outputs[] = {sum, outer, diff, ratio, power, chosen, expanded};
  for (size_t i = 0; i < 7; i++) thaw_writer_add_output(w, outputs[i]);
  test_model_bytes bytes = test_finish(w);

  thaw_model *model = test_open(&bytes);
  thaw_session *session = NULL;
  assert_int_equal(thaw_session_create(model, NULL, &session, NULL), THAW_OK);
  test_set_input(session, 0, a);
  test_set_input(session, 1, b);
  test_set_input(session, 2, condition);
  assert_int_equal(thaw_session_run(session, NULL, NULL), THAW_OK);

  double expected[7][24];
  for (size_t i = 0; i < 2; i++) {
    for (size_t j = 0; j < 3; j++) {
      for (size_t k = 0; k < 4; k++) {
        const size_t at = (i * 3 + j) * 4 + k;
        expected[0][at] = (double)a[at] + b[j];
        expected[2][at] = (double)s[0] - a[at];
        expected[3][at] = (double)b[j] / a[at];
        expected[4][at] = pow(a[at], c[k]);
        expected[5][at] = condition[j] ? a[at] : c[k];
        expected[6][at] = b[j];
      }
    }
  }
  for (size_t j = 0; j < 3; j++) {
    for (size_t k = 0; k < 4; k++) expected[1][j * 4 + k] = (double)c[k] * b[j];
  }
  const char *names[] = {"add", "outer mul", "scalar sub", "div", "pow", "where", "expand"};
  for (size_t i = 0; i < 7; i++) {
    thaw_tensor output;
    assert_int_equal(thaw_session_output(session, i, &output), THAW_OK);
    thaw_test_assert_close(names[i], output.data, expected[i], output.element_count, 1e-6, 1e-6);
  }
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes.bytes);
}

/* ---- Data movement and the remaining ops ---- */

static void test_data_movement(void **state) {
  (void)state;
  float x[2 * 3 * 4], extra[2 * 1 * 4], image[4] = {1, 2, 3, 4};
  for (size_t i = 0; i < 24; i++) x[i] = (float)i * 0.5f - 5.25f;
  for (size_t i = 0; i < 8; i++) extra[i] = 100.0f + (float)i;
  const float affine_scale[3] = {2, -1, 0.5f}, affine_shift[3] = {1, 0, -3};
  const int64_t indices[2] = {-1, 0};

  thaw_writer *w = thaw_writer_create();
  const thaw_dtype f32 = THAW_DTYPE_F32;
  const uint32_t tx = test_activation(w, "x", f32, DIMS(2, 3, 4));
  const uint32_t timage = test_activation(w, "image", f32, DIMS(1, 1, 2, 2));
  const uint32_t textra = test_constant(w, "extra", f32, DIMS(2, 1, 4), extra);
  const uint32_t tindices = test_constant(w, "indices", THAW_DTYPE_I64, DIMS(2), indices);
  const uint32_t tscale = test_constant(w, "scale", f32, DIMS(3), affine_scale);
  const uint32_t tshift = test_constant(w, "shift", f32, DIMS(3), affine_shift);
  const uint32_t joined = test_activation(w, "joined", f32, DIMS(2, 4, 4));
  const uint32_t head = test_activation(w, "head", f32, DIMS(2, 1, 4));
  const uint32_t tail = test_activation(w, "tail", f32, DIMS(2, 3, 4));
  const uint32_t sliced = test_activation(w, "sliced", f32, DIMS(2, 3, 2));
  const uint32_t gathered = test_activation(w, "gathered", f32, DIMS(2, 2, 4));
  const uint32_t padded = test_activation(w, "padded", f32, DIMS(2, 5, 7));
  const uint32_t mean = test_activation(w, "mean", f32, DIMS(2, 1, 4));
  const uint32_t integers = test_activation(w, "integers", THAW_DTYPE_I32, DIMS(2, 3, 4));
  const uint32_t transposed = test_activation(w, "transposed", THAW_DTYPE_I32, DIMS(4, 2, 3));
  const uint32_t affine = test_activation(w, "affine", f32, DIMS(2, 3, 4));
  const uint32_t upsampled = test_activation(w, "upsampled", f32, DIMS(1, 1, 4, 4));

  test_node(w, THAW_OP_CONCAT, "concat", &(thaw_axis_attrs){1}, 2, (uint32_t[]){textra, tx},
            joined);
  thaw_writer_add_node(w, THAW_OP_SPLIT, "split", &(thaw_axis_attrs){1}, &joined, 1,
                       (uint32_t[]){head, tail}, 2);
  const thaw_slice_attrs slice = {{1, 2, 3}, {-1, -1, -2}};
  test_node(w, THAW_OP_SLICE, "slice", &slice, 1, &tx, sliced);
  test_node(w, THAW_OP_GATHER, "gather", &(thaw_axis_attrs){1}, 2, (uint32_t[]){tx, tindices},
            gathered);
  const thaw_pad_attrs pad = {THAW_PAD_CONSTANT, 0.5f, {0, 1, 2}};
  test_node(w, THAW_OP_PAD, "pad", &pad, 1, &tx, padded);
  test_node(w, THAW_OP_REDUCE_MEAN, "mean", &(thaw_reduce_attrs){1, 1}, 1, &tx, mean);
  test_node(w, THAW_OP_CAST, "cast", NULL, 1, &tx, integers);
  test_node(w, THAW_OP_TRANSPOSE, "transpose", &(thaw_transpose_attrs){{2, 0, 1}}, 1, &integers,
            transposed);
  test_node(w, THAW_OP_CHANNEL_AFFINE, "affine", NULL, 3, (uint32_t[]){tx, tscale, tshift}, affine);
  const thaw_resize_attrs resize = {
      THAW_RESIZE_NEAREST, THAW_RESIZE_ASYMMETRIC, THAW_RESIZE_FLOOR, {1, 1, 2, 2}};
  test_node(w, THAW_OP_RESIZE, "resize", &resize, 1, &timage, upsampled);
  thaw_writer_add_input(w, tx);
  thaw_writer_add_input(w, timage);
  const uint32_t outputs[] = {head, tail,       sliced, gathered, padded,
                              mean, transposed, affine, upsampled};
  for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++)
    thaw_writer_add_output(w, outputs[i]);
  test_model_bytes bytes = test_finish(w);

  thaw_model *model = test_open(&bytes);
  thaw_session *session = NULL;
  assert_int_equal(thaw_session_create(model, NULL, &session, NULL), THAW_OK);
  test_set_input(session, 0, x);
  test_set_input(session, 1, image);
  assert_int_equal(thaw_session_run(session, NULL, NULL), THAW_OK);

#define X(i, j, k) ((double)x[((i)*3 + (j)) * 4 + (k)])
  double expected_head[8], expected_tail[24], expected_sliced[12], expected_gathered[16];
  double expected_padded[70], expected_mean[8], expected_affine[24], expected_upsampled[16];
  int32_t expected_transposed[24];
  for (size_t i = 0; i < 8; i++) expected_head[i] = extra[i];
  for (size_t i = 0; i < 24; i++) expected_tail[i] = x[i];
  for (size_t i = 0; i < 2; i++) {
    for (size_t j = 0; j < 3; j++) {
      for (size_t k = 0; k < 2; k++)
        expected_sliced[(i * 3 + j) * 2 + k] = X(1 - i, 2 - j, 3 - 2 * k);
    }
    for (size_t k = 0; k < 4; k++) {
      expected_gathered[(i * 2 + 0) * 4 + k] = X(i, 2, k);
      expected_gathered[(i * 2 + 1) * 4 + k] = X(i, 0, k);
      expected_mean[i * 4 + k] = (X(i, 0, k) + X(i, 1, k) + X(i, 2, k)) / 3.0;
    }
    for (size_t j = 0; j < 5; j++) {
      for (size_t k = 0; k < 7; k++) {
        const bool inside = j >= 1 && j < 4 && k >= 2 && k < 6;
        expected_padded[(i * 5 + j) * 7 + k] = inside ? X(i, j - 1, k - 2) : 0.5;
      }
    }
    for (size_t j = 0; j < 3; j++) {
      for (size_t k = 0; k < 4; k++) {
        expected_affine[(i * 3 + j) * 4 + k] = X(i, j, k) * affine_scale[j] + affine_shift[j];
        expected_transposed[(k * 2 + i) * 3 + j] = (int32_t)trunc(X(i, j, k));
      }
    }
  }
  for (size_t r = 0; r < 4; r++) {
    for (size_t c = 0; c < 4; c++) expected_upsampled[r * 4 + c] = image[(r / 2) * 2 + c / 2];
  }
#undef X
  thaw_test_assert_close("split head", test_output(session, 0), expected_head, 8, 0, 0);
  thaw_test_assert_close("split tail", test_output(session, 1), expected_tail, 24, 0, 0);
  thaw_test_assert_close("slice", test_output(session, 2), expected_sliced, 12, 0, 0);
  thaw_test_assert_close("gather", test_output(session, 3), expected_gathered, 16, 0, 0);
  thaw_test_assert_close("pad", test_output(session, 4), expected_padded, 70, 0, 0);
  thaw_test_assert_close("reduce mean", test_output(session, 5), expected_mean, 8, 1e-6, 1e-6);
  assert_memory_equal(test_output(session, 6), expected_transposed, sizeof expected_transposed);
  thaw_test_assert_close("channel affine", test_output(session, 7), expected_affine, 24, 1e-6,
                         1e-6);
  thaw_test_assert_close("resize", test_output(session, 8), expected_upsampled, 16, 0, 0);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes.bytes);
}

static void test_gather_bad_index_fails_the_run(void **state) {
  (void)state;
  const float table[3 * 2] = {1, 2, 3, 4, 5, 6};
  thaw_writer *w = thaw_writer_create();
  const uint32_t data = test_constant(w, "table", THAW_DTYPE_F32, DIMS(3, 2), table);
  const uint32_t ids = test_activation(w, "ids", THAW_DTYPE_I32, DIMS(2));
  const uint32_t rows = test_activation(w, "rows", THAW_DTYPE_F32, DIMS(2, 2));
  test_node(w, THAW_OP_GATHER, "lookup", &(thaw_axis_attrs){0}, 2, (uint32_t[]){data, ids}, rows);
  thaw_writer_add_input(w, ids);
  thaw_writer_add_output(w, rows);
  test_model_bytes bytes = test_finish(w);
  thaw_model *model = test_open(&bytes);
  thaw_session *session = NULL;
  assert_int_equal(thaw_session_create(model, NULL, &session, NULL), THAW_OK);

  test_set_input(session, 0, (const int32_t[]){-3, 2});
  thaw_error error = {0};
  assert_int_equal(thaw_session_run(session, NULL, &error), THAW_OK);
  thaw_test_assert_close("gather", test_output(session, 0), (const double[]){1, 2, 5, 6}, 4, 0, 0);

  const int32_t bad[][2] = {{0, 3}, {-4, 1}};
  const char *fragments[] = {"index 3", "index -4"};
  for (size_t i = 0; i < 2; i++) {
    test_set_input(session, 0, bad[i]);
    assert_int_equal(thaw_session_run(session, NULL, &error), THAW_STATUS_INVALID_ARGUMENT);
    assert_int_equal(error.status, THAW_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(error.message, "\"lookup\""));
    assert_non_null(strstr(error.message, fragments[i]));
  }
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes.bytes);
}

static test_model_bytes build_relu_then_softmax(void) {
  thaw_writer *w = thaw_writer_create();
  const uint32_t x = test_activation(w, "x", THAW_DTYPE_F32, DIMS(2, 3));
  const uint32_t h = test_activation(w, "h", THAW_DTYPE_F32, DIMS(2, 3));
  const uint32_t y = test_activation(w, "y", THAW_DTYPE_F32, DIMS(2, 3));
  test_node(w, THAW_OP_UNARY, "relu", &(thaw_unary_attrs){THAW_UNARY_RELU, 0, 0}, 1, &x, h);
  test_node(w, THAW_OP_SOFTMAX, "softmax", &(thaw_axis_attrs){1}, 1, &h, y);
  thaw_writer_add_input(w, x);
  thaw_writer_add_output(w, y);
  return test_finish(w);
}

/* ---- MatMul through the GEMM: packed and row-major weights, batched activations ---- */

enum { FC_K = 7, FC_N = 37 }; /* N: two full 16-column panels and a partial one */

/* x[rows..., K] · w[K, N] + bias, ReLU, with w stored packed or row-major; the batch dims of x
 * fold into the GEMM's rows. */
static void check_fully_connected(uint32_t layout, uint32_t x_rank, const int64_t *x_shape) {
  thaw_test_rng rng = {11};
  float w_data[FC_K * FC_N], bias_data[FC_N], x_data[4 * 3 * FC_K];
  thaw_test_fill_uniform(&rng, w_data, FC_K * FC_N, -1.0f, 1.0f);
  thaw_test_fill_uniform(&rng, bias_data, FC_N, -0.5f, 0.5f);
  size_t rows = 1;
  for (uint32_t d = 0; d + 1 < x_rank; d++) rows *= (size_t)x_shape[d];
  assert_true(rows * FC_K <= sizeof x_data / sizeof x_data[0]);
  thaw_test_fill_uniform(&rng, x_data, rows * FC_K, -2.0f, 2.0f);

  thaw_writer *w = thaw_writer_create();
  int64_t y_shape[THAW_MAX_RANK];
  memcpy(y_shape, x_shape, x_rank * sizeof *x_shape);
  y_shape[x_rank - 1] = FC_N;
  const uint32_t x = test_activation(w, "x", THAW_DTYPE_F32, x_rank, x_shape);
  const uint32_t weight = layout == THAW_LAYOUT_F32_GEMM_PANEL16
                              ? test_packed_constant(w, "w", FC_K, FC_N, w_data)
                              : test_constant(w, "w", THAW_DTYPE_F32, DIMS(FC_K, FC_N), w_data);
  const uint32_t bias = test_constant(w, "bias", THAW_DTYPE_F32, DIMS(FC_N), bias_data);
  const uint32_t y = test_activation(w, "y", THAW_DTYPE_F32, x_rank, y_shape);
  const thaw_matmul_attrs relu = {{THAW_UNARY_RELU, 0, 0}};
  test_node(w, THAW_OP_MATMUL, "fc", &relu, 3, (uint32_t[]){x, weight, bias}, y);
  thaw_writer_add_input(w, x);
  thaw_writer_add_output(w, y);
  test_model_bytes bytes = test_finish(w);
  /* Only files that use the packed layout need a 1.1 reader. */
  assert_int_equal(test_view(&bytes).minor, layout == THAW_LAYOUT_F32_GEMM_PANEL16 ? 1 : 0);

  thaw_model *model = test_open(&bytes);
  thaw_session *session = NULL;
  assert_int_equal(thaw_session_create(model, NULL, &session, NULL), THAW_OK);
  test_set_input(session, 0, x_data);
  thaw_error error = {0};
  assert_int_equal(thaw_session_run(session, NULL, &error), THAW_OK);
  double x_wide[4 * 3 * FC_K], expected[4 * 3 * FC_N];
  for (size_t i = 0; i < rows * FC_K; i++) x_wide[i] = x_data[i];
  reference_matmul(x_wide, w_data, bias_data, rows, FC_K, FC_N, expected);
  for (size_t i = 0; i < rows * FC_N; i++) expected[i] = fmax(expected[i], 0.0);
  thaw_test_assert_close(layout == THAW_LAYOUT_F32_GEMM_PANEL16 ? "packed fc" : "row-major fc",
                         test_output(session, 0), expected, rows * FC_N, 1e-5, 1e-5);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes.bytes);
}

static void test_fully_connected_packed_and_row_major(void **state) {
  (void)state;
  static const int64_t one_row[2] = {1, FC_K}, vector[1] = {FC_K};
  static const int64_t batched[3] = {2, 3, FC_K}, tall[2] = {11, FC_K};
  const uint32_t layouts[2] = {THAW_LAYOUT_F32_GEMM_PANEL16, THAW_LAYOUT_PLAIN};
  for (size_t l = 0; l < 2; l++) {
    check_fully_connected(layouts[l], 2, one_row);
    check_fully_connected(layouts[l], 1, vector);
    check_fully_connected(layouts[l], 3, batched);
    check_fully_connected(layouts[l], 2, tall);
  }
}

/* A[2,3,M,K] · B[3,K,N], both run-time values: B broadcasts over A's first batch dim, so each
 * of the six products reads its own A and one of three Bs. */
static void test_batched_matmul_broadcasts_b(void **state) {
  (void)state;
  enum { M = 5, K = 7, N = 9 };
  thaw_test_rng rng = {12};
  float a_data[2 * 3 * M * K], b_data[3 * K * N];
  thaw_test_fill_uniform(&rng, a_data, 2 * 3 * M * K, -1.0f, 1.0f);
  thaw_test_fill_uniform(&rng, b_data, 3 * K * N, -1.0f, 1.0f);
  thaw_writer *w = thaw_writer_create();
  const uint32_t a = test_activation(w, "a", THAW_DTYPE_F32, DIMS(2, 3, M, K));
  const uint32_t b = test_activation(w, "b", THAW_DTYPE_F32, DIMS(3, K, N));
  const uint32_t y = test_activation(w, "y", THAW_DTYPE_F32, DIMS(2, 3, M, N));
  const thaw_matmul_attrs plain = {{THAW_UNARY_IDENTITY, 0, 0}};
  test_node(w, THAW_OP_MATMUL, "ab", &plain, 2, (uint32_t[]){a, b}, y);
  thaw_writer_add_input(w, a);
  thaw_writer_add_input(w, b);
  thaw_writer_add_output(w, y);
  test_model_bytes bytes = test_finish(w);
  thaw_model *model = test_open(&bytes);
  thaw_session *session = NULL;
  assert_int_equal(thaw_session_create(model, NULL, &session, NULL), THAW_OK);
  test_set_input(session, 0, a_data);
  test_set_input(session, 1, b_data);
  thaw_error error = {0};
  assert_int_equal(thaw_session_run(session, NULL, &error), THAW_OK);
  double expected[2 * 3 * M * N];
  for (size_t outer = 0; outer < 2; outer++) {
    for (size_t head = 0; head < 3; head++) {
      double a_wide[M * K];
      for (size_t i = 0; i < M * K; i++) a_wide[i] = a_data[(outer * 3 + head) * M * K + i];
      reference_matmul(a_wide, b_data + head * K * N, NULL, M, K, N,
                       expected + (outer * 3 + head) * M * N);
    }
  }
  thaw_test_assert_close("batched matmul", test_output(session, 0), expected, 2 * 3 * M * N, 1e-5,
                         1e-5);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes.bytes);
}

/* What a session created with THAW_PROFILE set to `setting` (unset when NULL) prints on stderr
 * over `runs` runs and its destruction, into `report`. */
static void capture_profile(const thaw_model *model, const char *setting, int runs, char *report,
                            size_t capacity) {
  FILE *captured = tmpfile();
  assert_non_null(captured);
  const int saved_stderr = dup(STDERR_FILENO);
  assert_true(saved_stderr >= 0);
  fflush(stderr);
  assert_true(dup2(fileno(captured), STDERR_FILENO) >= 0);
  if (setting != NULL) assert_int_equal(setenv("THAW_PROFILE", setting, 1), 0);
  thaw_session *session = NULL;
  assert_int_equal(thaw_session_create(model, NULL, &session, NULL), THAW_OK);
  assert_int_equal(unsetenv("THAW_PROFILE"), 0);
  for (int run = 0; run < runs; run++)
    assert_int_equal(thaw_session_run(session, NULL, NULL), THAW_OK);
  thaw_session_destroy(session);
  fflush(stderr);
  assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
  close(saved_stderr);
  rewind(captured);
  const size_t length = fread(report, 1, capacity - 1, captured);
  report[length] = '\0';
  fclose(captured);
}

/* THAW_PROFILE, set when a session is created, makes its destruction print the time per op
 * type to stderr, and with THAW_PROFILE=nodes a line per node too; a session created without
 * it prints nothing. Once a second run starts, the first (page faults, cold caches) is left
 * out. */
static void test_profile_report(void **state) {
  (void)state;
  test_model_bytes bytes = build_relu_then_softmax();
  thaw_model *model = test_open(&bytes);
  char report[2048];

  capture_profile(model, NULL, 3, report, sizeof report);
  assert_string_equal(report, "");

  capture_profile(model, "1", 1, report, sizeof report);
  if (strstr(report, ": 1 run, ") == NULL || strstr(report, "  Softmax ") == NULL)
    fail_msg("unexpected profile report of one run:\n%s", report);

  capture_profile(model, "1", 3, report, sizeof report);
  if (strstr(report, ": 2 runs after the first, ") == NULL || strstr(report, "  Unary ") == NULL ||
      strstr(report, "  Softmax ") == NULL || strstr(report, "  MatMul ") != NULL ||
      strstr(report, "per node") != NULL) {
    fail_msg("unexpected profile report:\n%s", report);
  }

  capture_profile(model, "nodes", 3, report, sizeof report);
  const char *relu_line = strstr(report, "\n     0 ");
  const char *softmax_line = strstr(report, "\n     1 ");
  if (strstr(report, ": 2 runs after the first, ") == NULL ||
      strstr(report, "  Softmax ") == NULL || relu_line == NULL || softmax_line == NULL ||
      strstr(relu_line, " relu\n") == NULL || strstr(softmax_line, " softmax\n") == NULL) {
    fail_msg("unexpected per-node profile report:\n%s", report);
  }
  thaw_model_close(model);
  free(bytes.bytes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cnn_from_memory_and_file),
      cmocka_unit_test(test_input_buffer_unchanged_by_run),
      cmocka_unit_test(test_two_threads_share_one_model),
      cmocka_unit_test(test_attention_block),
      cmocka_unit_test(test_broadcasting),
      cmocka_unit_test(test_data_movement),
      cmocka_unit_test(test_gather_bad_index_fails_the_run),
      cmocka_unit_test(test_fully_connected_packed_and_row_major),
      cmocka_unit_test(test_batched_matmul_broadcasts_b),
      cmocka_unit_test(test_profile_report),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
