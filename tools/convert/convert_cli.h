/* `thaw convert`: the command-line front end of the converter library (convert.h). */
#ifndef THAW_CONVERT_CLI_H
#define THAW_CONVERT_CLI_H

/* argv[0] is "convert". Usage:
 *   thaw convert IN.onnx OUT.thaw [--input-shape NAME=D0,D1,...]... [--json] [--help]
 * Returns the process exit status: 0 success (summary on stdout), 1 conversion error (message
 * and every unsupported node on stderr), 2 usage error. */
int thaw_cli_convert(int argc, char **argv);

#endif /* THAW_CONVERT_CLI_H */
