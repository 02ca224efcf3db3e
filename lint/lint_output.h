/*
 * kube5xx CLI: output formats. One file per format (lint_output_<fmt>.c), each
 * written either from a whole report (lint_output_<fmt>) or as the findings arrive
 * (lint_stream_*, what `kube5xx lint` uses), with the same bytes. The formats only
 * read the engine's public findings; they never decide exit codes.
 */
#ifndef KUBE5XX_LINT_OUTPUT_H
#define KUBE5XX_LINT_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include <kube5xx/kube5xx.h>

/* How every format spells standard input (gcc's, jq's and Python's name for it). */
#define LINT_STDIN_NAME "<stdin>"

/* A file that could not be read or parsed: reported, and linting went on. */
typedef struct lint_load_error {
    char *file;      /* LINT_STDIN_NAME for stdin */
    uint32_t line;   /* 0 when not applicable (unreadable file) */
    uint32_t column;
    char *message;
} lint_load_error;

typedef struct lint_output {
    FILE *fp;
    bool color;           /* text only: ANSI colours (a terminal and no NO_COLOR) */
    bool show_suppressed; /* also list suppressed findings, with their reason */
    const k5_docset *set;
    const k5_report *report;
    const lint_load_error *errors; /* load errors, in input order */
    size_t nerrors;
    k5_severity fail_on; /* findings at or above it fail the run (junit/sarif may mark them) */
    /* `kube5xx audit`: findings' file names are "cluster:NS/Kind/NAME", objects of a live
     * cluster rather than files (SARIF gives them logical locations only). */
    bool cluster;
    /* SARIF: the repository root (absolute, no trailing '/'; "" for /) and the current
     * directory relative to it ("" at the root), from lint_sarif_srcroot; NULL leaves
     * relative paths as given. */
    const char *srcroot;
    const char *srcroot_cwd;
    /* When a write failed somewhere other than fp (JUnit's temporary file, to a pipe), the
     * writer names the place here ("JUnit's temporary file in /tmp"), NUL-terminated, for the
     * error message; otherwise it is left alone. NULL: not wanted. */
    char *failed_at;
    size_t failed_at_size;
} lint_output;

typedef int (*lint_output_fn)(const lint_output *o);

/* Each returns 0, or -1 when writing failed (errno set). */
int lint_output_text(const lint_output *o);
int lint_output_json(const lint_output *o);
int lint_output_sarif(const lint_output *o);
int lint_output_junit(const lint_output *o);
int lint_output_github(const lint_output *o);

/*
 * Finds the repository root for SARIF's %SRCROOT%: the nearest directory from the current one
 * up that has a .git entry, else the current directory. Both strings are malloc'd. Returns 0,
 * or -1 (errno set).
 */
int lint_sarif_srcroot(char **root, char **cwd_in_root);

/*
 * The text format in three steps, for findings that arrive a batch at a time (k5_run_each):
 * the load errors, each batch (suppressed findings left out unless o->show_suppressed), then
 * the summary line. lint_output_text is the three over a whole report. o->report is not read.
 */
void lint_output_text_head(const lint_output *o);
void lint_output_text_findings(const lint_output *o, const k5_finding *f, size_t n);
int lint_output_text_tail(const lint_output *o, k5_summary s);

/*
 * Any format written as the findings arrive, a batch at a time in the report's order
 * (k5_run_each's sink), byte for byte what the format's whole-report writer writes for the same
 * findings and summary. lint_stream_open writes what comes before the findings (load errors,
 * SARIF's rule list); lint_stream_findings writes a batch and keeps nothing of it but compact
 * counters (SARIF: one 8-byte fingerprint per finding, for the ":<n>" occurrence numbers;
 * JUnit: the testsuite's counts); lint_stream_close writes what comes after the findings (the
 * summary; JUnit: its counts, which come first in the document: written back over the head
 * when the output is a regular file, else the head followed by the testcases rendered from
 * compact records spooled to an unlinked temporary file meanwhile) and frees the stream. `o`
 * and its docset are borrowed until close (o->report is not read). Each returns 0, or -1 with
 * errno set (a write failed, or out of memory; o->failed_at names the place when it was not
 * o->fp); after a failure, close still frees.
 */
typedef struct lint_stream lint_stream;
int lint_stream_open(lint_stream **s, const char *format, const lint_output *o);
int lint_stream_findings(lint_stream *s, const k5_finding *f, size_t n);
int lint_stream_close(lint_stream **s, k5_summary sum);
/* Frees a stream without writing its end (the run failed); accepts NULL, sets *s to NULL. */
void lint_stream_free(lint_stream **s);

/* The writer for a --format name, or NULL. */
lint_output_fn lint_output_find(const char *name);

#endif
