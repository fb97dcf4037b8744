/*
 * render.c - the plan as text (for people) and as JSON (DESIGN.md §3).
 *
 * Both renderings walk the plan in its sorted order, so the same plan always
 * prints the same bytes.  The text groups changes by resource and says, for
 * each member added or removed, which app, component and trait (or policy)
 * implied it, so that a newcomer can trace every line back to a document.
 * The JSON is built with jansson in the documented key order
 * (JSON_PRESERVE_ORDER) and printed compact on one line; `notes` and
 * `pending` are additions to the documented shape, and errors carry `file`,
 * `line` and `col` beside `path` and `message` when the position is known.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/buf.h"
#include "../common/xalloc.h"
#include "plan_int.h"

/* Plans are bounded by the live state they come from. */
#define RENDER_MAX_BYTES ((size_t)1 << 30)

/* ---- text ---- */

static const char *trait_label(int trait_type, const char *origin)
{
    if (trait_type >= 0 && trait_type < OAM_TRAIT_TYPE_MAX)
        return oam_trait_type_name((enum oam_trait_type)trait_type);
    if (origin != NULL && strncmp(origin, "spec.policies", 13) == 0)
        return "access-scope";
    return NULL;
}

/* "APP / COMPONENT / ORIGIN (TRAIT)", parts left out when unknown. */
static void put_provenance(struct buf *b, const struct plan_change *c)
{
    const char *trait = trait_label(c->trait_type, c->origin);

    buf_puts(b, c->app != NULL ? c->app : "?");
    if (c->comp_name != NULL)
        buf_printf(b, " / %s", c->comp_name);
    if (c->origin != NULL)
        buf_printf(b, " / %s", c->origin);
    if (trait != NULL)
        buf_printf(b, " (%s)", trait);
}

static void put_why(struct buf *b, const struct plan_change *c)
{
    const char *gc = c->gc >= 0 && c->gc < OAM_GC_STRATEGY_MAX
                         ? oam_gc_strategy_name((enum oam_gc_strategy)c->gc)
                         : NULL;

    buf_puts(b, "      ");
    switch (c->reason) {
    case PLAN_DECLARED:
        buf_puts(b, "declared by ");
        put_provenance(b, c);
        break;
    case PLAN_RESTORED:
        buf_puts(b, "restored: missing live, declared by ");
        put_provenance(b, c);
        break;
    case PLAN_PRUNED:
        buf_printf(b, "pruned: no longer declared by %s (", c->app != NULL ? c->app : "?");
        if (c->comp_name != NULL)
            buf_printf(b, "%s / ", c->comp_name);
        buf_printf(b, "%s%s%s)", c->origin != NULL ? c->origin : "?", gc != NULL ? ", " : "",
                   gc != NULL ? gc : "");
        break;
    case PLAN_AUTHORITATIVE:
        buf_printf(b, "authoritative: not declared by any app; rule %s of %s",
                   c->origin != NULL ? c->origin : "?", c->app != NULL ? c->app : "?");
        break;
    default:
        buf_puts(b, plan_reason_name(c->reason));
        break;
    }
    buf_putc(b, '\n');
}

static void put_changes(struct buf *b, const struct plan *p)
{
    for (size_t i = 0; i < p->n_changes; i++) {
        const struct plan_change *c = &p->changes[i];
        char *cond = plan_cond_label(c->cond);

        if (i == 0 || strcmp(c->resource, p->changes[i - 1].resource) != 0)
            buf_printf(b, "%s%s\n", i == 0 ? "" : "\n", c->resource);
        buf_printf(b, "  %c %s  %s%s%s\n", c->action == PLAN_ADD ? '+' : '-', c->role, c->member,
                   cond[0] != '\0' ? " " : "", cond);
        free(cond);
        put_why(b, c);
    }
}

static void put_app(struct buf *b, const struct plan_app *a)
{
    buf_printf(b, "app %s: %s", a->name, plan_app_status_name(a->status));
    if (a->status == PLAN_APP_OK || a->status == PLAN_APP_PENDING)
        buf_printf(b, " (%zu to add, %zu to remove)", a->adds, a->removes);
    buf_putc(b, '\n');
    for (size_t i = 0; i < a->errs.n; i++) {
        char *s = err_detail_format(&a->errs.v[i]);

        buf_printf(b, "  %s\n", s);
        free(s);
    }
}

static void put_notes(struct buf *b, const struct plan *p)
{
    for (size_t i = 0; i < p->n_notes; i++) {
        const struct plan_note *n = &p->notes[i];

        buf_puts(b, "note: ");
        if (n->resource != NULL)
            buf_printf(b, "%s: ", n->resource);
        buf_puts(b, n->message != NULL ? n->message : "");
        if (n->app != NULL && n->origin != NULL)
            buf_printf(b, " (%s / %s)", n->app, n->origin);
        buf_putc(b, '\n');
    }
}

static void put_identities(struct buf *b, const struct plan *p)
{
    for (size_t i = 0; i < p->n_idents; i++) {
        const struct plan_identity *id = &p->idents[i];

        if (id->mode != OAM_SI_ENFORCE)
            continue; /* verify mismatches are notes */
        buf_printf(b,
                   "\n%s\n  ~ serviceAccount  %s -> %s\n      %s by %s / %s (service-identity, "
                   "enforce)\n",
                   id->resource, id->have != NULL ? id->have : "(default)", id->want,
                   p->applied ? (id->written ? "updated" : "not updated") : "declared", id->app,
                   id->origin);
    }
}

char *plan_render_text(const struct plan *p)
{
    struct buf b;

    buf_init(&b, RENDER_MAX_BYTES);
    buf_printf(&b, "roam %s: source %s @ %s\n\n", p->applied ? "apply" : "plan",
               p->source != NULL ? p->source : "-", p->revision != NULL ? p->revision : "-");
    if (p->n_changes == 0)
        buf_puts(&b, p->applied ? "Nothing to change. Live IAM matches the declarations.\n"
                                : "No changes. Live IAM matches the declarations.\n");
    else
        put_changes(&b, p);
    put_identities(&b, p);
    if (p->n_apps > 0 || p->n_notes > 0 || p->n_pending > 0)
        buf_putc(&b, '\n');
    for (size_t i = 0; i < p->n_apps; i++)
        put_app(&b, &p->apps[i]);
    put_notes(&b, p);
    for (size_t i = 0; i < p->n_pending; i++)
        buf_printf(&b, "pending: %s (does not exist yet)\n", p->pending[i]);
    buf_printf(&b, "\n%zu %s, %zu %s (%zu resource%s changed, %zu unchanged)\n",
               plan_count(p, PLAN_ADD), p->applied ? "added" : "to add", plan_count(p, PLAN_REMOVE),
               p->applied ? "removed" : "to remove", p->resources_changed,
               p->resources_changed == 1 ? "" : "s", p->resources_unchanged);
    return buf_detach(&b, NULL);
}

/* ---- JSON ---- */

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *cond_json(const struct iam_cond *c)
{
    json_t *o;

    if (c == NULL)
        return json_null();
    o = json_object();
    if (c->title != NULL)
        json_object_set_new(o, "title", json_string(c->title));
    if (c->description != NULL)
        json_object_set_new(o, "description", json_string(c->description));
    if (c->expression != NULL)
        json_object_set_new(o, "expression", json_string(c->expression));
    return o;
}

static json_t *error_json(const struct err_detail *d)
{
    json_t *o = json_object();

    json_object_set_new(o, "path", json_string(d->path != NULL ? d->path : ""));
    json_object_set_new(o, "message", json_string(d->msg != NULL ? d->msg : err_str(d->code)));
    if (d->file != NULL) {
        json_object_set_new(o, "file", json_string(d->file));
        if (d->line > 0) {
            json_object_set_new(o, "line", json_integer(d->line));
            json_object_set_new(o, "col", json_integer(d->col));
        }
    }
    return o;
}

static json_t *apps_json(const struct plan *p)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < p->n_apps; i++) {
        const struct plan_app *a = &p->apps[i];
        json_t *o = json_object(), *errs = json_array();

        for (size_t j = 0; j < a->errs.n; j++)
            json_array_append_new(errs, error_json(&a->errs.v[j]));
        json_object_set_new(o, "name", json_string(a->name));
        json_object_set_new(o, "status", json_string(plan_app_status_name(a->status)));
        json_object_set_new(o, "errors", errs);
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *change_json(const struct plan_change *c)
{
    json_t *o = json_object();

    json_object_set_new(o, "resource", json_string(c->resource));
    json_object_set_new(o, "action", json_string(plan_action_name(c->action)));
    json_object_set_new(o, "role", json_string(c->role));
    json_object_set_new(o, "member", json_string(c->member));
    json_object_set_new(o, "condition", cond_json(c->cond));
    json_object_set_new(o, "app", str_or_null(c->app));
    json_object_set_new(o, "origin", str_or_null(c->origin));
    json_object_set_new(o, "reason", json_string(plan_reason_name(c->reason)));
    return o;
}

static json_t *notes_json(const struct plan *p)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < p->n_notes; i++) {
        const struct plan_note *n = &p->notes[i];
        json_t *o = json_object();

        json_object_set_new(o, "app", str_or_null(n->app));
        json_object_set_new(o, "resource", str_or_null(n->resource));
        json_object_set_new(o, "origin", str_or_null(n->origin));
        json_object_set_new(o, "message", json_string(n->message != NULL ? n->message : ""));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *summary_json(const struct plan *p)
{
    json_t *o = json_object();

    json_object_set_new(o, "add", json_integer((json_int_t)plan_count(p, PLAN_ADD)));
    json_object_set_new(o, "remove", json_integer((json_int_t)plan_count(p, PLAN_REMOVE)));
    json_object_set_new(o, "resources_changed", json_integer((json_int_t)p->resources_changed));
    json_object_set_new(o, "resources_unchanged", json_integer((json_int_t)p->resources_unchanged));
    return o;
}

static json_t *identities_json(const struct plan *p)
{
    json_t *a = json_array();

    for (size_t i = 0; i < p->n_idents; i++) {
        const struct plan_identity *id = &p->idents[i];
        json_t *o = json_object();

        json_object_set_new(o, "resource", json_string(id->resource));
        json_object_set_new(o, "app", json_string(id->app));
        json_object_set_new(o, "origin", json_string(id->origin));
        json_object_set_new(o, "want", json_string(id->want));
        json_object_set_new(o, "have", str_or_null(id->have));
        json_object_set_new(o, "mode", json_string(oam_si_mode_name(id->mode)));
        if (p->applied && id->mode == OAM_SI_ENFORCE)
            json_object_set_new(o, "updated", json_boolean(id->written));
        json_array_append_new(a, o);
    }
    return a;
}

char *plan_render_json(const struct plan *p)
{
    json_t *root = json_object(), *changes = json_array(), *pending = json_array();
    char *s, *ret;

    for (size_t i = 0; i < p->n_changes; i++)
        json_array_append_new(changes, change_json(&p->changes[i]));
    for (size_t i = 0; i < p->n_pending; i++)
        json_array_append_new(pending, json_string(p->pending[i]));
    json_object_set_new(root, "source", str_or_null(p->source));
    json_object_set_new(root, "revision", str_or_null(p->revision));
    json_object_set_new(root, "apps", apps_json(p));
    json_object_set_new(root, "changes", changes);
    json_object_set_new(root, "summary", summary_json(p));
    json_object_set_new(root, "notes", notes_json(p));
    json_object_set_new(root, "pending", pending);
    json_object_set_new(root, "identities", identities_json(p));
    s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (s == NULL)
        abort(); /* jansson fails only on allocation */
    ret = xasprintf("%s\n", s);
    free(s);
    return ret;
}
