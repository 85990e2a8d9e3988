/* Helpers shared by the subcommands: messages, option errors, shapes, JSON strings, time. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void print_error(const char *command, const char *format, va_list arguments) {
  fprintf(stderr, "thaw %s: ", command);
  vfprintf(stderr, format, arguments);
  fputc('\n', stderr);
}

void thaw_cli_error(const char *command, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  print_error(command, format, arguments);
  va_end(arguments);
}

void thaw_cli_file_error(const char *command, const char *path, const thaw_error *error) {
  const char *message = error->message;
  size_t path_length = strlen(path);
  if (strncmp(message, path, path_length) == 0 && strncmp(message + path_length, ": ", 2) == 0)
    message += path_length + 2;
  thaw_cli_error(command, "%s: %s: %s", path, thaw_status_str(error->status), message);
}

int thaw_cli_usage_error(const char *command, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  print_error(command, format, arguments);
  va_end(arguments);
  fprintf(stderr, "Run 'thaw %s --help' for usage.\n", command);
  return THAW_EXIT_USAGE;
}

int thaw_cli_option_error(const char *command, int result, char **argv) {
  /* getopt leaves optind past the offending word; optopt is set only for short options. */
  const char *word = argv[optind - 1];
  if (result == ':') {
    if (optopt != 0 && strncmp(word, "--", 2) != 0)
      return thaw_cli_usage_error(command, "option '-%c' needs an argument", optopt);
    return thaw_cli_usage_error(command, "option '%s' needs an argument", word);
  }
  if (optopt != 0 && strncmp(word, "--", 2) != 0)
    return thaw_cli_usage_error(command, "unknown option '-%c'", optopt);
  return thaw_cli_usage_error(command, "unknown option '%s'", word);
}

bool thaw_cli_parse_count(const char *command, const char *option, const char *text,
                          unsigned long minimum, unsigned long maximum, unsigned long *value) {
  char *end;
  errno = 0;
  unsigned long parsed = strtoul(text, &end, 10);
  /* strtoul accepts a sign and wraps "-1" around; a count is digits only. */
  if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || parsed < minimum ||
      parsed > maximum) {
    thaw_cli_usage_error(command, "%s '%s': expected a whole number from %lu to %lu", option,
                         text, minimum, maximum);
    return false;
  }
  *value = parsed;
  return true;
}

/* Length of the well-formed UTF-8 sequence starting at `s` (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0 if it is not one. */
static size_t utf8_sequence_length(const unsigned char *s) {
  unsigned char lead = s[0];
  size_t length;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return 0;
  }
  if (s[1] < second_min || s[1] > second_max) return 0;
  /* A NUL terminator fails the continuation test, so this never reads past the string. */
  for (size_t i = 2; i < length; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return length;
}

void thaw_cli_print_json_string(FILE *stream, const char *text) {
  const unsigned char *s = (const unsigned char *)text;
  fputc('"', stream);
  while (*s != '\0') {
    if (*s == '"' || *s == '\\') {
      fprintf(stream, "\\%c", *s);
      s++;
    } else if (*s < 0x20) {
      fprintf(stream, "\\u%04x", *s);
      s++;
    } else if (*s < 0x80) {
      fputc(*s, stream);
      s++;
    } else {
      size_t length = utf8_sequence_length(s);
      if (length == 0) {
        fputs("\\ufffd", stream);
        s++;
      } else {
        fwrite(s, 1, length, stream);
        s += length;
      }
    }
  }
  fputc('"', stream);
}

double thaw_cli_now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec * 1e3 + (double)now.tv_nsec * 1e-6;
}
