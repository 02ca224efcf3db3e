/*
 * kube5xx-webhook: the per-thread cJSON arena (see wh_json_arena.h).
 */
#include "wh_json_arena.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct json_chunk {
    struct json_chunk *next;
    size_t cap, used;
    max_align_t data[];
} json_chunk;

#define JSON_CHUNK_BYTES (32u * 1024u) /* one holds the tree of a typical review */

typedef struct json_arena {
    json_chunk *head;
    bool on;         /* cJSON allocates here: the tree is dropped with the arena, never freed */
    bool registered; /* the thread-exit destructor knows this arena */
} json_arena;

static _Thread_local json_arena t_json;
static pthread_once_t g_json_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_json_key; /* frees a thread's chunks when the thread ends */
static bool g_json_hooked;       /* set once, under g_json_once */

static void json_chunks_free(json_arena *a, bool keep_one)
{
    json_chunk *keep = NULL;
    for (json_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        if (keep_one && !keep && c->cap == JSON_CHUNK_BYTES) {
            keep = c;
            continue;
        }
        free(c);
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
}

static void json_thread_end(void *p)
{
    json_chunks_free(p, false);
}

static void *json_alloc(size_t n)
{
    json_arena *a = &t_json;
    if (!a->on)
        return malloc(n);
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    json_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        /* Doubling keeps the chunk list short for a large review (json_free walks it). */
        size_t cap = c ? 2 * c->cap : JSON_CHUNK_BYTES;
        if (cap < n)
            cap = n;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void *wh_json_arena_alloc(size_t n)
{
    return t_json.on ? json_alloc(n) : NULL;
}

wh_json_arena_mark wh_json_arena_get_mark(void)
{
    wh_json_arena_mark m = {t_json.head, t_json.head ? t_json.head->used : 0};
    return m;
}

void wh_json_arena_rewind(wh_json_arena_mark m)
{
    json_arena *a = &t_json;
    while (a->head && a->head != m.chunk) {
        json_chunk *c = a->head;
        a->head = c->next;
        free(c);
    }
    if (a->head)
        a->head->used = m.used;
}

static void json_free(void *p)
{
    uintptr_t u = (uintptr_t)p;
    for (const json_chunk *c = t_json.head; c; c = c->next)
        if (u >= (uintptr_t)c->data && u < (uintptr_t)c->data + c->cap)
            return; /* arena memory goes at the end of the review */
    free(p);
}

static void json_init(void)
{
    if (pthread_key_create(&g_json_key, json_thread_end) != 0)
        return; /* cJSON keeps malloc and free */
    cJSON_Hooks h = {json_alloc, json_free};
    cJSON_InitHooks(&h);
    g_json_hooked = true;
}

bool wh_json_arena_begin(void)
{
    pthread_once(&g_json_once, json_init);
    json_arena *a = &t_json;
    if (!g_json_hooked)
        return false;
    if (!a->registered && pthread_setspecific(g_json_key, a) != 0)
        return false; /* without the destructor the chunks would leak at thread exit */
    a->registered = true;
    a->on = true;
    return true;
}

void wh_json_arena_end(void)
{
    t_json.on = false;
    json_chunks_free(&t_json, true); /* the whole tree at once */
}
