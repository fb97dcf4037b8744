/*
 * source_git.h - a Git repository as a source of declarations (libgit2).
 *
 * A source URL names a remote, a ref and a subdirectory:
 *
 *     git+https://host/org/repo.git?ref=main&path=apps
 *     git+http://host/repo.git         (private networks)
 *     git+ssh://git@host/org/repo.git?ref=v1.2.0
 *     git+file:///srv/repo.git?ref=<40-hex commit>
 *     git://host/repo.git              (git daemon; also git+git://)
 *
 * Each remote gets a bare repository in a cache directory, named by a hash
 * of the remote URL; it is cloned on first use and only fetched afterwards,
 * and it survives restarts.  Documents are read straight from the object
 * database (ref -> commit -> tree -> blobs): there is no working tree and
 * no checkout, so nothing from the repository is ever written as a file.
 *
 * Threads: every function here is synchronous and may be called from any
 * thread, including several at once (libuv's work pool); calls on the same
 * cache directory and remote serialise on a lock file.  The process-wide
 * state is libgit2's own, set up once (pthread_once) on the first call:
 * git_libgit2_init(), a socket stream that honours each call's deadline
 * (git_stream_register), owner validation turned off for the cache, and
 * SSL_CERT_FILE / SSL_CERT_DIR as trust anchors when set.  An ssh:// sync
 * runs a watchdog thread for its duration (see source_git_net.c).  Nothing
 * is ever logged here; secrets (token, key) never appear in a message.
 */
#ifndef ROAM_SOURCE_GIT_H
#define ROAM_SOURCE_GIT_H

#include <stdbool.h>

#include "controller/source/source.h"

/* Without a timeout, src_git_sync() gives up after this long. */
#define SRC_GIT_DEFAULT_TIMEOUT_MS 120000u

/*
 * A parsed source URL.  All strings are owned and freed by
 * src_git_url_release().
 */
struct src_git_url {
    char *remote;  /* what libgit2 fetches: https://host/repo.git, ssh://git@h/r, file:///p */
    char *ref;     /* branch, tag, refs/... name or 40-hex commit; NULL: the remote's HEAD */
    char *path;    /* subdirectory, no leading or trailing '/', "" for the root */
    char *display; /* the URL without userinfo, for messages and snapshot roots */
};

/* True when url is meant for the Git source ("git+..." or "git://"). */
bool src_git_url_is_git(const char *url);

/*
 * Parses a source URL into *ret (written only on success).  Accepted
 * schemes: git+https, git+http, git+ssh, git+file, git+git and git://.
 * Query keys: ref and path (each at most once, %XX-decoded); anything else
 * is refused.  A path may not be absolute or contain `..`, a ref must be a
 * valid ref name or a 40-hex commit, and a password in the URL is refused
 * (the token goes in ROAM_GIT_TOKEN).  Returns 0, or ERR_INVAL with a new
 * message in *ret_errmsg (free it) that never repeats a password.
 */
int src_git_url_parse(const char *url, struct src_git_url *ret, char **ret_errmsg);
void src_git_url_release(struct src_git_url *u);

struct src_git_opts {
    const char *cache_dir;       /* created (0700) when missing; see src_git_default_cache_dir */
    const char *token;           /* ROAM_GIT_TOKEN: HTTP(S) basic password, or NULL */
    const char *ssh_key;         /* ROAM_GIT_SSH_KEY: private key file (KEY.pub used if present) */
    const char *ssh_known_hosts; /* ROAM_GIT_SSH_KNOWN_HOSTS; NULL: ~/.ssh/known_hosts */
    unsigned timeout_ms;         /* the whole call, lock and fetch; 0: the default */
};

/*
 * The default cache directory, a new string: $ROAM_CACHE_DIR/git, else
 * $XDG_CACHE_HOME/roam/git, else $HOME/.cache/roam/git, else
 * /tmp/roam-cache-UID/git.
 */
char *src_git_default_cache_dir(void);

/* The cache repository of u's remote under cache_dir, a new string:
 * cache_dir/<first 32 hex digits of SHA-256(remote)>.git. */
char *src_git_cache_path(const char *cache_dir, const struct src_git_url *u);

/*
 * Brings the cache up to date with u's remote and reads the documents at
 * ref:path.
 *
 * The ref is resolved against the refs the remote advertises (a short name
 * must be exactly one of refs/heads/NAME and refs/tags/NAME: a name that is
 * both is refused as ambiguous); the one ref needed is fetched with a force
 * refspec, so a moved or force-pushed ref is followed.  A 40-hex commit
 * already in the cache needs no network at all; otherwise every branch and
 * tag is fetched and the commit must be among the objects received.
 *
 * known_revision (NULL if none) is the revision of the caller's current
 * snapshot.  When the resolved commit equals it, 1 is returned at once and
 * nothing is downloaded or read: the cheap "did anything change" poll.
 *
 * Every *.yaml / *.yml blob below path is read, recursively, skipping
 * directories whose name starts with '.'.  Refused, each with an entry in
 * errs naming the file and complete = false: symbolic links (mode 120000,
 * whatever their name: they could point outside the path), submodules, a
 * file over CAP_MANIFEST_BYTES, and the file at which CAP_SOURCE_FILES,
 * CAP_SOURCE_BYTES or CAP_GIT_TREE_ENTRIES is reached (reading stops there).
 * File paths are relative to path; revision is the full commit SHA; root is
 * u->display.
 *
 * Returns:
 *   0  *snap initialised and filled (check snap->complete); release it with
 *      src_snapshot_release().  Pass a struct that owns nothing.
 *   1  the commit equals known_revision; *snap not written.
 *   <0 *snap not written, *ret_errmsg a new message (free it) saying what
 *      failed, never the token or any URL userinfo:
 *      ERR_TRANSIENT  connection, transfer or server failure, timeout
 *      ERR_AUTH       credentials refused or missing, host key or
 *                     certificate rejected
 *      ERR_NOTFOUND   "ref 'nope' not found in 'URL'", a path missing at
 *                     the commit, a commit not on the remote
 *      ERR_CONFLICT   an ambiguous ref
 *      ERR_LIMIT      the download passed CAP_GIT_FETCH_BYTES
 *      ERR_IO         the cache cannot be created or locked, or stays
 *                     unreadable after one rebuild
 * A cache that cannot be opened, is not a bare repository of this remote,
 * or fails while reading is removed and cloned again (once per call).
 * Blocks for up to o->timeout_ms (name resolution excepted, which follows
 * the system resolver's own timeouts).
 */
int src_git_sync(const struct src_git_url *u, const struct src_git_opts *o,
                 const char *known_revision, struct src_snapshot *snap, char **ret_errmsg);

#endif
