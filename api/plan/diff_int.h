/*
 * diff_int.h - the state of one plan_diff() call, shared by diff.c (the
 * driver: apps, resources, pending, ledger assembly) and diff_key.c (the
 * rules for one binding key and for authoritative roles).  Private.
 *
 * Every binding key that anybody declares or that anybody's ledger records
 * becomes a `ref`; refs are sorted by key and then by app, so one key's refs
 * are contiguous and one resource's keys are contiguous.  For one key the
 * refs are folded into `slot`s, one per app, holding what that app declares
 * (d) and what its ledger says (e).
 */
#ifndef ROAM_DIFF_INT_H
#define ROAM_DIFF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "plan.h"

enum dapp_state {
    DAPP_ACCEPTED, /* in the source and valid */
    DAPP_REJECTED, /* in the source, rejected before the diff */
    DAPP_DELETED,  /* absent from a complete listing */
    DAPP_UNKNOWN   /* absent from a partial listing: nothing known, nothing changes */
};

struct dapp {
    const char *name; /* borrowed */
    enum dapp_state state;
    bool conflict;      /* rejected by an ownership conflict in this diff */
    bool pending;       /* declares a resource that does not exist yet */
    char **pending_res; /* those resources (borrowed names), for the status */
    size_t n_pending_res, cap_pending_res;
    const struct ledger_app *before; /* NULL: no record */
    struct ledger_app next;          /* successor record being built */
    struct err_list errs;            /* conflicts */
};

struct dref {
    const char *resource;
    const char *role;
    const struct iam_cond *cond;
    const char *member;
    const struct desired_binding *d; /* exactly one of d, e is set */
    const struct ledger_entry *e;
    size_t app; /* index in diff.apps */
};

struct drange {
    size_t lo, hi;
};

/* One resource of the live state (name borrowed), for lookups by name. */
struct dlive {
    const char *name;
    size_t i; /* index in in->live */
};

enum dres_state { DRES_READ, DRES_PENDING, DRES_UNREAD };

struct diff {
    const struct diff_input *in;
    struct plan *p;
    struct dapp *apps; /* sorted by name */
    size_t n_apps;
    struct dref *refs; /* sorted by key, app, declarations first */
    size_t n_refs;
    const struct desired_auth **auth; /* sorted by resource, app, origin */
    size_t n_auth;
    const struct desired_identity **ident; /* sorted by resource */
    size_t n_ident;
    const char **res; /* every resource, sorted, unique */
    size_t n_res;
    struct dlive *live_idx; /* in->live's resources, sorted by name */
};

enum slot_role {
    SLOT_NONE,   /* no write intent (not declaring, read-only) */
    SLOT_HOLDER, /* owned it before and still holds it */
    SLOT_COOWN,  /* shares it with the holder or the claimant */
    SLOT_CLAIM,  /* takes it this pass (add, take-over, transfer) */
    SLOT_FOUND,  /* declares it, exists, nobody owns it: recorded as found */
    SLOT_LOSER   /* conflicts with `winner` */
};

struct slot {
    size_t app;
    const struct desired_binding *d; /* declaration counted this pass, or NULL */
    const struct ledger_entry *e;    /* ledger record before, or NULL */
    enum slot_role role;
    size_t winner;  /* SLOT_LOSER: index of the winning slot */
    bool vs_holder; /* SLOT_LOSER: the winner held it per the ledger */
};

/* Is the app's ledger record frozen this pass (kept exactly as it was)? */
bool diff_frozen(const struct diff *df, size_t app);

/* Folds refs[lo, hi) (one key) into slots; returns the count. */
size_t diff_slots(const struct diff *df, size_t lo, size_t hi, struct slot *slots);
/* Assigns every slot's role for a key that is (live) or is not present. */
void diff_classify(const struct diff *df, struct slot *s, size_t n, bool live);

/* Index of an app by name, or (size_t)-1. */
size_t diff_app_find(const struct diff *df, const char *name);
/* Accepted this pass and not rejected by a conflict? */
bool diff_app_active(const struct diff *df, size_t app);

/* Rejects apps for ownership conflicts until none remain (DESIGN.md §2
 * rule 8).  Per resource: its state, its refs and its live policy. */
void diff_conflicts(struct diff *df, const enum dres_state *state, const struct drange *rr,
                    const struct iam_policy *const *pols);

/* One read resource: authoritative removals, then every key's outcome.
 * pol NULL: the resource has no policy (every key absent). */
void diff_resource(struct diff *df, const char *resource, const struct iam_policy *pol,
                   struct drange refs, struct drange auth);

/* End of the key group starting at refs[lo] (within hi). */
size_t diff_key_end(const struct diff *df, size_t lo, size_t hi);

#endif
