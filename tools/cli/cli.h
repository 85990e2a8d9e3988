/* The `thaw` command line: subcommands and the helpers they share. */
#ifndef THAW_CLI_H
#define THAW_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "thaw.h"

/* Process exit statuses, the same for every subcommand. */
enum {
  THAW_EXIT_OK = 0,
  THAW_EXIT_FAILURE = 1, /* a bad file, a failed run */
  THAW_EXIT_USAGE = 2,   /* an unknown option, a missing argument */
};

/* Subcommands: argv[0] is the subcommand name; the result is the exit status. */
int thaw_cli_inspect(int argc, char **argv);
int thaw_cli_run(int argc, char **argv);
int thaw_cli_embed(int argc, char **argv);

/* "thaw <command>: <message>\n" on stderr. */
void thaw_cli_error(const char *command, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* "thaw <command>: <path>: <status>: <message>\n" on stderr, for a failed call about the file
 * at `path`; a message that already starts with "<path>: " does not repeat it. */
void thaw_cli_file_error(const char *command, const char *path, const thaw_error *error);
/* thaw_cli_error plus a pointer to --help; returns THAW_EXIT_USAGE. */
int thaw_cli_usage_error(const char *command, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Report what getopt_long (with an optstring starting with ':' and opterr = 0) refused:
 * `result` is the '?' or ':' it returned. Returns THAW_EXIT_USAGE. */
int thaw_cli_option_error(const char *command, int result, char **argv);
/* Parse a decimal count in [minimum, maximum] given to `option`; false (after a usage
 * message) when `text` is not one. */
bool thaw_cli_parse_count(const char *command, const char *option, const char *text,
                          unsigned long minimum, unsigned long maximum, unsigned long *value);


/* `text` as a JSON string literal: quotes, backslashes and control characters escaped, bytes
 * that are not valid UTF-8 replaced by U+FFFD (names come from untrusted files). */
void thaw_cli_print_json_string(FILE *stream, const char *text);

/* Milliseconds on the monotonic clock, for differences only. */
double thaw_cli_now_ms(void);

#endif /* THAW_CLI_H */
