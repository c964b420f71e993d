/* The command line every peer server takes: --port N (0 picks a free one), --mode echo|discard,
 * --help. One parser, in C so that the C and C++ peers share it. */
#ifndef PEER_ARGS_H
#define PEER_ARGS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct peer_args {
  int port;
  int discard;
};

static void peer_usage(FILE* out, const char* name, const char* description) {
  fprintf(out,
          "usage: %s [--port N] [--mode echo|discard]\n"
          "  %s\n"
          "  --port N     port to listen on; 0 (default) picks a free one\n"
          "  --mode M     echo (default): write every byte back; discard: read and drop\n",
          name, description);
}

/* Fills `args`; returns -1 to go on, or the exit status (0 after --help, 2 on a bad option). */
static int peer_parse_args(int argc, char** argv, const char* name, const char* description,
                           struct peer_args* args) {
  args->port = 0;
  args->discard = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      args->port = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
      const char* mode = argv[++i];
      if (strcmp(mode, "echo") == 0) {
        args->discard = 0;
      } else if (strcmp(mode, "discard") == 0) {
        args->discard = 1;
      } else {
        peer_usage(stderr, name, description);
        return 2;
      }
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      peer_usage(stdout, name, description);
      return 0;
    } else {
      peer_usage(stderr, name, description);
      return 2;
    }
  }
  if (args->port < 0 || args->port > 65535) {
    peer_usage(stderr, name, description);
    return 2;
  }
  return -1;
}

#endif
