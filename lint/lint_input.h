/*
 * kube5xx CLI: reading inputs into one docset.
 */
#ifndef KUBE5XX_LINT_INPUT_H
#define KUBE5XX_LINT_INPUT_H

#include "lint_output.h"

typedef struct lint_pending {
    /* The file's bytes, borrowed from the set once it is loaded (the set keeps a file's bytes
     * until it is freed, whether it loaded or not): when it fails to parse, "{{" in them says
     * it may be an unrendered Helm template. Searched only then, not for every file (a 64 MiB
     * JSON List is dense with '{'). */
    const char *bytes;
    size_t len;
    size_t slot; /* errors recorded before it was read: its error goes after them */
} lint_pending;

typedef struct lint_input {
    k5_docset *set;          /* borrowed: every file goes into this one set */
    lint_load_error *errors; /* owned: unreadable or unparseable inputs */
    size_t nerrors, caperrors;
    size_t nfiles;
    bool follow;   /* --follow: walk into symlinked directories (loops are errors) */
    bool quiet;    /* --quiet: no notices (a Helm chart skipped in a directory walk) */
    unsigned jobs; /* --jobs: threads that parse (0 or 1: this one) */
    k5_load_item *items; /* read, waiting for lint_input_finish to parse them */
    lint_pending *pending;
    size_t nitems, capitems;
} lint_input;

/*
 * Adds a path: a file, a directory (recursively) or "-" for stdin. Files are read now
 * and parsed by lint_input_finish. A file that cannot be read is recorded in in->errors
 * and the walk goes on. Returns 0, or -1 when memory ran out.
 */
int lint_input_add(lint_input *in, const char *arg);

/*
 * Parses every file read so far into the set, on in->jobs threads, and records the files
 * that failed in in->errors, in the order the walk met them (the same for every --jobs).
 * Returns 0, or -1 when memory ran out.
 */
int lint_input_finish(lint_input *in);

/* Frees the recorded errors and unparsed files (not the docset). */
void lint_input_free(lint_input *in);

#endif
