/*
 * oam_syntax.c - the syntax of names, ids, members and roles in documents.
 *
 * Members and roles are checked by the IAM module (iam_member_parse,
 * iam_role_check) so that there is one definition of each; this file adds
 * what documents in particular may not say (`deleted:` members) and the
 * Google Cloud name rules that the IAM module does not know.
 *
 * Project ids are taken a little more leniently than Google documents them
 * (6 to 30 characters starting with a letter): any 1 to 30 lowercase
 * letters, digits and hyphens, optionally behind a `domain.example:` prefix
 * (the old domain-scoped projects).  What matters is that nothing that would
 * change the shape of a resource name (spaces, slashes) gets through.
 */
#include "oam_int.h"

#include <stdlib.h>
#include <string.h>

#include "../common/caps.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "../iam/iam.h"

static bool lower_or_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool all_of(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        if (!lower_or_digit(s[i]) && strchr(extra, s[i]) == NULL)
            return false;
    return true;
}

bool oam_name_ok(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= 253 && all_of(s, n, "-.") && lower_or_digit(s[0]) &&
           lower_or_digit(s[n - 1]);
}

bool oam_project_ok(const char *s)
{
    const char *colon = strchr(s, ':');
    size_t n;

    if (colon != NULL) {
        size_t dn = (size_t)(colon - s);
        if (dn == 0 || !all_of(s, dn, "-.") || strchr(s, '.') == NULL || strchr(s, '.') > colon)
            return false;
        s = colon + 1;
    }
    n = strlen(s);
    return n >= 1 && n <= 30 && all_of(s, n, "-") && s[0] != '-' && s[n - 1] != '-';
}

bool oam_region_ok(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= 63 && all_of(s, n, "-") && s[0] >= 'a' && s[0] <= 'z' && s[n - 1] != '-';
}

bool oam_resource_name_ok(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= 63 && all_of(s, n, "-") && s[0] >= 'a' && s[0] <= 'z' && s[n - 1] != '-';
}

bool oam_domain_ok(const char *s)
{
    size_t n = strlen(s), label = 0;

    if (n == 0 || n > 253 || strchr(s, '.') == NULL)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char c = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return false;
            label = 0;
        } else if (lower_or_digit(c) || c == '-') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

bool oam_sa_email_ok(const char *s, const char **ret_why)
{
    struct iam_member m;
    const char *why = NULL;
    char *member;

    if (str_has_prefix(s, "serviceAccount:")) {
        *ret_why = "give the e-mail without 'serviceAccount:'";
        return false;
    }
    if (strchr(s, '@') == NULL) {
        *ret_why = "not an e-mail address";
        return false;
    }
    member = xasprintf("serviceAccount:%s", s);
    if (iam_member_parse(member, &m, &why) < 0 || m.deleted ||
        m.kind != IAM_MEMBER_SERVICE_ACCOUNT) {
        *ret_why = why != NULL ? why : "not a service account e-mail";
        free(member);
        return false;
    }
    free(member);
    return true;
}

bool oam_check_member(struct err_list *errs, const struct oam_pos *pos, const char *path,
                      const char *member)
{
    struct iam_member m;
    const char *why = "invalid member";
    char *c;

    if (iam_member_parse(member, &m, &why) == 0 && !m.deleted)
        return true;
    c = oam_clip(member);
    if (iam_member_parse(member, &m, NULL) == 0)
        oam_pos_err(errs, ERR_INVAL, pos, path,
                    "'%s': deleted members cannot be declared (they can only be removed)", c);
    else
        oam_pos_err(errs, ERR_INVAL, pos, path, "invalid member '%s': %s", c, why);
    free(c);
    return false;
}

bool oam_check_role(struct err_list *errs, const struct oam_pos *pos, const char *path,
                    const char *role)
{
    const char *why = "invalid role";
    char *c;

    if (iam_role_check(role, &why) == 0)
        return true;
    c = oam_clip(role);
    oam_pos_err(errs, ERR_INVAL, pos, path, "invalid role '%s': %s", c, why);
    free(c);
    return false;
}

void oam_check_members(struct err_list *errs, const struct oam_strs *s, const char *path)
{
    for (size_t i = 0; i < s->n; i++) {
        char *p = oam_path_idx(path, i);
        oam_check_member(errs, &s->pos[i], p, s->v[i]);
        free(p);
    }
}

void oam_check_roles(struct err_list *errs, const struct oam_strs *s, const char *path)
{
    for (size_t i = 0; i < s->n; i++) {
        char *p = oam_path_idx(path, i);
        oam_check_role(errs, &s->pos[i], p, s->v[i]);
        free(p);
    }
}

static void check_list(struct err_list *errs, const struct oam_strs *s, const char *path,
                       bool (*ok)(const char *), const char *what, const char *hint)
{
    for (size_t i = 0; i < s->n; i++) {
        char *p, *c;
        if (ok(s->v[i]))
            continue;
        p = oam_path_idx(path, i);
        c = oam_clip(s->v[i]);
        oam_pos_err(errs, ERR_INVAL, &s->pos[i], p, "invalid %s '%s'%s", what, c, hint);
        free(c);
        free(p);
    }
}

static bool member_type_ok(const char *s)
{
    return strcmp(s, "principal") == 0 || strcmp(s, "principalSet") == 0;
}

void oam_check_allowed_members(struct err_list *errs, const struct oam_policy *p,
                               const char *props_path)
{
    char *path;

    path = oam_path_key(props_path, "domains");
    check_list(errs, &p->domains, path, oam_domain_ok, "domain", "");
    free(path);
    path = oam_path_key(props_path, "serviceAccountProjects");
    check_list(errs, &p->sa_projects, path, oam_project_ok, "project id", "");
    free(path);
    path = oam_path_key(props_path, "memberTypes");
    check_list(errs, &p->member_types, path, member_type_ok, "member type",
               " (principal or principalSet)");
    free(path);
}
