/*
 * kube5xx CLI, private to the output formats: the helpers every
 * lint_output_<fmt>.c shares (UTF-8 repair, labels, building cJSON trees).
 * Nothing outside lint_output_*.c includes this header, except the unit test.
 */
#ifndef KUBE5XX_LINT_OUTPUT_INTERNAL_H
#define KUBE5XX_LINT_OUTPUT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lint_output.h"

struct cJSON;

/* Where SARIF's tool.driver.informationUri points: the project's home. */
#define LINT_INFORMATION_URI "https://github.com/kube5xx/kube5xx"

/* UTF-8 decoding and repair come from the front-ends' shared layer: fe_utf8_next,
 * fe_utf8_clean, FE_REPLACEMENT_CHAR (frontend/fe.h). */
#include "fe.h"

/* Writes a code point as UTF-8 to fp. Returns what fputs-like calls return (EOF on error). */
int lint_put_cp(FILE *fp, uint32_t cp);

/* Flushes fp; returns 0, or -1 with errno set when any write to fp failed. */
int lint_output_finish(FILE *fp);

/* "error", "warning", "info" (the engine's names; "off" for K5_SEV_OFF). */
const char *lint_severity_name(k5_severity s);

/* Bytes of a possibly-NULL C string. */
static inline size_t lint_strlen0(const char *s)
{
    return s ? strlen(s) : 0;
}

/*
 * A string of the findings' object "Kind/namespace/name" (raw bytes, not
 * repaired) written into buf, truncated to size. Used as JUnit classname,
 * SARIF fullyQualifiedName and in fingerprints.
 */
void lint_object_id(const k5_object *obj, char *buf, size_t size);

/*
 * A stable 64-bit fingerprint (FNV-1a) of a finding: rule id, apiVersion,
 * kind, namespace, name and field path, each followed by a NUL byte. The line
 * is deliberately left out so that it survives edits that move the object.
 */
uint64_t lint_finding_fingerprint(const k5_finding *f);

/*
 * cJSON builders shared by json and sarif. Each attaches a new node to
 * `parent` (to an object under `key`, or to an array when key is NULL) and
 * returns it. On allocation failure, or when parent is NULL (an earlier
 * failure), they set *oom, free what they made and return NULL, so a
 * builder can run to the end and check *oom once. Strings are repaired to
 * valid UTF-8 first; n is their length in bytes (a NULL string gives "").
 */
struct cJSON *lint_json_obj(struct cJSON *parent, const char *key, bool *oom);
struct cJSON *lint_json_arr(struct cJSON *parent, const char *key, bool *oom);
struct cJSON *lint_json_strn(struct cJSON *parent, const char *key, const char *s, size_t n,
                             bool *oom);
struct cJSON *lint_json_str(struct cJSON *parent, const char *key, const char *s, bool *oom);
struct cJSON *lint_json_num(struct cJSON *parent, const char *key, double v, bool *oom);
struct cJSON *lint_json_bool(struct cJSON *parent, const char *key, bool v, bool *oom);
struct cJSON *lint_json_null(struct cJSON *parent, const char *key, bool *oom);

/*
 * Prints root (formatted when `pretty`) to fp followed by a newline, frees
 * root, and returns 0 or -1 (errno set: ENOMEM when oom is set or printing
 * failed, else the write error).
 */
int lint_json_emit(FILE *fp, struct cJSON *root, bool pretty, bool oom);

/*
 * JSON text written directly into a growable buffer, byte for byte as cJSON's unformatted
 * printer writes the same tree (so a format can stream items without building trees).
 * lint_jw_str repairs UTF-8 as lint_json_strn does (a NULL string is ""); lint_jw_num prints
 * as cJSON prints a number; lint_jw_raw/lint_jw_lit copy JSON text as is. On allocation
 * failure they set w->oom and write nothing more. The caller frees w->p.
 */
typedef struct lint_jw {
    char *p;
    size_t len, cap;
    bool oom;
} lint_jw;
void lint_jw_raw_grow(lint_jw *w, const char *s, size_t n);
/* No NUL and no byte above 0x7F: valid UTF-8 that is its own repair, and escaped byte by byte
 * (so two escaped pieces joined are the escape of the joined text). Eight bytes a step. */
static inline bool lint_plain_ascii(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t bad = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        bad |= (v | ((v - ones) & ~v)) & highs; /* a high bit, or a zero byte */
    }
    for (; i < n; i++)
        bad |= ((unsigned char)s[i] == 0) | ((unsigned char)s[i] >= 0x80);
    return !bad;
}
/* Inline: a copy into room already there is most calls (a dozen per finding); the rest grow. */
static inline void lint_jw_raw(lint_jw *w, const char *s, size_t n)
{
    if (w->p && !w->oom && n <= w->cap - w->len) {
        memcpy(w->p + w->len, s, n);
        w->len += n;
    } else {
        lint_jw_raw_grow(w, s, n);
    }
}
/* Inline so that the length of a literal is known at compile time (several per finding). */
static inline void lint_jw_lit(lint_jw *w, const char *s)
{
    lint_jw_raw(w, s, strlen(s));
}
void lint_jw_str(lint_jw *w, const char *s, size_t n);
void lint_jw_cstr(lint_jw *w, const char *s);
/* The inside of lint_jw_str's quotes for text that lint_plain_ascii accepts (which is its own
 * repair and is escaped byte by byte, so the pieces of a string written one after another
 * between two quotes are the string written whole). Other text must go through lint_jw_str. */
void lint_jw_esc(lint_jw *w, const char *s, size_t n);
void lint_jw_num(lint_jw *w, double v);
/* An object's identity: "apiVersion", "kind", "namespace" and "name" members (json, sarif). */
void lint_jw_object_ident(lint_jw *w, const k5_object *o);

/*
 * Prints root (formatted when `pretty`), in which the array `slot` stands empty, and frees
 * root: *head gets the text up to the inside of slot's brackets, *tail the text after them
 * (with the final newline), so head + items separated by "," (",\n" when pretty) + tail is
 * what cJSON prints for the tree with those items in slot. Both malloc'd. Returns 0, or -1
 * (errno ENOMEM: oom was set, or out of memory).
 */
int lint_json_split(struct cJSON *root, struct cJSON *slot, bool pretty, bool oom, char **head,
                    char **tail);

/* Writes w's text to fp and empties w (the buffer is kept for the next use). */
void lint_jw_flush(lint_jw *w, FILE *fp);

/* A format in three steps (lint_output.h's lint_stream), and its writer over a whole report. */
typedef struct lint_stream_ops {
    const char *name;
    lint_output_fn whole;
    int (*open)(lint_stream *s);
    int (*findings)(lint_stream *s, const k5_finding *f, size_t n);
    int (*close)(lint_stream *s, k5_summary sum);
    void (*free)(lint_stream *s); /* frees s->state; NULL when the format keeps none */
} lint_stream_ops;

struct lint_stream {
    const lint_output *o;
    const lint_stream_ops *ops;
    void *state;
};

extern const lint_stream_ops lint_text_ops, lint_json_ops, lint_sarif_ops, lint_junit_ops,
    lint_github_ops;

/*
 * A whole report through a format's three steps: the report's findings in contiguous
 * batches, then its summary. Returns like a lint_output_fn.
 */
int lint_stream_report(const lint_output *o, const lint_stream_ops *ops);

#endif
