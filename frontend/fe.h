/*
 * kube5xx front-end layer (static library kube5xx_frontend): what both
 * front-ends, the kube5xx CLI (lint/) and kube5xx-webhook (webhook/), need and
 * the rule engine must not do. Reading a capped file, repairing and checking
 * UTF-8, escaping a JSON string: one copy each, as curl's tool and library
 * share curlx. The engine (rules/) never does I/O and never formats output,
 * so this is not part of it; the API client (kube/) uses the file reader too.
 *
 * Nothing here allocates global state or exits, and nothing prints except
 * fe_usage_error, to the stream it is given; every function is safe from any
 * thread.
 */
#ifndef KUBE5XX_FE_H
#define KUBE5XX_FE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define FE_WUR __attribute__((warn_unused_result))
#define FE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FE_WUR
#define FE_PRINTF(f, a)
#endif

/* Values are only ever appended, never renumbered. */
typedef enum fe_status {
    FE_OK = 0,
    FE_ENOMEM = 1,  /* an allocation failed */
    FE_EIO = 2,     /* cannot open or read (the reason names errno's text) */
    FE_ELIMIT = 3,  /* larger than the cap */
    FE_ENOENT = 4,  /* no such file */
    FE_ENOTREG = 5  /* FE_READ_REGULAR and not a regular file */
} fe_status;

/* ---------------------------------------------------------------- files */

/*
 * Refuse anything but a regular file (a FIFO, directory or device at a config
 * or certificate path is an operator's mistake or an attack, never data); the
 * open does not block on a FIFO. Without it FIFOs and character devices are
 * read (`kube5xx lint -c <(...)`, /dev/stdin).
 */
#define FE_READ_REGULAR 1u

/*
 * Reads fd to its end, at most `max` bytes, into a malloc'd buffer with one
 * spare byte after the data, set to NUL (*out, freed by the caller). A regular
 * file larger than max is refused before it is read, with *len set to its
 * size; a stream is refused one byte past max, with *len set to max + 1. On
 * failure *out is untouched and *errnum (may be NULL) holds errno for FE_EIO.
 */
FE_WUR fe_status fe_read_fd(int fd, size_t max, char **out, size_t *len, int *errnum);

/*
 * Opens and reads `path` as fe_read_fd does (flags: FE_READ_REGULAR or 0).
 * On failure *out is untouched, and `why` (whysz bytes, may be 0) receives
 * the reason without the path ("No such file or directory", "not a regular
 * file (a directory)", "larger than 1048576 bytes"): each caller names the
 * file its own way.
 */
FE_WUR fe_status fe_read_file(const char *path, size_t max, unsigned flags, char **out,
                              size_t *len, char *why, size_t whysz);

/* ---------------------------------------------------------------- UTF-8 */

/* U+FFFD, what replaces an invalid UTF-8 sequence everywhere. */
#define FE_REPLACEMENT_CHAR 0xFFFDu

/*
 * Decodes one code point from s (n > 0 bytes left) into *cp and returns the
 * number of bytes it used (at least 1). An invalid sequence yields
 * FE_REPLACEMENT_CHAR and consumes its maximal invalid subpart, as Unicode
 * recommends (so "\xE2\x82" is one U+FFFD, "\xFF\xFF" two); *bad (may be
 * NULL) tells it from a literal U+FFFD. Overlong forms, surrogates and values
 * above U+10FFFF are invalid.
 */
size_t fe_utf8_next(const char *s, size_t n, uint32_t *cp, bool *bad);

/* Writes cp (at most U+10FFFF) as UTF-8 into out; returns its length, 1 to 4. */
size_t fe_utf8_encode(uint32_t cp, char out[4]);

/* True when s (n bytes) is well-formed UTF-8. */
bool fe_utf8_valid(const char *s, size_t n);

/* Number of code points in s (n bytes, assumed valid). */
size_t fe_utf8_chars(const char *s, size_t n);

/*
 * A malloc'd, NUL-terminated copy of the first n bytes of s with every invalid
 * sequence, and every NUL byte, replaced by U+FFFD (so the copy is never
 * shorter than it looks). s may be NULL when n is 0. The caller frees it.
 * NULL when out of memory.
 */
char *fe_utf8_clean(const char *s, size_t n);

/* ---------------------------------------------------------------- JSON */

/* Bytes fe_json_escape may write for n bytes of input, at most. */
#define FE_JSON_ESCAPED_MAX(n) ((n) * 6u)

/*
 * Writes s (n bytes) as the inside of a JSON string to dst (room for
 * FE_JSON_ESCAPED_MAX(n) bytes; not NUL-terminated) and returns the end of
 * what it wrote. As cJSON prints: quote, backslash, \b \f \n \r \t by name,
 * the other control bytes as \u00XX, everything else (DEL, UTF-8) as is; the
 * caller repairs UTF-8 first where the input may be invalid.
 */
char *fe_json_escape(char *dst, const char *s, size_t n);

/* ---------------------------------------------------------------- usage */

/*
 * Writes a command-line usage error to `to` the way both programs word it:
 *   PROG: [CMD: ]MESSAGE
 *   Try 'PROG[ CMD] --help'.
 * MESSAGE is fmt with its arguments; cmd may be NULL (the program's own flags). The
 * caller then exits with its usage code (2 for both).
 */
void fe_usage_error(FILE *to, const char *prog, const char *cmd, const char *fmt, ...)
    FE_PRINTF(4, 5);

#endif
