/*
 * gres.c - URLs, bodies and decoders for Cloud Run and IAM resources (see
 * gres.h).
 */
#include "gres.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

char *gres_base_url(const char *url)
{
    size_t n = strlen(url);

    if (n > 0 && url[n - 1] == '/')
        return xstrdup(url);
    return xasprintf("%s/", url);
}

static bool is_run(const char *r)
{
    return str_has_prefix(r, "projects/") &&
           (strstr(r, "/services/") != NULL || strstr(r, "/jobs/") != NULL) &&
           strstr(r, "/locations/") != NULL;
}

const char *gres_api(const char *resource)
{
    if (is_run(resource))
        return "run";
    if (str_has_prefix(resource, "projects/") && strstr(resource, "/serviceAccounts/") != NULL)
        return "iam";
    return NULL;
}

/* Percent-encodes everything but unreserved characters, '/' and '@'. */
static char *encode_path(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b;

    buf_init(&b, (size_t)-1 / 4);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == '@';
        if (keep) {
            buf_putc(&b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(&b, e, 3);
        }
    }
    return buf_detach(&b, NULL);
}

static char *url_for(const struct gres_endpoints *ep, const char *resource, const char *suffix)
{
    const char *api = gres_api(resource);
    char *path, *url;

    if (api == NULL)
        return NULL;
    path = encode_path(resource);
    if (strcmp(api, "run") == 0)
        url = xasprintf("%sv2/%s%s", ep->run, path, suffix);
    else
        url = xasprintf("%sv1/%s%s", ep->iam, path, suffix);
    free(path);
    return url;
}

char *gres_get_policy_url(const struct gres_endpoints *ep, const char *resource,
                          const char **ret_method)
{
    const char *api = gres_api(resource);

    if (api == NULL)
        return NULL;
    *ret_method = strcmp(api, "run") == 0 ? "GET" : "POST";
    return url_for(ep, resource, ":getIamPolicy?options.requestedPolicyVersion=3");
}

char *gres_set_policy_url(const struct gres_endpoints *ep, const char *resource)
{
    return url_for(ep, resource, ":setIamPolicy");
}

char *gres_get_url(const struct gres_endpoints *ep, const char *resource)
{
    if (!is_run(resource))
        return NULL;
    return url_for(ep, resource, "");
}

char *gres_patch_identity_url(const struct gres_endpoints *ep, const char *resource)
{
    if (!is_run(resource))
        return NULL;
    return url_for(ep, resource,
                   strstr(resource, "/jobs/") != NULL
                       ? "?updateMask=template.template.serviceAccount"
                       : "?updateMask=template.serviceAccount");
}

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *r = xstrdup(s != NULL ? s : "{}");

    free(s);
    json_decref(o);
    return r;
}

char *gres_set_policy_body(const char *policy_json)
{
    /* The policy is already encoded; splice it rather than re-parsing. */
    return xasprintf("{\"policy\":%s}", policy_json);
}

char *gres_identity_body(const char *resource, const char *service_account)
{
    json_t *tmpl = json_pack("{s:s}", "serviceAccount", service_account);
    json_t *o;

    if (strstr(resource, "/jobs/") != NULL)
        tmpl = json_pack("{s:o}", "template", tmpl);
    o = json_pack("{s:o}", "template", tmpl);
    return dump(o);
}

void gres_run_release(struct gres_run *r)
{
    free(r->name);
    free(r->service_account);
    memset(r, 0, sizeof(*r));
}

static void set_err(struct err_detail *err, const char *path, const char *msg)
{
    if (err == NULL)
        return;
    err_detail_release(err);
    err->code = ERR_PARSE;
    err->path = xstrdup(path);
    err->msg = xstrdup(msg);
}

/* Optional string member: absent or null is fine, another type is not. */
static int opt_string(json_t *o, const char *key, const char *path, char **ret,
                      struct err_detail *err)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > CAP_NAME_BYTES) {
        set_err(err, path, "expected a string");
        return ERR_PARSE;
    }
    *ret = xstrdup(json_string_value(v));
    return 0;
}

/* Optional object member. */
static int opt_object(json_t *o, const char *key, const char *path, json_t **ret,
                      struct err_detail *err)
{
    json_t *v = json_object_get(o, key);

    *ret = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        set_err(err, path, "expected an object");
        return ERR_PARSE;
    }
    *ret = v;
    return 0;
}

int gres_run_decode(const char *json, size_t len, bool job, struct gres_run *ret,
                    struct err_detail *err)
{
    json_error_t je;
    json_t *root, *tmpl = NULL, *task = NULL;
    int rc;

    memset(ret, 0, sizeof(*ret));
    if (len > CAP_POLICY_JSON_BYTES * 8) {
        set_err(err, "", "response too large");
        return ERR_LIMIT;
    }
    root = json_loadb(json, len, 0, &je);
    if (root == NULL || !json_is_object(root)) {
        set_err(err, "", root == NULL ? je.text : "expected an object");
        json_decref(root);
        return ERR_PARSE;
    }
    rc = opt_string(root, "name", "name", &ret->name, err);
    if (rc == 0)
        rc = opt_object(root, "template", "template", &tmpl, err);
    if (rc == 0 && tmpl != NULL && job)
        rc = opt_object(tmpl, "template", "template.template", &task, err);
    if (rc == 0 && tmpl != NULL && !job)
        rc = opt_string(tmpl, "serviceAccount", "template.serviceAccount", &ret->service_account,
                        err);
    if (rc == 0 && task != NULL)
        rc = opt_string(task, "serviceAccount", "template.template.serviceAccount",
                        &ret->service_account, err);
    json_decref(root);
    if (rc < 0)
        gres_run_release(ret);
    return rc;
}

/* ---- listing ---- */

/* `projects/P/locations/R` with no further segment. */
static bool is_parent(const char *parent)
{
    const char *loc;

    if (!str_has_prefix(parent, "projects/"))
        return false;
    loc = strstr(parent, "/locations/");
    return loc != NULL && loc > parent + strlen("projects/") &&
           loc[strlen("/locations/")] != '\0' && strchr(loc + strlen("/locations/"), '/') == NULL;
}

/* Percent-encodes a query value (page tokens are opaque). */
static char *encode_query(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b;

    buf_init(&b, (size_t)-1 / 4);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            buf_putc(&b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(&b, e, 3);
        }
    }
    return buf_detach(&b, NULL);
}

char *gres_list_url(const struct gres_endpoints *ep, const char *parent, bool jobs,
                    unsigned page_size, const char *page_token)
{
    char *path, *tok, *url;

    if (!is_parent(parent))
        return NULL;
    path = encode_path(parent);
    tok = page_token != NULL ? encode_query(page_token) : NULL;
    url = xasprintf("%sv2/%s/%s?pageSize=%u%s%s", ep->run, path, jobs ? "jobs" : "services",
                    page_size, tok != NULL ? "&pageToken=" : "", tok != NULL ? tok : "");
    free(tok);
    free(path);
    return url;
}

static int list_items(json_t *arr, const char *key, char ***names, size_t *n, size_t *cap,
                      struct err_detail *err)
{
    size_t i;
    json_t *item;

    if (!json_is_array(arr)) {
        set_err(err, key, "expected an array");
        return ERR_PARSE;
    }
    json_array_foreach (arr, i, item) {
        json_t *name = json_is_object(item) ? json_object_get(item, "name") : NULL;
        char *path;

        if (!json_is_string(name) || json_string_length(name) > CAP_NAME_BYTES) {
            path = xasprintf("%s[%zu].name", key, i);
            set_err(err, path, "expected a string");
            free(path);
            return ERR_PARSE;
        }
        XGROW(*names, *n + 1, *cap);
        (*names)[(*n)++] = xstrdup(json_string_value(name));
    }
    return 0;
}

int gres_list_decode(const char *json, size_t len, bool jobs, char ***names, size_t *n, size_t *cap,
                     char **ret_next, struct err_detail *err)
{
    const char *key = jobs ? "jobs" : "services";
    json_error_t je;
    json_t *root, *items;
    char *next = NULL;
    int rc = 0;

    *ret_next = NULL;
    root = json_loadb(json, len, 0, &je);
    if (root == NULL || !json_is_object(root)) {
        set_err(err, "", root == NULL ? je.text : "expected an object");
        json_decref(root);
        return ERR_PARSE;
    }
    items = json_object_get(root, key);
    if (items != NULL && !json_is_null(items))
        rc = list_items(items, key, names, n, cap, err);
    if (rc == 0)
        rc = opt_string(root, "nextPageToken", "nextPageToken", &next, err);
    json_decref(root);
    if (rc == 0 && next != NULL && next[0] != '\0')
        *ret_next = next;
    else
        free(next);
    return rc;
}

/* ---- service accounts ---- */

char *gres_service_account_url(const struct gres_endpoints *ep, const char *email)
{
    const char *at = strchr(email, '@');
    const char *suffix = ".iam.gserviceaccount.com";
    char *project, *res, *url;

    if (at != NULL && str_has_suffix(at + 1, suffix) && strlen(at + 1) > strlen(suffix))
        project = xstrndup(at + 1, strlen(at + 1) - strlen(suffix));
    else
        project = xstrdup("-");
    res = xasprintf("projects/%s/serviceAccounts/%s", project, email);
    url = url_for(ep, res, "");
    free(res);
    free(project);
    return url;
}

void gres_sa_release(struct gres_sa *sa)
{
    free(sa->name);
    free(sa->email);
    free(sa->unique_id);
    memset(sa, 0, sizeof(*sa));
}

int gres_sa_decode(const char *json, size_t len, struct gres_sa *ret, struct err_detail *err)
{
    json_error_t je;
    json_t *root, *dis;
    int rc;

    memset(ret, 0, sizeof(*ret));
    root = json_loadb(json, len, 0, &je);
    if (root == NULL || !json_is_object(root)) {
        set_err(err, "", root == NULL ? je.text : "expected an object");
        json_decref(root);
        return ERR_PARSE;
    }
    rc = opt_string(root, "name", "name", &ret->name, err);
    if (rc == 0)
        rc = opt_string(root, "email", "email", &ret->email, err);
    if (rc == 0)
        rc = opt_string(root, "uniqueId", "uniqueId", &ret->unique_id, err);
    dis = json_object_get(root, "disabled");
    if (rc == 0 && dis != NULL && !json_is_null(dis)) {
        if (!json_is_boolean(dis)) {
            set_err(err, "disabled", "expected a boolean");
            rc = ERR_PARSE;
        } else {
            ret->disabled = json_is_true(dis);
        }
    }
    json_decref(root);
    if (rc < 0)
        gres_sa_release(ret);
    return rc;
}
