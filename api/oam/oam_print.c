/*
 * oam_print.c - the canonical YAML form of a parsed app (`roam validate -v`).
 *
 * Block style throughout, keys in one fixed order, every default written
 * out (invoker role, service-identity mode, garbage-collect strategy, the
 * component's Cloud Run name), lists that were present but empty as `[]`.
 * Strings are plain when they are made only of characters that cannot mean
 * anything else to YAML and cannot be read as a number, boolean or null;
 * anything else is double-quoted with escapes, including the Unicode line
 * separators a double-quoted scalar would otherwise fold.  The output
 * re-parses to the same structs, so printing it again gives the same text
 * (a unit test holds that).
 *
 * Flow style was rejected: a plain scalar such as `principal://...` is read
 * differently by YAML 1.1 parsers inside `[...]`.
 */
#include "oam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/buf.h"
#include "../common/caps.h"
#include "../common/xalloc.h"
#include "oam_int.h"

/* 32 times CAP_MANIFEST_BYTES: escapes and indentation add to the input. */
#define PRINT_MAX_BYTES ((size_t)32 << 20)

struct pr {
    struct buf b;
    bool dash;   /* the next key starts a list item: write "- " before it */
    bool failed; /* the output passed PRINT_MAX_BYTES */
};

static void put(struct pr *p, const char *s, size_t n)
{
    if (!p->failed && buf_append(&p->b, s, n) < 0)
        p->failed = true;
}

static void put_cstr(struct pr *p, const char *s)
{
    put(p, s, strlen(s));
}

static void pad(struct pr *p, int n)
{
    static const char spaces[] = "                                ";

    while (n > 0) {
        int k = n < 32 ? n : 32;
        put(p, spaces, (size_t)k);
        n -= k;
    }
}

/* ---- scalars ---- */

static bool is_special_word(const char *s)
{
    static const char *const words[] = {"null", "true", "false", "yes", "no", "on",
                                        "off",  "y",    "n",     "~",   NULL};

    for (size_t i = 0; words[i] != NULL; i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    return false;
}

static bool plain_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || is_special_word(s))
        return false;
    /* A leading digit, sign or dot could make a number (1.5, +1, .inf, 0x1). */
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '/' ||
          s[0] == '_'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (strchr("-._/@:+*", c) == NULL)
            return false;
    }
    return s[n - 1] != ':';
}

/* Decodes one UTF-8 character (the input came through libyaml, so it is
 * valid); returns its length. */
static size_t utf8_next(const unsigned char *s, unsigned long *ret)
{
    if (s[0] < 0x80) {
        *ret = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0 && s[1] != 0) {
        *ret = ((unsigned long)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && s[1] != 0 && s[2] != 0) {
        *ret = ((unsigned long)(s[0] & 0x0F) << 12) | ((unsigned long)(s[1] & 0x3F) << 6) |
               (s[2] & 0x3F);
        return 3;
    }
    if ((s[0] & 0xF8) == 0xF0 && s[1] != 0 && s[2] != 0 && s[3] != 0) {
        *ret = ((unsigned long)(s[0] & 0x07) << 18) | ((unsigned long)(s[1] & 0x3F) << 12) |
               ((unsigned long)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return 4;
    }
    *ret = 0xFFFD; /* not reached for libyaml's output; never copy a stray byte */
    return 1;
}

/* Printable in a double-quoted scalar as itself (YAML's c-printable, minus
 * the characters a double-quoted scalar folds or escapes). */
static bool raw_ok(unsigned long c)
{
    if (c == '"' || c == '\\')
        return false;
    return (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xD7FF && c != 0x2028 && c != 0x2029) ||
           (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF) || (c >= 0x10000 && c <= 0x10FFFF);
}

static void put_escape(struct pr *p, unsigned long c)
{
    char tmp[24];

    switch (c) {
    case '"':
        put_cstr(p, "\\\"");
        return;
    case '\\':
        put_cstr(p, "\\\\");
        return;
    case '\n':
        put_cstr(p, "\\n");
        return;
    case '\t':
        put_cstr(p, "\\t");
        return;
    case 0x85:
        put_cstr(p, "\\N");
        return;
    case 0x2028:
        put_cstr(p, "\\L");
        return;
    case 0x2029:
        put_cstr(p, "\\P");
        return;
    default:
        break;
    }
    if (c <= 0xFF)
        snprintf(tmp, sizeof(tmp), "\\x%02lX", c);
    else if (c <= 0xFFFF)
        snprintf(tmp, sizeof(tmp), "\\u%04lX", c);
    else
        snprintf(tmp, sizeof(tmp), "\\U%08lX", c);
    put_cstr(p, tmp);
}

static void put_str(struct pr *p, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    if (plain_ok(s)) {
        put_cstr(p, s);
        return;
    }
    put_cstr(p, "\"");
    while (*u != '\0') {
        unsigned long c;
        size_t n = utf8_next(u, &c);
        if (raw_ok(c))
            put(p, (const char *)u, n);
        else
            put_escape(p, c);
        u += n;
    }
    put_cstr(p, "\"");
}

/* ---- keys, values and lists ---- */

static void key(struct pr *p, int ind, const char *k)
{
    if (p->dash) {
        pad(p, ind - 2);
        put_cstr(p, "- ");
        p->dash = false;
    } else {
        pad(p, ind);
    }
    put_cstr(p, k);
    put_cstr(p, ":");
}

static void key_open(struct pr *p, int ind, const char *k)
{
    key(p, ind, k);
    put_cstr(p, "\n");
}

static void kv(struct pr *p, int ind, const char *k, const char *v)
{
    if (v == NULL)
        return;
    key(p, ind, k);
    put_cstr(p, " ");
    put_str(p, v);
    put_cstr(p, "\n");
}

/* Starts a list item whose content is a mapping at indent ind. */
static void item(struct pr *p)
{
    p->dash = true;
}

/* Ends a list item: one that wrote no key is an empty mapping. */
static void item_end(struct pr *p, int ind)
{
    if (!p->dash)
        return;
    pad(p, ind - 2);
    put_cstr(p, "- {}\n");
    p->dash = false;
}

static void strs(struct pr *p, int ind, const char *k, const struct oam_strs *s)
{
    if (!s->present)
        return;
    if (s->n == 0) {
        key(p, ind, k);
        put_cstr(p, " []\n");
        return;
    }
    key_open(p, ind, k);
    for (size_t i = 0; i < s->n; i++) {
        pad(p, ind + 2);
        put_cstr(p, "- ");
        put_str(p, s->v[i]);
        put_cstr(p, "\n");
    }
}

/* ---- the parts ---- */

static void cond(struct pr *p, int ind, const struct oam_cond *c)
{
    if (c == NULL)
        return;
    key_open(p, ind, "condition");
    kv(p, ind + 2, "title", c->title);
    kv(p, ind + 2, "description", c->description);
    kv(p, ind + 2, "expression", c->expression);
}

static void binding(struct pr *p, int ind, const struct oam_binding *b)
{
    kv(p, ind, "role", b->role);
    strs(p, ind, "members", &b->members);
    cond(p, ind, b->cond);
}

static void bindings(struct pr *p, int ind, const struct oam_binding *v, size_t n)
{
    if (n == 0) {
        key(p, ind, "bindings");
        put_cstr(p, " []\n");
        return;
    }
    key_open(p, ind, "bindings");
    for (size_t i = 0; i < n; i++) {
        item(p);
        binding(p, ind + 4, &v[i]);
        item_end(p, ind + 4);
    }
}

static void trait(struct pr *p, int ind, const struct oam_trait *t)
{
    kv(p, ind, "type", oam_trait_type_name(t->type));
    key_open(p, ind, "properties");
    ind += 2;
    switch (t->type) {
    case OAM_TRAIT_INVOKER:
        if (t->n_bindings > 0)
            binding(p, ind, &t->bindings[0]);
        break;
    case OAM_TRAIT_IAM_BINDINGS:
        bindings(p, ind, t->bindings, t->n_bindings);
        break;
    case OAM_TRAIT_SERVICE_IDENTITY:
        kv(p, ind, "serviceAccount", t->service_account);
        kv(p, ind, "mode", oam_si_mode_name(t->mode));
        break;
    default:
        kv(p, ind, "serviceAccount", t->service_account);
        strs(p, ind, "actAs", &t->act_as);
        strs(p, ind, "tokenCreators", &t->token_creators);
        cond(p, ind, t->cond);
        break;
    }
}

static void component(struct pr *p, int ind, const struct oam_component *c)
{
    kv(p, ind, "name", c->name);
    kv(p, ind, "type", oam_comp_type_name(c->type));
    key_open(p, ind, "properties");
    kv(p, ind + 2, "project", c->project);
    kv(p, ind + 2, "region", c->region);
    if (c->name != NULL || c->resource_name != NULL)
        kv(p, ind + 2, "name", oam_component_resource(c));
    if (c->scopes.present) {
        key_open(p, ind, "scopes");
        strs(p, ind + 2, "access-scope", &c->scopes);
    }
    strs(p, ind, "dependsOn", &c->depends_on);
    if (c->n_traits == 0)
        return;
    key_open(p, ind, "traits");
    for (size_t i = 0; i < c->n_traits; i++) {
        item(p);
        trait(p, ind + 4, &c->traits[i]);
        item_end(p, ind + 4);
    }
}

static void selector(struct pr *p, int ind, const struct oam_selector *s)
{
    if (!s->present)
        return;
    if (!s->component_names.present && !s->component_types.present && !s->trait_types.present) {
        key(p, ind, "selector");
        put_cstr(p, " {}\n");
        return;
    }
    key_open(p, ind, "selector");
    strs(p, ind + 2, "componentNames", &s->component_names);
    strs(p, ind + 2, "componentTypes", &s->component_types);
    strs(p, ind + 2, "traitTypes", &s->trait_types);
}

static void rules(struct pr *p, int ind, const struct oam_policy *pol)
{
    if (pol->n_rules == 0) {
        key(p, ind, "rules");
        put_cstr(p, " []\n");
        return;
    }
    key_open(p, ind, "rules");
    for (size_t i = 0; i < pol->n_rules; i++) {
        const struct oam_rule *r = &pol->rules[i];
        item(p);
        selector(p, ind + 4, &r->selector);
        if (pol->type == OAM_POL_GARBAGE_COLLECT)
            kv(p, ind + 4, "strategy", oam_gc_strategy_name(r->strategy));
        strs(p, ind + 4, "roles", &r->roles);
        item_end(p, ind + 4);
    }
}

static bool policy_has_props(const struct oam_policy *pol)
{
    switch (pol->type) {
    case OAM_POL_NO_PUBLIC_ACCESS:
        return false;
    case OAM_POL_ALLOWED_MEMBERS:
        return pol->domains.present || pol->sa_projects.present || pol->member_types.present;
    case OAM_POL_ACCESS_SCOPE:
    case OAM_POL_ALLOWED_ROLES:
        return true;
    default:
        return pol->has_rules;
    }
}

static void policy(struct pr *p, int ind, const struct oam_policy *pol)
{
    kv(p, ind, "name", pol->name);
    kv(p, ind, "type", oam_policy_type_name(pol->type));
    if (!policy_has_props(pol))
        return;
    key_open(p, ind, "properties");
    ind += 2;
    switch (pol->type) {
    case OAM_POL_ACCESS_SCOPE:
        selector(p, ind, &pol->selector);
        bindings(p, ind, pol->bindings, pol->n_bindings);
        break;
    case OAM_POL_ALLOWED_ROLES:
        strs(p, ind, "roles", &pol->roles);
        break;
    case OAM_POL_ALLOWED_MEMBERS:
        strs(p, ind, "domains", &pol->domains);
        strs(p, ind, "serviceAccountProjects", &pol->sa_projects);
        strs(p, ind, "memberTypes", &pol->member_types);
        break;
    default:
        rules(p, ind, pol);
        break;
    }
}

static void metadata(struct pr *p, const struct oam_app *app)
{
    key_open(p, 0, "metadata");
    kv(p, 2, "name", app->name);
    if (app->project == NULL && app->region == NULL)
        return;
    key_open(p, 2, "annotations");
    kv(p, 4, "roam.dev/project", app->project);
    kv(p, 4, "roam.dev/region", app->region);
}

char *oam_app_print(const struct oam_app *app)
{
    struct pr p = {.dash = false, .failed = false};

    buf_init(&p.b, PRINT_MAX_BYTES);
    put_cstr(&p, "apiVersion: core.oam.dev/v1beta1\nkind: Application\n");
    metadata(&p, app);
    key_open(&p, 0, "spec");
    if (app->n_comps == 0)
        put_cstr(&p, "  components: []\n");
    else
        key_open(&p, 2, "components");
    for (size_t i = 0; i < app->n_comps; i++) {
        item(&p);
        component(&p, 6, &app->comps[i]);
        item_end(&p, 6);
    }
    if (app->n_policies > 0) {
        key_open(&p, 2, "policies");
        for (size_t i = 0; i < app->n_policies; i++) {
            item(&p);
            policy(&p, 6, &app->policies[i]);
            item_end(&p, 6);
        }
    }
    if (p.failed) {
        buf_release(&p.b);
        return xasprintf("# the canonical form is larger than %zu bytes\n", PRINT_MAX_BYTES);
    }
    return buf_detach(&p.b, NULL);
}
