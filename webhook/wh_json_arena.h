/*
 * kube5xx-webhook: a per-thread bump arena for cJSON trees.
 *
 * Parsing a 2 KB AdmissionReview is about a hundred small mallocs and as many
 * frees, a fifth of the time a review took. Between wh_json_arena_begin and
 * wh_json_arena_end, every cJSON allocation made by the calling thread comes
 * from its arena, and wh_json_arena_end drops the whole tree at once (so the
 * tree must not be cJSON_Delete'd, nor used afterwards). cJSON's hooks are
 * process-wide: outside such a span (and in threads that never open one) they
 * are plain malloc and free; the free hook tells arena memory apart by address.
 */
#ifndef KUBE5XX_WH_JSON_ARENA_H
#define KUBE5XX_WH_JSON_ARENA_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Turns the arena on for the calling thread. Returns false when it cannot be
 * used (the hooks or the thread-exit destructor could not be installed): cJSON
 * then allocates with malloc and the caller frees its tree with cJSON_Delete.
 */
bool wh_json_arena_begin(void);

/* Turns the arena off and drops everything allocated since begin (keeps one chunk for reuse). */
void wh_json_arena_end(void);

/* n bytes, aligned for any type, from the calling thread's arena; NULL when it is off or out of
 * memory. */
void *wh_json_arena_alloc(size_t n);

/* A point in the arena to go back to: what was allocated after it can be given back at once. */
typedef struct wh_json_arena_mark {
    void *chunk;
    size_t used;
} wh_json_arena_mark;
wh_json_arena_mark wh_json_arena_get_mark(void);
/* Gives back everything allocated since m was taken; what was allocated before it stays. */
void wh_json_arena_rewind(wh_json_arena_mark m);

#endif
