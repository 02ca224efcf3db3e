/*
 * kube5xx engine, internal: arena, growable vectors, string hash map, and the
 * docset's layout. Nothing here is seen by the front-ends.
 */
#ifndef KUBE5XX_K5_INTERNAL_H
#define KUBE5XX_K5_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kube5xx/kube5xx.h>

/* ---- arena: bump allocation, freed at once ---- */

typedef struct k5__chunk k5__chunk;
typedef struct k5__arena {
    k5__chunk *head;
    size_t total; /* bytes reserved, for accounting */
} k5__arena;

void *k5__arena_alloc(k5__arena *a, size_t size);
char *k5__arena_strndup(k5__arena *a, const char *s, size_t n);
char *k5__arena_printf(k5__arena *a, const char *fmt, ...) K5_PRINTF(2, 3);
void k5__arena_free(k5__arena *a);
/* Moves every chunk of src into dst (src is left empty): a worker thread's allocations join
 * the docset's without copying. */
void k5__arena_adopt(k5__arena *dst, k5__arena *src);

/* ---- vector of fixed-size elements ---- */

typedef struct k5__vec {
    void *data;
    size_t len, cap, elem;
} k5__vec;

#define K5__VEC_INIT(type) {NULL, 0, 0, sizeof(type)}
/* Appends one element (copied from elem); returns a pointer to it or NULL on ENOMEM. */
void *k5__vec_push(k5__vec *v, const void *elem);
void k5__vec_free(k5__vec *v);
/*
 * Makes room in an array of *cap elements of elem bytes: doubles it, or allocates `first`
 * elements when empty. True with *data and *cap updated; false (out of memory, or a size past
 * SIZE_MAX) with both untouched. The one growth rule of the engine's arrays: vectors, posting
 * lists, the JSON parser's stack (which inlines its fast path and calls this when full).
 */
bool k5__grow(void **data, size_t *cap, size_t first, size_t elem);
#define K5__VEC_AT(v, type, i) (((type *)(v)->data)[i])

/* ---- string -> uint32 list hash map (the index's posting lists) ---- */

typedef struct k5__hentry {
    const char *key; /* arena-owned */
    /* The list: `inl` while it holds at most two values (most keys name one object: a name,
     * a unique label pair), else malloc'd. Valid until the next k5__hmap_add to this map. */
    uint32_t *vals;
    uint32_t klen;
    uint32_t hash; /* the low 32 bits of k5__hash_key */
    uint32_t nvals, cap;
    uint32_t inl[2];
} k5__hentry;

typedef struct k5__hmap {
    k5__hentry *slots;
    size_t cap, len;
    k5__arena *arena; /* keys are copied here */
    /* Optional (k5__hmap_seal): two bits per key in one word of a small bit array, checked
     * before the slots, so that a key the map does not hold costs a read of a few hundred KiB
     * that stay cached instead of a cache miss in tables of many MiB. Kept up to date by
     * k5__hmap_add; a clear bit proves the key absent, a set one proves nothing. */
    uint64_t *bloom;
    unsigned bloom_shift; /* a word's index: the top (64 - shift) bits of a 64-bit product */
} k5__hmap;

uint64_t k5__hash(const void *p, size_t n, uint64_t seed);
/* A faster hash of a whole key (a word at a time): the hash maps' and the duplicate-key
 * check's. Nothing may depend on its values beyond equality (slot order is not kept). */
uint64_t k5__hash_key(const void *p, size_t n);
/* Folds v into the running hash h (not kept anywhere: equality only, as k5__hash_key). */
uint64_t k5__hash_mix(uint64_t h, uint64_t v);
/* A hash of a node tree and its equality, both over what every accessor reads: type,
 * quoting, length and text, item by item (a NULL node is a value of its own). The memo's
 * copies and the lb-* rules' shared targets and results are keyed on them (rules/src/memo.c). */
uint64_t k5__node_hash(const k5_node *n, uint64_t h);
bool k5__node_same(const k5_node *a, const k5_node *b);
/* Finds the entry for a key (NULL when absent). */
const k5__hentry *k5__hmap_get(const k5__hmap *m, const char *key, size_t klen);
/* Appends val to the key's list, creating the entry. Returns K5_ENOMEM on failure. */
k5_status k5__hmap_add(k5__hmap *m, const char *key, size_t klen, uint32_t val);
/* Asks the CPU to fetch the key's first slot ahead of an add or a lookup: filling a table of
 * many MiB in object order is a cache miss per key, and the loops that do it (the index's
 * names, the duplicate check) know their next keys. Only a hint: nothing changes. */
void k5__hmap_prefetch(const k5__hmap *m, const char *key, size_t klen);
/* The key's entry into *found when the map holds it (nothing added); otherwise the key with
 * val, as k5__hmap_add, and *found NULL. One probe where a get and an add took two (cache
 * misses both, in a table of many MiB). */
k5_status k5__hmap_find_or_add(k5__hmap *m, const char *key, size_t klen, uint32_t val,
                               const k5__hentry **found);
/* Makes room for `keys` keys in all, as many additions would, in one step: a map whose size is
 * known ahead skips the tables of its doublings (each fresh memory the kernel fills with
 * page faults, the 63 MiB JSON List's largest share). K5_ENOMEM leaves the map as it was. */
k5_status k5__hmap_reserve(k5__hmap *m, size_t keys);
/* Gives a map its filter of absent keys (see bloom above), sized for its keys now: for maps
 * that are mostly asked for keys they do not hold. Without memory it stays without. */
void k5__hmap_seal(k5__hmap *m);
void k5__hmap_free(k5__hmap *m);

/* ---- error helper ---- */
void k5__err(k5_error *err, const char *file, uint32_t line, uint32_t col, const char *fmt, ...)
    K5_PRINTF(5, 6);

/* ---- a finding's message (run.c) ---- */
/* Writes the message as vsnprintf(out, cap, fmt, ap) would, truncated the same way (nothing
 * at all when cap is 0), when fmt uses only %s, %.*s, %lld, %zu and %%; returns false for
 * anything else (a flag, a width, another conversion, a NULL string, a negative precision),
 * and the caller then formats with vsnprintf from its own copy of the arguments. ap is used
 * up either way. Not a printf: it exists because glibc's printf cost ~15% of a large lint. */
bool k5__format_msg(char *out, size_t cap, const char *fmt, va_list ap);

/* ---- docset ---- */

typedef struct k5__file {
    const char *name;
    char *buf; /* owned input bytes */
    size_t len;
    uint32_t *lines; /* byte offset of each line start */
    size_t nlines;
    bool ascii; /* no byte >= 0x80: columns are byte columns */
    bool ok;
    bool cluster; /* the objects of a live cluster (the webhook's cache), not a file */
    /* Parsed as JSON: no node is reachable twice (YAML's aliases and merge keys share nodes)
     * and node positions grow in document order, so a path may be found by position. */
    bool tree_unique;
    /* Non-ASCII files only: chars[i] = characters (UTF-8 lead bytes) before byte
     * i * K5__CHAR_STRIDE, so a column costs at most one stride of counting however long the
     * line (a minified one-line JSON has every node on line 1). */
    uint32_t *chars;
} k5__file;

#define K5__CHAR_STRIDE 512u

/* A kustomization.yaml with `namespace:`, and the paths (normalized) its resources list. */
typedef struct k5__kustomization {
    size_t file;
    k5_str ns;
    const k5_node *resources; /* the resources sequence */
    size_t dirlen;            /* length of its directory in its file name (outermost wins) */
} k5__kustomization;

struct k5_docset {
    k5__arena arena;
    const char *default_ns;
    bool default_ns_chosen; /* given to k5_docset_new (not NULL): namespaces are then explicit */
    k5__vec kustomizations; /* k5__kustomization: kustomization.yaml files that set a namespace */
    k5__arena ident_arena;  /* keys of `identities` */
    k5__hmap identities;    /* Kind, namespace, name -> object index: duplicates are noticed */
    bool identities_dropped; /* by k5_docset_loaded: rebuilt before the next object's check */
    k5__vec files;   /* k5__file */
    k5__vec objects; /* k5_object * */
    k5__vec notices; /* k5_notice */
    const k5_node *first_root; /* root of the first document loaded (the config file's) */
};

const k5_node *k5__docset_first_root(const k5_docset *set);

/*
 * Adds objects whose nodes the set borrows (the cluster cache's), as one file
 * without text called `name`. The roots must outlive the set.
 */
k5_status k5__docset_add_borrowed(k5_docset *set, const char *name, const k5_node *const *roots,
                                  size_t n);

/* Line and column of a node of this file. */
k5_position k5__file_position(const k5__file *f, const k5_node *n);

/* Loaders: append root nodes (one per non-empty document) to *roots, with source text spans. */
typedef struct k5__doc {
    const k5_node *root;
    uint32_t start, end; /* byte span of the document, for the Helm "# Source:" comment */
} k5__doc;

/*
 * The span of a file one YAML parse covers: the whole file, or one part of a stream split at
 * its column-0 `---` lines (docset.c). Besides the documents, the parse says what the merge
 * of the parts needs to reproduce a whole-file parse exactly.
 */
typedef struct k5__yaml_part {
    size_t start, end;    /* in: byte span */
    size_t ndocs;         /* out: documents started (the per-file K5_MAX_DOCUMENTS) */
    uint64_t alias_nodes; /* out: nodes added by aliases (the per-file K5_MAX_ALIAS_NODES) */
    bool first_initial;   /* out: the first document kept began at `start` (none ended before) */
    bool any_end;         /* out: a document ended in the span */
    uint32_t last_end;    /* out: where the last document ended */
} k5__yaml_part;

/* Streams of k5__split_min bytes or more are cut into parts of about k5__split_part bytes when
 * several threads load (2 MiB and 1 MiB; the loader fuzzer lowers them). */
extern size_t k5__split_min, k5__split_part;

/* Both allocate nodes in `arena` and read only the (immutable) file, so files and parts of
 * files load on several threads at once. */
k5_status k5__load_yaml(k5__arena *arena, const k5__file *file, k5__yaml_part *part,
                        k5__vec *docs, k5_error *err);
/* Set only by tests and fuzz_loader, before loading: YAML loads through libyaml alone, without
 * the fast path (the reference its differential tests compare with). */
extern bool k5__yaml_reference;
/* Spans loaded by the fast path, and spans it handed to libyaml (for tests and measurements;
 * relaxed atomic counters, so threads may load at once). */
unsigned long k5__yaml_fast_count(bool gave_up);
/* JSON: the direct parser (parse_json.c) files load with. */
k5_status k5__load_json(k5__arena *arena, const k5__file *file, k5__vec *docs, k5_error *err);
/* The cJSON-based loader it replaced: the reference for differential tests and fuzz_loader. */
k5_status k5__load_json_cjson(k5__arena *arena, const k5__file *file, k5__vec *docs,
                             k5_error *err);
/* Objects per slice of a run on several threads or streamed (run.c: 256; fuzz_loader lowers
 * it so that tiny inputs make several slices). */
extern size_t k5__run_slice;
/* Set only by tests and fuzz_loader, before loading: JSON files load with k5__load_json_cjson. */
extern bool k5__json_reference;
const k5_node *k5__node_from_cjson(k5__arena *a, const struct cJSON *j, size_t depth,
                                   k5_error *err, k5_status *st);
/* The same, but string values and keys point into the tree instead of being copied: the
 * nodes are valid only while the tree is alive and unchanged. */
const k5_node *k5__node_from_cjson_borrowed(k5__arena *a, const struct cJSON *j, k5_error *err,
                                            k5_status *st);

/* Fills the node's bits. */
static inline uint32_t k5__bits(k5_node_type t, bool quoted, size_t len)
{
    return (uint32_t)t | (quoted ? K5__NODE_QUOTED : 0u) | ((uint32_t)len << 4);
}
#define K5__MAX_NODE_LEN ((1u << 28) - 1u)

/* Resolves a plain YAML 1.1 scalar's type the way sigs.k8s.io/yaml does. */
k5_node_type k5__resolve_plain(const char *s, size_t n);

/* Adds a notice (message copied). */
k5_status k5__notice(k5_docset *set, size_t file, uint32_t pos, const char *fmt, ...)
    K5_PRINTF(4, 5);

/* Merge keys, duplicate key detection: builds the final map node from 2n stacked nodes. */
k5_status k5__map_finish(k5__arena *a, const k5_node *kv, size_t n, k5_node *out,
                         const k5_node **dup);

/* Per-rule settings by registry index, without the search k5_config_* does (the run loop's). */
struct k5_config;
k5_severity k5__config_severity_at(const struct k5_config *cfg, size_t rule_index);
int64_t k5__config_param_at(const struct k5_config *cfg, size_t rule_index, size_t p);
/* A NAMES parameter's value (names joined by ", "), NULL for other types. */
const char *k5__config_names_at(const struct k5_config *cfg, size_t rule_index, size_t p);

/*
 * Path of node `target` inside `root` ("spec.template.spec.containers[0]"), into buf. When the
 * last step is a map entry and `key` is not NULL, *key receives that entry's key node.
 * `unique`: no node of root's tree is reachable twice and positions grow in document order
 * (k5__file.tree_unique), so the search may follow positions to the target instead of
 * walking every collection before it; the path is the same either way.
 */
bool k5__node_path(const k5_node *root, const k5_node *target, bool unique, char *buf,
                   size_t size, const k5_node **key);

/*
 * A hash key of NUL-separated parts, spelled the same way by the run-time index and the
 * cluster cache (both look pods and selectors up by namespace and label pair). A key that
 * does not fit is truncated: lookups verify the object they find.
 */
typedef struct k5__key {
    char buf[1024];
    size_t n;
} k5__key;

static inline void k5__key_add(k5__key *k, const char *p, size_t n)
{
    if (k->n && k->n < sizeof k->buf)
        k->buf[k->n++] = '\0';
    size_t room = sizeof k->buf - k->n;
    if (n > room)
        n = room;
    if (n)
        memcpy(k->buf + k->n, p, n);
    k->n += n;
}

/* The key "ns, a, b": a label pair (a=b) in namespace ns. */
static inline void k5__key_pair(k5__key *k, k5_str ns, k5_str a, k5_str b)
{
    k->n = 0;
    k5__key_add(k, ns.p, ns.n);
    k5__key_add(k, a.p ? a.p : "", a.n);
    k5__key_add(k, b.p ? b.p : "", b.n);
}

/* The key of a map's i-th label pair in namespace ns: how pods and selectors meet. */
static inline void k5__key_entry(k5__key *k, k5_str ns, const k5_node *map, size_t i)
{
    k5__key_pair(k, ns, k5_node_str(k5_map_key(map, i)), k5_node_str(k5_map_value(map, i)));
}

#endif
