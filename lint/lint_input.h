/*
 * kube5xx CLI: reading inputs into one docset.
 */
#ifndef KUBE5XX_LINT_INPUT_H
#define KUBE5XX_LINT_INPUT_H

#include "lint_output.h"

typedef struct lint_input {
    k5_docset *set;          /* borrowed: every file goes into this one set */
    lint_load_error *errors; /* owned: unreadable or unparseable inputs */
    size_t nerrors, caperrors;
    size_t nfiles;
    bool follow; /* --follow: walk into symlinked directories (loops are errors) */
    bool quiet;  /* --quiet: no notices (a Helm chart skipped in a directory walk) */
} lint_input;

/*
 * Adds a path: a file, a directory (recursively) or "-" for stdin. A file
 * that cannot be read or parsed is recorded in in->errors and the walk goes
 * on. Returns 0, or -1 when memory ran out.
 */
int lint_input_add(lint_input *in, const char *arg);

/* Frees the recorded errors (not the docset). */
void lint_input_free(lint_input *in);

#endif
