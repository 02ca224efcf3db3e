/*
 * kube5xx-webhook: a faster parse of well-formed JSON into a cJSON tree.
 *
 * cJSON's parser costs a review most of its parse time in things a plain
 * AdmissionReview never needs: three strncmp calls (null, false, true) before
 * every value, a localeconv() and a copy before every number, and two passes
 * over every string. This parser reads the common, well-formed shapes in one
 * pass and builds exactly the tree cJSON_ParseWithLengthOpts(body, len, &end,
 * false) builds for them: the same item types, strings, numbers (strtod's
 * double for anything that is not a short integer, valueint saturated as cJSON
 * does), duplicate keys kept in order, child->prev pointing at the last child.
 *
 * Whatever it is not sure cJSON would read the same way, it does not read: a
 * byte-order mark, a NUL or a \u0000 in a string, an invalid or lone-surrogate
 * \u escape, a number cJSON's lenient scan would read differently (a leading
 * zero, "-.5", "1.", more than 63 characters), nesting deeper than
 * WH_JSON_FAST_MAX_DEPTH, and every syntax error. Then it returns NULL, having
 * given back what it allocated, and the caller asks cJSON, whose answer (the
 * tree, or the error position) stands. fuzz_admission checks, for every input
 * it is given, that a tree this parser returns equals cJSON's.
 */
#ifndef KUBE5XX_WH_JSON_PARSE_H
#define KUBE5XX_WH_JSON_PARSE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Deeper than this, cJSON decides (its own limit is 1,000). */
#define WH_JSON_FAST_MAX_DEPTH 200

/*
 * Parses body[0, len) (no NUL terminator needed) into the calling thread's
 * JSON arena, which must be on (wh_json_arena_begin returned true): the tree
 * lives until wh_json_arena_end and is never cJSON_Delete'd. On success sets
 * *end just past the value, as cJSON does, and returns the tree. Returns NULL
 * when the input is not one of the shapes above; the arena is then as it was
 * before the call.
 */
cJSON *wh_json_parse_fast(const char *body, size_t len, const char **end);

/* True when a and b are the same tree (types, keys, strings, numbers' bits, order, links). */
bool wh_json_same_tree(const cJSON *a, const cJSON *b);

#endif
