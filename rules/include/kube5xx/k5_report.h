/*
 * kube5xx engine: running the rules and the findings they produce.
 */
#ifndef KUBE5XX_K5_REPORT_H
#define KUBE5XX_K5_REPORT_H

#include "k5_config.h"

typedef struct k5_finding {
    const k5_rule *rule;
    k5_severity severity;          /* effective severity (config applied) */
    const char *message;           /* names the concrete values judged */
    const char *path;              /* "spec.template.spec.containers[0].readinessProbe" */
    const char *file;              /* file name as loaded (the linter names stdin "<stdin>") */
    uint32_t line, column;         /* 1-based; 0 when unknown (webhook objects) */
    const char *source;            /* Helm template ("shop/templates/x.yaml") or NULL */
    const k5_object *object;       /* borrowed from the docset */
    bool suppressed;               /* silenced by a kube5xx/ignore annotation */
    const char *suppress_reason;   /* kube5xx/ignore-reason, or NULL */
    bool absence;                  /* reports a missing partner (k5_check_report_absence): at
                                    * admission it may arrive later in the same apply */
} k5_finding;

typedef struct k5_summary {
    size_t files;    /* files loaded without error */
    size_t objects;
    size_t errors, warnings, infos; /* unsuppressed findings by severity */
    size_t suppressed;
} k5_summary;

typedef struct k5_report k5_report;

/* Flags for k5_run. */
#define K5_RUN_SINGLE_ONLY 1u /* skip cross-object rules (the webhook: one object) */
/* The first object gets every rule; the others (its partners from a k5_cluster) only the
 * cross-object ones and those marked on_partners: partners are trimmed to what those read. */
#define K5_RUN_PARTNERS_CROSS_ONLY 2u

/*
 * Runs every enabled rule over every object of the set. The report borrows
 * from `set` (objects, file names) and from the static registry: free it
 * before the set. `cfg` may be NULL for defaults. On failure *out is
 * untouched. Findings are ordered by file, position and rule id.
 */
K5_WUR k5_status k5_run(const k5_docset *set, const k5_config *cfg, unsigned flags,
                        k5_report **out, k5_error *err);

/*
 * The same, with the rules on up to `jobs` threads (1: this thread only, as k5_run) when the
 * set holds enough objects to share. The report is the one-thread report, byte for byte: same
 * findings, same order, same summary. The set and config are only read.
 */
K5_WUR k5_status k5_run_jobs(const k5_docset *set, const k5_config *cfg, unsigned flags,
                             unsigned jobs, k5_report **out, k5_error *err);

/*
 * Receives the findings of a run in order, a batch at a time: the findings of some
 * consecutive objects, in the order k5_run_jobs would list them. The findings and their
 * strings are valid only during the call (they borrow from the set, as a report's do). Calls
 * never overlap and come in order, from whichever thread of the run finished the batch.
 * Returns 0 to go on; anything else stops the run.
 */
typedef int (*k5_finding_sink)(void *ctx, const k5_finding *findings, size_t n);

/*
 * k5_run_jobs without the report: hands each batch of findings to `sink` as soon as it and
 * every batch before it are done, then frees it, so memory holds a few batches instead of
 * every finding of the run (a 64 MiB JSON List has ~440,000). The sequence of findings is the
 * report's, byte for byte, and *sum its summary (set on success only). K5_EINVAL with `err`
 * saying so when the sink stopped the run; the sink knows why.
 */
K5_WUR k5_status k5_run_each(const k5_docset *set, const k5_config *cfg, unsigned flags,
                             unsigned jobs, k5_finding_sink sink, void *ctx, k5_summary *sum,
                             k5_error *err);

/* Accepts NULL; sets *report to NULL. */
void k5_report_free(k5_report **report);

/* All findings, suppressed ones included (check .suppressed). */
size_t k5_report_count(const k5_report *r);
const k5_finding *k5_report_at(const k5_report *r, size_t i);
k5_summary k5_report_summary(const k5_report *r);

#endif
