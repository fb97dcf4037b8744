/*
 * gitd.h - real Git servers for tests, as child processes: `git daemon`
 * (git://), a small HTTP(S) server in front of `git http-backend` that
 * demands a token (test/support/git_http.py), and OpenSSH's sshd (ssh://),
 * each on a free port of 127.0.0.1, plus a shell-command helper to build
 * repositories with the git CLI.
 *
 * Each server runs in its own process group (git daemon forks a child per
 * connection); gitd_stop() sends SIGTERM to that group, SIGKILL after two
 * seconds, and reaps the leader.  A server also gets SIGTERM when the test
 * process dies (PR_SET_PDEATHSIG), so a crashed test leaves nothing behind.
 */
#ifndef ROAM_TEST_GITD_H
#define ROAM_TEST_GITD_H

#include <stdbool.h>
#include <sys/types.h>

struct gitd {
    pid_t pid;
    int port;
    char base[80]; /* "git://127.0.0.1:PORT", "http://..." or "https://..." */
};

/* True when `git daemon` (and, for gitd_http_available, `git http-backend`
 * and python3) can be run here. */
bool gitd_available(void);
bool gitd_http_available(void);

/* A port on 127.0.0.1 nothing listens on right now, or -1. */
int gitd_free_port(void);

/* Serves every repository below base_path (git daemon --export-all).
 * Returns 0 once the port accepts connections, or -1 after printing why. */
int gitd_start(struct gitd *d, const char *base_path);

/* Serves the repositories below project_root over smart HTTP, answering 401
 * unless the request carries basic auth with password `token`; over TLS
 * (https://) when cert and key (PEM files) are not NULL. */
int gitd_http_start(struct gitd *d, const char *project_root, const char *token, const char *cert,
                    const char *key);

/* True when sshd (/usr/sbin/sshd) and ssh-keygen can be run here. */
bool gitd_sshd_available(void);

/* Runs sshd on a free port of 127.0.0.1 with a configuration written into
 * dir: host key dir/ssh_host_ed25519_key (created), keys accepted from
 * dir/authorized_keys, key authentication only.  Repositories are reached
 * by absolute path (ssh://USER@127.0.0.1:PORT/abs/path.git). */
int gitd_sshd_start(struct gitd *d, const char *dir);

void gitd_stop(struct gitd *d);

/* Runs a shell command (printf-style); returns its exit status, or -1.
 * Output goes to the test's stderr. */
int gitd_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command and returns its standard output without the
 * trailing newline (a new string), or NULL when it fails. */
char *gitd_sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
