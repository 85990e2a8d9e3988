/*
 * State pairs carried across runs, and the state blob that parks them outside the process
 * (thaw.h, "State that outlives a run"). The pairs come from the file's STATE section, which the
 * reader proved joins model outputs to model inputs of the same dtype and shape, so every copy
 * here is between two buffers of one size that share no byte (model inputs and outputs own
 * their arena bytes).
 */
#include <inttypes.h>
#include <string.h>

#include "runtime/model.h"

size_t thaw_model_state_count(const thaw_model *model) {
  return model != NULL ? model->view.state_count : 0;
}

thaw_status thaw_model_state(const thaw_model *model, size_t index, size_t *input_index,
                             size_t *output_index) {
  if (model == NULL || input_index == NULL || output_index == NULL ||
      index >= model->view.state_count) {
    return THAW_STATUS_INVALID_ARGUMENT;
  }
  uint32_t input, output;
  thaw_format_get_state(&model->view, (uint32_t)index, &input, &output);
  *input_index = input;
  *output_index = output;
  return THAW_OK;
}

/* The session's buffers of state pair `index`: its input and its output. */
static void state_buffers(thaw_session *session, uint32_t index, thaw_tensor *input,
                          thaw_tensor *output) {
  uint32_t input_index, output_index;
  thaw_format_get_state(&thaw_session_model(session)->view, index, &input_index, &output_index);
  thaw_session_input(session, input_index, input);
  if (output != NULL) thaw_session_output(session, output_index, output);
}

static thaw_state_entry state_entry(const thaw_tensor *input) {
  return (thaw_state_entry){.name = input->name,
                            .dtype = input->dtype,
                            .rank = input->rank,
                            .shape = input->shape,
                            .size = input->size_bytes};
}

thaw_status thaw_session_state_reset(thaw_session *session) {
  if (session == NULL) return THAW_STATUS_INVALID_ARGUMENT;
  const uint32_t count = thaw_session_model(session)->view.state_count;
  for (uint32_t i = 0; i < count; i++) {
    thaw_tensor input;
    state_buffers(session, i, &input, NULL);
    memset(input.data, 0, input.size_bytes);
  }
  return THAW_OK;
}

void thaw_session_carry_state(thaw_session *session) {
  const uint32_t count = thaw_session_model(session)->view.state_count;
  for (uint32_t i = 0; i < count; i++) {
    thaw_tensor input, output;
    state_buffers(session, i, &input, &output);
    memcpy(input.data, output.data, input.size_bytes);
  }
}

/* SIZE_MAX when the blob would not fit in memory. */
static size_t state_blob_size(const thaw_model *model) {
  const uint32_t count = model->view.state_count;
  uint64_t total = THAW_STATE_BLOB_HEADER_SIZE + THAW_STATE_BLOB_CHECKSUM_SIZE;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t input_index, output_index;
    thaw_format_get_state(&model->view, i, &input_index, &output_index);
    thaw_tensor input;
    thaw_model_input(model, input_index, &input);
    const thaw_state_entry entry = state_entry(&input);
    uint64_t record;
    if (!thaw_state_record_size(&entry, &record) || __builtin_add_overflow(total, record, &total)) {
      return SIZE_MAX;
    }
  }
  return total <= SIZE_MAX ? (size_t)total : SIZE_MAX;
}

size_t thaw_session_state_size(const thaw_session *session) {
  return session != NULL ? state_blob_size(thaw_session_model(session)) : 0;
}

thaw_status thaw_session_state_save(thaw_session *session, void *buffer, size_t capacity,
                                    size_t *written, thaw_error *error) {
  if (session == NULL || written == NULL || (buffer == NULL && capacity > 0)) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_session_state_save: session, written and buffer must not be NULL");
  }
  const thaw_model *model = thaw_session_model(session);
  const size_t size = state_blob_size(model);
  *written = size;
  if (size > capacity) {
    return thaw_error_set(error, THAW_STATUS_LIMIT,
                          "the state needs %zu bytes, the buffer holds %zu", size, capacity);
  }
  const uint32_t count = model->view.state_count;
  uint8_t *cursor =
      thaw_state_blob_write_header(buffer, model->view.header_checksum, count, (uint64_t)size);
  for (uint32_t i = 0; i < count; i++) {
    thaw_tensor input;
    state_buffers(session, i, &input, NULL);
    const thaw_state_entry entry = state_entry(&input);
    cursor = thaw_state_blob_write_record(cursor, &entry, input.data);
  }
  thaw_state_blob_write_checksum(buffer, cursor);
  return THAW_OK;
}

/* Walk every record against the model's states; copy them in only when `apply` is set, which
 * the caller does after a walk without it succeeded, so a bad blob changes nothing. */
static thaw_status walk_records(thaw_session *session, const thaw_state_blob_view *view,
                                uint64_t cursor, bool apply, thaw_error *error) {
  const uint32_t count = thaw_session_model(session)->view.state_count;
  for (uint32_t i = 0; i < count; i++) {
    thaw_tensor input;
    state_buffers(session, i, &input, NULL);
    const thaw_state_entry entry = state_entry(&input);
    const void *data;
    thaw_status status = thaw_state_blob_read_record(view, &cursor, i, &entry, &data, error);
    if (status != THAW_OK) return status;
    if (apply) memcpy(input.data, data, input.size_bytes);
  }
  return thaw_state_blob_finish(view, cursor, error);
}

thaw_status thaw_session_state_load(thaw_session *session, const void *bytes, size_t size,
                                    thaw_error *error) {
  if (session == NULL || (bytes == NULL && size > 0)) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_session_state_load: session and bytes must not be NULL");
  }
  static const uint8_t no_bytes[1];
  const thaw_model *model = thaw_session_model(session);
  thaw_state_blob_view view;
  uint64_t cursor;
  thaw_status status =
      thaw_state_blob_open(bytes != NULL ? bytes : no_bytes, size, model->view.header_checksum,
                           model->view.state_count, &view, &cursor, error);
  if (status == THAW_OK) status = walk_records(session, &view, cursor, false, error);
  if (status == THAW_OK) status = walk_records(session, &view, cursor, true, error);
  return status;
}
