/*
 * YAML loader: consumes libyaml events and builds nodes directly, enforcing
 * the depth, document-count and alias-expansion limits while it goes.
 *
 * libyaml 0.2.5's own document loader is not used on purpose: it never
 * expands aliases (a naive walk of a 520-byte alias bomb visits 10^10 nodes),
 * accepts `&a [1, *a]` as a cycle, and has no depth limit. Here an alias can
 * only name a node that is complete (so no cycles), every alias adds the
 * anchored subtree's size to a per-file budget, and nesting stops at
 * K5_MAX_DEPTH before the parser's quadratic flow-nesting cost matters.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <yaml.h>

#include "k5_internal.h"

/* libyaml marks count characters; nodes keep byte offsets. */
typedef struct cursor {
    const unsigned char *buf;
    size_t len, bom;
    bool ascii;
    size_t ci, bi;
} cursor;

static size_t byte_at(cursor *c, size_t char_index)
{
    if (c->ascii) {
        size_t b = c->bom + char_index;
        return b > c->len ? c->len : b;
    }
    if (char_index < c->ci) {
        c->ci = 0;
        c->bi = c->bom;
    }
    while (c->ci < char_index && c->bi < c->len) {
        unsigned char b = c->buf[c->bi];
        size_t w = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        c->bi += w;
        c->ci++;
    }
    return c->bi > c->len ? c->len : c->bi;
}

typedef struct frame {
    k5_node_type type;
    size_t base; /* first child's index on the node stack */
    uint32_t pos;
    uint64_t size; /* nodes in the expanded subtree, so far */
    char *anchor;  /* malloc'd, or NULL */
} frame;

typedef struct anchor {
    char *name;
    k5_node node;
    uint64_t size;
} anchor;

typedef struct loader {
    k5__arena *arena;
    const k5__file *file;
    const char *fname;
    size_t base; /* byte offset of the part parsed in its file */
    cursor cur;
    k5__vec stack; /* k5_node */
    k5__vec sizes; /* uint64_t, parallel to stack */
    k5__vec frames;
    k5__vec anchors; /* anchor; per document */
    uint64_t alias_nodes;
    k5_error *err;
} loader;

static void clear_anchors(loader *l)
{
    for (size_t i = 0; i < l->anchors.len; i++)
        free(K5__VEC_AT(&l->anchors, anchor, i).name);
    l->anchors.len = 0;
}

static void line_col(const k5__file *f, size_t off, uint32_t *line, uint32_t *col);

static void err_at(loader *l, uint32_t pos, const char *fmt, const char *a, const char *b)
{
    uint32_t line = 0, col = 0;
    if (pos)
        line_col(l->file, pos - 1, &line, &col);
    k5__err(l->err, l->fname, line, col, fmt, a, b);
}

/* Pushes a finished node with its expanded size. */
static k5_status push(loader *l, const k5_node *n, uint64_t size)
{
    /* Every node passes through here: the two stacks grow together, and elements are
     * assigned as structs rather than copied through the generic vector's memcpy. */
    if (l->stack.len == l->stack.cap) {
        size_t ncap = l->stack.cap ? l->stack.cap * 2 : 256;
        k5_node *nodes = realloc(l->stack.data, ncap * sizeof *nodes);
        if (!nodes)
            return K5_ENOMEM;
        l->stack.data = nodes;
        uint64_t *sizes = realloc(l->sizes.data, ncap * sizeof *sizes);
        if (!sizes)
            return K5_ENOMEM;
        l->sizes.data = sizes;
        l->stack.cap = l->sizes.cap = ncap;
    }
    ((k5_node *)l->stack.data)[l->stack.len++] = *n;
    ((uint64_t *)l->sizes.data)[l->sizes.len++] = size;
    return K5_OK;
}

static k5_status register_anchor(loader *l, const char *name, const k5_node *n, uint64_t size)
{
    anchor a = {NULL, *n, size};
    size_t len = strlen(name);
    a.name = malloc(len + 1);
    if (!a.name)
        return K5_ENOMEM;
    memcpy(a.name, name, len + 1);
    if (!k5__vec_push(&l->anchors, &a)) {
        free(a.name);
        return K5_ENOMEM;
    }
    return K5_OK;
}

static const anchor *find_anchor(loader *l, const char *name)
{
    /* The newest definition wins (YAML allows redefining an anchor). */
    for (size_t i = l->anchors.len; i-- > 0;) {
        const anchor *a = &K5__VEC_AT(&l->anchors, anchor, i);
        if (strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

static k5_node_type tagged_type(const char *tag)
{
    static const struct {
        const char *tag;
        k5_node_type t;
    } tags[] = {{"tag:yaml.org,2002:str", K5_NODE_STR},   {"tag:yaml.org,2002:int", K5_NODE_INT},
                {"tag:yaml.org,2002:bool", K5_NODE_BOOL}, {"tag:yaml.org,2002:float", K5_NODE_FLOAT},
                {"tag:yaml.org,2002:null", K5_NODE_NULL}};
    for (size_t i = 0; i < sizeof tags / sizeof *tags; i++)
        if (strcmp(tag, tags[i].tag) == 0)
            return tags[i].t;
    return K5_NODE_STR;
}

static k5_status on_scalar(loader *l, const yaml_event_t *ev)
{
    size_t len = ev->data.scalar.length;
    const char *val = (const char *)ev->data.scalar.value;
    size_t off = byte_at(&l->cur, ev->start_mark.index);
    uint32_t pos = (uint32_t)off + 1;
    if (len > K5_MAX_SCALAR_BYTES) {
        char lim[32];
        snprintf(lim, sizeof lim, "%u", K5_MAX_SCALAR_BYTES);
        err_at(l, pos, "scalar of more than %s bytes (limit K5_MAX_SCALAR_BYTES%s)", lim, "");
        return K5_ELIMIT;
    }
    yaml_scalar_style_t style = ev->data.scalar.style;
    bool plain = style == YAML_PLAIN_SCALAR_STYLE;
    k5_node_type t;
    if (ev->data.scalar.tag && !ev->data.scalar.plain_implicit && !ev->data.scalar.quoted_implicit)
        t = tagged_type((const char *)ev->data.scalar.tag);
    else if (ev->data.scalar.tag && strcmp((const char *)ev->data.scalar.tag, "!") == 0)
        t = K5_NODE_STR;
    else
        t = plain ? k5__resolve_plain(val, len) : K5_NODE_STR;

    /* Borrow the text from the input buffer when it is spelled there verbatim. */
    const char *str = NULL;
    size_t start = plain ? off : off + 1;
    if (len == 0) {
        str = "";
    } else if ((plain || style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
               start + len <= l->cur.len && memcmp(l->cur.buf + start, val, len) == 0) {
        str = (const char *)l->cur.buf + start;
    } else {
        str = k5__arena_strndup(l->arena, val, len);
        if (!str)
            return K5_ENOMEM;
    }
    k5_node n;
    n.u.str = str;
    n.pos = pos;
    n.bits = k5__bits(t, !plain, len);
    if (ev->data.scalar.anchor) {
        k5_status st = register_anchor(l, (const char *)ev->data.scalar.anchor, &n, 1);
        if (st != K5_OK)
            return st;
    }
    return push(l, &n, 1);
}

/* Opens a collection at byte offset + 1 `pos`; the fast path opens its collections here too. */
static k5_status open_frame(loader *l, k5_node_type t, uint32_t pos, const yaml_char_t *anc)
{
    frame f = {t, l->stack.len, pos, 1, NULL};
    if (anc) {
        size_t len = strlen((const char *)anc);
        f.anchor = malloc(len + 1);
        if (!f.anchor)
            return K5_ENOMEM;
        memcpy(f.anchor, anc, len + 1);
    }
    if (!k5__vec_push(&l->frames, &f)) {
        free(f.anchor);
        return K5_ENOMEM;
    }
    return K5_OK;
}

static k5_status on_start(loader *l, const yaml_event_t *ev, k5_node_type t)
{
    uint32_t pos = (uint32_t)byte_at(&l->cur, ev->start_mark.index) + 1;
    if (l->frames.len >= K5_MAX_DEPTH) {
        char lim[16];
        snprintf(lim, sizeof lim, "%u", K5_MAX_DEPTH);
        err_at(l, pos, "nesting deeper than %s levels (limit K5_MAX_DEPTH)%s", lim, "");
        return K5_ELIMIT;
    }
    const yaml_char_t *anc =
        t == K5_NODE_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    return open_frame(l, t, pos, anc);
}

static k5_status on_end(loader *l)
{
    frame f = K5__VEC_AT(&l->frames, frame, l->frames.len - 1);
    l->frames.len--;
    size_t nchild = l->stack.len - f.base;
    k5_node *kids = nchild ? &K5__VEC_AT(&l->stack, k5_node, f.base) : NULL;
    uint64_t size = 1;
    for (size_t i = 0; i < nchild; i++) {
        uint64_t s = K5__VEC_AT(&l->sizes, uint64_t, f.base + i);
        size = size + s < size ? UINT64_MAX : size + s;
    }
    k5_node n;
    n.pos = f.pos;
    k5_status st = K5_OK;
    if (f.type == K5_NODE_MAP) {
        size_t pairs = nchild / 2;
        for (size_t i = 0; i < pairs; i++) {
            if (!k5_node_is_scalar(&kids[2 * i])) {
                err_at(l, kids[2 * i].pos, "mapping keys must be scalars%s%s", "", "");
                st = K5_EPARSE;
                goto out;
            }
        }
        const k5_node *dup = NULL;
        st = k5__map_finish(l->arena, kids, pairs, &n, &dup);
        if (st == K5_EPARSE && dup) {
            k5_str ks = k5_node_str(dup);
            char key[80];
            snprintf(key, sizeof key, "%.*s", (int)(ks.n > 60 ? 60 : ks.n), ks.p);
            err_at(l, dup->pos, "duplicate mapping key \"%s\"%s", key, "");
            goto out;
        }
        if (st == K5_EINVAL) {
            err_at(l, f.pos, "merge key \"<<\" must name a mapping or a sequence of mappings%s%s",
                   "", "");
            st = K5_EPARSE;
            goto out;
        }
        if (st != K5_OK)
            goto out;
    } else {
        k5_node *items = NULL;
        if (nchild) {
            items = k5__arena_alloc(l->arena, nchild * sizeof *items);
            if (!items) {
                st = K5_ENOMEM;
                goto out;
            }
            memcpy(items, kids, nchild * sizeof *items);
        }
        n.u.items = items;
        n.bits = k5__bits(K5_NODE_SEQ, false, nchild);
    }
    if (k5_node_len(&n) > K5__MAX_NODE_LEN) {
        err_at(l, f.pos, "collection too large%s%s", "", "");
        st = K5_ELIMIT;
        goto out;
    }
    l->stack.len = f.base;
    l->sizes.len = f.base;
    if (f.anchor)
        st = register_anchor(l, f.anchor, &n, size);
    if (st == K5_OK)
        st = push(l, &n, size);
out:
    free(f.anchor);
    return st;
}

static k5_status on_alias(loader *l, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor *a = find_anchor(l, name);
    uint32_t pos = (uint32_t)byte_at(&l->cur, ev->start_mark.index) + 1;
    if (!a) {
        /* Also covers `&a [1, *a]`: the anchor is not defined until its node is complete. */
        err_at(l, pos, "unknown or recursive alias \"*%s\"%s", name, "");
        return K5_EPARSE;
    }
    l->alias_nodes += a->size;
    if (l->alias_nodes > K5_MAX_ALIAS_NODES) {
        char lim[32];
        snprintf(lim, sizeof lim, "%u", K5_MAX_ALIAS_NODES);
        err_at(l, pos, "aliases expand to more than %s nodes (limit K5_MAX_ALIAS_NODES)%s", lim,
               "");
        return K5_ELIMIT;
    }
    return push(l, &a->node, a->size);
}

static void line_col(const k5__file *f, size_t off, uint32_t *line, uint32_t *col)
{
    k5_position p = {0, 0};
    k5_node tmp = {{NULL}, (uint32_t)off + 1, 0};
    p = k5__file_position(f, &tmp);
    *line = p.line;
    *col = p.column;
}

static void parser_error(loader *l, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        uint32_t line, col;
        line_col(l->file, l->base + p->problem_offset, &line, &col);
        k5__err(l->err, l->fname, line, col, "%s", problem);
        return;
    }
    if (p->error == YAML_MEMORY_ERROR) {
        k5__err(l->err, l->fname, 0, 0, "out of memory while parsing");
        return;
    }
    uint32_t line = (uint32_t)p->problem_mark.line + 1, col = (uint32_t)p->problem_mark.column + 1;
    if (p->context)
        k5__err(l->err, l->fname, line, col, "%s %s (started at line %zu)", problem, p->context,
                p->context_mark.line + 1);
    else
        k5__err(l->err, l->fname, line, col, "%s", problem);
}

/*
 * Keeps a finished document whose root is the one node on the stack (an empty document keeps
 * its empty scalar), as both paths do.
 */
static k5_status keep_doc(loader *l, k5__vec *docs, k5__yaml_part *part, uint32_t prev_end,
                          bool any_end)
{
    if (l->stack.len != 1)
        return K5_OK;
    const k5_node *root = &K5__VEC_AT(&l->stack, k5_node, 0);
    k5_node *keep = k5__arena_alloc(l->arena, sizeof *keep);
    if (!keep)
        return K5_ENOMEM;
    *keep = *root;
    k5__doc d = {keep, prev_end, root->pos ? root->pos - 1 : prev_end};
    if (!docs->len && !any_end)
        part->first_initial = true;
    return k5__vec_push(docs, &d) ? K5_OK : K5_ENOMEM;
}

/*
 * ---- The fast path ----
 *
 * Most manifests use a small part of YAML: block mappings and sequences, one-line plain and
 * quoted scalars, comments, `---` and `...`. For those this scanner builds the nodes directly,
 * through the same push/open_frame/on_end as the libyaml path, with the offsets libyaml's
 * marks give. The moment it meets anything else it gives up (returns FAST_BAIL), everything
 * it built is dropped, and the whole span is parsed again by libyaml: so it never reports an
 * error of its own, and whatever it accepts must load exactly as libyaml loads it
 * (tests/unit/test_yaml_fast.c and fuzz_loader compare the two on every input).
 *
 * It gives up on: any byte other than the line feed and printable ASCII (tabs, CR, controls,
 * UTF-8, a byte order mark); directives (`%`); `---`/`...` followed by anything but spaces and
 * a comment; a leading `...` or two in a row; content after `...` other than `---`; anchors,
 * aliases, tags, block scalars (`|`, `>`), `?` and `:` as first characters, the reserved `@`
 * and backquote; a plain scalar or quoted scalar that continues on the next line (any content
 * line indented deeper than the collection holding the scalar); `''` and backslashes in
 * quoted scalars; flow collections other than one-line `[...]` of quoted or simple plain
 * scalars and an empty `{}`; `- - x`; a `-` or a key where libyaml would refuse it (a line
 * between two indentation levels, `a: b: c`, `a: - b`); keys of more than 1,000 bytes (libyaml
 * refuses simple keys past 1,024 characters); a comment glued to a token (`'a'#b`); duplicate
 * keys, bad merges, and the depth, document and size limits (libyaml's path reports those).
 */
bool k5__yaml_reference;
static atomic_ulong fast_loads, fast_bails;

unsigned long k5__yaml_fast_count(bool gave_up)
{
    return atomic_load_explicit(gave_up ? &fast_bails : &fast_loads, memory_order_relaxed);
}

#define FAST_BAIL ((k5_status)-1)

enum { LN_CONTENT, LN_DOC_START, LN_DOC_END, LN_EOF };

typedef struct fast {
    loader *l;
    const unsigned char *s;
    size_t end;        /* end of the span */
    size_t p;          /* start of the line after the current one */
    int kind;          /* the current line: LN_* */
    size_t tok;        /* its first non-space byte (the end of the span at LN_EOF) */
    size_t line_start; /* its first byte */
    long col;          /* tok - line_start */
} fast;

static inline bool printable(unsigned char c)
{
    return c >= 0x20 && c < 0x7F;
}

/* A space, a line break or the end of the span (libyaml's "blank or end" after `-` and `:`). */
static inline bool blankz(const fast *f, size_t i)
{
    return i >= f->end || f->s[i] == ' ' || f->s[i] == '\n';
}

/* What may follow a token on its line: spaces, then a comment after at least one space, then
 * the line break or the end. Moves f->p to the next line. */
static bool line_rest(fast *f, size_t q)
{
    const unsigned char *s = f->s;
    size_t i = q;
    while (i < f->end && s[i] == ' ')
        i++;
    if (i < f->end && s[i] == '#') {
        if (i == q)
            return false;
        for (i++; i < f->end && s[i] != '\n'; i++)
            if (!printable(s[i]))
                return false;
    }
    if (i < f->end && s[i] != '\n')
        return false;
    f->p = i < f->end ? i + 1 : i;
    return true;
}

/* Skips blank and comment lines from f->p and classifies the next line. */
static bool next_line(fast *f)
{
    const unsigned char *s = f->s;
    size_t i = f->p;
    for (;;) {
        size_t ls = i;
        while (i < f->end && s[i] == ' ')
            i++;
        if (i >= f->end) {
            f->kind = LN_EOF;
            f->tok = f->line_start = f->end;
            f->col = 0;
            return true;
        }
        unsigned char c = s[i];
        if (c == '\n') {
            i++;
            continue;
        }
        if (c == '#') {
            for (i++; i < f->end && s[i] != '\n'; i++)
                if (!printable(s[i]))
                    return false;
            continue;
        }
        if (!printable(c))
            return false;
        f->tok = i;
        f->line_start = ls;
        f->col = (long)(i - ls);
        f->kind = LN_CONTENT;
        if (i == ls && (c == '-' || c == '.') && i + 3 <= f->end && s[i + 1] == c &&
            s[i + 2] == c) {
            if (!blankz(f, i + 3))
                return false; /* `---x` is a scalar to libyaml: rare, left to it */
            f->kind = c == '-' ? LN_DOC_START : LN_DOC_END;
        } else if (i == ls && c == '%') {
            return false;
        }
        return true;
    }
}

typedef struct scalar {
    size_t at;     /* first byte of the token (the quote of a quoted scalar) */
    size_t vs, vn; /* the value's bytes */
    size_t after;  /* first byte after the token */
    bool quoted;
} scalar;

/* A one-line quoted scalar at q without escapes. */
static bool scan_quoted(fast *f, size_t q, scalar *sc)
{
    const unsigned char *s = f->s;
    unsigned char qc = s[q];
    size_t i = q + 1;
    while (i < f->end && s[i] != qc) {
        if (!printable(s[i]) || s[i] == '\\')
            return false;
        i++;
    }
    if (i >= f->end || (qc == '\'' && i + 1 < f->end && s[i + 1] == '\''))
        return false;
    sc->at = q;
    sc->vs = q + 1;
    sc->vn = i - q - 1;
    sc->after = i + 1;
    sc->quoted = true;
    return true;
}

/*
 * A scalar in block context at q, on one line: quoted, or plain up to a `: `, ` #` or the end
 * of the line (libyaml's plain scalar, which keeps inner spaces and stops before trailing ones).
 */
static bool scan_scalar(fast *f, size_t q, scalar *sc)
{
    const unsigned char *s = f->s;
    unsigned char c = s[q];
    if (c == '\'' || c == '"')
        return scan_quoted(f, q, sc);
    if (c == '-') {
        if (blankz(f, q + 1))
            return false;
    } else if (!printable(c) || strchr("?:,[]{}#&*!|>%@`", c)) {
        return false;
    }
    size_t i = q, last = q;
    for (;;) {
        while (i < f->end && s[i] != ' ' && s[i] != '\n') {
            if (!printable(s[i]))
                return false;
            if (s[i] == ':' && blankz(f, i + 1))
                goto done;
            i++;
        }
        last = i;
        while (i < f->end && s[i] == ' ')
            i++;
        if (i >= f->end || s[i] == '\n' || s[i] == '#' || (s[i] == ':' && blankz(f, i + 1)))
            break;
    }
    i = last;
done:
    sc->at = q;
    sc->vs = q;
    sc->vn = i - q;
    sc->after = i;
    sc->quoted = false;
    return sc->vn > 0;
}

/* The `:` of a simple key after the token ending at i, or 0. */
static size_t key_colon(const fast *f, size_t i)
{
    while (i < f->end && f->s[i] == ' ')
        i++;
    return i < f->end && f->s[i] == ':' && blankz(f, i + 1) ? i : 0;
}

static k5_status emit_scalar(fast *f, size_t at, size_t vs, size_t vn, bool quoted)
{
    if (vn > K5_MAX_SCALAR_BYTES)
        return FAST_BAIL;
    const char *v = vn ? (const char *)f->s + vs : "";
    k5_node n;
    n.u.str = v;
    n.pos = (uint32_t)at + 1;
    n.bits = k5__bits(quoted ? K5_NODE_STR : k5__resolve_plain(v, vn), quoted, vn);
    return push(f->l, &n, 1) == K5_OK ? K5_OK : FAST_BAIL;
}

static k5_status fast_open(fast *f, k5_node_type t, size_t at)
{
    if (f->l->frames.len >= K5_MAX_DEPTH)
        return FAST_BAIL;
    return open_frame(f->l, t, (uint32_t)at + 1, NULL) == K5_OK ? K5_OK : FAST_BAIL;
}

static k5_status fast_close(fast *f)
{
    return on_end(f->l) == K5_OK ? K5_OK : FAST_BAIL;
}

/* A one-line flow plain scalar: letters, digits and a few safe punctuation bytes. */
static inline bool flow_plain_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '/' || c == '=' || c == '+' || c == '-';
}

/* `[...]` of one-line scalars, or `{}`, at q on one line; *after gets the byte after it. */
static k5_status flow_collection(fast *f, size_t q, size_t *after)
{
    const unsigned char *s = f->s;
    size_t i = q + 1;
    if (s[q] == '{') {
        while (i < f->end && s[i] == ' ')
            i++;
        if (i >= f->end || s[i] != '}' || fast_open(f, K5_NODE_MAP, q) != K5_OK)
            return FAST_BAIL;
        *after = i + 1;
        return fast_close(f);
    }
    if (fast_open(f, K5_NODE_SEQ, q) != K5_OK)
        return FAST_BAIL;
    while (i < f->end && s[i] == ' ')
        i++;
    if (i < f->end && s[i] == ']') {
        *after = i + 1;
        return fast_close(f);
    }
    for (;;) {
        if (i >= f->end)
            return FAST_BAIL;
        scalar sc;
        unsigned char c = s[i];
        if (c == '\'' || c == '"') {
            if (!scan_quoted(f, i, &sc))
                return FAST_BAIL;
        } else {
            size_t j = i;
            if (c == '-' ? !(j + 1 < f->end && flow_plain_byte(s[j + 1]) && s[j + 1] != '+')
                         : !flow_plain_byte(c) || c == '+')
                return FAST_BAIL;
            while (j < f->end && flow_plain_byte(s[j]))
                j++;
            sc = (scalar){i, i, j - i, j, false};
        }
        if (emit_scalar(f, sc.at, sc.vs, sc.vn, sc.quoted) != K5_OK)
            return FAST_BAIL;
        i = sc.after;
        while (i < f->end && s[i] == ' ')
            i++;
        if (i < f->end && s[i] == ']')
            break;
        if (i >= f->end || s[i] != ',')
            return FAST_BAIL;
        for (i++; i < f->end && s[i] == ' ';)
            i++;
        if (i >= f->end || s[i] == ']')
            return FAST_BAIL; /* `[a, ]`: valid, but rare enough to leave to libyaml */
    }
    *after = i + 1;
    return fast_close(f);
}

static k5_status block_map(fast *f, const scalar *first, int depth);
static k5_status block_seq(fast *f, size_t q, long col, bool indentless, int depth);

/*
 * A node whose first token is at q on the current line, inside a block collection whose
 * indentation is `indent` (libyaml's parser->indent; -1 at the root): a scalar or a flow
 * collection ending the line, or, where key_ok, the first key of a block mapping. After a
 * scalar, a content line indented deeper than `indent` would continue it (or be an error):
 * left to libyaml.
 */
static k5_status item_at(fast *f, size_t q, long indent, bool key_ok, int depth)
{
    const unsigned char *s = f->s;
    size_t after;
    if (s[q] == '[' || s[q] == '{') {
        if (flow_collection(f, q, &after) != K5_OK || key_colon(f, after))
            return FAST_BAIL;
    } else {
        scalar sc;
        if (!scan_scalar(f, q, &sc))
            return FAST_BAIL;
        if (key_colon(f, sc.after))
            return key_ok ? block_map(f, &sc, depth) : FAST_BAIL;
        if (emit_scalar(f, sc.at, sc.vs, sc.vn, sc.quoted) != K5_OK)
            return FAST_BAIL;
        after = sc.after;
    }
    if (!line_rest(f, after) || !next_line(f))
        return FAST_BAIL;
    return f->kind == LN_CONTENT && f->col > indent ? FAST_BAIL : K5_OK;
}

/* A node that starts a line (the current one), deeper than `indent`. */
static k5_status line_node(fast *f, long indent, int depth)
{
    size_t q = f->tok;
    if (f->s[q] == '-' && blankz(f, q + 1))
        return block_seq(f, q, f->col, false, depth);
    return item_at(f, q, indent, true, depth);
}

/*
 * The value after a `:` or `-` at `mark` (the empty scalar's position is the byte after it)
 * when nothing but a comment follows on its line: a node on the next lines deeper than `col`,
 * an indentless sequence at `col` (after a key), or the empty plain scalar.
 */
static k5_status value_below(fast *f, size_t mark, long col, bool after_key, int depth)
{
    if (!line_rest(f, mark + 1) || !next_line(f))
        return FAST_BAIL;
    if (f->kind == LN_CONTENT && f->col > col)
        return line_node(f, col, depth);
    if (after_key && f->kind == LN_CONTENT && f->col == col && f->s[f->tok] == '-' &&
        blankz(f, f->tok + 1))
        return block_seq(f, f->tok, col, true, depth);
    return emit_scalar(f, mark + 1, mark + 1, 0, false);
}

static bool rest_is_empty(const fast *f, size_t i)
{
    while (i < f->end && f->s[i] == ' ')
        i++;
    return i >= f->end || f->s[i] == '\n' || f->s[i] == '#';
}

/* A block mapping whose first key is `first` (already scanned, a `:` after it). */
static k5_status block_map(fast *f, const scalar *first, int depth)
{
    const unsigned char *s = f->s;
    long col = (long)(first->at - f->line_start);
    if (depth > (int)K5_MAX_DEPTH || fast_open(f, K5_NODE_MAP, first->at) != K5_OK)
        return FAST_BAIL;
    scalar k = *first;
    for (;;) {
        size_t colon = key_colon(f, k.after);
        if (!colon || colon - k.at > 1000 || emit_scalar(f, k.at, k.vs, k.vn, k.quoted) != K5_OK)
            return FAST_BAIL;
        k5_status st;
        if (rest_is_empty(f, colon + 1)) {
            st = value_below(f, colon, col, true, depth + 1);
        } else {
            size_t j = colon + 1;
            while (s[j] == ' ')
                j++;
            st =
                s[j] == '-' && blankz(f, j + 1) ? FAST_BAIL : item_at(f, j, col, false, depth + 1);
        }
        if (st != K5_OK)
            return FAST_BAIL;
        if (f->kind != LN_CONTENT || f->col < col)
            break;
        if (f->col > col || (s[f->tok] == '-' && blankz(f, f->tok + 1)) ||
            !scan_scalar(f, f->tok, &k) || !key_colon(f, k.after))
            return FAST_BAIL;
    }
    return fast_close(f);
}

/* A block sequence whose first `-` is at q, column col; indentless: a key's value at the
 * key's own column, which ends at the first line at that column not starting with `-`. */
static k5_status block_seq(fast *f, size_t q, long col, bool indentless, int depth)
{
    const unsigned char *s = f->s;
    if (depth > (int)K5_MAX_DEPTH || fast_open(f, K5_NODE_SEQ, q) != K5_OK)
        return FAST_BAIL;
    for (;;) {
        k5_status st;
        if (rest_is_empty(f, q + 1)) {
            st = value_below(f, q, col, false, depth + 1);
        } else {
            size_t j = q + 1;
            while (s[j] == ' ')
                j++;
            st = s[j] == '-' && blankz(f, j + 1) ? FAST_BAIL : item_at(f, j, col, true, depth + 1);
        }
        if (st != K5_OK)
            return FAST_BAIL;
        if (f->kind != LN_CONTENT || f->col < col)
            break;
        if (f->col > col)
            return FAST_BAIL;
        if (s[f->tok] == '-' && blankz(f, f->tok + 1)) {
            q = f->tok;
            continue;
        }
        if (indentless)
            break;
        return FAST_BAIL;
    }
    return fast_close(f);
}

/* The whole span, or FAST_BAIL with nothing kept (the caller drops the arena and the docs). */
static k5_status fast_load(fast *f, k5__vec *docs, k5__yaml_part *part)
{
    loader *l = f->l;
    size_t ndocs = 0;
    uint32_t prev_end = (uint32_t)part->start;
    bool any_end = false;
    part->first_initial = false;
    if (!next_line(f))
        return FAST_BAIL;
    for (bool first = true; f->kind != LN_EOF; first = false) {
        if (f->kind == LN_DOC_END || (f->kind == LN_CONTENT && !first))
            return FAST_BAIL;
        bool explicit_start = f->kind == LN_DOC_START;
        if (explicit_start && (!line_rest(f, f->tok + 3) || !next_line(f)))
            return FAST_BAIL;
        if (++ndocs > K5_MAX_DOCUMENTS)
            return FAST_BAIL;
        l->stack.len = l->sizes.len = 0;
        k5_status st =
            f->kind == LN_CONTENT ? line_node(f, -1, 0) : emit_scalar(f, f->tok, f->tok, 0, false);
        if (st != K5_OK || f->kind == LN_CONTENT)
            return FAST_BAIL;
        uint32_t end = (uint32_t)f->tok;
        if (f->kind == LN_DOC_END) {
            end += 3;
            if (!line_rest(f, f->tok + 3) || !next_line(f) ||
                (f->kind != LN_DOC_START && f->kind != LN_EOF))
                return FAST_BAIL;
        }
        if (keep_doc(l, docs, part, prev_end, any_end) != K5_OK)
            return FAST_BAIL;
        prev_end = end;
        any_end = true;
    }
    part->ndocs = ndocs;
    part->alias_nodes = 0;
    part->any_end = any_end;
    part->last_end = prev_end;
    return K5_OK;
}

k5_status k5__load_yaml(k5__arena *arena, const k5__file *file, k5__yaml_part *part,
                        k5__vec *docs, k5_error *err)
{
    loader l = {0};
    l.arena = arena;
    l.file = file;
    l.fname = file->name;
    l.err = err;
    size_t start = part->start, stop = part->end > file->len ? file->len : part->end;
    l.base = start;
    l.cur.buf = (const unsigned char *)file->buf;
    l.cur.len = stop;
    l.cur.ascii = file->ascii;
    l.stack.elem = sizeof(k5_node);
    l.sizes.elem = sizeof(uint64_t);
    l.frames.elem = sizeof(frame);
    l.anchors.elem = sizeof(anchor);
    /* libyaml's marks count characters from the start of what it is given: the part's start. */
    l.cur.bom = start;
    if (start == 0 && file->len >= 3 && memcmp(file->buf, "\xEF\xBB\xBF", 3) == 0)
        l.cur.bom = 3;
    l.cur.bi = l.cur.bom;
    if (start == 0 && file->len >= 2 &&
        ((unsigned char)file->buf[0] == 0xFE || (unsigned char)file->buf[0] == 0xFF) &&
        ((unsigned char)file->buf[1] == 0xFE || (unsigned char)file->buf[1] == 0xFF)) {
        k5__err(err, file->name, 1, 1, "UTF-16 input is not supported; convert the file to UTF-8");
        return K5_EPARSE;
    }

    if (!k5__yaml_reference) {
        /* The fast path builds into its own arena and a scratch error, so that giving up
         * leaves nothing behind; on success its arena joins the caller's. */
        k5__arena fa = {0};
        k5_error scratch;
        scratch.msg[0] = '\0';
        size_t ndocs0 = docs->len;
        fast f = {&l, (const unsigned char *)file->buf, stop, start, LN_EOF, 0, 0, 0};
        l.arena = &fa;
        l.err = &scratch;
        k5_status fs = fast_load(&f, docs, part);
        l.arena = arena;
        l.err = err;
        l.stack.len = l.sizes.len = l.frames.len = 0;
        atomic_fetch_add_explicit(fs == K5_OK ? &fast_loads : &fast_bails, 1,
                                  memory_order_relaxed);
        if (fs == K5_OK) {
            k5__arena_adopt(arena, &fa);
            k5__vec_free(&l.stack);
            k5__vec_free(&l.sizes);
            k5__vec_free(&l.frames);
            return K5_OK;
        }
        k5__arena_free(&fa);
        docs->len = ndocs0;
    }

    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return K5_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)file->buf + start, stop - start);

    k5_status st = K5_OK;
    size_t ndocs = 0;
    uint32_t prev_end = (uint32_t)start;
    bool any_end = false;
    part->first_initial = false;
    for (bool done = false; !done && st == K5_OK;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            parser_error(&l, &p);
            st = p.error == YAML_MEMORY_ERROR ? K5_ENOMEM : K5_EPARSE;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++ndocs > K5_MAX_DOCUMENTS) {
                char lim[32];
                snprintf(lim, sizeof lim, "%u", K5_MAX_DOCUMENTS);
                err_at(&l, (uint32_t)byte_at(&l.cur, ev.start_mark.index) + 1,
                       "more than %s documents (limit K5_MAX_DOCUMENTS)%s", lim, "");
                st = K5_ELIMIT;
            }
            clear_anchors(&l);
            l.stack.len = l.sizes.len = 0;
            break;
        case YAML_DOCUMENT_END_EVENT: {
            uint32_t end = (uint32_t)byte_at(&l.cur, ev.end_mark.index);
            st = keep_doc(&l, docs, part, prev_end, any_end);
            if (st != K5_OK)
                break;
            prev_end = end;
            any_end = true;
            break;
        }
        case YAML_SCALAR_EVENT:
            st = on_scalar(&l, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            st = on_start(&l, &ev, K5_NODE_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            st = on_start(&l, &ev, K5_NODE_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            st = on_end(&l);
            break;
        case YAML_ALIAS_EVENT:
            st = on_alias(&l, &ev);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    clear_anchors(&l);
    for (size_t i = 0; i < l.frames.len; i++)
        free(K5__VEC_AT(&l.frames, frame, i).anchor);
    k5__vec_free(&l.stack);
    k5__vec_free(&l.sizes);
    k5__vec_free(&l.frames);
    k5__vec_free(&l.anchors);
    part->ndocs = ndocs;
    part->alias_nodes = l.alias_nodes;
    part->any_end = any_end;
    part->last_end = prev_end;
    if (st == K5_ENOMEM && err && !err->msg[0])
        k5__err(err, file->name, 0, 0, "out of memory");
    return st;
}
