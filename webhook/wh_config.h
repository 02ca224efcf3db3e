/*
 * kube5xx-webhook: the engine configuration, shared by all request threads
 * and reloadable while they run.
 *
 * A reload (SIGHUP, or the file's stat signature changing: a mounted
 * ConfigMap is replaced through a symlink swap, which changes the inode the
 * path resolves to) parses the new file completely before it replaces the
 * current one; a bad file is refused and the old configuration stays.
 * Requests hold a reference for their whole evaluation, so a reload never
 * frees a configuration in use.
 */
#ifndef KUBE5XX_WH_CONFIG_H
#define KUBE5XX_WH_CONFIG_H

#include <kube5xx/kube5xx.h>

#include "wh_common.h"

typedef struct wh_config wh_config;

/*
 * Loads `path` (copied), or the defaults when path is NULL. On failure *out
 * is untouched and err names the file, line and problem.
 */
WH_WUR wh_status wh_config_new(const char *path, wh_config **out, char *err, size_t errsz);

/* Accepts NULL; sets *c to NULL. No reference may be outstanding. */
void wh_config_free(wh_config **c);

/* The current configuration; give the token back to wh_config_release. */
const k5_config *wh_config_acquire(wh_config *c, void **token);
void wh_config_release(wh_config *c, void *token);

/*
 * Reloads when the file changed (or always when `force`). *reloaded tells
 * whether a new configuration is in use. A bad file: the old one stays, the
 * result is the error and err says why. With no file, nothing happens.
 */
WH_WUR wh_status wh_config_check(wh_config *c, bool force, bool *reloaded, char *err,
                                 size_t errsz);

/* The file name, or NULL for the defaults. */
const char *wh_config_path(const wh_config *c);

#endif
