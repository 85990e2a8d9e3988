/*
 * Writes a few small valid models, one per family of ops, into the folder given as argv[1]:
 * the model fuzzer's starting corpus; and a state blob saved from the state fuzzer's model into
 * the folder given as argv[2]. Every seed uses the writer and the runtime, so seeds follow the
 * formats as they are today.
 */
#include <stdio.h>
#include <stdlib.h>

#include "formats/format.h"
#include "state_model.h"

static const float kWeights[64] = {0.5f, -1.0f, 2.0f, 0.25f};

static uint32_t activation(thaw_writer *writer, const char *name, uint32_t rank,
                           const int64_t *shape) {
  return thaw_writer_add_tensor(writer, name, THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, rank,
                                shape, THAW_LAYOUT_PLAIN, NULL, 0);
}

static uint32_t constant(thaw_writer *writer, const char *name, uint32_t rank,
                         const int64_t *shape, uint64_t element_count) {
  return thaw_writer_add_tensor(writer, name, THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, rank, shape,
                                THAW_LAYOUT_PLAIN, kWeights, element_count * sizeof(float));
}

/* x[1,2,4,4] -> Conv(w, b) + relu -> MaxPool 2x2 -> Reshape [1,8] -> y */
static void conv_model(thaw_writer *writer) {
  const int64_t image[4] = {1, 2, 4, 4}, w_shape[4] = {2, 2, 3, 3}, b_shape[1] = {2};
  const int64_t pooled[4] = {1, 2, 2, 2}, flat[2] = {1, 8};
  uint32_t x = activation(writer, "x", 4, image);
  uint32_t w = constant(writer, "w", 4, w_shape, 36);
  uint32_t b = constant(writer, "b", 1, b_shape, 2);
  uint32_t c = activation(writer, "c", 4, image);
  uint32_t p = activation(writer, "p", 4, pooled);
  uint32_t y = activation(writer, "y", 2, flat);
  const thaw_conv_attrs conv = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, {THAW_UNARY_RELU, 0, 0}};
  const thaw_pool_attrs pool = {2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0};
  const uint32_t conv_inputs[3] = {x, w, b};
  thaw_writer_add_node(writer, THAW_OP_CONV, "conv", &conv, conv_inputs, 3, &c, 1);
  thaw_writer_add_node(writer, THAW_OP_MAX_POOL, "pool", &pool, &c, 1, &p, 1);
  thaw_writer_add_node(writer, THAW_OP_RESHAPE, "flatten", NULL, &p, 1, &y, 1);
  thaw_writer_add_input(writer, x);
  thaw_writer_add_output(writer, y);
}

/* x[2,4] -> MatMul(w[4,3]) -> Add(x2) -> Softmax -> LayerNorm -> y */
static void matmul_model(thaw_writer *writer) {
  const int64_t in_shape[2] = {2, 4}, w_shape[2] = {4, 3}, out_shape[2] = {2, 3}, g_shape[1] = {3};
  uint32_t x = activation(writer, "x", 2, in_shape);
  uint32_t w = constant(writer, "w", 2, w_shape, 12);
  uint32_t gamma = constant(writer, "gamma", 1, g_shape, 3);
  uint32_t m = activation(writer, "m", 2, out_shape);
  uint32_t a = activation(writer, "a", 2, out_shape);
  uint32_t s = activation(writer, "s", 2, out_shape);
  uint32_t y = activation(writer, "y", 2, out_shape);
  const thaw_matmul_attrs matmul = {{THAW_UNARY_IDENTITY, 0, 0}};
  const thaw_binary_attrs add = {THAW_BINARY_ADD};
  const thaw_axis_attrs axis = {1};
  const thaw_layer_norm_attrs norm = {1, 1e-5f};
  const uint32_t mm_inputs[2] = {x, w}, add_inputs[2] = {m, m}, ln_inputs[2] = {s, gamma};
  thaw_writer_add_node(writer, THAW_OP_MATMUL, "fc", &matmul, mm_inputs, 2, &m, 1);
  thaw_writer_add_node(writer, THAW_OP_BINARY, "add", &add, add_inputs, 2, &a, 1);
  thaw_writer_add_node(writer, THAW_OP_SOFTMAX, "softmax", &axis, &a, 1, &s, 1);
  thaw_writer_add_node(writer, THAW_OP_LAYER_NORM, "ln", &norm, ln_inputs, 2, &y, 1);
  thaw_writer_add_input(writer, x);
  thaw_writer_add_output(writer, y);
}

/* x[2,6] -> Split(axis 1) -> Concat(b, a) -> Transpose -> Slice -> Unary tanh -> y */
static void data_movement_model(thaw_writer *writer) {
  const int64_t x_shape[2] = {2, 6}, half[2] = {2, 3}, t_shape[2] = {6, 2}, s_shape[2] = {3, 2};
  uint32_t x = activation(writer, "x", 2, x_shape);
  uint32_t a = activation(writer, "a", 2, half);
  uint32_t b = activation(writer, "b", 2, half);
  uint32_t c = activation(writer, "c", 2, x_shape);
  uint32_t t = activation(writer, "t", 2, t_shape);
  uint32_t s = activation(writer, "s", 2, s_shape);
  uint32_t y = activation(writer, "y", 2, s_shape);
  const thaw_axis_attrs axis = {1};
  const thaw_transpose_attrs transpose = {{1, 0}};
  const thaw_slice_attrs slice = {{0, 0}, {2, 1}};
  const thaw_unary_attrs tanh_attrs = {THAW_UNARY_TANH, 0, 0};
  const uint32_t halves[2] = {a, b}, swapped[2] = {b, a};
  thaw_writer_add_node(writer, THAW_OP_SPLIT, "split", &axis, &x, 1, halves, 2);
  thaw_writer_add_node(writer, THAW_OP_CONCAT, "concat", &axis, swapped, 2, &c, 1);
  thaw_writer_add_node(writer, THAW_OP_TRANSPOSE, "transpose", &transpose, &c, 1, &t, 1);
  thaw_writer_add_node(writer, THAW_OP_SLICE, "slice", &slice, &t, 1, &s, 1);
  thaw_writer_add_node(writer, THAW_OP_UNARY, "tanh", &tanh_attrs, &s, 1, &y, 1);
  thaw_writer_add_input(writer, x);
  thaw_writer_add_output(writer, y);
}

/* x[1,1,2,2] -> Pad 1 -> AveragePool 2x2 -> Resize x2 nearest -> GlobalAveragePool -> y */
static void spatial_model(thaw_writer *writer) {
  const int64_t x_shape[4] = {1, 1, 2, 2}, padded[4] = {1, 1, 4, 4}, pooled[4] = {1, 1, 3, 3};
  const int64_t resized[4] = {1, 1, 6, 6}, global[4] = {1, 1, 1, 1};
  uint32_t x = activation(writer, "x", 4, x_shape);
  uint32_t p = activation(writer, "p", 4, padded);
  uint32_t a = activation(writer, "a", 4, pooled);
  uint32_t r = activation(writer, "r", 4, resized);
  uint32_t y = activation(writer, "y", 4, global);
  const thaw_pad_attrs pad = {THAW_PAD_CONSTANT, 0.0f, {0, 0, 1, 1}};
  const thaw_pool_attrs pool = {2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1};
  const thaw_resize_attrs resize = {THAW_RESIZE_NEAREST, THAW_RESIZE_ASYMMETRIC, THAW_RESIZE_FLOOR,
                                    {1, 1, 2, 2}};
  thaw_writer_add_node(writer, THAW_OP_PAD, "pad", &pad, &x, 1, &p, 1);
  thaw_writer_add_node(writer, THAW_OP_AVERAGE_POOL, "pool", &pool, &p, 1, &a, 1);
  thaw_writer_add_node(writer, THAW_OP_RESIZE, "resize", &resize, &a, 1, &r, 1);
  thaw_writer_add_node(writer, THAW_OP_GLOBAL_AVERAGE_POOL, "gap", NULL, &r, 1, &y, 1);
  thaw_writer_add_input(writer, x);
  thaw_writer_add_output(writer, y);
}

/* The state of a fresh session of the state fuzzer's model (all zeros, but every record). */
static int write_state_seed(const char *folder) {
  uint8_t *bytes = NULL;
  uint64_t size;
  thaw_model *model = NULL;
  thaw_session *session = NULL;
  thaw_error error = {0};
  thaw_status status = fuzz_state_model(&bytes, &size);
  if (status == THAW_OK) status = thaw_model_open_memory(bytes, (size_t)size, 0, &model, &error);
  if (status == THAW_OK) status = thaw_session_create(model, NULL, &session, &error);
  const size_t blob_size = status == THAW_OK ? thaw_session_state_size(session) : 0;
  uint8_t *blob = status == THAW_OK ? malloc(blob_size) : NULL;
  size_t written;
  if (status == THAW_OK)
    status = thaw_session_state_save(session, blob, blob_size, &written, &error);
  char path[4096];
  snprintf(path, sizeof path, "%s/state.blob", folder);
  if (status == THAW_OK) status = thaw_output_file_write(path, blob, written, &error);
  if (status != THAW_OK) fprintf(stderr, "%s: %s\n", path, error.message);
  free(blob);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes);
  return status == THAW_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL_SEED_DIR STATE_SEED_DIR\n", argv[0]);
    return 2;
  }
  static const struct {
    const char *name;
    void (*build)(thaw_writer *);
  } kSeeds[] = {
      {"conv.thaw", conv_model},
      {"matmul.thaw", matmul_model},
      {"data-movement.thaw", data_movement_model},
      {"spatial.thaw", spatial_model},
  };
  for (size_t i = 0; i < sizeof kSeeds / sizeof kSeeds[0]; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], kSeeds[i].name);
    thaw_writer *writer = thaw_writer_create();
    if (writer == NULL) return 1;
    kSeeds[i].build(writer);
    thaw_writer_set_producer(writer, "fuzz seed");
    thaw_error error = {0};
    thaw_status status = thaw_writer_write_file(writer, path, THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM,
                                                NULL, &error);
    thaw_writer_destroy(writer);
    if (status != THAW_OK) {
      fprintf(stderr, "%s: %s\n", path, error.message);
      return 1;
    }
  }
  return write_state_seed(argv[2]);
}
