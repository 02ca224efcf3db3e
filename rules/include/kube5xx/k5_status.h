/*
 * kube5xx engine: status codes, the error buffer, and every named input limit.
 *
 * Fallible functions return a k5_status. Values are only ever appended, never
 * renumbered, so front-ends and scripts may rely on them. The human-readable
 * detail goes into a k5_error the caller provides; there is no global error
 * state because the webhook runs the engine on several threads at once.
 */
#ifndef KUBE5XX_K5_STATUS_H
#define KUBE5XX_K5_STATUS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define K5_WUR __attribute__((warn_unused_result))
#define K5_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define K5_WUR
#define K5_PRINTF(f, a)
#endif

typedef enum k5_status {
    K5_OK = 0,
    K5_ENOMEM = 1,   /* an allocation failed */
    K5_EPARSE = 2,   /* the input is not valid YAML or JSON */
    K5_ELIMIT = 3,   /* the input exceeds one of the named limits below */
    K5_EINVAL = 4,   /* an argument or a config value is invalid */
    K5_ENOTFOUND = 5 /* a rule id, key or file was not found */
} k5_status;

/* Returns a static, lower-case name for a status ("out of memory", ...). */
const char *k5_status_str(k5_status st);

/*
 * Detail of a failure. `file` points at storage owned by whoever set it
 * (usually the docset or the caller's string) and may be NULL; `line` and
 * `column` are 1-based and 0 when unknown.
 */
typedef struct k5_error {
    const char *file;
    uint32_t line;
    uint32_t column;
    char msg[512];
} k5_error;

/*
 * Named limits. Every growable input has one; exceeding it is a K5_ELIMIT
 * error whose message names the limit and its value.
 */
#define K5_MAX_FILE_BYTES (64u * 1024u * 1024u) /* one file or stdin */
#define K5_MAX_DOCUMENTS 100000u                /* YAML documents per file */
#define K5_MAX_DEPTH 256u                       /* nesting of maps and sequences */
#define K5_MAX_ALIAS_NODES 1000000u             /* nodes added by alias expansion, per file */
#define K5_MAX_SCALAR_BYTES (16u * 1024u * 1024u) /* one scalar value */
#define K5_MAX_FINDINGS_PER_OBJECT 100u         /* findings kept per object */
#define K5_MAX_CONFIG_BYTES (1024u * 1024u)     /* the config file */

#endif
