/*
 * kube5xx engine: the one header front-ends include.
 *
 * Typical use (the linter):
 *   k5_docset *set; k5_docset_new(&set, "default");
 *   k5_docset_load(set, "deploy.yaml", buf, len, K5_FORMAT_AUTO, &err);  (once per file)
 *   k5_report *r; k5_run(set, cfg, 0, &r, &err);
 *   ... read k5_report_at(r, i) ...
 *   k5_report_free(&r); k5_docset_free(&set);
 * The webhook does the same with k5_docset_add_cjson and K5_RUN_SINGLE_ONLY.
 */
#ifndef KUBE5XX_KUBE5XX_H
#define KUBE5XX_KUBE5XX_H

#include "k5_cluster.h"
#include "k5_config.h"
#include "k5_doc.h"
#include "k5_object.h"
#include "k5_report.h"
#include "k5_rule.h"
#include "k5_status.h"
#include "k5_units.h"

#define KUBE5XX_VERSION "0.1.0"

#endif
