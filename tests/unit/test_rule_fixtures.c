/*
 * Every rule's examples are tests. tests/fixtures/<rule-id>/ holds
 *   fire-*.yaml  the rule fires exactly at the positions listed in its header
 *   quiet-*.yaml the rule stays silent
 * Expectations: every finding of the rule, no more, no fewer. A fire file
 * needs at least one. They are written as markers relative to the line they
 * sit on (clang-tidy's [[@LINE-1]]), so adding a line never renumbers them:
 *   image: nginx            # expect: [[@LINE]]:COL     on the reported line
 *   # expect: [[@LINE-1]]:COL                            under it
 * A marker may list several tokens, and `# expect: LINE:COL ...` with
 * absolute numbers (the older header form) is still read, anywhere.
 * Header comments (at the top of the file, any order):
 *   # message: TEXT                      some finding's message contains TEXT
 *   # path: FIELD.PATH                   some finding has this field path
 *   # severity: LEVEL                    every finding of the rule has this severity
 *   # config: {YAML flow map}            a .kube5xx.yaml to run with
 *   # namespace: NS                      the default namespace
 *   # single-only                        run as the webhook does (single-object rules only)
 *   # linter-only: WHY                   the finding reads a field of a partner that the
 *                                        cluster cache does not keep: test_cluster does not
 *                                        expect the webhook to find it
 * One cmocka test per fixture file, named after it.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <kube5xx/kube5xx.h>

#include "unit_test_util.h"

#define MAX_FIXTURES 2000

typedef struct fixture {
    char rule[256];
    char path[2048];
    bool fire;
} fixture;

/* Value of a "# key: value" header line, copied into out; false when absent. */
static bool header(const char *text, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "# %s:", key);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, pat, strlen(pat)) == 0) {
            const char *v = p + strlen(pat);
            while (*v == ' ')
                v++;
            const char *nl = strchr(v, '\n');
            size_t n = nl ? (size_t)(nl - v) : strlen(v);
            if (n >= size)
                n = size - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return false;
}

static bool has_flag(const char *text, const char *flag)
{
    char line[64];
    snprintf(line, sizeof line, "# %s\n", flag);
    return strstr(text, line) != NULL;
}

typedef struct pos {
    unsigned line, col;
} pos;

static int cmp_pos(const void *a, const void *b)
{
    const pos *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

/*
 * Collects every "# expect:" token of the file into out (absolute positions);
 * returns how many, or fails the test on a malformed token.
 */
static size_t expectations(const char *path, const char *text, pos *out, size_t cap)
{
    size_t n = 0;
    unsigned lineno = 1;
    for (const char *line = text; line && *line; lineno++) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *m = NULL;
        for (const char *q = line; q + 9 <= line + len; q++)
            if (strncmp(q, "# expect:", 9) == 0 && (q == line || q[-1] == ' ' || q[-1] == '\t')) {
                m = q + 9;
                break;
            }
        while (m && m < line + len) {
            while (m < line + len && *m == ' ')
                m++;
            if (m >= line + len)
                break;
            long l = 0, c = 0;
            char *end = NULL;
            if (strncmp(m, "[[@LINE", 7) == 0) {
                l = (long)lineno;
                m += 7;
                if (*m == '+' || *m == '-') {
                    long d = strtol(m, &end, 10);
                    l += d;
                    m = end;
                }
                if (strncmp(m, "]]", 2) != 0)
                    fail_msg("%s:%u: malformed expectation marker", path, lineno);
                m += 2;
            } else {
                l = strtol(m, &end, 10);
                if (end == m)
                    fail_msg("%s:%u: malformed expectation \"%.*s\"", path, lineno, (int)len,
                             line);
                m = end;
            }
            if (*m != ':')
                fail_msg("%s:%u: an expectation is LINE:COL", path, lineno);
            c = strtol(m + 1, &end, 10);
            if (end == m + 1 || l < 1 || c < 1)
                fail_msg("%s:%u: malformed expectation", path, lineno);
            m = end;
            if (n < cap)
                out[n++] = (pos){(unsigned)l, (unsigned)c};
        }
        line = nl ? nl + 1 : NULL;
    }
    qsort(out, n, sizeof *out, cmp_pos);
    return n;
}

static void pos_str(const pos *p, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        int w = snprintf(buf + len, size - len, "%s%u:%u", i ? " " : "", p[i].line, p[i].col);
        if (w > 0)
            len += (size_t)w;
    }
}

static void run_fixture(void **state)
{
    const fixture *fx = *state;
    size_t len = 0;
    char *text = unit_read_file(fx->path, &len);
    assert_non_null(text);
    char ns[128] = "", cfgtext[2048], want[512];
    header(text, "namespace", ns, sizeof ns); /* none: as the linter without --namespace */

    k5_config *cfg = NULL;
    k5_error err = {0};
    if (header(text, "config", cfgtext, sizeof cfgtext)) {
        if (k5_config_parse(&cfg, "fixture-config", cfgtext, strlen(cfgtext), &err) != K5_OK)
            fail_msg("%s: bad # config: %s", fx->path, err.msg);
    }
    k5_docset *set = NULL;
    assert_int_equal(k5_docset_new(&set, ns[0] ? ns : NULL), K5_OK);
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    if (k5_docset_load(set, fx->path, copy, len, K5_FORMAT_AUTO, &err) != K5_OK)
        fail_msg("%s:%u:%u: %s", fx->path, err.line, err.column, err.msg);
    k5_report *rep = NULL;
    unsigned flags = has_flag(text, "single-only") ? K5_RUN_SINGLE_ONLY : 0;
    assert_int_equal(k5_run(set, cfg, flags, &rep, &err), K5_OK);

    /* The findings of this rule, as positions sorted like the expectations. */
    static pos got[512], exp[512];
    size_t ngot = 0;
    for (size_t i = 0; i < k5_report_count(rep); i++) {
        const k5_finding *f = k5_report_at(rep, i);
        if (strcmp(f->rule->id, fx->rule) != 0 || f->suppressed)
            continue;
        if (ngot < sizeof got / sizeof *got)
            got[ngot++] = (pos){f->line, f->column};
    }
    qsort(got, ngot, sizeof *got, cmp_pos);
    char gots[4096], exps[4096];
    pos_str(got, ngot, gots, sizeof gots);
    size_t nexp = expectations(fx->path, text, exp, sizeof exp / sizeof *exp);
    pos_str(exp, nexp, exps, sizeof exps);
    if (!fx->fire) {
        if (ngot)
            fail_msg("%s: %s should stay silent but fired at %s: %s", fx->path, fx->rule, gots,
                     k5_report_at(rep, 0)->message);
        if (nexp)
            fail_msg("%s: a quiet fixture carries expectations (%s)", fx->path, exps);
    } else {
        if (!nexp)
            fail_msg("%s: a fire fixture needs an expectation ('# expect: [[@LINE-1]]:COL' "
                     "under the reported line)",
                     fx->path);
        if (strcmp(gots, exps) != 0)
            fail_msg("%s: %s expected at [%s], got [%s]", fx->path, fx->rule, exps, gots);
        const char *keys[] = {"message", "path"};
        for (size_t k = 0; k < 2; k++) {
            if (!header(text, keys[k], want, sizeof want))
                continue;
            bool found = false;
            for (size_t i = 0; i < k5_report_count(rep) && !found; i++) {
                const k5_finding *f = k5_report_at(rep, i);
                if (strcmp(f->rule->id, fx->rule) != 0)
                    continue;
                found = k ? strcmp(f->path, want) == 0 : strstr(f->message, want) != NULL;
            }
            if (!found)
                fail_msg("%s: no %s finding with %s \"%s\" (first: %s at %s)", fx->path, fx->rule,
                         keys[k], want, ngot ? k5_report_at(rep, 0)->message : "none",
                         ngot ? k5_report_at(rep, 0)->path : "-");
        }
        if (header(text, "severity", want, sizeof want)) {
            for (size_t i = 0; i < k5_report_count(rep); i++) {
                const k5_finding *f = k5_report_at(rep, i);
                if (strcmp(f->rule->id, fx->rule) == 0 &&
                    strcmp(k5_severity_str(f->severity), want) != 0)
                    fail_msg("%s: %s at %u:%u is %s, expected %s", fx->path, fx->rule, f->line,
                             f->column, k5_severity_str(f->severity), want);
            }
        }
    }
    k5_report_free(&rep);
    k5_docset_free(&set);
    k5_config_free(&cfg);
    free(text);
}

static int cmp_fixture(const void *a, const void *b)
{
    return strcmp(((const fixture *)a)->path, ((const fixture *)b)->path);
}

int main(void)
{
    static fixture fx[MAX_FIXTURES];
    static struct CMUnitTest tests[MAX_FIXTURES];
    size_t n = 0;
    const char *root = K5_SOURCE_DIR "/tests/fixtures";
    DIR *d = opendir(root);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", root);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char dir[1400];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        DIR *rd = opendir(dir);
        if (!rd)
            continue;
        struct dirent *f;
        while ((f = readdir(rd)) != NULL && n < MAX_FIXTURES) {
            bool fire = strncmp(f->d_name, "fire-", 5) == 0;
            bool quiet = strncmp(f->d_name, "quiet-", 6) == 0;
            if (!fire && !quiet)
                continue;
            snprintf(fx[n].rule, sizeof fx[n].rule, "%s", e->d_name);
            snprintf(fx[n].path, sizeof fx[n].path, "%s/%s", dir, f->d_name);
            fx[n].fire = fire;
            n++;
        }
        closedir(rd);
    }
    closedir(d);
    qsort(fx, n, sizeof *fx, cmp_fixture);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = fx[i].path + strlen(root) + 1;
        tests[i].test_func = run_fixture;
        tests[i].setup_func = NULL;
        tests[i].teardown_func = NULL;
        tests[i].initial_state = &fx[i];
    }
    if (n == 0) {
        fprintf(stderr, "no fixtures under %s\n", root);
        return 1;
    }
    return _cmocka_run_group_tests("rule_fixtures", tests, n, NULL, NULL);
}
