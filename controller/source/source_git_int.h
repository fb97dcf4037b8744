/*
 * source_git_int.h - the parts of the Git source shared between its files
 * (source_git.c: cache and fetch; source_git_net.c: sockets, deadlines,
 * credentials, host keys; source_git_tree.c: tree -> snapshot;
 * source_git_url.c: URLs).  Not for use outside controller/source and its
 * tests.
 *
 * One sync runs on one thread from start to end, so the state that
 * libgit2's callbacks and the registered socket stream need is reached
 * through a thread-local pointer set for the duration of the call
 * (src_git_net_begin/end): the stream registry of libgit2 is process-wide
 * and its constructors take no payload.
 */
#ifndef ROAM_SOURCE_GIT_INT_H
#define ROAM_SOURCE_GIT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "controller/source/source_git.h"

#define SRC_GIT_MAX_SOCKS 4

/* The state of one sync, as its callbacks and sockets see it. */
struct src_git_call {
    const struct src_git_url *u;
    const struct src_git_opts *o;
    uint64_t deadline_ms;   /* CLOCK_MONOTONIC, milliseconds */
    unsigned timeout_ms;    /* as configured, for messages */
    _Atomic bool timed_out; /* the deadline passed (set by the watchdog too) */
    bool too_big;           /* the download passed CAP_GIT_FETCH_BYTES */
    int auth_attempts;      /* credentials handed out */
    char *auth_why;         /* why credentials were not handed out, or NULL */
    char *hostkey_why;      /* why an SSH host key was refused, or NULL */

    /* The watchdog of an ssh:// sync (see source_git_net.c); under lock. */
    bool watching;
    bool finished;
    pthread_t watchdog;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int socks[SRC_GIT_MAX_SOCKS]; /* connected sockets of this call */
    size_t nsocks;
};

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t src_git_now_ms(void);

/* Registers the deadline-aware socket stream with libgit2; once, after
 * git_libgit2_init().  Returns 0 or a libgit2 error. */
int src_git_net_register(void);

/* Makes c the current thread's call, and for an ssh:// remote starts its
 * watchdog; src_git_net_end() stops the watchdog and clears the call. */
void src_git_net_begin(struct src_git_call *c);
void src_git_net_end(struct src_git_call *c);

/* Fills the libgit2 callbacks (credentials, certificate check, progress)
 * with c as their payload. */
void src_git_net_callbacks(git_remote_callbacks *cb, struct src_git_call *c);

/*
 * Checks an SSH host key (raw, as libssh2 reports it, with its
 * git_cert_ssh_raw_type_t) against a known_hosts file for host:port.
 * Returns 0 when a matching entry exists, ERR_AUTH with a new message in
 * *ret_why when the file has no entry or a different key, ERR_IO when the
 * file cannot be read.
 */
int src_git_hostkey_check(const char *known_hosts, const char *host, int port, const char *key,
                          size_t key_len, int raw_type, char **ret_why);

/* Removes "userinfo@" after every "://" in msg, in place. */
void src_git_scrub_userinfo(char *msg);

/*
 * Reads the documents below path in the tree of commit into *snap (already
 * initialised).  Problems with single files go to snap->errs.  Returns 0,
 * ERR_NOTFOUND when path does not exist at the commit (message in
 * *ret_errmsg), or ERR_IO when the object database fails (message too).
 */
int src_git_tree_read(git_repository *repo, const git_commit *commit, const char *path,
                      struct src_snapshot *snap, char **ret_errmsg);

#endif
