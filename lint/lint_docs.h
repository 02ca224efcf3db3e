/*
 * kube5xx CLI: the rule catalog as a table, as Markdown (docs/rules.md is
 * generated from it, and a test keeps it in sync), and one rule explained.
 */
#ifndef KUBE5XX_LINT_DOCS_H
#define KUBE5XX_LINT_DOCS_H

#include <stdio.h>

#include <kube5xx/kube5xx.h>

void lint_docs_table(FILE *fp);
void lint_docs_markdown(FILE *fp);
void lint_docs_explain(FILE *fp, const k5_rule *r);

#endif
