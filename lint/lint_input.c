/*
 * kube5xx CLI: turns the command line's paths into loaded documents. Files,
 * directories (recursively; .yaml, .yml, .json; hidden entries skipped;
 * symlinks to directories followed only with --follow, with loop detection; every
 * entry that cannot be read is an error naming it) and "-" for stdin (named "<stdin>") all go into ONE docset, so that
 * cross-object rules see everything together.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fe.h"
#include "lint_input.h"

#define LINT_MAX_DIR_DEPTH 64   /* directory recursion */
#define LINT_MAX_FILES 100000u  /* files per run */

typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

typedef struct walker {
    lint_input *in;
    dir_id stack[LINT_MAX_DIR_DEPTH + 1]; /* the directories being walked, root first */
    dir_id *seen;                         /* --follow: a hash set of directories linted */
    bool *used;
    size_t nseen, capseen;
} walker;

static int add_error(lint_input *in, const char *file, uint32_t line, uint32_t col,
                     const char *msg)
{
    if (in->nerrors == in->caperrors) {
        size_t ncap = in->caperrors ? in->caperrors * 2 : 8;
        lint_load_error *ne = realloc(in->errors, ncap * sizeof *ne);
        if (!ne)
            return -1;
        in->errors = ne;
        in->caperrors = ncap;
    }
    lint_load_error *e = &in->errors[in->nerrors];
    e->file = strdup(file);
    e->message = strdup(msg);
    e->line = line;
    e->column = col;
    if (!e->file || !e->message) {
        free(e->file);
        free(e->message);
        return -1;
    }
    in->nerrors++;
    return 0;
}

/* Reads a whole stream (the shared reader, frontend/fe.h), refusing more than K5_MAX_FILE_BYTES. */
static int read_all(int fd, char **out, size_t *len, const char *name, lint_input *in)
{
    int e = 0;
    size_t n = 0;
    char msg[160];
    switch (fe_read_fd(fd, K5_MAX_FILE_BYTES, out, &n, &e)) {
    case FE_OK:
        *len = n;
        return 0;
    case FE_ENOMEM:
        return -1;
    case FE_ELIMIT:
        if (n > (size_t)K5_MAX_FILE_BYTES + 1) /* a regular file: its size is known */
            snprintf(msg, sizeof msg,
                     "file is %zu bytes, larger than %u MiB (limit K5_MAX_FILE_BYTES); split it", n,
                     K5_MAX_FILE_BYTES / (1024u * 1024u));
        else
            snprintf(msg, sizeof msg, "input is larger than %u MiB (limit K5_MAX_FILE_BYTES)",
                     K5_MAX_FILE_BYTES / (1024u * 1024u));
        break;
    default:
        snprintf(msg, sizeof msg, "cannot read: %s", strerror(e));
        break;
    }
    add_error(in, name, 0, 0, msg);
    return 1;
}

/* Only white space (or nothing at all). */
static bool blank(const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n')
            return false;
    return true;
}

/*
 * The Helm chart directory `name` is a template of (an ancestor holding Chart.yaml, at most
 * eight levels up), into out; false when there is none.
 */
static bool chart_of(const char *name, char *out, size_t size)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", name) >= (int)sizeof dir)
        return false;
    for (int up = 0; up < 8; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            return false;
        *slash = '\0';
        char chart[PATH_MAX + 16];
        struct stat st;
        snprintf(chart, sizeof chart, "%s/Chart.yaml", dir[0] ? dir : "/");
        if (stat(chart, &st) == 0 && S_ISREG(st.st_mode)) {
            snprintf(out, size, "%s", dir[0] ? dir : "/");
            return true;
        }
    }
    return false;
}

/*
 * A file that does not parse and holds template actions ({{ ... }}) is an unrendered Helm
 * template: one error per chart saying to render it first, instead of one YAML error per
 * template; a template outside any chart keeps its YAML error, with the same advice.
 */
static int add_template_error(lint_input *in, const char *name, const k5_error *err)
{
    char chart[PATH_MAX], msg[PATH_MAX + 256];
    if (chart_of(name, chart, sizeof chart)) {
        for (size_t i = 0; i < in->nerrors; i++)
            if (strcmp(in->errors[i].file, chart) == 0)
                return 0; /* said once for the chart */
        snprintf(msg, sizeof msg,
                 "a Helm chart: its templates are not YAML until rendered; render it first: "
                 "helm template %s | kube5xx lint -",
                 chart);
        return add_error(in, chart, 0, 0, msg);
    }
    snprintf(msg, sizeof msg,
             "%s (an unrendered template? render it first: helm template CHART | kube5xx lint -)",
             err->msg);
    return add_error(in, name, err->line, err->column, msg);
}

/* "{{" anywhere: an unrendered template, asked only of a file that failed to parse. memchr
 * finds the rare '{' of a manifest at memory speed; memmem took 2.4% of a 100,000-object lint
 * (and a one-line JSON List is dense with '{', so no file is searched before it fails). */
static bool has_braces(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while (p + 1 < end && (p = memchr(p, '{', (size_t)(end - p - 1))) != NULL) {
        if (p[1] == '{')
            return true;
        p++;
    }
    return false;
}

static int load_fd(lint_input *in, int fd, const char *name, k5_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    int r = read_all(fd, &buf, &len, name, in);
    if (r)
        return r < 0 ? -1 : 0;
    if (fd == STDIN_FILENO && blank(buf, len)) {
        /* Always an error, even with --allow-empty: nothing on a pipe means the command
         * before it failed (`helm template ./missing | kube5xx lint -`). */
        free(buf);
        return add_error(in, name, 0, 0,
                         "stdin is empty: the command piped into kube5xx produced nothing");
    }
    if (++in->nfiles > LINT_MAX_FILES) {
        free(buf);
        char msg[120];
        snprintf(msg, sizeof msg, "more than %u input files (limit LINT_MAX_FILES)",
                 LINT_MAX_FILES);
        add_error(in, name, 0, 0, msg);
        return 0;
    }
    if (in->nitems == in->capitems) {
        size_t ncap = in->capitems ? in->capitems * 2 : 16;
        k5_load_item *ni = realloc(in->items, ncap * sizeof *ni);
        if (!ni) {
            free(buf);
            return -1;
        }
        in->items = ni;
        lint_pending *np = realloc(in->pending, ncap * sizeof *np);
        if (!np) {
            free(buf);
            return -1;
        }
        in->pending = np;
        in->capitems = ncap;
    }
    char *copy = strdup(name);
    if (!copy) {
        free(buf);
        return -1;
    }
    k5_load_item *it = &in->items[in->nitems];
    memset(it, 0, sizeof *it);
    it->name = copy;
    it->buf = buf;
    it->len = len;
    it->format = fmt;
    in->pending[in->nitems].bytes = buf;
    in->pending[in->nitems].len = len;
    in->pending[in->nitems].slot = in->nerrors;
    in->nitems++;
    return 0;
}

/* Appends an error that is already allocated (moved, not copied). */
static int move_error(lint_input *in, lint_load_error *e)
{
    if (in->nerrors == in->caperrors) {
        size_t ncap = in->caperrors ? in->caperrors * 2 : 8;
        lint_load_error *ne = realloc(in->errors, ncap * sizeof *ne);
        if (!ne)
            return -1;
        in->errors = ne;
        in->caperrors = ncap;
    }
    in->errors[in->nerrors++] = *e;
    return 0;
}

static void free_items(lint_input *in)
{
    for (size_t i = 0; i < in->nitems; i++) {
        free((char *)in->items[i].name);
        free(in->items[i].buf);
    }
    free(in->items);
    free(in->pending);
    in->items = NULL;
    in->pending = NULL;
    in->nitems = in->capitems = 0;
}

int lint_input_finish(lint_input *in)
{
    if (!in->nitems)
        return 0;
    if (k5_docset_load_all(in->set, in->items, in->nitems, in->jobs) != K5_OK) {
        free_items(in);
        return -1;
    }
    /* The walk's errors and the files' errors, interleaved as the walk met them. */
    lint_load_error *walk = in->errors;
    size_t nwalk = in->nerrors, w = 0;
    in->errors = NULL;
    in->nerrors = in->caperrors = 0;
    int rc = 0;
    for (size_t i = 0; i < in->nitems && rc == 0; i++) {
        while (w < in->pending[i].slot && rc == 0)
            rc = move_error(in, &walk[w++]);
        const k5_load_item *it = &in->items[i];
        if (rc || it->status == K5_OK)
            continue;
        if (it->status == K5_ENOMEM)
            rc = -1;
        else if (has_braces(in->pending[i].bytes, in->pending[i].len))
            rc = add_template_error(in, it->name, &it->err);
        else
            rc = add_error(in, it->name, it->err.line, it->err.column, it->err.msg);
    }
    while (w < nwalk && rc == 0)
        rc = move_error(in, &walk[w++]);
    for (; w < nwalk; w++) {
        free(walk[w].file);
        free(walk[w].message);
    }
    free(walk);
    free_items(in);
    return rc;
}

static k5_format format_of(const char *path)
{
    size_t n = strlen(path);
    if (n >= 5 && strcmp(path + n - 5, ".json") == 0)
        return K5_FORMAT_JSON;
    return K5_FORMAT_AUTO;
}

static int load_file(lint_input *in, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "cannot open: %s", strerror(errno));
        return add_error(in, path, 0, 0, msg);
    }
    /* O_NONBLOCK only guards the open of a FIFO; reads below block as usual. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    int r = load_fd(in, fd, path, format_of(path));
    close(fd);
    return r;
}

static bool wanted(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int path_error(lint_input *in, const char *path, const char *what, int err)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
    return add_error(in, path, 0, 0, msg);
}

/*
 * --follow only: directories already linted, by device and inode, in an open-addressing
 * hash set, so the walk stays linear however many directories there are. A directory
 * reached a second time through another symlink is not linted twice.
 */
static uint64_t dir_hash(dir_id id)
{
    uint64_t h = (uint64_t)id.ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)id.dev;
    return h ^ (h >> 29);
}

/* Adds id; returns 1 when it was new, 0 when already there, -1 when out of memory. */
static int seen_add(walker *w, dir_id id)
{
    if (2 * (w->nseen + 1) > w->capseen) {
        size_t ncap = w->capseen ? w->capseen * 2 : 64;
        dir_id *ns = calloc(ncap, sizeof *ns);
        bool *nu = calloc(ncap, sizeof *nu);
        if (!ns || !nu) {
            free(ns);
            free(nu);
            return -1;
        }
        for (size_t i = 0; i < w->capseen; i++) {
            if (!w->used[i])
                continue;
            size_t j = dir_hash(w->seen[i]) & (ncap - 1);
            while (nu[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = w->seen[i];
            nu[j] = true;
        }
        free(w->seen);
        free(w->used);
        w->seen = ns;
        w->used = nu;
        w->capseen = ncap;
    }
    size_t j = dir_hash(id) & (w->capseen - 1);
    while (w->used[j]) {
        if (w->seen[j].dev == id.dev && w->seen[j].ino == id.ino)
            return 0;
        j = (j + 1) & (w->capseen - 1);
    }
    w->seen[j] = id;
    w->used[j] = true;
    w->nseen++;
    return 1;
}

static int walk(walker *w, const char *dir, const struct stat *dst, int depth);

/*
 * A Helm chart met below a directory being walked (a subdirectory holding Chart.yaml) is
 * passed over with a notice, as a values.yaml is: its templates are not YAML until rendered,
 * and a repository that keeps a chart beside plain manifests must still lint the manifests.
 * A chart named on the command line is walked, and its templates get the error that says to
 * render it (add_template_error).
 */
static bool skip_chart(walker *w, const char *path)
{
    char chart[PATH_MAX + 16];
    struct stat st;
    if (snprintf(chart, sizeof chart, "%s/Chart.yaml", path) >= (int)sizeof chart ||
        stat(chart, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    if (!w->in->quiet)
        fprintf(stderr,
                "%s: notice: skipped a Helm chart (its templates are not YAML until rendered); "
                "lint its render: helm template %s | kube5xx lint -\n",
                path, path);
    return true;
}

/* One entry of a directory: a subdirectory, a file to lint, or something to pass over. */
static int walk_entry(walker *w, const char *path, const char *name, int depth)
{
    struct stat ls, st;
    if (lstat(path, &ls) != 0)
        return path_error(w->in, path, "cannot read", errno);
    if (!S_ISLNK(ls.st_mode)) {
        if (S_ISDIR(ls.st_mode))
            return skip_chart(w, path) ? 0 : walk(w, path, &ls, depth + 1);
        return S_ISREG(ls.st_mode) && wanted(name) ? load_file(w->in, path) : 0;
    }
    if (stat(path, &st) != 0) {
        if (wanted(name))
            return add_error(w->in, path, 0, 0, "broken symbolic link");
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        /* Not followed unless --follow (as find and ripgrep): a link to / would otherwise
         * read every YAML file on the machine. */
        return w->in->follow && !skip_chart(w, path) ? walk(w, path, &st, depth + 1) : 0;
    }
    return S_ISREG(st.st_mode) && wanted(name) ? load_file(w->in, path) : 0;
}

/*
 * Lints a directory's wanted files and recurses into its subdirectories, in name order.
 * Linear in the number of entries: no per-directory scan of the ones seen before.
 */
static int walk(walker *w, const char *dir, const struct stat *dst, int depth)
{
    if (depth > LINT_MAX_DIR_DEPTH) {
        char msg[120];
        snprintf(msg, sizeof msg, "directories nested deeper than %d (limit LINT_MAX_DIR_DEPTH)",
                 LINT_MAX_DIR_DEPTH);
        return add_error(w->in, dir, 0, 0, msg);
    }
    dir_id id = {dst->st_dev, dst->st_ino};
    if (w->in->follow) {
        for (int i = 0; i < depth && i < LINT_MAX_DIR_DEPTH + 1; i++)
            if (w->stack[i].dev == id.dev && w->stack[i].ino == id.ino)
                return add_error(w->in, dir, 0, 0,
                                 "symbolic link loop: this directory contains itself (--follow)");
        int added = seen_add(w, id);
        if (added <= 0)
            return added; /* -1: out of memory; 0: linted already through another link */
    }
    w->stack[depth] = id;

    DIR *d = opendir(dir);
    if (!d)
        return path_error(w->in, dir, "cannot read directory", errno);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    for (;;) {
        errno = 0;
        if ((e = readdir(d)) == NULL) {
            if (errno)
                rc = path_error(w->in, dir, "cannot read directory", errno);
            break;
        }
        if (e->d_name[0] == '.')
            continue; /* ., .. and hidden entries (.git, .github) */
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
            cap = ncap;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names); /* stable output across file systems */
    size_t dlen = strlen(dir);
    bool slash = dlen && dir[dlen - 1] == '/';
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = dlen + !slash + strlen(names[i]) + 1;
        char *path = malloc(len);
        if (!path) {
            rc = -1;
            break;
        }
        snprintf(path, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
        if (len > PATH_MAX) {
            char msg[120];
            snprintf(msg, sizeof msg, "path is longer than PATH_MAX (%d bytes); not read",
                     PATH_MAX);
            rc = add_error(w->in, path, 0, 0, msg);
        } else {
            rc = walk_entry(w, path, names[i], depth);
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int lint_input_add(lint_input *in, const char *arg)
{
    if (strcmp(arg, "-") == 0)
        return load_fd(in, STDIN_FILENO, LINT_STDIN_NAME, K5_FORMAT_AUTO);
    struct stat st;
    if (stat(arg, &st) != 0)
        return path_error(in, arg, "cannot open", errno);
    if (S_ISDIR(st.st_mode)) {
        /* A path given on the command line is followed even when it is a symlink. */
        walker w = {0};
        w.in = in;
        int r = walk(&w, arg, &st, 0);
        free(w.seen);
        free(w.used);
        return r;
    }
    return load_file(in, arg);
}

void lint_input_free(lint_input *in)
{
    free_items(in);
    for (size_t i = 0; i < in->nerrors; i++) {
        free(in->errors[i].file);
        free(in->errors[i].message);
    }
    free(in->errors);
    in->errors = NULL;
    in->nerrors = in->caperrors = 0;
}
