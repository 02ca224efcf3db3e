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

static k5_status on_start(loader *l, const yaml_event_t *ev, k5_node_type t)
{
    if (l->frames.len >= K5_MAX_DEPTH) {
        char lim[16];
        snprintf(lim, sizeof lim, "%u", K5_MAX_DEPTH);
        err_at(l, (uint32_t)byte_at(&l->cur, ev->start_mark.index) + 1,
               "nesting deeper than %s levels (limit K5_MAX_DEPTH)%s", lim, "");
        return K5_ELIMIT;
    }
    const yaml_char_t *anc =
        t == K5_NODE_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    frame f = {t, l->stack.len, (uint32_t)byte_at(&l->cur, ev->start_mark.index) + 1, 1, NULL};
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
            if (l.stack.len == 1) {
                const k5_node *root = &K5__VEC_AT(&l.stack, k5_node, 0);
                k5_node *keep = k5__arena_alloc(arena, sizeof *keep);
                if (!keep) {
                    st = K5_ENOMEM;
                    break;
                }
                *keep = *root;
                k5__doc d = {keep, prev_end, root->pos ? root->pos - 1 : prev_end};
                if (!docs->len && !any_end)
                    part->first_initial = true;
                if (!k5__vec_push(docs, &d))
                    st = K5_ENOMEM;
            }
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
