/*
 * load.h - from a source snapshot to parsed documents.
 *
 * Shared by validate, plan, apply and serve so that every command reads
 * documents the same way.  File names in messages are shown as the user
 * gave the source (`manifests/examples/payments.yaml`), not relative to it.
 */
#ifndef ROAM_LOAD_H
#define ROAM_LOAD_H

#include "api/oam/oam.h"
#include "controller/source/source.h"

/*
 * Parses every file of snap into set (which the caller initialised; several
 * snapshots may be loaded into one set).  Files the source refused are copied
 * into set->errs, which marks the listing partial.  Returns the number of
 * files parsed.
 */
int load_snapshot(const struct src_snapshot *snap, struct oam_docset *set);

/* Display name of a snapshot file (caller frees). */
char *load_display_name(const struct src_snapshot *snap, const struct src_file *f);

#endif
