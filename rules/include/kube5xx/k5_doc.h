/*
 * kube5xx engine: the document model and the document set.
 *
 * A k5_docset owns everything loaded into it: the input buffers, every node,
 * every object. Nodes are 16 bytes and keep the byte offset of their source
 * text; line and column are computed on demand (k5_docset_position), the way
 * jq resolves positions at report time. Scalars are typed the way Kubernetes
 * reads YAML (sigs.k8s.io/yaml, YAML 1.1): unquoted yes/no/on/off/true/false
 * are booleans, quoted scalars are always strings, 0x1F and 0o17 are integers,
 * ~ and null are null.
 *
 * Nodes are immutable once loaded and may be shared (a YAML alias refers to
 * the anchored node's children), so the tree is a DAG, never a cycle: an alias
 * can only name a node that is already complete.
 */
#ifndef KUBE5XX_K5_DOC_H
#define KUBE5XX_K5_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "k5_status.h"

struct cJSON;

typedef enum k5_node_type {
    K5_NODE_NULL = 0,
    K5_NODE_BOOL = 1,
    K5_NODE_INT = 2,
    K5_NODE_FLOAT = 3,
    K5_NODE_STR = 4,
    K5_NODE_MAP = 5,
    K5_NODE_SEQ = 6
} k5_node_type;

/* A borrowed string: not NUL-terminated; print it with "%.*s", (int)s.n, s.p. */
typedef struct k5_str {
    const char *p;
    size_t n;
} k5_str;

/*
 * One node. Treat the fields as private and use the accessors below.
 * Scalars: u.str is the text (for every scalar type, the source spelling of
 * its value). Maps: u.items holds 2n nodes, key then value. Sequences:
 * u.items holds n nodes.
 */
typedef struct k5_node {
    union {
        const char *str;
        const struct k5_node *items;
    } u;
    uint32_t pos;  /* byte offset + 1 in its file; 0 when unknown */
    uint32_t bits; /* type (3 bits), quoted (1 bit), length or count (28 bits) */
} k5_node;

#define K5__NODE_QUOTED 8u

static inline k5_node_type k5_node_kind(const k5_node *n)
{
    return n ? (k5_node_type)(n->bits & 7u) : K5_NODE_NULL;
}
/* Scalar length in bytes, or the number of entries of a map or sequence. */
static inline size_t k5_node_len(const k5_node *n)
{
    return n ? (size_t)(n->bits >> 4) : 0;
}
static inline bool k5_node_quoted(const k5_node *n)
{
    return n && (n->bits & K5__NODE_QUOTED) != 0;
}
static inline bool k5_node_is_map(const k5_node *n)
{
    return k5_node_kind(n) == K5_NODE_MAP;
}
static inline bool k5_node_is_seq(const k5_node *n)
{
    return k5_node_kind(n) == K5_NODE_SEQ;
}
static inline bool k5_node_is_scalar(const k5_node *n)
{
    return n && k5_node_kind(n) != K5_NODE_MAP && k5_node_kind(n) != K5_NODE_SEQ;
}
/* The text of a scalar; {NULL, 0} for NULL, maps and sequences. */
k5_str k5_node_str(const k5_node *n);
/* True when n is a STR scalar equal to s (a NUL-terminated string). */
bool k5_node_is(const k5_node *n, const char *s);
/* True when n is a scalar (of any type) whose text equals the given string. */
bool k5_node_text_is(const k5_node *n, const char *s);
/* Value of a map entry: NULL when n is not a map or key is absent. */
const k5_node *k5_map_getn(const k5_node *map, const char *key, size_t keylen);
/* The same for a NUL-terminated key. Inline so that a literal key's length is a constant; a
 * literal of up to 16 bytes is then scanned for right here, its bytes compared without a call
 * (the rules look up ~100 literal keys per object). */
static inline const k5_node *k5_map_get(const k5_node *map, const char *key)
{
    size_t klen = strlen(key);
#if defined(__GNUC__)
    if (__builtin_constant_p(klen) && klen > 0 && klen <= 16) {
        /* An empty map's items are NULL: no offset on it. */
        if (!map || (map->bits & 7u) != K5_NODE_MAP || !(map->bits >> 4))
            return NULL;
        const k5_node *it = map->u.items, *end = it + 2 * (size_t)(map->bits >> 4);
        for (; it != end; it += 2)
            if ((it->bits & ~15u) == (uint32_t)klen << 4 && (it->bits & 7u) < K5_NODE_MAP &&
                memcmp(it->u.str, key, klen) == 0)
                return it + 1;
        return NULL;
    }
#endif
    return k5_map_getn(map, key, klen);
}
/* The i-th key or value of a map, the i-th item of a sequence (NULL if out of range). */
const k5_node *k5_map_key(const k5_node *map, size_t i);
const k5_node *k5_map_value(const k5_node *map, size_t i);
const k5_node *k5_seq_at(const k5_node *seq, size_t i);
/* Follows a dotted path of map keys ("spec.template.spec"); NULL when any step is missing. */
const k5_node *k5_node_at(const k5_node *n, const char *dotted);
/*
 * Integer value of an INT node, or of a FLOAT node with an integral value.
 * Returns false (and leaves *out untouched) for anything else, including strings.
 */
bool k5_node_int(const k5_node *n, int64_t *out);
/* Boolean value of a BOOL node; false (and *out untouched) otherwise. */
bool k5_node_bool(const k5_node *n, bool *out);

/* Input formats. AUTO: JSON when the first non-blank byte is '{' or '[' and it parses as JSON. */
typedef enum k5_format { K5_FORMAT_AUTO = 0, K5_FORMAT_YAML = 1, K5_FORMAT_JSON = 2 } k5_format;

typedef struct k5_position {
    uint32_t line;   /* 1-based; 0 when unknown */
    uint32_t column; /* 1-based, in characters; 0 when unknown */
} k5_position;

/* Something the front-end should tell the user that is not an error (a skipped document). */
typedef struct k5_notice {
    const char *file;
    uint32_t line;
    uint32_t column;
    const char *message;
} k5_notice;

typedef struct k5_docset k5_docset;
struct k5_object;

/*
 * Creates an empty set. `default_namespace` (copied; NULL means "default") is
 * the namespace of objects that name none. When it is NULL, such objects are
 * marked namespace_implicit: they land wherever they are applied. The caller frees the set with
 * k5_docset_free. On failure *out is untouched.
 */
K5_WUR k5_status k5_docset_new(k5_docset **out, const char *default_namespace);

/* Frees the set and everything it owns (buffers, nodes, objects). Accepts NULL; sets *set to NULL. */
void k5_docset_free(k5_docset **set);

/*
 * Says that no more files come: frees what only loading needs, the map of object identities
 * that notices duplicates (for a large List, a tenth of the memory the objects take). Loading
 * more afterwards still notices duplicates: the map is rebuilt first.
 */
void k5_docset_loaded(k5_docset *set);

/*
 * Loads every document of one file into the set. `name` is copied and is what
 * findings report as the file (the linter names stdin "<stdin>"). The set takes ownership of
 * `buf` (malloc'd, `len` bytes; it need not be NUL-terminated) in every case,
 * success or failure. On failure the file contributes no object, err says
 * what is wrong with file, line and column, and the set stays usable: the
 * linter reports the error and goes on with the next file.
 */
K5_WUR k5_status k5_docset_load(k5_docset *set, const char *name, char *buf, size_t len,
                                k5_format format, k5_error *err);

/* One file for k5_docset_load_all. */
typedef struct k5_load_item {
    const char *name; /* copied; what findings report as the file */
    char *buf;        /* malloc'd; the set takes it in every case (set to NULL) */
    size_t len;
    k5_format format;
    k5_status status; /* out: how the file went, as k5_docset_load would return it */
    k5_error err;     /* out: what is wrong with the file when status is not K5_OK */
} k5_load_item;

/* The most threads k5_docset_load_all uses, whatever it is asked for. */
#define K5_MAX_JOBS 256u

/*
 * Loads n files into the set as n calls of k5_docset_load in that order would, parsing on up
 * to `jobs` threads (0 or 1: the calling thread only). Files are parsed in parallel, and a
 * large YAML stream is split at its column-0 `---` lines and its parts parsed in parallel;
 * objects, notices, errors and positions come out exactly as from the one-thread load (every
 * part the merge cannot vouch for is parsed again whole). Each item's status and err say how
 * its file went; the set takes every buffer. Returns K5_ENOMEM when the bookkeeping itself
 * could not be allocated (every item then says so), else K5_OK.
 */
K5_WUR k5_status k5_docset_load_all(k5_docset *set, k5_load_item *items, size_t n,
                                    unsigned jobs);

/*
 * Adds one object given as a parsed cJSON tree (the webhook's request.object).
 * The tree is copied; the caller keeps ownership of it. Nodes of such an
 * object have no position.
 */
K5_WUR k5_status k5_docset_add_cjson(k5_docset *set, const char *name, const struct cJSON *obj,
                                     k5_error *err);

/*
 * The same without copying the strings: the object's string values and keys
 * are borrowed from `obj`, so the caller must keep the tree alive and
 * unchanged until the set (and every report, index or partner set made from
 * it) is freed. The webhook does this for a review, whose tree outlives the
 * review's sets; anything that frees or edits its tree sooner (the cluster
 * cache) uses k5_docset_add_cjson.
 */
K5_WUR k5_status k5_docset_add_cjson_borrowed(k5_docset *set, const char *name,
                                              const struct cJSON *obj, k5_error *err);

size_t k5_docset_file_count(const k5_docset *set);
/* Number of files that loaded without error. */
size_t k5_docset_files_ok(const k5_docset *set);
const char *k5_docset_file_name(const k5_docset *set, size_t file);
size_t k5_docset_object_count(const k5_docset *set);
const struct k5_object *k5_docset_object(const k5_docset *set, size_t i);
size_t k5_docset_notice_count(const k5_docset *set);
const k5_notice *k5_docset_notice(const k5_docset *set, size_t i);
const char *k5_docset_default_namespace(const k5_docset *set);

/* Line and column of a node of the given file; {0, 0} when unknown. */
k5_position k5_docset_position(const k5_docset *set, size_t file, const k5_node *n);

#endif
