/*
 * source_git_net.c - the network side of the Git source: a socket stream
 * with a deadline, credentials, certificate and host-key checks, progress.
 *
 * Deadlines.  libgit2 1.5 has no connect or I/O timeout (1.7 added
 * GIT_OPT_SET_SERVER_TIMEOUT), and its progress callbacks run only when data
 * arrives, so a server that accepts and then says nothing would hang a sync
 * for ever.  We therefore register our own plain socket stream
 * (git_stream_register, GIT_STREAM_STANDARD): every connect, read and write
 * waits in poll() for at most the time left until the current call's
 * deadline.  libgit2 builds its TLS streams (mbedTLS here) and the git://
 * and SSH transports on top of the standard stream, so one stream covers
 * them all.  The progress callbacks check the deadline too.
 *
 * SSH is the exception: once connected, libssh2 reads and writes the
 * descriptor itself, in blocking mode and without a timeout.  An ssh://
 * sync therefore also gets a watchdog thread, which at the deadline calls
 * shutdown() on the call's sockets: libssh2's poll() returns, its recv()
 * sees the end of the stream, and the transport fails.  The stream struct
 * mirrors libgit2's git_socket_stream layout ({parent, host, port, fd})
 * because the SSH transport of libgit2 1.5 reads the descriptor from that
 * position.
 *
 * Alternatives rejected: the watchdog for every scheme (a thread per sync
 * where poll() does the job); signals (process-wide, and EINTR handling
 * inside libgit2 is not something to rely on); SO_RCVTIMEO (libssh2 turns
 * EAGAIN into an unbounded poll(), and it cannot bound connect()).
 *
 * Credentials.  HTTP(S) gets basic auth with the token as the password and
 * the URL's user name, or "x-access-token", as the user; SSH gets the key
 * file.  Credentials are handed out once per call and only to the scheme,
 * host and port of the configured remote, so a redirect cannot carry the
 * token elsewhere.  SSH host keys are checked against the configured
 * known_hosts file (default ~/.ssh/known_hosts), and our verdict is final:
 * libgit2 1.5.1 checks ~/.ssh/known_hosts itself, but only that file, and
 * earlier 1.5 releases check nothing (CVE-2023-22742).
 */
#include "source_git_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2/sys/stream.h>
#include <libssh2.h>

#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

#define MAX_KNOWN_HOSTS_BYTES ((size_t)1 << 20)
#define MAX_KNOWN_HOSTS_LINE 16384u

/* Same layout as libgit2's git_socket_stream (see the file comment). */
struct dstream {
    git_stream parent;
    char *host;
    char *port;
    int s;
};

static _Thread_local struct src_git_call *cur;

uint64_t src_git_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* -- the SSH watchdog --------------------------------------------------------------- */

/* Shuts down every socket of the call: a blocked poll() or recv() in
 * libssh2 returns, and the transport fails.  The descriptors stay open
 * (their owners close them), so none can be reused under us.  Under lock. */
static void shut_socks(struct src_git_call *c)
{
    for (size_t i = 0; i < c->nsocks; i++)
        shutdown(c->socks[i], SHUT_RDWR);
}

static void *watchdog_main(void *arg)
{
    struct src_git_call *c = arg;
    struct timespec at = {.tv_sec = (time_t)(c->deadline_ms / 1000u),
                          .tv_nsec = (long)(c->deadline_ms % 1000u) * 1000000L};

    pthread_mutex_lock(&c->lock);
    while (!c->finished) {
        if (pthread_cond_timedwait(&c->wake, &c->lock, &at) == ETIMEDOUT && !c->finished) {
            c->timed_out = true;
            shut_socks(c);
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void watchdog_start(struct src_git_call *c)
{
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->lock, NULL);
    c->watching = pthread_create(&c->watchdog, NULL, watchdog_main, c) == 0;
    if (!c->watching) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
    }
}

static void watch_sock(int fd)
{
    if (cur == NULL || !cur->watching)
        return;
    pthread_mutex_lock(&cur->lock);
    if (cur->nsocks < SRC_GIT_MAX_SOCKS)
        cur->socks[cur->nsocks++] = fd;
    if (cur->timed_out)
        shutdown(fd, SHUT_RDWR);
    pthread_mutex_unlock(&cur->lock);
}

static void unwatch_sock(int fd)
{
    if (cur == NULL || !cur->watching)
        return;
    pthread_mutex_lock(&cur->lock);
    for (size_t i = 0; i < cur->nsocks; i++) {
        if (cur->socks[i] == fd) {
            cur->socks[i] = cur->socks[--cur->nsocks];
            break;
        }
    }
    pthread_mutex_unlock(&cur->lock);
}

void src_git_net_begin(struct src_git_call *c)
{
    cur = c;
    /* Only SSH needs it: every other transport reads through ds_read(). */
    if (str_has_prefix(c->u->remote, "ssh://"))
        watchdog_start(c);
}

void src_git_net_end(struct src_git_call *c)
{
    if (c->watching) {
        pthread_mutex_lock(&c->lock);
        c->finished = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->watchdog, NULL);
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        c->watching = false;
    }
    cur = NULL;
}

/* Milliseconds left for the current call: -1 without one, 0 when expired. */
static int remaining_ms(void)
{
    uint64_t now;

    if (cur == NULL)
        return -1;
    now = src_git_now_ms();
    if (now >= cur->deadline_ms)
        return 0;
    return cur->deadline_ms - now > INT_MAX ? INT_MAX : (int)(cur->deadline_ms - now);
}

static bool expired(struct src_git_call *c)
{
    if (c != NULL && src_git_now_ms() >= c->deadline_ms)
        c->timed_out = true;
    return c != NULL && c->timed_out;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int ms = remaining_ms();
        int r;

        if (ms == 0)
            return 0;
        r = poll(&p, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r != 0)
            return r < 0 ? -1 : 1;
    }
}

static int timed_out(const char *what, const struct dstream *st)
{
    if (cur != NULL)
        cur->timed_out = true;
    git_error_set(GIT_ERROR_NET, "timed out %s '%s' port %s", what, st->host, st->port);
    return -1;
}

/* Connects a non-blocking socket: 0, -1 (errno set) or 1 (deadline). */
static int connect_fd(int fd, const struct addrinfo *ai)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    int w;

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -1;
    w = wait_fd(fd, POLLOUT);
    if (w == 0)
        return 1;
    if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return -1;
    errno = soerr;
    return soerr == 0 ? 0 : -1;
}

static int ds_connect(git_stream *stream)
{
    struct dstream *st = (struct dstream *)stream;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res, *ai;
    int err, last = ECONNREFUSED, fl;
    bool late = false;

    err = getaddrinfo(st->host, st->port, &hints, &res);
    if (err != 0) {
        git_error_set(GIT_ERROR_NET, "cannot resolve '%s': %s", st->host, gai_strerror(err));
        return -1;
    }
    for (ai = res; ai != NULL && st->s < 0 && !late; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        int r;

        if (fd < 0) {
            last = errno;
            continue;
        }
        r = connect_fd(fd, ai);
        if (r == 0) {
            st->s = fd;
            break;
        }
        last = errno;
        late = r == 1;
        close(fd);
    }
    freeaddrinfo(res);
    if (late)
        return timed_out("connecting to", st);
    if (st->s < 0) {
        git_error_set(GIT_ERROR_NET, "cannot connect to '%s' port %s: %s", st->host, st->port,
                      strerror(last));
        return -1;
    }
    /* libssh2 takes the descriptor and expects blocking I/O; our own reads
     * and writes pass MSG_DONTWAIT instead. */
    fl = fcntl(st->s, F_GETFL);
    if (fl >= 0)
        fcntl(st->s, F_SETFL, fl & ~O_NONBLOCK);
    watch_sock(st->s);
    return 0;
}

static ssize_t ds_read(git_stream *stream, void *data, size_t len)
{
    struct dstream *st = (struct dstream *)stream;

    for (;;) {
        ssize_t r = recv(st->s, data, len, MSG_DONTWAIT);
        int w;

        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        w = wait_fd(st->s, POLLIN);
        if (w == 0)
            return timed_out("reading from", st);
        if (w < 0)
            break;
    }
    git_error_set(GIT_ERROR_NET, "cannot read from '%s' port %s: %s", st->host, st->port,
                  strerror(errno));
    return -1;
}

static ssize_t ds_write(git_stream *stream, const char *data, size_t len, int flags)
{
    struct dstream *st = (struct dstream *)stream;
    size_t off = 0;

    (void)flags;
    while (off < len) {
        ssize_t r = send(st->s, data + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        int w;

        if (r >= 0) {
            off += (size_t)r;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            goto out_error;
        w = wait_fd(st->s, POLLOUT);
        if (w == 0)
            return timed_out("writing to", st);
        if (w < 0)
            goto out_error;
    }
    return (ssize_t)len;
out_error:
    git_error_set(GIT_ERROR_NET, "cannot write to '%s' port %s: %s", st->host, st->port,
                  strerror(errno));
    return -1;
}

static int ds_close(git_stream *stream)
{
    struct dstream *st = (struct dstream *)stream;
    int r = 0;

    if (st->s >= 0) {
        unwatch_sock(st->s);
        r = close(st->s);
    }
    st->s = -1;
    return r;
}

static void ds_free(git_stream *stream)
{
    struct dstream *st = (struct dstream *)stream;

    free(st->host);
    free(st->port);
    free(st);
}

static int ds_new(git_stream **out, const char *host, const char *port)
{
    struct dstream *st = calloc(1, sizeof(*st));

    if (st == NULL)
        goto out_oom;
    st->host = strdup(host);
    st->port = strdup(port != NULL ? port : "");
    if (st->host == NULL || st->port == NULL)
        goto out_oom;
    st->parent.version = GIT_STREAM_VERSION;
    st->parent.connect = ds_connect;
    st->parent.read = ds_read;
    st->parent.write = ds_write;
    st->parent.close = ds_close;
    st->parent.free = ds_free;
    st->s = -1;
    *out = &st->parent;
    return 0;
out_oom:
    if (st != NULL)
        ds_free(&st->parent);
    git_error_set_oom();
    return -1;
}

int src_git_net_register(void)
{
    git_stream_registration reg = {.version = GIT_STREAM_VERSION, .init = ds_new};

    return git_stream_register(GIT_STREAM_STANDARD, &reg);
}

/* -- credentials ------------------------------------------------------------------ */

/* "scheme://host[:port]" of a URL, without userinfo and without the
 * scheme's default port: a new string. */
static char *origin_of(const char *url)
{
    static const char *const defaults[] = {"https:443", "http:80", "ssh:22", "git:9418"};
    const char *sep = strstr(url, "://");
    const char *auth, *end, *at;
    size_t slen;

    if (sep == NULL)
        return xstrdup(url);
    slen = (size_t)(sep - url);
    auth = sep + 3;
    end = auth + strcspn(auth, "/?#");
    at = memchr(auth, '@', (size_t)(end - auth));
    if (at != NULL)
        auth = at + 1;
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        const char *port = strchr(defaults[i], ':');
        size_t plen = strlen(port);

        if ((size_t)(port - defaults[i]) == slen && strncmp(url, defaults[i], slen) == 0 &&
            (size_t)(end - auth) > plen && strncmp(end - plen, port, plen) == 0)
            end -= plen;
    }
    return xasprintf("%.*s://%.*s", (int)slen, url, (int)(end - auth), auth);
}

static bool same_origin(const char *a, const char *b)
{
    char *oa = origin_of(a), *ob = origin_of(b);
    bool eq = str_eq_ci(oa, ob);

    free(oa);
    free(ob);
    return eq;
}

static int refuse_auth(struct src_git_call *c, char *why)
{
    free(c->auth_why);
    c->auth_why = why;
    git_error_set_str(GIT_ERROR_CALLBACK, why);
    return GIT_EAUTH;
}

static int ssh_key_cred(git_credential **out, struct src_git_call *c, const char *user)
{
    char *pub = xasprintf("%s.pub", c->o->ssh_key);
    struct stat st;
    int r;

    if (stat(c->o->ssh_key, &st) < 0) {
        int e = errno;

        free(pub);
        return refuse_auth(
            c, xasprintf("cannot read the SSH key file '%s': %s", c->o->ssh_key, strerror(e)));
    }
    r = git_credential_ssh_key_new(out, user, stat(pub, &st) == 0 ? pub : NULL, c->o->ssh_key,
                                   NULL);
    free(pub);
    return r;
}

static int on_credentials(git_credential **out, const char *url, const char *user,
                          unsigned int allowed, void *payload)
{
    struct src_git_call *c = payload;
    bool ssh = str_has_prefix(c->u->remote, "ssh://");

    if (expired(c))
        return refuse_auth(c, xstrdup("timed out waiting for authentication"));
    if (!same_origin(url, c->u->remote))
        return refuse_auth(c, xstrdup("refusing to send credentials to a host other than the "
                                      "configured remote (redirected)"));
    if ((allowed & GIT_CREDENTIAL_USERNAME) != 0 && ssh)
        return git_credential_username_new(out, user != NULL ? user : "git");
    if (c->auth_attempts > 0)
        return refuse_auth(c, xstrdup(ssh ? "the SSH key was refused (ROAM_GIT_SSH_KEY)"
                                          : "the token was refused (ROAM_GIT_TOKEN)"));
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) != 0 && !ssh && c->o->token != NULL &&
        c->o->token[0] != '\0') {
        c->auth_attempts++;
        return git_credential_userpass_plaintext_new(out, user != NULL ? user : "x-access-token",
                                                     c->o->token);
    }
    if ((allowed & GIT_CREDENTIAL_SSH_KEY) != 0 && ssh && c->o->ssh_key != NULL &&
        c->o->ssh_key[0] != '\0') {
        c->auth_attempts++;
        return ssh_key_cred(out, c, user != NULL ? user : "git");
    }
    return refuse_auth(c, xstrdup(ssh ? "the server requires authentication; set ROAM_GIT_SSH_KEY"
                                      : "the server requires authentication; set ROAM_GIT_TOKEN"));
}

/* -- host keys and certificates ---------------------------------------------------- */

static int key_mask(int raw_type)
{
    switch (raw_type) {
    case GIT_CERT_SSH_RAW_TYPE_RSA:
        return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case GIT_CERT_SSH_RAW_TYPE_DSS:
        return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256:
        return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384:
        return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521:
        return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519:
        return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default:
        return 0;
    }
}

/* Adds every line libssh2 understands; others (markers, exotic key types,
 * comments) are skipped rather than failing the whole file. */
static int load_known_hosts(LIBSSH2_KNOWNHOSTS *kh, const char *file, char **ret_why)
{
    FILE *f = fopen(file, "re");
    char line[MAX_KNOWN_HOSTS_LINE];
    size_t total = 0;

    if (f == NULL) {
        *ret_why = xasprintf("cannot read known hosts file '%s': %s", file, strerror(errno));
        return ERR_IO;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);

        total += n;
        if (total > MAX_KNOWN_HOSTS_BYTES) {
            fclose(f);
            *ret_why = xasprintf("known hosts file '%s' is larger than 1 MiB", file);
            return ERR_LIMIT;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        (void)libssh2_knownhost_readline(kh, line, n, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    }
    fclose(f);
    return 0;
}

int src_git_hostkey_check(const char *known_hosts, const char *host, int port, const char *key,
                          size_t key_len, int raw_type, char **ret_why)
{
    LIBSSH2_SESSION *session = libssh2_session_init();
    LIBSSH2_KNOWNHOSTS *kh = NULL;
    struct libssh2_knownhost *found = NULL;
    int mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key_mask(raw_type);
    int r;

    *ret_why = NULL;
    if (session != NULL)
        kh = libssh2_knownhost_init(session);
    if (kh == NULL) {
        *ret_why = xstrdup("cannot initialise libssh2");
        r = ERR_NOMEM;
        goto out_free;
    }
    r = load_known_hosts(kh, known_hosts, ret_why);
    if (r < 0)
        goto out_free;
    switch (libssh2_knownhost_checkp(kh, host, port, key, key_len, mask, &found)) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
        r = 0;
        break;
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
        *ret_why = xasprintf("the host key of '%s' does not match its entry in '%s'; refusing "
                             "to connect",
                             host, known_hosts);
        r = ERR_AUTH;
        break;
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
        *ret_why = xasprintf("host '%s' is not in the known hosts file '%s'", host, known_hosts);
        r = ERR_AUTH;
        break;
    default:
        *ret_why = xasprintf("cannot check the host key of '%s'", host);
        r = ERR_AUTH;
        break;
    }
out_free:
    if (kh != NULL)
        libssh2_knownhost_free(kh);
    if (session != NULL)
        libssh2_session_free(session);
    return r;
}

/* The port of an ssh:// remote, 22 by default. */
static int ssh_port(const char *remote)
{
    const char *auth = remote + strlen("ssh://");
    const char *end = auth + strcspn(auth, "/");
    const char *at = memchr(auth, '@', (size_t)(end - auth));
    const char *host = at != NULL ? at + 1 : auth;
    const char *bracket = host[0] == '[' ? memchr(host, ']', (size_t)(end - host)) : NULL;
    const char *from = bracket != NULL ? bracket : host;
    const char *colon = memchr(from, ':', (size_t)(end - from));
    char buf[8] = {0};
    long long v;

    if (colon == NULL || (size_t)(end - colon - 1) >= sizeof(buf))
        return 22;
    memcpy(buf, colon + 1, (size_t)(end - colon - 1));
    return str_to_ll(buf, 1, 65535, &v) == 0 ? (int)v : 22;
}

static char *known_hosts_path(const struct src_git_opts *o)
{
    const char *home = getenv("HOME");

    if (o->ssh_known_hosts != NULL && o->ssh_known_hosts[0] != '\0')
        return xstrdup(o->ssh_known_hosts);
    return xasprintf("%s/.ssh/known_hosts", home != NULL && home[0] != '\0' ? home : "");
}

static int refuse_cert(struct src_git_call *c, char *why)
{
    free(c->hostkey_why);
    c->hostkey_why = why;
    git_error_set_str(GIT_ERROR_CALLBACK, why);
    return GIT_ECERTIFICATE;
}

static int on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
    struct src_git_call *c = payload;
    const git_cert_hostkey *hk;
    char *why = NULL, *file;
    int r;

    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) {
        if (valid)
            return 0;
        return refuse_cert(c, xasprintf("the TLS certificate of '%s' is not valid", host));
    }
    hk = (const git_cert_hostkey *)cert;
    if ((hk->type & GIT_CERT_SSH_RAW) == 0 || key_mask((int)hk->raw_type) == 0)
        return refuse_cert(c, xasprintf("cannot check the host key of '%s'", host));
    file = known_hosts_path(c->o);
    r = src_git_hostkey_check(file, host, ssh_port(c->u->remote), hk->hostkey, hk->hostkey_len,
                              (int)hk->raw_type, &why);
    free(file);
    if (r < 0)
        return refuse_cert(c, why);
    return 0;
}

/* -- progress ---------------------------------------------------------------------- */

static int on_transfer(const git_indexer_progress *stats, void *payload)
{
    struct src_git_call *c = payload;

    if (stats->received_bytes > CAP_GIT_FETCH_BYTES) {
        c->too_big = true;
        return -1;
    }
    return expired(c) ? -1 : 0;
}

static int on_sideband(const char *str, int len, void *payload)
{
    (void)str;
    (void)len;
    return expired(payload) ? -1 : 0;
}

void src_git_net_callbacks(git_remote_callbacks *cb, struct src_git_call *c)
{
    git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
    cb->credentials = on_credentials;
    cb->certificate_check = on_certificate;
    cb->transfer_progress = on_transfer;
    cb->sideband_progress = on_sideband;
    cb->payload = c;
}
