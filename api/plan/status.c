/*
 * status.c - an app's status after a pass, Kubernetes-style, as JSON.
 *
 *   {"app": "payments", "observedRevision": "...", "lastAppliedRevision": "...",
 *    "lastSyncTime": "...", "conditions": [
 *      {"type": "Ready", "status": "True|False", "reason": "...", "message": "...",
 *       "lastTransitionTime": "..."},
 *      {"type": "Synced", ...}],
 *    "lastError": null | "...", "pendingResources": [...],
 *    "ownedBindings": N, "foundBindings": N, "lastChanges": {"added": N, "removed": N}}
 *
 * Ready: the live IAM matches the declarations (True) or why not (Rejected,
 * Failed, Pending).  Synced: the last pass wrote what it had to (True,
 * reason Applied or UpToDate) or not.  A condition keeps its
 * lastTransitionTime while its status does not change.  The status is stored
 * in the app's ledger record, so `roam status` reads it without a running
 * controller.  Pure: the time comes from the caller.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/xalloc.h"

/* The previous lastTransitionTime of a condition, when its status is the
 * same as now. */
static const char *kept_time(json_t *prev, const char *type, const char *status)
{
    json_t *conds = json_object_get(prev, "conditions");
    size_t i;
    json_t *c;

    json_array_foreach (conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        const char *when = json_string_value(json_object_get(c, "lastTransitionTime"));
        if (t != NULL && s != NULL && when != NULL && strcmp(t, type) == 0 &&
            strcmp(s, status) == 0)
            return when;
    }
    return NULL;
}

static json_t *condition(json_t *prev, const char *type, bool ok, const char *reason,
                         const char *message, const char *now)
{
    const char *status = ok ? "True" : "False";
    const char *since = kept_time(prev, type, status);

    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "reason", reason,
                     "message", message != NULL ? message : "", "lastTransitionTime",
                     since != NULL ? since : now);
}

static const char *reason_of(enum plan_app_status s)
{
    switch (s) {
    case PLAN_APP_REJECTED:
        return "Rejected";
    case PLAN_APP_FAILED:
        return "Failed";
    case PLAN_APP_PENDING:
        return "Pending";
    default:
        return "Applied";
    }
}

char *plan_status_json(const struct plan_app *a, const struct ledger_app *rec, const char *revision,
                       const char *now, const char *prev_status)
{
    json_t *prev = prev_status != NULL ? json_loads(prev_status, 0, NULL) : NULL;
    json_t *o = json_object(), *conds = json_array(), *pending = json_array();
    char *first = a->errs.n > 0 ? err_detail_format(&a->errs.v[0]) : NULL;
    const char *last_applied = json_string_value(json_object_get(prev, "lastAppliedRevision"));
    bool ready = a->status == PLAN_APP_OK;
    bool synced = a->status == PLAN_APP_OK || a->status == PLAN_APP_PENDING;
    size_t owned = 0, found = 0;
    char *msg, *s;

    for (size_t i = 0; rec != NULL && i < rec->n; i++)
        rec->v[i].owned ? owned++ : found++;
    for (size_t i = 0; i < a->n_pending; i++)
        json_array_append_new(pending, json_string(a->pending[i]));
    if (synced)
        last_applied = revision;
    msg = ready                           ? xstrdup("live IAM matches the declarations")
          : a->status == PLAN_APP_PENDING ? xasprintf("%zu resource%s not exist yet", a->n_pending,
                                                      a->n_pending == 1 ? " does" : "s do")
                                          : xstrdup(first != NULL ? first : reason_of(a->status));
    json_array_append_new(conds, condition(prev, "Ready", ready, reason_of(a->status), msg, now));
    json_array_append_new(conds,
                          condition(prev, "Synced", synced,
                                    synced ? (a->adds + a->removes > 0 ? "Applied" : "UpToDate")
                                           : reason_of(a->status),
                                    synced ? "" : msg, now));
    json_object_set_new(o, "app", json_string(a->name));
    json_object_set_new(o, "observedRevision",
                        revision != NULL ? json_string(revision) : json_null());
    json_object_set_new(o, "lastAppliedRevision",
                        last_applied != NULL ? json_string(last_applied) : json_null());
    json_object_set_new(o, "lastSyncTime", json_string(now));
    json_object_set_new(o, "conditions", conds);
    json_object_set_new(o, "lastError", first != NULL ? json_string(first) : json_null());
    json_object_set_new(o, "pendingResources", pending);
    json_object_set_new(o, "ownedBindings", json_integer((json_int_t)owned));
    json_object_set_new(o, "foundBindings", json_integer((json_int_t)found));
    json_object_set_new(
        o, "lastChanges",
        json_pack("{s:I, s:I}", "added", (json_int_t)a->adds, "removed", (json_int_t)a->removes));
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    json_decref(prev);
    free(msg);
    free(first);
    if (s == NULL)
        abort(); /* jansson fails only on allocation */
    return s;
}

bool plan_status_same(const char *a, const char *b)
{
    json_t *x, *y;
    bool same;

    if (a == NULL || b == NULL)
        return a == b;
    x = json_loads(a, 0, NULL);
    y = json_loads(b, 0, NULL);
    /* The time of the pass changes every pass; it is not a change of state. */
    if (json_is_object(x))
        json_object_del(x, "lastSyncTime");
    if (json_is_object(y))
        json_object_del(y, "lastSyncTime");
    same = x != NULL && y != NULL && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return same;
}
