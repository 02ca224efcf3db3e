/*
 * kube5xx CLI: `kube5xx audit`, the rules over a live cluster (lint_audit.c).
 */
#ifndef KUBE5XX_LINT_AUDIT_H
#define KUBE5XX_LINT_AUDIT_H

#include <stdbool.h>

#include <kube5xx/kube5xx.h>

/* Runs `kube5xx audit` (argv[0] is "audit"). Returns the exit status, as `lint` does. */
int lint_audit_main(int argc, char **argv);

/*
 * The config `lint` would use: `path` when given, else .kube5xx.yaml in the
 * current directory or the nearest parent (unless no_config). Leaves *cfg NULL
 * for defaults. Returns 0, or 2 after printing the error (lint_main.c).
 */
int lint_config_load(const char *path, bool no_config, k5_config **cfg);

/*
 * Prints "kube5xx: CMD: <fmt with arg>" and "Try 'kube5xx CMD --help'." to stderr (cmd NULL:
 * the top level) and returns the usage exit status, 2 (lint_main.c).
 */
int lint_usage_error(const char *cmd, const char *fmt, const char *arg);

#endif
