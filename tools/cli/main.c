/* `thaw <command> [options]`: dispatch to the subcommands. */
#include <string.h>

#include "cli.h"
#include "convert_cli.h"
#include "formats/format.h"

typedef struct cli_command {
  const char *name;
  const char *summary;
  int (*main)(int argc, char **argv);
} cli_command;

static const cli_command cli_commands[] = {
    {"convert", "convert an ONNX model to a .thaw file", thaw_cli_convert},
    {"inspect", "describe a .thaw file: inputs, outputs, ops, memory", thaw_cli_inspect},
    {"run", "run a .thaw model on .npy or random inputs and time it", thaw_cli_run},
    {"embed", "write a C file that carries a .thaw model in the binary", thaw_cli_embed},
};
#define CLI_COMMAND_COUNT (sizeof cli_commands / sizeof cli_commands[0])

static const cli_command *find_command(const char *name) {
  for (size_t i = 0; i < CLI_COMMAND_COUNT; i++)
    if (strcmp(cli_commands[i].name, name) == 0) return &cli_commands[i];
  return NULL;
}

static void print_usage(FILE *stream) {
  fputs("Usage: thaw <command> [options]\n"
        "\n"
        "Inference for cold-start-sensitive serverless functions.\n"
        "\n"
        "Commands:\n",
        stream);
  for (size_t i = 0; i < CLI_COMMAND_COUNT; i++)
    fprintf(stream, "  %-9s %s\n", cli_commands[i].name, cli_commands[i].summary);
  fputs("  help      this text, or 'thaw help <command>' for one command\n"
        "\n"
        "Options:\n"
        "  -h, --help     this text\n"
        "  --version      print the thaw and file format versions\n"
        "\n"
        "Exit status: 0 success, 1 runtime error (bad file, failed run), 2 usage error.\n",
        stream);
}

/* `thaw help <command>` is `thaw <command> --help`. */
static int show_command_help(const cli_command *command) {
  char help_option[] = "--help";
  char *argv[] = {(char *)command->name, help_option, NULL};
  return command->main(2, argv);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return THAW_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
      (strcmp(name, "help") == 0 && argc == 2)) {
    print_usage(stdout);
    return THAW_EXIT_OK;
  }
  if (strcmp(name, "--version") == 0) {
    printf("thaw %s (.thaw format %d.%d)\n", THAW_VERSION_STRING, THAW_FORMAT_MAJOR,
           THAW_FORMAT_MINOR);
    return THAW_EXIT_OK;
  }
  if (strcmp(name, "help") == 0) {
    const cli_command *command = find_command(argv[2]);
    if (command == NULL || argc > 3) {
      if (argc > 3)
        fputs("thaw help: expected one command name\n", stderr);
      else
        fprintf(stderr, "thaw help: unknown command '%s'\n", argv[2]);
      print_usage(stderr);
      return THAW_EXIT_USAGE;
    }
    return show_command_help(command);
  }
  const cli_command *command = find_command(name);
  if (command == NULL) {
    fprintf(stderr, "thaw: unknown command '%s'\n", name);
    print_usage(stderr);
    return THAW_EXIT_USAGE;
  }
  return command->main(argc - 1, argv + 1);
}
