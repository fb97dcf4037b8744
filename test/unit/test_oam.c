/*
 * test_oam.c - OAM documents: parsing, validation, caps, notices, defaults,
 * selectors, the canonical printer and the platform config.
 *
 * Most cases are rows of {document, expected path, expected message}: the
 * document is parsed and validated as `roam validate` does, and one of the
 * problems found must carry exactly that field path and a message containing
 * the expected words (and, where given, the line and column).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/xalloc.h"
#include "api/oam/oam.h"
#include "api/oam/oam_int.h"
#include "api/oam/yaml_tree.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Line 6 holds the first component of COMPS documents. */
#define HEAD                                                                                       \
    "apiVersion: core.oam.dev/v1beta1\n"                                                           \
    "kind: Application\n"                                                                          \
    "metadata: {name: t, annotations: {roam.dev/project: proj-one, roam.dev/region: "              \
    "europe-west1}}\n"
#define COMPS HEAD "spec:\n  components:\n"
#define SVC_OPEN COMPS "    - {name: s, type: cloud-run-service, traits: ["
#define SVC(traits) SVC_OPEN traits "]}\n"
#define JOB(traits) COMPS "    - {name: j, type: cloud-run-job, traits: [" traits "]}\n"
#define POL(pols) COMPS "    - {name: s, type: cloud-run-service}\n  policies:\n" pols
#define INV "{type: invoker, properties: {members: [group:a@acme.example]}}"
#define SI                                                                                         \
    "{type: service-identity, properties: {serviceAccount: s@proj-one.iam.gserviceaccount.com}}"

/* ---- helpers ---- */

static void load(struct oam_docset *set, const char *yaml, const struct oam_defaults *defs)
{
    oam_docset_init(set);
    oam_parse_file(set, "t.yaml", yaml, strlen(yaml));
    oam_validate_set(set, defs);
}

static const struct err_detail *find_in(const struct err_list *l, const char *path, const char *msg)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct err_detail *d = &l->v[i];
        if (strcmp(d->path != NULL ? d->path : "", path) == 0 && d->msg != NULL &&
            strstr(d->msg, msg) != NULL)
            return d;
    }
    return NULL;
}

static const struct err_detail *find_err(const struct oam_docset *set, const char *path,
                                         const char *msg)
{
    const struct err_detail *d = find_in(&set->errs, path, msg);

    for (size_t i = 0; d == NULL && i < set->n_apps; i++)
        d = find_in(&set->apps[i].errs, path, msg);
    return d;
}

static void dump(const struct oam_docset *set)
{
    for (size_t i = 0; i < set->errs.n; i++) {
        char *s = err_detail_format(&set->errs.v[i]);
        print_message("  set: %s\n", s);
        free(s);
    }
    for (size_t a = 0; a < set->n_apps; a++) {
        for (size_t i = 0; i < set->apps[a].errs.n; i++) {
            char *s = err_detail_format(&set->apps[a].errs.v[i]);
            print_message("  app: %s\n", s);
            free(s);
        }
    }
}

static size_t total_errs(const struct oam_docset *set)
{
    size_t n = set->errs.n;

    for (size_t i = 0; i < set->n_apps; i++)
        n += set->apps[i].errs.n;
    return n;
}

static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char tmp[4096];
    size_t n;

    if (f == NULL)
        return NULL;
    buf_init(&b, (size_t)64 << 20);
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        assert_int_equal(buf_append(&b, tmp, n), 0);
    fclose(f);
    return buf_detach(&b, ret_len);
}

/* ---- rejections: one problem per row, with its exact path ---- */

struct reject_row {
    const char *yaml;
    const char *path; /* exact field path ("" for none) */
    const char *msg;  /* words of the message */
    unsigned line;    /* 0: not checked */
    unsigned col;
};

static const struct reject_row reject_rows[] = {
    /* types roam does not implement */
    {COMPS "    - {name: s, type: k8s-objects}\n", "spec.components[0].type",
     "unknown component type 'k8s-objects'", 6, 23},
    {SVC("{type: scaler}"), "spec.components[0].traits[0].type", "unknown trait type 'scaler'", 6,
     58},
    {POL("    - {name: where, type: topology}\n"), "spec.policies[0].type",
     "unknown policy type 'topology'", 8, 27},
    {POL("    - {name: o, type: override, properties: {selector: [a]}}\n"), "spec.policies[0].type",
     "unknown policy type 'override'", 0, 0},
    /* unknown fields and properties */
    {SVC("{type: invoker, properties: {members: [group:a@acme.example], image: x}}"),
     "spec.components[0].traits[0].properties.image", "unknown property 'image'", 0, 0},
    {SVC("{type: invoker, name: x, properties: {members: [group:a@acme.example]}}"),
     "spec.components[0].traits[0].name", "unknown field 'name'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, externalRevision: s-v1}\n",
     "spec.components[0].externalRevision", "unknown field 'externalRevision'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, properties: {image: nginx}}\n",
     "spec.components[0].properties.image", "unknown property 'image'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service}\n  status: {}\n", "spec.status",
     "unknown field 'status'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service}\nextra: 1\n", "extra", "unknown field 'extra'",
     7, 1},
    {HEAD "spec:\n  components: [{name: s, type: cloud-run-service}]\n  workflow: {steps: []}\n",
     "spec.workflow", "workflows are not supported", 6, 3},
    {COMPS "    - {name: s, type: cloud-run-service, inputs: [{from: a, parameterKey: b}]}\n",
     "spec.components[0].inputs", "not supported", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, outputs: [{name: a, valueFrom: b}]}\n",
     "spec.components[0].outputs", "not supported", 0, 0},
    {SVC("{type: service-identity, properties: {serviceAccount: "
         "s@p-123456.iam.gserviceaccount.com, mode: strict}}"),
     "spec.components[0].traits[0].properties.mode", "unknown mode 'strict'", 0, 0},
    {POL("    - {name: q, type: no-public-access, properties: {enabled: true}}\n"),
     "spec.policies[0].properties.enabled", "unknown property 'enabled'", 0, 0},
    {POL("    - {name: g, type: garbage-collect, properties: {keepLegacyResource: true}}\n"),
     "spec.policies[0].properties.keepLegacyResource", "unknown property", 0, 0},
    {POL("    - {name: a, type: apply-once, properties: {rules: [{selector: {}, strategy: "
         "never}]}}\n"),
     "spec.policies[0].properties.rules[0].strategy", "unknown field 'strategy'", 0, 0},
    /* trait placement */
    {SVC(INV ", " INV), "spec.components[0].traits[1]", "duplicate trait 'invoker'", 0, 0},
    {JOB("{type: invoker, properties: {members: [group:a@acme.example], condition: {expression: "
         "'true'}}}"),
     "spec.components[0].traits[0].properties.condition", "not supported on cloud-run-job", 0, 0},
    {JOB("{type: iam-bindings, properties: {bindings: [{role: roles/run.viewer, members: "
         "[group:a@acme.example], condition: {expression: 'true'}}]}}"),
     "spec.components[0].traits[0].properties.bindings[0].condition",
     "not supported on cloud-run-job", 0, 0},
    /* members and roles */
    {SVC("{type: invoker, properties: {members: [group:a@acme.example, web@acme.example]}}"),
     "spec.components[0].traits[0].properties.members[1]", "invalid member 'web@acme.example'", 0,
     0},
    {SVC("{type: invoker, properties: {members: ['deleted:user:x@acme.example?uid=1']}}"),
     "spec.components[0].traits[0].properties.members[0]", "deleted members cannot be declared", 0,
     0},
    {SVC("{type: iam-bindings, properties: {bindings: [{role: roles/run.viewer, members: "
         "['deleted:group:g@acme.example?uid=2']}]}}"),
     "spec.components[0].traits[0].properties.bindings[0].members[0]", "deleted members", 0, 0},
    {SVC("{type: invoker, properties: {members: []}}"),
     "spec.components[0].traits[0].properties.members", "at least one member", 0, 0},
    {SVC("{type: invoker, properties: {role: run.invoker, members: [group:a@acme.example]}}"),
     "spec.components[0].traits[0].properties.role", "invalid role 'run.invoker'", 0, 0},
    {SVC("{type: iam-bindings, properties: {bindings: [{role: roles/a_withcond_1, members: "
         "[group:a@acme.example]}]}}"),
     "spec.components[0].traits[0].properties.bindings[0].role", "invalid role", 0, 0},
    {POL("    - {name: r, type: allowed-roles, properties: {roles: [roles/run.invoker, x]}}\n"),
     "spec.policies[0].properties.roles[1]", "invalid role 'x'", 0, 0},
    {POL("    - {name: r, type: authoritative-bindings, properties: {rules: [{roles: [y]}]}}\n"),
     "spec.policies[0].properties.rules[0].roles[0]", "invalid role 'y'", 0, 0},
    {POL("    - {name: c, type: access-scope, properties: {bindings: [{role: roles/run.invoker, "
         "members: [allUsers], condition: {expression: 'true'}}]}}\n"),
     "spec.policies[0].properties.bindings[0].condition", "access-scope bindings take no condition",
     0, 0},
    /* names */
    {POL("    - {type: no-public-access}\n"), "spec.policies[0]", "missing required field 'name'",
     8, 7},
    {POL("    - {name: p, type: no-public-access}\n    - {name: p, type: allowed-roles, "
         "properties: {roles: []}}\n"),
     "spec.policies[1]", "duplicate policy name 'p'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service}\n    - {name: s, type: cloud-run-job}\n",
     "spec.components[1]", "duplicate component name 's'", 7, 7},
    {HEAD "spec: {}\n", "spec", "missing required field 'components'", 0, 0},
    {HEAD "spec: {components: []}\n", "spec.components", "at least one component", 0, 0},
    {"apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {}\nspec: {components: "
     "[{name: s, type: cloud-run-job}]}\n",
     "metadata", "missing required field 'name'", 0, 0},
    {"apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: Bad_Name}\n",
     "metadata.name", "invalid name 'Bad_Name'", 3, 18},
    {"apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: t}\n", "",
     "missing required field 'spec'", 0, 0},
    {COMPS "    - {type: cloud-run-service}\n", "spec.components[0]",
     "missing required field 'name'", 0, 0},
    {COMPS "    - {name: s}\n", "spec.components[0]", "missing required field 'type'", 0, 0},
    {SVC("{properties: {}}"), "spec.components[0].traits[0]", "missing required field 'type'", 0,
     0},
    {COMPS "    - {name: Svc_1, type: cloud-run-service}\n", "spec.components[0].name",
     "invalid Cloud Run name 'Svc_1'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, properties: {name: 1abc}}\n",
     "spec.components[0].properties.name", "invalid Cloud Run name '1abc'", 0, 0},
    /* project and region */
    {"apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: t}\nspec:\n  "
     "components:\n    - {name: s, type: cloud-run-service, properties: {region: us-east1}}\n",
     "spec.components[0]",
     "no project: set properties.project, the roam.dev/project annotation "
     "or --project",
     6, 7},
    {"apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: t}\nspec:\n  "
     "components:\n    - {name: s, type: cloud-run-job, properties: {project: proj-one}}\n",
     "spec.components[0]", "no region", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, properties: {project: my/proj}}\n",
     "spec.components[0].properties.project", "invalid project id 'my/proj'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, properties: {project: 'my proj'}}\n",
     "spec.components[0].properties.project", "invalid project id", 0, 0},
    {"apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: t, annotations: "
     "{roam.dev/region: Europe West}}\nspec: {components: [{name: s, type: cloud-run-job}]}\n",
     "metadata.annotations[\"roam.dev/region\"]", "invalid region 'Europe West'", 0, 0},
    {"apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: t, annotations: "
     "{roam.dev/zone: a}}\nspec: {components: [{name: s, type: cloud-run-job}]}\n",
     "metadata.annotations[\"roam.dev/zone\"]", "unknown annotation 'roam.dev/zone'", 0, 0},
    /* service accounts and impersonation */
    {SVC("{type: service-identity, properties: {serviceAccount: not-an-email}}"),
     "spec.components[0].traits[0].properties.serviceAccount", "not an e-mail", 0, 0},
    {SVC("{type: service-identity, properties: {serviceAccount: "
         "'serviceAccount:s@proj-one.iam.gserviceaccount.com'}}"),
     "spec.components[0].traits[0].properties.serviceAccount", "without 'serviceAccount:'", 0, 0},
    {SVC("{type: service-identity, properties: {mode: verify}}"),
     "spec.components[0].traits[0].properties", "missing required field 'serviceAccount'", 0, 0},
    {SVC(SI ", {type: impersonation, properties: {actAs: []}}"),
     "spec.components[0].traits[1].properties", "impersonation grants nothing", 0, 0},
    {SVC("{type: impersonation, properties: {tokenCreators: [group:a@acme.example]}}"),
     "spec.components[0].traits[0].properties", "no service-identity trait", 0, 0},
    {SVC(SI ", {type: impersonation, properties: {actAs: [bogus]}}"),
     "spec.components[0].traits[1].properties.actAs[0]", "invalid member 'bogus'", 0, 0},
    /* conditions */
    {SVC("{type: invoker, properties: {members: [allUsers], condition: {title: t}}}"),
     "spec.components[0].traits[0].properties.condition", "missing required field 'expression'", 0,
     0},
    {SVC("{type: invoker, properties: {members: [allUsers], condition: {expression: ' '}}}"),
     "spec.components[0].traits[0].properties.condition.expression", "empty", 0, 0},
    {SVC("{type: invoker, properties: {members: [allUsers], condition: {expression: 'true', "
         "location: x}}}"),
     "spec.components[0].traits[0].properties.condition.location", "unknown field", 0, 0},
    /* selectors and scopes */
    {POL("    - {name: c, type: access-scope, properties: {selector: {componentNames: [s, "
         "ledger-api]}, bindings: []}}\n"),
     "spec.policies[0].properties.selector.componentNames[1]", "no component named 'ledger-api'", 8,
     81},
    {POL("    - {name: c, type: access-scope, properties: {selector: {traitTypes: [invoker]}, "
         "bindings: []}}\n"),
     "spec.policies[0].properties.selector.traitTypes", "unknown selector key 'traitTypes'", 0, 0},
    {POL("    - {name: g, type: garbage-collect, properties: {rules: [{selector: {componentTypes: "
         "[webservice]}}]}}\n"),
     "spec.policies[0].properties.rules[0].selector.componentTypes[0]",
     "unknown component type 'webservice'", 0, 0},
    {POL("    - {name: g, type: take-over, properties: {rules: [{selector: {traitTypes: "
         "[expose]}}]}}\n"),
     "spec.policies[0].properties.rules[0].selector.traitTypes[0]", "unknown trait type 'expose'",
     0, 0},
    {POL("    - {name: g, type: read-only, properties: {rules: [{selector: {resourceTypes: "
         "[Deployment]}}]}}\n"),
     "spec.policies[0].properties.rules[0].selector.resourceTypes", "unknown selector key", 0, 0},
    {POL("    - {name: g, type: garbage-collect, properties: {rules: [{strategy: always}]}}\n"),
     "spec.policies[0].properties.rules[0].strategy", "unknown strategy 'always'", 0, 0},
    {POL("    - {name: m, type: allowed-members, properties: {memberTypes: [principal, user]}}\n"),
     "spec.policies[0].properties.memberTypes[1]", "invalid member type 'user'", 0, 0},
    {POL("    - {name: m, type: allowed-members, properties: {domains: [localhost]}}\n"),
     "spec.policies[0].properties.domains[0]", "invalid domain 'localhost'", 0, 0},
    {POL("    - {name: m, type: allowed-members, properties: {serviceAccountProjects: [a/b]}}\n"),
     "spec.policies[0].properties.serviceAccountProjects[0]", "invalid project id 'a/b'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, scopes: {access-scope: [nowhere]}}\n",
     "spec.components[0].scopes.access-scope[0]", "no policy named 'nowhere'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, scopes: {access-scope: gc}}\n  policies: "
           "[{name: gc, type: garbage-collect}]\n",
     "spec.components[0].scopes.access-scope[0]", "policy 'gc' is not an access-scope policy", 0,
     0},
    {COMPS "    - {name: s, type: cloud-run-service, scopes: {healthscopes.core.oam.dev: h}}\n",
     "spec.components[0].scopes[\"healthscopes.core.oam.dev\"]", "unknown scope", 0, 0},
    /* dependsOn */
    {COMPS "    - {name: s, type: cloud-run-service, dependsOn: [db]}\n",
     "spec.components[0].dependsOn[0]", "no component named 'db'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, dependsOn: [s]}\n",
     "spec.components[0].dependsOn[0]", "cannot depend on itself", 0, 0},
    {COMPS "    - {name: a, type: cloud-run-service, dependsOn: [b]}\n    - {name: b, type: "
           "cloud-run-service, dependsOn: [a]}\n",
     "spec.components[1].dependsOn[0]", "dependency cycle: a -> b -> a", 0, 0},
    /* missing required properties */
    {POL("    - {name: c, type: access-scope}\n"), "spec.policies[0].properties",
     "missing required field 'bindings'", 8, 7},
    {POL("    - {name: r, type: allowed-roles, properties: {}}\n"), "spec.policies[0].properties",
     "missing required field 'roles'", 0, 0},
    {POL("    - {name: r, type: authoritative-bindings}\n"), "spec.policies[0].properties",
     "missing required field 'rules'", 0, 0},
    {SVC("{type: iam-bindings}"), "spec.components[0].traits[0].properties",
     "missing required field 'bindings'", 0, 0},
    {SVC("{type: iam-bindings, properties: {bindings: [{members: [allUsers]}]}}"),
     "spec.components[0].traits[0].properties.bindings[0]", "missing required field 'role'", 0, 0},
    /* YAML types */
    {COMPS "    - {name: {first: s}, type: cloud-run-service}\n", "spec.components[0].name",
     "expected a string, got a mapping", 6, 14},
    {COMPS "    - {name: s, type: cloud-run-service, traits: {type: invoker}}\n",
     "spec.components[0].traits", "expected a list, got a mapping", 0, 0},
    {SVC("{type: invoker, properties: {members: [group:a@acme.example, ~]}}"),
     "spec.components[0].traits[0].properties.members[1]", "expected a string, got null", 0, 0},
    {SVC("{type: invoker, properties: [members]}"), "spec.components[0].traits[0].properties",
     "expected a mapping, got a list", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service}\n  policies: {name: p}\n", "spec.policies",
     "expected a list", 0, 0},
    /* YAML-level problems inside an Application */
    {COMPS "    - {name: s, type: cloud-run-service, type: cloud-run-job}\n",
     "spec.components[0].type", "duplicate key", 6, 42},
    {SVC("{type: invoker, properties: {members: [!!binary Z3JvdXA6YUBiLmM=]}}"),
     "spec.components[0].traits[0].properties.members[0]", "unsupported tag '!!binary'", 0, 0},
    {SVC("{type: invoker, properties: {members: [!foo group:a@acme.example]}}"),
     "spec.components[0].traits[0].properties.members[0]", "unsupported tag '!foo'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, properties: {<<: {project: p-123456}}}\n",
     "spec.components[0].properties[\"<<\"]", "merge keys are not supported", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, ? [a] : b}\n", "spec.components[0]",
     "mapping key is not a string", 0, 0},
    {"apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: t}\n"
     "spec: {components: [{name: s, type: cloud-run-service}]\n",
     "", "did not find expected ',' or '}'", 0, 0},
    {COMPS "    - {name: s, type: cloud-run-service, traits: [*nowhere]}\n", "",
     "unknown anchor 'nowhere'", 6, 51},
    /* caps that are per app */
    {SVC("{type: iam-bindings, properties: {bindings: [{role: roles/run.viewer, members: "
         "[\"user:a@acme.example\\0\"]}]}}"),
     "", "NUL", 0, 0},
};

static void test_reject_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(reject_rows); i++) {
        const struct reject_row *r = &reject_rows[i];
        struct oam_docset set;
        const struct err_detail *d;

        load(&set, r->yaml, NULL);
        d = find_err(&set, r->path, r->msg);
        if (d == NULL) {
            print_message("row %zu: no '%s' at '%s' in:\n", i, r->msg, r->path);
            dump(&set);
        }
        assert_non_null(d);
        assert_string_equal(d->file, "t.yaml");
        if (r->line != 0) {
            if (d->line != r->line || d->col != r->col)
                print_message("row %zu: at %u:%u, want %u:%u\n", i, d->line, d->col, r->line,
                              r->col);
            assert_int_equal(d->line, r->line);
            assert_int_equal(d->col, r->col);
        }
        /* Whatever the problem, the app may not pass. */
        for (size_t a = 0; a < set.n_apps; a++)
            assert_true(set.apps[a].errs.n > 0);
        oam_docset_release(&set);
    }
}

/* ---- valid documents: no problem at all ---- */

static const char *const valid_rows[] = {
    SVC(INV),
    JOB(INV),
    SVC("{type: invoker, properties: {role: roles/run.developer, members: [allUsers], condition: "
        "{title: t, description: d, expression: 'request.time < "
        "timestamp(\"2030-01-01T00:00:00Z\")'}}}"),
    JOB("{type: iam-bindings, properties: {bindings: [{role: projects/proj-one/roles/custom, "
        "members: [domain:acme.example]}]}}"),
    SVC("{type: iam-bindings, properties: {bindings: []}}"),
    SVC(SI ", {type: impersonation, properties: {actAs: [group:a@acme.example], condition: "
           "{expression: 'true'}}}"),
    JOB(SI ", {type: impersonation, properties: {tokenCreators: [group:a@acme.example], "
           "condition: {expression: 'true'}}}"),
    SVC("{type: impersonation, properties: {serviceAccount: "
        "x@other-proj.iam.gserviceaccount.com, actAs: [group:a@acme.example]}}"),
    JOB("{type: service-identity, properties: {serviceAccount: "
        "123-compute@developer.gserviceaccount.com, mode: enforce}}"),
    SVC("{type: invoker, properties: {members: "
        "['principalSet://iam.googleapis.com/locations/global/workforcePools/p/*', "
        "'serviceAccount:proj-one.svc.id.goog[ns/ksa]']}}"),
    POL("    - {name: c, type: access-scope, properties: {selector: {componentNames: [s], "
        "componentTypes: [cloud-run-service]}, bindings: [{role: roles/run.invoker, members: "
        "[allUsers]}]}}\n"),
    POL("    - {name: n, type: no-public-access, properties: {}}\n"),
    POL("    - {name: n, type: no-public-access, properties: ~}\n"),
    POL("    - {name: r, type: allowed-roles, properties: {roles: []}}\n"),
    POL("    - {name: m, type: allowed-members, properties: {domains: [Acme.Example], "
        "serviceAccountProjects: [proj-one, 'example.com:legacy'], memberTypes: [principal, "
        "principalSet]}}\n"),
    POL("    - {name: g, type: garbage-collect, properties: {rules: [{selector: {componentNames: "
        "[s], componentTypes: [cloud-run-service], traitTypes: [invoker, iam-bindings]}, "
        "strategy: never}, {strategy: onAppDelete}, {}]}}\n"),
    POL("    - {name: g, type: garbage-collect}\n"),
    POL("    - {name: t, type: take-over}\n    - {name: r, type: read-only, properties: {rules: "
        "[]}}\n    - {name: x, type: shared-resource, properties: {rules: [{selector: {}}]}}\n"
        "    - {name: o, type: apply-once, properties: {rules: [{selector: {traitTypes: "
        "[service-identity]}}]}}\n"),
    POL("    - {name: a, type: authoritative-bindings, properties: {rules: []}}\n"
        "    - {name: b, type: authoritative-bindings, properties: {rules: [{selector: "
        "{componentTypes: [cloud-run-job]}, roles: [roles/run.invoker]}]}}\n"),
    COMPS "    - {name: s, type: cloud-run-service, scopes: {access-scope: c}}\n"
          "    - {name: u, type: cloud-run-job, scopes: {access-scope: [c, d]}, dependsOn: [s]}\n"
          "  policies:\n    - {name: c, type: access-scope, properties: {bindings: []}}\n"
          "    - {name: d, type: access-scope, properties: {bindings: []}}\n",
    /* metadata fields, labels, status and other annotations are accepted */
    "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: t\n  namespace: "
    "default\n  labels: {a: b}\n  annotations: {roam.dev/project: proj-one, roam.dev/region: "
    "us-east1, other.example/x: '1'}\n  uid: 0\nspec:\n  components: [{name: s, type: "
    "cloud-run-service}]\nstatus: {phase: running}\n",
    /* anchors and aliases are fine below the caps */
    COMPS "    - {name: s, type: cloud-run-service, traits: [{type: invoker, properties: {members: "
          "&m [group:a@acme.example]}}]}\n    - {name: j, type: cloud-run-job, traits: [{type: "
          "invoker, properties: {members: *m}}]}\n",
    /* numbers and booleans are strings where strings are expected */
    COMPS "    - {name: s, type: cloud-run-service, properties: {project: 123456, region: "
          "us-east1}}\n",
    /* a UTF-8 BOM and CRLF line ends */
    "\xEF\xBB\xBF"
    "apiVersion: core.oam.dev/v1beta1\r\nkind: Application\r\nmetadata: {name: "
    "t}\r\nspec: {components: [{name: s, type: cloud-run-job, properties: {project: proj-one, "
    "region: us-east1}}]}\r\n",
};

static void test_valid_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(valid_rows); i++) {
        struct oam_docset set;

        load(&set, valid_rows[i], NULL);
        if (total_errs(&set) != 0 || set.n_apps != 1) {
            print_message("row %zu:\n", i);
            dump(&set);
        }
        assert_int_equal(set.n_apps, 1);
        assert_int_equal(total_errs(&set), 0);
        oam_docset_release(&set);
    }
}

/* ---- what the structs hold ---- */

static void test_decoded_values(void **state)
{
    static const char yaml[] = COMPS
        "    - name: s\n"
        "      type: cloud-run-service\n"
        "      properties: {region: us-east1, name: s-run}\n"
        "      traits:\n"
        "        - {type: invoker, properties: {members: [group:a@acme.example]}}\n"
        "        - type: iam-bindings\n"
        "          properties:\n"
        "            bindings:\n"
        "              - role: roles/run.viewer\n"
        "                members: [user:b@acme.example]\n"
        "                condition: {title: t, expression: 'true'}\n"
        "        - {type: service-identity, properties: {serviceAccount: "
        "s@proj-one.iam.gserviceaccount.com}}\n"
        "  policies:\n"
        "    - {name: gc, type: garbage-collect, properties: {rules: [{selector: {traitTypes: "
        "[invoker]}}]}}\n"
        "    - {name: to, type: take-over}\n"
        "    - {name: so, type: shared-resource, properties: {rules: []}}\n";
    struct oam_docset set;
    const struct oam_app *app;
    const struct oam_component *c;
    const struct oam_trait *t;

    (void)state;
    load(&set, yaml, NULL);
    assert_int_equal(set.n_apps, 1);
    assert_int_equal(total_errs(&set), 0);
    app = &set.apps[0];
    assert_string_equal(app->name, "t");
    assert_string_equal(app->project, "proj-one");
    assert_string_equal(app->region, "europe-west1");
    assert_int_equal(app->doc_index, 0);
    assert_int_equal(app->n_comps, 1);
    c = &app->comps[0];
    assert_string_equal(c->path, "spec.components[0]");
    assert_int_equal(c->pos.line, 6);
    assert_int_equal(c->pos.col, 7);
    assert_int_equal(c->type, OAM_COMP_SERVICE);
    assert_null(c->project);
    assert_string_equal(c->region, "us-east1");
    assert_string_equal(oam_component_resource(c), "s-run");
    assert_int_equal(c->n_traits, 3);
    t = &c->traits[0];
    assert_int_equal(t->type, OAM_TRAIT_INVOKER);
    assert_int_equal(t->n_bindings, 1);
    assert_string_equal(t->bindings[0].role, "roles/run.invoker");
    assert_string_equal(t->bindings[0].path, "spec.components[0].traits[0].properties");
    assert_string_equal(t->bindings[0].members.v[0], "group:a@acme.example");
    assert_int_equal(t->bindings[0].members.pos[0].line, 10);
    t = &c->traits[1];
    assert_int_equal(t->type, OAM_TRAIT_IAM_BINDINGS);
    assert_string_equal(t->bindings[0].path, "spec.components[0].traits[1].properties.bindings[0]");
    assert_int_equal(t->bindings[0].role_pos.line, 14);
    assert_int_equal(t->bindings[0].role_pos.col, 23);
    assert_non_null(t->bindings[0].cond);
    assert_string_equal(t->bindings[0].cond->title, "t");
    assert_null(t->bindings[0].cond->description);
    assert_string_equal(t->bindings[0].cond->expression, "true");
    t = &c->traits[2];
    assert_int_equal(t->mode, OAM_SI_VERIFY);
    assert_string_equal(t->service_account, "s@proj-one.iam.gserviceaccount.com");
    assert_int_equal(app->n_policies, 3);
    assert_int_equal(app->policies[0].rules[0].strategy, OAM_GC_ON_APP_UPDATE);
    assert_true(app->policies[0].has_rules);
    assert_false(app->policies[1].has_rules);
    assert_true(app->policies[2].has_rules);
    assert_int_equal(app->policies[2].n_rules, 0);
    oam_docset_release(&set);
}

/* ---- documents, notices, multi-document files ---- */

static void test_multidoc_notices(void **state)
{
    static const char yaml[] =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
        "---\n" COMPS "    - {name: s, type: cloud-run-service}\n"
        "---\n"
        "# only a comment\n"
        "---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        "metadata: {name: argo}\n"
        "---\n"
        "apiVersion: core.oam.dev/v1alpha2\nkind: ApplicationConfiguration\n"
        "metadata: {name: old}\n"
        "---\n"
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: "
        "{name: u, annotations: {roam.dev/project: proj-two, roam.dev/region: "
        "us-east1}}\nspec: {components: [{name: j, type: cloud-run-job}]}\n";
    struct oam_docset set;
    char *s;

    (void)state;
    load(&set, yaml, NULL);
    assert_int_equal(set.errs.n, 0);
    assert_int_equal(set.n_apps, 2);
    assert_string_equal(set.apps[0].name, "t");
    assert_int_equal(set.apps[0].doc_index, 1);
    assert_string_equal(set.apps[1].name, "u");
    assert_int_equal(set.apps[1].doc_index, 5);
    assert_ptr_equal(set.apps[0].file, set.apps[1].file);
    assert_int_equal(set.n_files, 1);
    assert_int_equal(set.notices.n, 3);
    s = err_detail_format(&set.notices.v[0]);
    assert_string_equal(s, "t.yaml:1:1: skipping v1 ConfigMap 'cm'");
    free(s);
    s = err_detail_format(&set.notices.v[1]);
    assert_string_equal(s, "t.yaml:14:1: skipping argoproj.io/v1alpha1 Application 'argo'");
    free(s);
    s = err_detail_format(&set.notices.v[2]);
    assert_string_equal(
        s, "t.yaml:18:1: skipping core.oam.dev/v1alpha2 ApplicationConfiguration 'old'");
    free(s);
    assert_int_equal(total_errs(&set), 0);
    oam_docset_release(&set);
}

struct file_row {
    const char *yaml;
    size_t len;       /* 0: strlen(yaml) */
    int ret;          /* oam_parse_file's result */
    size_t n_apps;    /* apps taken */
    size_t n_notices; /* documents skipped */
    const char *err;  /* formatted first set->errs entry, NULL: none */
};

static const struct file_row file_rows[] = {
    {"", 0, 0, 0, 0, NULL},
    {"---\n---\n...\n", 0, 0, 0, 0, NULL},
    {"# nothing\n", 0, 0, 0, 0, NULL},
    /* other YAML in a source (a values file, a list) is skipped with a notice */
    {"hello\n", 0, 0, 0, 1, NULL},
    {"- a\n- b\n", 0, 0, 0, 1, NULL},
    {"replicas: 3\nimage: x\n", 0, 0, 0, 1, NULL},
    {"kind: Application\n", 0, 0, 0, 0, "t.yaml:1:1: document has no apiVersion or kind string"},
    {"apiVersion: [core.oam.dev/v1beta1]\nkind: Application\n", 0, 0, 0, 0,
     "t.yaml:1:1: document has no apiVersion or kind string"},
    {"apiVersion: v1\nkind: Secret\n", 0, 0, 0, 1, NULL},
    {"a: [b\n", 0, ERR_PARSE, 0, 0, "t.yaml:2:1: did not find expected ',' or ']'"},
    {"a: b\n c: d\n", 0, ERR_PARSE, 0, 0, "t.yaml:2:3: mapping values are not allowed"},
    {"a: \"\\q\"\n", 0, ERR_PARSE, 0, 0, "t.yaml:1:5: found unknown escape character"},
    {"a: *x\n", 0, ERR_PARSE, 0, 0, "t.yaml:1:4: unknown anchor 'x'"},
    {"a: &x [*x]\n", 0, ERR_PARSE, 0, 0, "t.yaml:1:8: unknown anchor 'x'"},
    {"\xff\xfe\x00", 3, ERR_PARSE, 0, 0, NULL},
    {"a: \x80\n", 0, ERR_PARSE, 0, 0, NULL},
    /* an app before the syntax error is taken, and rejected with the file */
    {COMPS "    - {name: s, type: cloud-run-service}\n---\n: : :\n  - [\n", 0, ERR_PARSE, 1, 0,
     NULL},
};

static void test_file_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(file_rows); i++) {
        const struct file_row *r = &file_rows[i];
        struct oam_docset set;
        int ret;

        oam_docset_init(&set);
        ret = oam_parse_file(&set, "t.yaml", r->yaml, r->len != 0 ? r->len : strlen(r->yaml));
        oam_validate_set(&set, NULL);
        if ((r->ret < 0) != (ret < 0) || set.n_apps != r->n_apps || set.notices.n != r->n_notices)
            print_message("row %zu: returned %d, %zu apps, %zu notices\n", i, ret, set.n_apps,
                          set.notices.n);
        if (r->ret < 0)
            assert_true(ret < 0);
        else
            assert_int_equal(ret, 0);
        assert_int_equal(set.n_apps, r->n_apps);
        assert_int_equal(set.notices.n, r->n_notices);
        if (r->err != NULL) {
            char *s;
            assert_true(set.errs.n > 0);
            s = err_detail_format(&set.errs.v[0]);
            if (strncmp(s, r->err, strlen(r->err)) != 0)
                print_message("row %zu: got '%s'\n", i, s);
            assert_true(strncmp(s, r->err, strlen(r->err)) == 0);
            free(s);
        }
        if (r->ret < 0)
            assert_true(set.errs.n > 0);
        /* Apps of a file that failed to parse are rejected with it. */
        for (size_t a = 0; a < set.n_apps; a++)
            if (r->ret < 0)
                assert_true(set.apps[a].errs.n > 0);
        oam_docset_release(&set);
    }
}

static void test_duplicate_app_names(void **state)
{
    static const char one[] = COMPS "    - {name: s, type: cloud-run-service}\n";
    struct oam_docset set;
    const struct err_detail *d;

    (void)state;
    oam_docset_init(&set);
    assert_int_equal(oam_parse_file(&set, "a.yaml", one, strlen(one)), 0);
    assert_int_equal(oam_parse_file(&set, "b.yaml", one, strlen(one)), 0);
    assert_int_equal(oam_parse_file(&set, "c.yaml", "", 0), 0);
    assert_int_equal(oam_validate_set(&set, NULL), 2);
    assert_int_equal(set.n_files, 3);
    d = find_in(&set.apps[0].errs, "metadata.name",
                "application name 't' is also used at b.yaml:3:18");
    assert_non_null(d);
    d = find_in(&set.apps[1].errs, "metadata.name", "also used at a.yaml:3:18");
    assert_non_null(d);
    assert_string_equal(d->file, "b.yaml");
    oam_docset_release(&set);
}

/* ---- caps ---- */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    struct buf b;

    buf_init(&b, (size_t)64 << 20);
    assert_int_equal(buf_puts(&b, head), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(buf_puts(&b, unit), 0);
    assert_int_equal(buf_puts(&b, tail), 0);
    return buf_detach(&b, NULL);
}

static void expect_file_err(const char *yaml, size_t len, int code, const char *msg)
{
    struct oam_docset set;
    int ret;

    oam_docset_init(&set);
    ret = oam_parse_file(&set, "t.yaml", yaml, len);
    if (set.errs.n == 0 || strstr(set.errs.v[0].msg, msg) == NULL) {
        print_message("want '%s'\n", msg);
        dump(&set);
    }
    assert_int_equal(ret, code);
    assert_true(set.errs.n > 0);
    assert_int_equal(set.errs.v[0].code, code);
    assert_non_null(strstr(set.errs.v[0].msg, msg));
    oam_docset_release(&set);
}

static void expect_no_file_err(const char *yaml)
{
    struct oam_docset set;

    oam_docset_init(&set);
    assert_int_equal(oam_parse_file(&set, "t.yaml", yaml, strlen(yaml)), 0);
    for (size_t i = 0; i < set.errs.n; i++)
        assert_int_equal(set.errs.v[i].code != ERR_LIMIT, 1);
    oam_docset_release(&set);
}

static void test_cap_depth(void **state)
{
    char *ok = repeat("a: ", "[", CAP_YAML_DEPTH - 1, "");
    char *deep = repeat("a: ", "[", CAP_YAML_DEPTH, "");
    char *close, *y;

    (void)state;
    /* Balanced at exactly the cap, one more level is refused. */
    close = repeat(ok, "]", CAP_YAML_DEPTH - 1, "\n");
    expect_no_file_err(close);
    free(close);
    y = repeat(deep, "]", CAP_YAML_DEPTH, "\n");
    expect_file_err(y, strlen(y), ERR_LIMIT, "nested deeper than 64");
    free(y);
    free(deep);
    free(ok);
}

static void test_cap_nodes(void **state)
{
    char *many = repeat("[", "0,", CAP_YAML_NODES, "0]\n");
    char *fine = repeat("[", "0,", CAP_YAML_NODES - 10, "0]\n");

    (void)state;
    expect_file_err(many, strlen(many), ERR_LIMIT, "more than 100000 YAML nodes");
    expect_no_file_err(fine);
    free(fine);
    free(many);
}

static void test_cap_aliases(void **state)
{
    static const char bomb[] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                               "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                               "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                               "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                               "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                               "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                               "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                               "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                               "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    char *big = repeat("a: &a \"", "x", 60000, "\"\nb: [");
    char *bytes = repeat(big, "*a, ", 20, "*a]\n");
    char *aliases = repeat("a: &a x\nb: [", "*a, ", CAP_YAML_ALIAS_EXPANSION, "*a]\n");
    char *fine = repeat("a: &a x\nb: [", "*a, ", CAP_YAML_ALIAS_EXPANSION - 1, "*a]\n");

    (void)state;
    expect_file_err(bomb, strlen(bomb), ERR_LIMIT, "aliases expand to more than 10000 nodes");
    expect_file_err(bytes, strlen(bytes), ERR_LIMIT, "aliases expand to more than 1048576 bytes");
    expect_file_err(aliases, strlen(aliases), ERR_LIMIT, "aliases expand");
    expect_no_file_err(fine);
    free(fine);
    free(aliases);
    free(bytes);
    free(big);
}

static void test_cap_sizes(void **state)
{
    char *huge = repeat("", "#234567\n", CAP_MANIFEST_BYTES / 8 + 1, "");
    char *scalar = repeat("a: ", "x", CAP_YAML_SCALAR_BYTES + 1, "\n");
    char *docs = repeat("", "---\n", CAP_DOCS_PER_FILE + 1, "");
    char *comps = repeat(COMPS, "    - {type: cloud-run-job}\n", CAP_COMPONENTS_PER_APP + 1, "");
    char *members;
    struct oam_docset set;

    (void)state;
    expect_file_err(huge, strlen(huge), ERR_LIMIT, "file larger than 1048576 bytes");
    expect_file_err(scalar, strlen(scalar), ERR_LIMIT, "scalar longer than 65536 bytes");
    expect_file_err(docs, strlen(docs), ERR_LIMIT, "more than 1000 documents");
    load(&set, comps, NULL);
    assert_non_null(find_err(&set, "spec.components", "more than 1000 components"));
    assert_int_equal(set.apps[0].errs.v[0].code, ERR_LIMIT);
    oam_docset_release(&set);
    free(comps);
    members = repeat(COMPS "    - {name: s, type: cloud-run-service, traits: [{type: invoker, "
                           "properties: {members: [",
                     "allUsers, ", CAP_MEMBERS_PER_BINDING, "allUsers]}}]}\n");
    load(&set, members, NULL);
    assert_non_null(find_err(&set, "spec.components[0].traits[0].properties.members",
                             "more than 1500 entries"));
    oam_docset_release(&set);
    free(members);
    free(docs);
    free(scalar);
    free(huge);
}

static void test_cap_strings(void **state)
{
    char *member = repeat(SVC_OPEN "{type: invoker, properties: {members: [user:", "a",
                          CAP_NAME_BYTES, "@acme.example]}}]}\n");
    char *expr = repeat(SVC_OPEN "{type: invoker, properties: {members: [allUsers], condition: "
                                 "{expression: 'true",
                        " && true", 1000, "'}}}]}\n");
    char *too_long = repeat(SVC_OPEN "{type: invoker, properties: {members: [allUsers], "
                                     "condition: {expression: 'true",
                            " && true", CAP_CONDITION_BYTES / 8, "'}}}]}\n");
    struct oam_docset set;

    (void)state;
    load(&set, member, NULL);
    assert_non_null(find_err(&set, "spec.components[0].traits[0].properties.members[0]",
                             "string longer than 1024 bytes"));
    oam_docset_release(&set);
    load(&set, expr, NULL);
    assert_int_equal(total_errs(&set), 0);
    assert_int_equal(strlen(set.apps[0].comps[0].traits[0].bindings[0].cond->expression), 8004);
    oam_docset_release(&set);
    load(&set, too_long, NULL);
    assert_non_null(find_err(&set, "spec.components[0].traits[0].properties.condition.expression",
                             "string longer than 16384 bytes"));
    oam_docset_release(&set);
    free(too_long);
    free(expr);
    free(member);
}

static void test_cap_errors(void **state)
{
    char *yaml = repeat(SVC_OPEN "{type: invoker, properties: {members: [", "bad, ",
                        CAP_MEMBERS_PER_BINDING - 1, "bad]}}]}\n");
    struct oam_docset set;
    const struct err_list *l;

    (void)state;
    load(&set, yaml, NULL);
    l = &set.apps[0].errs;
    assert_int_equal(l->n, CAP_ERRORS_PER_APP + 1);
    assert_string_equal(l->v[0].path, "spec.components[0].traits[0].properties.members[0]");
    assert_int_equal(l->v[CAP_ERRORS_PER_APP].code, ERR_LIMIT);
    assert_non_null(strstr(l->v[CAP_ERRORS_PER_APP].msg, "more than 1000 problems"));
    oam_docset_release(&set);
    free(yaml);
}

static void test_long_cycle(void **state)
{
    struct buf b;
    struct oam_docset set;
    char *yaml;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(buf_puts(&b, COMPS), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(buf_printf(&b,
                                    "    - {name: c%d, type: cloud-run-job, dependsOn: [c%d]}\n", i,
                                    (i + 1) % 20),
                         0);
    yaml = buf_detach(&b, NULL);
    load(&set, yaml, NULL);
    /* One report, the chain cut in the middle. */
    assert_int_equal(set.apps[0].errs.n, 1);
    assert_non_null(find_err(&set, "spec.components[19].dependsOn[0]",
                             "dependency cycle: c0 -> c1 -> c2 -> c3 -> ... -> c16 -> c17 -> c18 "
                             "-> c19 -> c0"));
    oam_docset_release(&set);
    free(yaml);
}

static void test_duplicate_keys_many(void **state)
{
    /* A mapping of many keys with one duplicate far apart: sorted, found. */
    struct buf b;
    struct oam_docset set;
    char *yaml;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(buf_puts(&b, HEAD "spec:\n  components: [{name: s, type: cloud-run-job}]\n"
                                       "status:\n"),
                     0);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(buf_printf(&b, "  k%d: v\n", i), 0);
    assert_int_equal(buf_puts(&b, "  k17: again\n"), 0);
    yaml = buf_detach(&b, NULL);
    load(&set, yaml, NULL);
    assert_non_null(find_err(&set, "status.k17", "duplicate key"));
    assert_int_equal(total_errs(&set), 1);
    oam_docset_release(&set);
    free(yaml);
}

/* ---- the YAML tree ---- */

struct null_row {
    const char *yaml; /* `a: VALUE` */
    bool is_null;
};

static const struct null_row null_rows[] = {
    {"a:\n", true},
    {"a: ~\n", true},
    {"a: null\n", true},
    {"a: Null\n", true},
    {"a: NULL\n", true},
    {"a: !!null x\n", true},
    {"a: nULL\n", false},
    {"a: 'null'\n", false},
    {"a: \"~\"\n", false},
    {"a: ''\n", false},
    {"a: !!str null\n", false},
    {"a: ! null\n", false},
    {"a: |\n  null\n", false},
    {"a: []\n", false},
    {"a: {}\n", false},
};

static void test_null_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(null_rows); i++) {
        struct oam_ytree t;
        const struct oam_ynode *v;

        oam_ytree_init(&t);
        assert_int_equal(oam_ytree_parse(&t, null_rows[i].yaml, strlen(null_rows[i].yaml)), 0);
        assert_int_equal(t.n_docs, 1);
        v = oam_ynode_get(t.docs[0], "a");
        assert_non_null(v);
        if (oam_ynode_is_null(v) != null_rows[i].is_null)
            print_message("row %zu\n", i);
        assert_int_equal(oam_ynode_is_null(v), null_rows[i].is_null);
        oam_ytree_release(&t);
    }
}

static void test_tree_shape(void **state)
{
    static const char yaml[] = "a: &x {k: v}\nb: *x\nc: [1, two]\n---\nlast\n";
    struct oam_ytree t;
    const struct oam_ynode *a, *b, *c;

    (void)state;
    oam_ytree_init(&t);
    assert_int_equal(oam_ytree_parse(&t, yaml, strlen(yaml)), 0);
    assert_int_equal(t.n_docs, 2);
    a = oam_ynode_get(t.docs[0], "a");
    b = oam_ynode_get(t.docs[0], "b");
    c = oam_ynode_get(t.docs[0], "c");
    /* An alias is a second reference to its anchor's node, not a copy. */
    assert_ptr_equal(a, b);
    assert_int_equal(a->kind, OAM_YNODE_MAP);
    /* A node starts at its properties (libyaml's start mark: the anchor). */
    assert_int_equal(a->line, 1);
    assert_int_equal(a->col, 4);
    assert_int_equal(c->kind, OAM_YNODE_SEQ);
    assert_int_equal(c->n_kids, 2);
    assert_string_equal(c->kids[1]->text, "two");
    assert_true(c->kids[1]->plain);
    /* Weights count alias targets again: root + 3 keys + a(3) + b(3) + c(3). */
    assert_int_equal(t.docs[0]->weight, 13);
    assert_string_equal(t.docs[1]->text, "last");
    assert_null(oam_ynode_get(t.docs[1], "a"));
    oam_ytree_release(&t);
}

/* ---- project and region resolution ---- */

struct default_row {
    const char *comp_project, *ann_project, *flag_project;
    const char *comp_region, *ann_region, *flag_region;
    const char *project, *region; /* expected; NULL: none */
};

static const struct default_row default_rows[] = {
    {"p-comp", "p-ann", "p-flag", "r-comp", "r-ann", "r-flag", "p-comp", "r-comp"},
    {NULL, "p-ann", "p-flag", NULL, "r-ann", "r-flag", "p-ann", "r-ann"},
    {NULL, NULL, "p-flag", NULL, NULL, "r-flag", "p-flag", "r-flag"},
    {"p-comp", NULL, NULL, NULL, "r-ann", NULL, "p-comp", "r-ann"},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {NULL, "p-ann", NULL, "r-comp", NULL, "r-flag", "p-ann", "r-comp"},
};

static void test_defaults(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(default_rows); i++) {
        const struct default_row *r = &default_rows[i];
        struct oam_app app = {0};
        struct oam_component c = {0};
        struct oam_defaults defs = {r->flag_project, r->flag_region};

        c.project = (char *)(uintptr_t)r->comp_project;
        c.region = (char *)(uintptr_t)r->comp_region;
        app.project = (char *)(uintptr_t)r->ann_project;
        app.region = (char *)(uintptr_t)r->ann_region;
        if (r->project == NULL)
            assert_null(oam_component_project(&app, &c, &defs));
        else
            assert_string_equal(oam_component_project(&app, &c, &defs), r->project);
        if (r->region == NULL)
            assert_null(oam_component_region(&app, &c, &defs));
        else
            assert_string_equal(oam_component_region(&app, &c, &defs), r->region);
    }
}

static void test_defaults_from_flags(void **state)
{
    static const char yaml[] = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: "
                               "{name: t}\nspec: {components: [{name: s, type: cloud-run-job}]}\n";
    struct oam_defaults good = {"flag-proj", "us-east1"}, bad = {"bad proj", "us-east1"};
    struct oam_docset set;

    (void)state;
    load(&set, yaml, &good);
    assert_int_equal(total_errs(&set), 0);
    assert_string_equal(oam_component_project(&set.apps[0], &set.apps[0].comps[0], &good),
                        "flag-proj");
    oam_docset_release(&set);
    load(&set, yaml, &bad);
    assert_non_null(
        find_err(&set, "spec.components[0]", "invalid project 'bad proj' (from --project)"));
    oam_docset_release(&set);
    load(&set, yaml, NULL);
    assert_non_null(find_err(&set, "spec.components[0]", "no project"));
    assert_non_null(find_err(&set, "spec.components[0]", "no region"));
    oam_docset_release(&set);
}

/* ---- selectors ---- */

struct sel_row {
    const char *names; /* comma-separated; NULL: key absent; "": present, empty */
    const char *types;
    const char *traits;
    bool present;
    const char *comp;
    enum oam_comp_type comp_type;
    int trait_type;
    bool empty_all;
    bool want;
};

static const struct sel_row sel_rows[] = {
    /* no selector or an empty one */
    {NULL, NULL, NULL, false, "a", OAM_COMP_SERVICE, -1, true, true},
    {NULL, NULL, NULL, false, "a", OAM_COMP_SERVICE, -1, false, false},
    {NULL, NULL, NULL, true, "a", OAM_COMP_JOB, 0, true, true},
    {NULL, NULL, NULL, true, "a", OAM_COMP_JOB, 0, false, false},
    /* one key */
    {"a,b", NULL, NULL, true, "a", OAM_COMP_SERVICE, -1, false, true},
    {"a,b", NULL, NULL, true, "c", OAM_COMP_SERVICE, -1, true, false},
    {"", NULL, NULL, true, "a", OAM_COMP_SERVICE, -1, true, false},
    {NULL, "cloud-run-job", NULL, true, "a", OAM_COMP_JOB, -1, false, true},
    {NULL, "cloud-run-job", NULL, true, "a", OAM_COMP_SERVICE, -1, true, false},
    {NULL, NULL, "invoker", true, "a", OAM_COMP_SERVICE, OAM_TRAIT_INVOKER, false, true},
    {NULL, NULL, "invoker", true, "a", OAM_COMP_SERVICE, OAM_TRAIT_IAM_BINDINGS, true, false},
    /* a binding from a policy came from no trait */
    {NULL, NULL, "invoker", true, "a", OAM_COMP_SERVICE, -1, true, false},
    /* keys are ANDed */
    {"a", "cloud-run-service", NULL, true, "a", OAM_COMP_SERVICE, -1, false, true},
    {"a", "cloud-run-job", NULL, true, "a", OAM_COMP_SERVICE, -1, true, false},
    {"a", "cloud-run-service", "impersonation", true, "a", OAM_COMP_SERVICE,
     OAM_TRAIT_IMPERSONATION, false, true},
    {"a", "cloud-run-service", "impersonation", true, "b", OAM_COMP_SERVICE,
     OAM_TRAIT_IMPERSONATION, true, false},
    /* names compare exactly */
    {"A", NULL, NULL, true, "a", OAM_COMP_SERVICE, -1, true, false},
};

static void fill(struct oam_strs *s, const char *csv)
{
    const char *p = csv;

    if (csv == NULL)
        return;
    s->present = true;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        struct oam_pos pos = {NULL, 0, 0};
        oam_strs_push(s, xstrndup(p, n), pos);
        p += n;
        if (*p == ',')
            p++;
    }
}

static void test_selector_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(sel_rows); i++) {
        const struct sel_row *r = &sel_rows[i];
        struct oam_selector sel;
        struct oam_component c = {0};

        memset(&sel, 0, sizeof(sel));
        sel.present = r->present;
        fill(&sel.component_names, r->names);
        fill(&sel.component_types, r->types);
        fill(&sel.trait_types, r->traits);
        c.name = (char *)(uintptr_t)r->comp;
        c.type = r->comp_type;
        if (oam_selector_match(&sel, &c, r->trait_type, r->empty_all) != r->want)
            print_message("row %zu\n", i);
        assert_int_equal(oam_selector_match(&sel, &c, r->trait_type, r->empty_all), r->want);
        oam_selector_release(&sel);
    }
    assert_true(oam_selector_match(NULL, &(struct oam_component){0}, -1, true));
    assert_false(oam_selector_match(NULL, &(struct oam_component){0}, -1, false));
}

/* ---- enum spellings ---- */

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < OAM_COMP_TYPE_MAX; i++)
        assert_int_equal(oam_comp_type_from_name(oam_comp_type_name((enum oam_comp_type)i)), i);
    for (int i = 0; i < OAM_TRAIT_TYPE_MAX; i++)
        assert_int_equal(oam_trait_type_from_name(oam_trait_type_name((enum oam_trait_type)i)), i);
    for (int i = 0; i < OAM_POL_TYPE_MAX; i++)
        assert_int_equal(oam_policy_type_from_name(oam_policy_type_name((enum oam_policy_type)i)),
                         i);
    for (int i = 0; i < OAM_GC_STRATEGY_MAX; i++)
        assert_int_equal(oam_gc_strategy_from_name(oam_gc_strategy_name((enum oam_gc_strategy)i)),
                         i);
    assert_string_equal(oam_comp_type_name(OAM_COMP_JOB), "cloud-run-job");
    assert_string_equal(oam_trait_type_name(OAM_TRAIT_SERVICE_IDENTITY), "service-identity");
    assert_string_equal(oam_policy_type_name(OAM_POL_AUTHORITATIVE), "authoritative-bindings");
    assert_string_equal(oam_gc_strategy_name(OAM_GC_ON_APP_DELETE), "onAppDelete");
    assert_string_equal(oam_si_mode_name(OAM_SI_ENFORCE), "enforce");
    assert_string_equal(oam_comp_type_name(OAM_COMP_TYPE_MAX), "unknown");
    assert_int_equal(oam_comp_type_from_name("webservice"), -1);
    assert_int_equal(oam_trait_type_from_name(NULL), -1);
    assert_int_equal(oam_policy_type_from_name("topology"), -1);
    assert_int_equal(oam_gc_strategy_from_name("OnAppUpdate"), -1);
}

/* ---- the canonical printer ---- */

/* print -> parse -> print is a fixed point for every valid app in data. */
static size_t check_fixed_point(const char *file, const char *data, size_t len)
{
    struct oam_docset set;
    size_t checked = 0;

    oam_docset_init(&set);
    oam_parse_file(&set, file, data, len);
    oam_validate_set(&set, NULL);
    for (size_t i = 0; i < set.n_apps; i++) {
        struct oam_docset again;
        char *first, *second;

        if (set.apps[i].errs.n > 0)
            continue;
        first = oam_app_print(&set.apps[i]);
        oam_docset_init(&again);
        oam_parse_file(&again, "printed.yaml", first, strlen(first));
        oam_validate_set(&again, NULL);
        if (again.n_apps != 1 || total_errs(&again) != 0) {
            print_message("%s: the printed form does not re-parse:\n%s", file, first);
            dump(&again);
        }
        assert_int_equal(again.n_apps, 1);
        assert_int_equal(total_errs(&again), 0);
        second = oam_app_print(&again.apps[0]);
        if (strcmp(first, second) != 0)
            print_message("%s:\n--- first\n%s--- second\n%s", file, first, second);
        assert_string_equal(first, second);
        free(second);
        free(first);
        oam_docset_release(&again);
        checked++;
    }
    oam_docset_release(&set);
    return checked;
}

static size_t fixed_point_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t checked = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char *path, *data;
        size_t len;

        if (!(n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0) &&
            !(n > 4 && strcmp(e->d_name + n - 4, ".yml") == 0))
            continue;
        path = xasprintf("%s/%s", dir, e->d_name);
        data = read_file(path, &len);
        assert_non_null(data);
        checked += check_fixed_point(path, data, len);
        free(data);
        free(path);
    }
    closedir(d);
    return checked;
}

static void test_print_fixed_point(void **state)
{
    size_t golden, examples;

    (void)state;
    golden = fixed_point_dir(ROAM_SOURCE_DIR "/test/golden/oam");
    examples = fixed_point_dir(ROAM_SOURCE_DIR "/manifests/examples");
    print_message("fixed point: %zu golden apps, %zu example apps\n", golden, examples);
    /* The golden inputs hold a valid app of every vocabulary item. */
    assert_true(golden >= 14);
    for (size_t i = 0; i < N_ELEMS(valid_rows); i++)
        assert_int_equal(check_fixed_point("row", valid_rows[i], strlen(valid_rows[i])), 1);
}

static void test_print_defaults(void **state)
{
    static const char yaml[] =
        COMPS "    - name: s\n      type: cloud-run-service\n      traits:\n"
              "        - {type: invoker, properties: {members: [group:a@acme.example]}}\n"
              "        - {type: service-identity, properties: {serviceAccount: "
              "s@proj-one.iam.gserviceaccount.com}}\n"
              "  policies:\n    - {name: gc, type: garbage-collect, properties: {rules: [{}]}}\n";
    static const char want[] = "apiVersion: core.oam.dev/v1beta1\n"
                               "kind: Application\n"
                               "metadata:\n"
                               "  name: t\n"
                               "  annotations:\n"
                               "    roam.dev/project: proj-one\n"
                               "    roam.dev/region: europe-west1\n"
                               "spec:\n"
                               "  components:\n"
                               "    - name: s\n"
                               "      type: cloud-run-service\n"
                               "      properties:\n"
                               "        name: s\n"
                               "      traits:\n"
                               "        - type: invoker\n"
                               "          properties:\n"
                               "            role: roles/run.invoker\n"
                               "            members:\n"
                               "              - group:a@acme.example\n"
                               "        - type: service-identity\n"
                               "          properties:\n"
                               "            serviceAccount: s@proj-one.iam.gserviceaccount.com\n"
                               "            mode: verify\n"
                               "  policies:\n"
                               "    - name: gc\n"
                               "      type: garbage-collect\n"
                               "      properties:\n"
                               "        rules:\n"
                               "          - strategy: onAppUpdate\n";
    struct oam_docset set;
    char *s;

    (void)state;
    load(&set, yaml, NULL);
    assert_int_equal(total_errs(&set), 0);
    s = oam_app_print(&set.apps[0]);
    assert_string_equal(s, want);
    free(s);
    oam_docset_release(&set);
}

struct quote_row {
    const char *yaml_value; /* as written in a double-quoted YAML scalar */
    const char *text;       /* the string it means */
    const char *printed;    /* how the printer writes it */
};

static const struct quote_row quote_rows[] = {
    {"plain-text", "plain-text", "plain-text"},
    {"yes", "yes", "\"yes\""},
    {"Null", "Null", "\"Null\""},
    {"123", "123", "\"123\""},
    {"1.5", "1.5", "\"1.5\""},
    {".inf", ".inf", "\".inf\""},
    {"-x", "-x", "\"-x\""},
    {"a: b", "a: b", "\"a: b\""},
    {"a:", "a:", "\"a:\""},
    {"a #b", "a #b", "\"a #b\""},
    {"*alias", "*alias", "\"*alias\""},
    {"&anchor", "&anchor", "\"&anchor\""},
    {"!tag", "!tag", "\"!tag\""},
    {"'single'", "'single'", "\"'single'\""},
    {"say \\\"hi\\\"", "say \"hi\"", "\"say \\\"hi\\\"\""},
    {"back\\\\slash", "back\\slash", "\"back\\\\slash\""},
    {"tab\\there", "tab\there", "\"tab\\there\""},
    {"line\\nbreak", "line\nbreak", "\"line\\nbreak\""},
    {"bell\\a", "bell\a", "\"bell\\x07\""},
    {"caf\\u00e9", "caf\xC3\xA9", "\"caf\xC3\xA9\""},
    {"nel\\N", "nel\xC2\x85", "\"nel\\N\""},
    {"ls\\L", "ls\xE2\x80\xA8", "\"ls\\L\""},
    {"ps\\P", "ps\xE2\x80\xA9", "\"ps\\P\""},
    {"bom\\uFEFF", "bom\xEF\xBB\xBF", "\"bom\\uFEFF\""},
    {"c1\\x9b", "c1\xC2\x9B", "\"c1\\x9B\""},
    {"emoji \\U0001F600", "emoji \xF0\x9F\x98\x80", "\"emoji \xF0\x9F\x98\x80\""},
    {" lead", " lead", "\" lead\""},
    {"trail ", "trail ", "\"trail \""},
    {"", "", "\"\""},
};

static void test_print_quoting(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(quote_rows); i++) {
        const struct quote_row *r = &quote_rows[i];
        char *yaml = xasprintf(
            SVC("{type: invoker, properties: {members: [allUsers], condition: {description: "
                "\"%s\", expression: 'true'}}}"),
            r->yaml_value);
        char *want = xasprintf("description: %s\n", r->printed);
        struct oam_docset set, again;
        const struct oam_cond *c;
        char *s;

        load(&set, yaml, NULL);
        assert_int_equal(total_errs(&set), 0);
        c = set.apps[0].comps[0].traits[0].bindings[0].cond;
        assert_string_equal(c->description, r->text);
        s = oam_app_print(&set.apps[0]);
        if (strstr(s, want) == NULL)
            print_message("row %zu: no '%s' in\n%s", i, want, s);
        assert_non_null(strstr(s, want));
        load(&again, s, NULL);
        assert_int_equal(total_errs(&again), 0);
        assert_string_equal(again.apps[0].comps[0].traits[0].bindings[0].cond->description,
                            r->text);
        oam_docset_release(&again);
        oam_docset_release(&set);
        free(s);
        free(want);
        free(yaml);
    }
}

/* ---- the upstream corpus: accepted, or rejected naming a field ---- */

static void test_upstream_corpus(void **state)
{
    const char *dir = ROAM_SOURCE_DIR "/../shared/oam/upstream";
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t files = 0;

    (void)state;
    if (d == NULL) {
        print_message("skipped: %s not found\n", dir);
        skip();
    }
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name), len;
        struct oam_docset set;
        char *path, *data;

        if (!(n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0))
            continue;
        path = xasprintf("%s/%s", dir, e->d_name);
        data = read_file(path, &len);
        assert_non_null(data);
        oam_docset_init(&set);
        assert_int_equal(oam_parse_file(&set, path, data, len), 0);
        oam_validate_set(&set, NULL);
        assert_int_equal(set.errs.n, 0);
        assert_true(set.n_apps + set.notices.n > 0);
        for (size_t a = 0; a < set.n_apps; a++) {
            const struct err_list *l = &set.apps[a].errs;
            /* None of these use Cloud Run types: each is rejected, and
             * every problem names a field and a position. */
            assert_true(l->n > 0);
            for (size_t i = 0; i < l->n; i++) {
                assert_non_null(l->v[i].path);
                assert_true(strncmp(l->v[i].path, "spec.", 5) == 0 ||
                            strncmp(l->v[i].path, "metadata.", 9) == 0);
                assert_true(l->v[i].line > 0);
            }
        }
        oam_docset_release(&set);
        free(data);
        free(path);
        files++;
    }
    closedir(d);
    assert_true(files >= 10);
}

/* ---- platform configuration ---- */

static void test_config_full(void **state)
{
    static const char yaml[] =
        "guardrails:\n"
        "  noPublicAccess: true\n"
        "  allowedRoles: [roles/run.invoker, projects/p-123456/roles/caller]\n"
        "  allowedMembers:\n"
        "    domains: [acme.example]\n"
        "    memberTypes: [principalSet]\n"
        "protect: [user:breakglass@acme.example]\n"
        "identity: [serviceAccount:roam@roam-prod.iam.gserviceaccount.com]\n"
        "maxRemovals: 25\n";
    struct oam_config cfg;

    (void)state;
    oam_config_init(&cfg);
    assert_int_equal(cfg.max_removals, -1);
    assert_int_equal(oam_config_parse(&cfg, "roam.yaml", yaml, strlen(yaml)), 0);
    assert_int_equal(cfg.errs.n, 0);
    assert_int_equal(cfg.n_guardrails, 3);
    assert_int_equal(cfg.guardrails[0].type, OAM_POL_NO_PUBLIC_ACCESS);
    assert_string_equal(cfg.guardrails[0].path, "guardrails.noPublicAccess");
    assert_int_equal(cfg.guardrails[1].type, OAM_POL_ALLOWED_ROLES);
    assert_int_equal(cfg.guardrails[1].roles.n, 2);
    assert_string_equal(cfg.guardrails[1].roles.v[1], "projects/p-123456/roles/caller");
    assert_string_equal(cfg.guardrails[1].pos.file, "roam.yaml");
    assert_int_equal(cfg.guardrails[1].pos.line, 3);
    assert_int_equal(cfg.guardrails[2].type, OAM_POL_ALLOWED_MEMBERS);
    assert_true(cfg.guardrails[2].domains.present);
    assert_false(cfg.guardrails[2].sa_projects.present);
    assert_string_equal(cfg.guardrails[2].member_types.v[0], "principalSet");
    assert_int_equal(cfg.protect.n, 1);
    assert_string_equal(cfg.identity.v[0], "serviceAccount:roam@roam-prod.iam.gserviceaccount.com");
    assert_int_equal(cfg.max_removals, 25);
    oam_config_release(&cfg);
}

struct config_row {
    const char *yaml;
    const char *path; /* NULL: the config is valid */
    const char *msg;
    size_t n_guardrails; /* valid rows */
};

static const struct config_row config_rows[] = {
    {"", NULL, NULL, 0},
    {"# empty\n", NULL, NULL, 0},
    {"guardrails: {noPublicAccess: false}\n", NULL, NULL, 0},
    {"guardrails: {allowedMembers: {}}\n", NULL, NULL, 1},
    {"guardrails:\nprotect:\nidentity: ~\nmaxRemovals:\n", NULL, NULL, 0},
    {"guardrails: {noPublicAccess: ~, allowedRoles: ~, allowedMembers: ~}\n", NULL, NULL, 0},
    {"guardrails: {allowedRoles: []}\n", NULL, NULL, 1},
    {"maxRemovals: 0\n", NULL, NULL, 0},
    {"extra: 1\n", "extra", "unknown field 'extra'", 0},
    {"guardrails: {noPublicAcess: true}\n", "guardrails.noPublicAcess", "unknown field", 0},
    {"guardrails: {noPublicAccess: 'yes'}\n", "guardrails.noPublicAccess", "expected true or false",
     0},
    {"guardrails: {allowedRoles: [run.invoker]}\n", "guardrails.allowedRoles[0]",
     "invalid role 'run.invoker'", 0},
    {"guardrails: {allowedRoles: roles/run.invoker}\n", "guardrails.allowedRoles",
     "expected a list", 0},
    {"guardrails: {allowedMembers: {memberTypes: [group]}}\n",
     "guardrails.allowedMembers.memberTypes[0]", "invalid member type 'group'", 0},
    {"guardrails: {allowedMembers: {domains: [acme.example], users: [a]}}\n",
     "guardrails.allowedMembers.users", "unknown property 'users'", 0},
    {"protect: ['deleted:user:a@acme.example?uid=1']\n", "protect[0]", "deleted members", 0},
    {"identity: [roam@p.iam.gserviceaccount.com]\n", "identity[0]", "invalid member", 0},
    {"maxRemovals: -1\n", "maxRemovals", "expected a number", 0},
    {"maxRemovals: lots\n", "maxRemovals", "expected a number", 0},
    {"maxRemovals: 99999999999\n", "maxRemovals", "expected a number", 0},
    {"maxRemovals: 1\nmaxRemovals: 2\n", "maxRemovals", "duplicate key", 0},
    {"protect: [!!binary YQ==]\n", "protect[0]", "unsupported tag", 0},
    {"- a\n", "", "expected a mapping, got a list", 0},
    {"maxRemovals: 1\n---\nmaxRemovals: 2\n", "", "must be one document", 0},
    {"guardrails: [\n", "", "did not find expected", 0},
};

static void test_config_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(config_rows); i++) {
        const struct config_row *r = &config_rows[i];
        struct oam_config cfg;
        int ret;

        oam_config_init(&cfg);
        ret = oam_config_parse(&cfg, "roam.yaml", r->yaml, strlen(r->yaml));
        if (r->path == NULL) {
            if (cfg.errs.n != 0)
                print_message("row %zu: %s\n", i, cfg.errs.v[0].msg);
            assert_int_equal(ret, 0);
            assert_int_equal(cfg.errs.n, 0);
            assert_int_equal(cfg.n_guardrails, r->n_guardrails);
        } else {
            const struct err_detail *d = find_in(&cfg.errs, r->path, r->msg);
            if (d == NULL) {
                print_message("row %zu: want '%s' at '%s'\n", i, r->msg, r->path);
                for (size_t j = 0; j < cfg.errs.n; j++)
                    print_message("  %s: %s\n", cfg.errs.v[j].path, cfg.errs.v[j].msg);
            }
            assert_true(ret < 0);
            assert_non_null(d);
            assert_string_equal(d->file, "roam.yaml");
        }
        oam_config_release(&cfg);
    }
}

static void test_config_caps(void **state)
{
    char *big = repeat("", "#234567\n", CAP_CONFIG_BYTES / 8 + 1, "");
    struct oam_config cfg;

    (void)state;
    oam_config_init(&cfg);
    assert_int_equal(oam_config_parse(&cfg, "roam.yaml", big, strlen(big)), ERR_LIMIT);
    assert_non_null(find_in(&cfg.errs, "", "file larger than"));
    oam_config_release(&cfg);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject_rows),       cmocka_unit_test(test_valid_rows),
        cmocka_unit_test(test_decoded_values),    cmocka_unit_test(test_multidoc_notices),
        cmocka_unit_test(test_file_rows),         cmocka_unit_test(test_duplicate_app_names),
        cmocka_unit_test(test_cap_depth),         cmocka_unit_test(test_cap_nodes),
        cmocka_unit_test(test_cap_aliases),       cmocka_unit_test(test_cap_sizes),
        cmocka_unit_test(test_cap_strings),       cmocka_unit_test(test_cap_errors),
        cmocka_unit_test(test_long_cycle),        cmocka_unit_test(test_duplicate_keys_many),
        cmocka_unit_test(test_null_rows),         cmocka_unit_test(test_tree_shape),
        cmocka_unit_test(test_defaults),          cmocka_unit_test(test_defaults_from_flags),
        cmocka_unit_test(test_selector_rows),     cmocka_unit_test(test_names),
        cmocka_unit_test(test_print_fixed_point), cmocka_unit_test(test_print_defaults),
        cmocka_unit_test(test_print_quoting),     cmocka_unit_test(test_upstream_corpus),
        cmocka_unit_test(test_config_full),       cmocka_unit_test(test_config_rows),
        cmocka_unit_test(test_config_caps),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
