/*
 * kube5xx: the command-line linter. Arguments, config discovery and exit
 * codes live here; reading inputs is lint_input.c, formats lint_output_*.c.
 *
 * Exit status: 0 no finding at or above --fail-on; 1 findings at or above it;
 * 2 usage, I/O or parse error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fe.h"
#include "lint_audit.h"
#include "lint_docs.h"
#include "lint_input.h"

enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_ERROR = 2 };

static const char usage_text[] =
    "usage: kube5xx lint [options] PATH... (a file, a directory, or - for stdin)\n"
    "       kube5xx audit [--kubeconfig FILE] [--context NAME] [-n NS | -A] [options]\n"
    "                     (the same rules over a live cluster; see kube5xx audit --help)\n"
    "       kube5xx rules [--format text|markdown]\n"
    "       kube5xx explain RULE-ID\n"
    "       kube5xx --version | --help\n"
    "\n"
    "Finds Kubernetes configuration that causes HTTP 502, 503 and 504.\n"
    "All inputs are linted as ONE set, so cross-object rules (Service -> pods,\n"
    "Ingress -> Service, PDB -> pods) see every object given.\n"
    "\n"
    "lint options:\n"
    "  -f, --format FORMAT    text (default), json, sarif, junit, github\n"
    "  -o, --output FILE      write the report to FILE instead of stdout\n"
    "      --fail-on LEVEL    error (default), warning, info, or never: exit 1 when a\n"
    "                         finding is at or above LEVEL\n"
    "  -c, --config FILE      config file (default: .kube5xx.yaml in the current\n"
    "                         directory or the nearest parent that has one)\n"
    "      --no-config        ignore .kube5xx.yaml files\n"
    "  -n, --namespace NS     namespace of objects that name none (default: default)\n"
    "      --show-suppressed  also list findings silenced by kube5xx/ignore annotations\n"
    "  -q, --quiet            do not print notices (skipped non-Kubernetes documents, Helm charts)\n"
    "  -L, --follow           follow symbolic links to directories (not followed by\n"
    "                         default, as find and ripgrep; loops are errors)\n"
    "      --allow-empty      exit 0 when the inputs hold no Kubernetes object (default:\n"
    "                         exit 2, so a failed render upstream cannot pass; empty\n"
    "                         stdin is an error even with this option)\n"
    "  -j, --jobs N           parse files, and parts of a large YAML stream, and run the\n"
    "                         rules on N threads (default: the number of online CPUs;\n"
    "                         1: one thread); the report is the same for every N\n"
    "\n"
    "Suppress a rule for one object with the annotation\n"
    "  kube5xx/ignore: \"rule-id[,rule-id]\"   (and optionally kube5xx/ignore-reason)\n"
    "on the object or its pod template.\n"
    "\n"
    "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage, I/O or parse error.\n"
    "Colour is used on a terminal unless NO_COLOR is set.\n";

int lint_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fe_usage_error(stderr, "kube5xx", cmd, fmt, arg);
    return EXIT_ERROR;
}

static int usage_error(const char *fmt, const char *arg)
{
    return lint_usage_error(NULL, fmt, arg);
}

/* Edit distance of a and b (insertions, deletions, substitutions), both at most 63 bytes. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The candidate closest to s, when it is close enough to be what was meant; else NULL. */
static const char *did_you_mean(const char *s, const char *(*at)(size_t, const void *),
                                size_t n, const void *ctx)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, len = strlen(s);
    for (size_t i = 0; i < n; i++) {
        const char *c = at(i, ctx);
        size_t d = edit_distance(s, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    /* One edit in four characters at most, and never for a very short word. */
    return best && len >= 3 && best_d <= (len + 3) / 4 ? best : NULL;
}

static const char *rule_id_at(size_t i, const void *ctx)
{
    (void)ctx;
    return k5_rule_at(i)->id;
}

static const char *long_option_at(size_t i, const void *ctx)
{
    return ((const struct option *)ctx)[i].name;
}

/* The error for an option getopt_long did not accept (opterr is 0 and optstring starts ':'). */
static int option_error(int c, char **argv, const struct option *opts)
{
    const char *arg = argv[optind - 1];
    char msg[256];
    if (c == ':') {
        snprintf(msg, sizeof msg, "option '%.80s' needs a value", arg);
        return usage_error("%s", msg);
    }
    if (optopt || strncmp(arg, "--", 2) != 0) {
        snprintf(msg, sizeof msg, "unknown option '-%c'", optopt ? optopt : '?');
        return usage_error("%s", msg);
    }
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
    size_t n = 0;
    while (opts[n].name)
        n++;
    const char *near = did_you_mean(name, long_option_at, n, opts);
    if (near)
        snprintf(msg, sizeof msg, "unknown option '--%.60s'; did you mean '--%s'?", name, near);
    else
        snprintf(msg, sizeof msg, "unknown option '--%.60s'", name);
    return usage_error("%s", msg);
}

/* .kube5xx.yaml in the current directory or the nearest parent that has one. */
static bool find_config(char *out, size_t size)
{
    char dir[PATH_MAX];
    if (!getcwd(dir, sizeof dir))
        return false;
    for (;;) {
        snprintf(out, size, "%s%s.kube5xx.yaml", dir, strcmp(dir, "/") == 0 ? "" : "/");
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
            return true;
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            if (strcmp(dir, "/") == 0)
                return false;
            dir[0] = '/';
            dir[1] = '\0';
            continue;
        }
        *slash = '\0';
    }
}

static int load_config(const char *path, k5_config **cfg)
{
    char *buf = NULL;
    size_t len = 0;
    char why[200];
    /* Not regular files only: `-c <(generate-config)` hands over a FIFO. */
    fe_status fs = fe_read_file(path, K5_MAX_CONFIG_BYTES, 0, &buf, &len, why, sizeof why);
    if (fs == FE_ELIMIT) {
        fprintf(stderr, "%s: error: config file is larger than %u bytes (limit K5_MAX_CONFIG_BYTES)\n",
                path, K5_MAX_CONFIG_BYTES);
        return EXIT_ERROR;
    }
    if (fs != FE_OK) {
        fprintf(stderr, "%s: error: cannot read config: %s\n", path, why);
        return EXIT_ERROR;
    }
    k5_error err = {0};
    k5_status st = k5_config_parse(cfg, path, buf, len, &err);
    free(buf);
    if (st != K5_OK) {
        if (err.line)
            fprintf(stderr, "%s:%u:%u: error: %s\n", path, err.line, err.column, err.msg);
        else
            fprintf(stderr, "%s: error: %s\n", path, err.msg[0] ? err.msg : k5_status_str(st));
        return EXIT_ERROR;
    }
    return EXIT_CLEAN;
}

int lint_config_load(const char *path, bool no_config, k5_config **cfg)
{
    char found[PATH_MAX + 32];
    if (path)
        return load_config(path, cfg);
    if (!no_config && find_config(found, sizeof found))
        return load_config(found, cfg);
    return EXIT_CLEAN;
}

/* As ripgrep: as many threads as online CPUs (capped), 1 when that cannot be known. */
static unsigned default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > (long)K5_MAX_JOBS ? K5_MAX_JOBS : (unsigned)n;
}

/* The receiver of findings (k5_run_each): writes each batch as it comes, in any format. */
typedef struct lint_sink {
    lint_stream *stream;
    k5_severity fail_on;
    bool failing; /* an unsuppressed finding at or above fail_on */
    int err;      /* errno of a failed write (the sink may run on another thread) */
} lint_sink;

static int write_batch(void *ctx, const k5_finding *f, size_t n)
{
    lint_sink *t = ctx;
    for (size_t i = 0; i < n && !t->failing; i++)
        t->failing = !f[i].suppressed && f[i].severity >= t->fail_on;
    if (lint_stream_findings(t->stream, f, n) != 0) {
        t->err = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

static int cmd_lint(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"fail-on", required_argument, NULL, 'F'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"no-config", no_argument, NULL, 'N'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {"show-suppressed", no_argument, NULL, 'S'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"allow-empty", no_argument, NULL, 'E'},
                                         {"follow", no_argument, NULL, 'L'},
                                         {"jobs", required_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *format = "text", *output = NULL, *config = NULL, *ns = NULL; /* NULL: "default", not chosen */
    k5_severity fail_on = K5_SEV_ERROR;
    bool fail_never = false, show_suppressed = false, quiet = false, no_config = false;
    bool allow_empty = false, follow = false;
    unsigned jobs = default_jobs();
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:o:c:n:qLj:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "never") == 0)
                fail_never = true;
            else if (!k5_severity_parse(optarg, strlen(optarg), &fail_on) || fail_on == K5_SEV_OFF)
                return usage_error("--fail-on must be error, warning, info or never, not '%s'",
                                   optarg);
            break;
        case 'c':
            config = optarg;
            break;
        case 'N':
            no_config = true;
            break;
        case 'n':
            ns = optarg;
            break;
        case 'S':
            show_suppressed = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'E':
            allow_empty = true;
            break;
        case 'L':
            follow = true;
            break;
        case 'j': {
            char *end = NULL;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > (long)K5_MAX_JOBS)
                return usage_error("--jobs must be a number from 1 to 256, not '%s'", optarg);
            jobs = (unsigned)v;
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_CLEAN;
        default:
            return option_error(c, argv, opts);
        }
    }
    lint_output_fn writer = lint_output_find(format);
    if (!writer)
        return usage_error("unknown format '%s' (text, json, sarif, junit, github)", format);
    if (optind >= argc)
        return usage_error("%s", "lint needs at least one PATH (a file, a directory, or -)");

    k5_config *cfg = NULL;
    char found[PATH_MAX + 32];
    if (config) {
        if (load_config(config, &cfg) != EXIT_CLEAN)
            return EXIT_ERROR;
    } else if (!no_config && find_config(found, sizeof found)) {
        if (load_config(found, &cfg) != EXIT_CLEAN)
            return EXIT_ERROR;
    }

    int rc = EXIT_ERROR;
    k5_docset *set = NULL;
    lint_input in = {0};
    FILE *out = NULL;
    if (k5_docset_new(&set, ns) != K5_OK) {
        fprintf(stderr, "kube5xx: out of memory\n");
        goto out;
    }
    in.set = set;
    in.follow = follow;
    in.quiet = quiet;
    in.jobs = jobs;
    for (int i = optind; i < argc; i++) {
        if (lint_input_add(&in, argv[i]) < 0) {
            fprintf(stderr, "kube5xx: out of memory while reading %s\n", argv[i]);
            goto out;
        }
    }
    if (lint_input_finish(&in) < 0) {
        fprintf(stderr, "kube5xx: out of memory while parsing the inputs\n");
        goto out;
    }
    k5_docset_loaded(set);
    if (!quiet) {
        for (size_t i = 0; i < k5_docset_notice_count(set); i++) {
            const k5_notice *nt = k5_docset_notice(set, i);
            fprintf(stderr, "%s:%u:%u: notice: %s\n", nt->file, nt->line, nt->column,
                    nt->message);
        }
    }
    out = output ? fopen(output, "w") : stdout;
    if (!out) {
        fprintf(stderr, "%s: error: cannot write: %s\n", output, strerror(errno));
        goto out;
    }
    bool is_text = strcmp(format, "text") == 0;
    const char *nc = getenv("NO_COLOR");
    char failed_at[PATH_MAX + 64] = ""; /* where a write failed, when not `out` */
    lint_output o = {out,
                     is_text && isatty(fileno(out)) && !(nc && *nc),
                     show_suppressed,
                     set,
                     NULL,
                     in.errors,
                     in.nerrors,
                     fail_on,
                     false,
                     NULL,
                     NULL,
                     failed_at,
                     sizeof failed_at};
    k5_error err = {0};
    int wr;
    char *srcroot = NULL, *srcroot_cwd = NULL;
    if (strcmp(format, "sarif") == 0 && lint_sarif_srcroot(&srcroot, &srcroot_cwd) == 0) {
        o.srcroot = srcroot;
        o.srcroot_cwd = srcroot_cwd;
    }
    /* Every format is written a batch of objects at a time as the rules finish them, and each
     * batch is freed: memory holds the inputs and the formats' compact counters, not every
     * finding of the run (a 64 MiB JSON List has ~440,000). The findings and their order are
     * the report's (k5_run_each), so the output is the same for every --jobs. */
    lint_sink ts = {NULL, fail_on, false, 0};
    k5_summary sum;
    errno = 0;
    wr = lint_stream_open(&ts.stream, format, &o);
    if (wr == 0) {
        k5_status st = k5_run_each(set, cfg, 0, jobs, write_batch, &ts, &sum, &err);
        if (st == K5_OK) {
            wr = lint_stream_close(&ts.stream, sum);
        } else {
            lint_stream_free(&ts.stream);
            if (!ts.err) {
                fprintf(stderr, "kube5xx: %s\n", err.msg);
                free(srcroot);
                free(srcroot_cwd);
                goto out;
            }
            errno = ts.err;
            wr = -1;
        }
    }
    free(srcroot);
    free(srcroot_cwd);
    bool failing = ts.failing;
    if (wr != 0 || fflush(out) != 0 || ferror(out)) {
        if (failed_at[0])
            fprintf(stderr, "kube5xx: cannot write the report: %s: %s\n", failed_at,
                    strerror(errno));
        else
            fprintf(stderr, "kube5xx: cannot write the report: %s\n", strerror(errno));
        goto out;
    }
    if (!is_text) {
        /* Machine formats carry load errors inside; say so on stderr too for humans. */
        for (size_t i = 0; i < in.nerrors; i++) {
            const lint_load_error *e = &in.errors[i];
            if (e->line)
                fprintf(stderr, "%s:%u:%u: error: %s\n", e->file, e->line, e->column, e->message);
            else
                fprintf(stderr, "%s: error: %s\n", e->file, e->message);
        }
    }
    if (in.nerrors) {
        rc = EXIT_ERROR;
        goto out;
    }
    if (k5_docset_object_count(set) == 0 && !allow_empty) {
        /* A render that failed upstream (`helm template missing | kube5xx lint -`) must not
         * turn CI green: linting nothing is an error unless the caller says it is expected. */
        fprintf(stderr, "kube5xx: error: no Kubernetes objects found in ");
        for (int i = optind; i < argc; i++)
            fprintf(stderr, "%s%s", i > optind ? ", " : "",
                    strcmp(argv[i], "-") == 0 ? LINT_STDIN_NAME : argv[i]);
        fprintf(stderr, " (pass --allow-empty if that is expected)\n");
        rc = EXIT_ERROR;
        goto out;
    }
    rc = !fail_never && failing ? EXIT_FINDINGS : EXIT_CLEAN;
out:
    if (out && out != stdout && fclose(out) != 0 && rc != EXIT_ERROR) {
        fprintf(stderr, "%s: error: cannot write: %s\n", output, strerror(errno));
        rc = EXIT_ERROR;
    }
    lint_input_free(&in);
    k5_docset_free(&set);
    k5_config_free(&cfg);
    return rc;
}

static int cmd_rules(int argc, char **argv)
{
    const char *format = "text";
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "-f") == 0) && i + 1 < argc)
            format = argv[++i];
        else if (strncmp(argv[i], "--format=", 9) == 0)
            format = argv[i] + 9;
        else
            return usage_error("rules: unexpected argument '%s'", argv[i]);
    }
    if (strcmp(format, "text") == 0)
        lint_docs_table(stdout);
    else if (strcmp(format, "markdown") == 0)
        lint_docs_markdown(stdout);
    else
        return usage_error("rules: unknown format '%s' (text, markdown)", format);
    return fflush(stdout) == 0 ? EXIT_CLEAN : EXIT_ERROR;
}

static int cmd_explain(int argc, char **argv)
{
    if (argc != 2)
        return usage_error("%s", "explain needs exactly one RULE-ID (see 'kube5xx rules')");
    const k5_rule *r = k5_rule_find(argv[1], strlen(argv[1]));
    if (!r) {
        const char *near = did_you_mean(argv[1], rule_id_at, k5_rule_count(), NULL);
        if (near) {
            fprintf(stderr, "kube5xx: unknown rule '%s'; did you mean '%s'?\n", argv[1], near);
            return EXIT_ERROR;
        }
        return usage_error("unknown rule '%s' (see 'kube5xx rules')", argv[1]);
    }
    lint_docs_explain(stdout, r);
    return fflush(stdout) == 0 ? EXIT_CLEAN : EXIT_ERROR;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_ERROR;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("kube5xx %s\n", KUBE5XX_VERSION);
        return EXIT_CLEAN;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_CLEAN;
    }
    if (strcmp(cmd, "lint") == 0)
        return cmd_lint(argc - 1, argv + 1);
    if (strcmp(cmd, "audit") == 0)
        return lint_audit_main(argc - 1, argv + 1);
    if (strcmp(cmd, "rules") == 0)
        return cmd_rules(argc - 1, argv + 1);
    if (strcmp(cmd, "explain") == 0)
        return cmd_explain(argc - 1, argv + 1);
    return usage_error("unknown command '%s' (lint, audit, rules, explain)", cmd);
}
