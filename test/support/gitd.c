/*
 * gitd.c - git daemon and git http-backend as test servers (see gitd.h).
 *
 * A free port is found by binding port 0 and closing the socket; the small
 * window in which another process could take it is acceptable for tests,
 * and start-up fails loudly (it never hangs) if it happens.
 */
#include "gitd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/common/xalloc.h"

#define GITD_START_MS 10000
#define GIT_HTTP_SCRIPT ROAM_SOURCE_DIR "/test/support/git_http.py"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

int gitd_sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int st;

    va_start(ap, fmt);
    cmd = xvasprintf(fmt, ap);
    va_end(ap);
    fflush(NULL);
    st = system(cmd);
    free(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

char *gitd_sh_out(const char *fmt, ...)
{
    va_list ap;
    char *cmd, line[4096];
    FILE *p;
    size_t n;

    va_start(ap, fmt);
    cmd = xvasprintf(fmt, ap);
    va_end(ap);
    fflush(NULL);
    p = popen(cmd, "r");
    free(cmd);
    if (p == NULL)
        return NULL;
    n = fread(line, 1, sizeof(line) - 1, p);
    line[n] = '\0';
    if (pclose(p) != 0)
        return NULL;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return xstrdup(line);
}

bool gitd_available(void)
{
    return gitd_sh("git daemon --help >/dev/null 2>&1 || "
                   "test -x \"$(git --exec-path)/git-daemon\"") == 0;
}

bool gitd_http_available(void)
{
    return gitd_sh("test -x \"$(git --exec-path)/git-http-backend\" && "
                   "python3 -c 'import http.server' >/dev/null 2>&1") == 0;
}

int gitd_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static bool accepts(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok;

    if (fd < 0)
        return false;
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* Forks argv into its own process group and waits until port accepts. */
static int spawn(struct gitd *d, const char *const argv[], const char *scheme)
{
    int status;

    fflush(NULL);
    d->pid = fork();
    if (d->pid < 0) {
        perror("gitd: fork");
        return -1;
    }
    if (d->pid == 0) {
        char *copy[16] = {0};

        for (int i = 0; argv[i] != NULL && i < 15; i++)
            copy[i] = strdup(argv[i]);
        setpgid(0, 0);
        /* Dies with the test, even when the test dies without teardown. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execvp(copy[0], copy);
        _exit(127);
    }
    setpgid(d->pid, d->pid);
    for (int waited = 0; waited < GITD_START_MS; waited += 20) {
        if (accepts(d->port)) {
            snprintf(d->base, sizeof(d->base), "%s://127.0.0.1:%d", scheme, d->port);
            return 0;
        }
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            fprintf(stderr, "gitd: %s exited early (status %d)\n", argv[0], status);
            d->pid = 0;
            return -1;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "gitd: port %d not accepting after %d ms\n", d->port, GITD_START_MS);
    gitd_stop(d);
    return -1;
}

int gitd_start(struct gitd *d, const char *base_path)
{
    char port[32], base[4200];
    const char *argv[] = {"git",          "daemon",
                          "--export-all", base,
                          "--reuseaddr",  "--listen=127.0.0.1",
                          port,           "--informative-errors",
                          base_path,      NULL};

    memset(d, 0, sizeof(*d));
    d->port = gitd_free_port();
    if (d->port < 0)
        return -1;
    snprintf(port, sizeof(port), "--port=%d", d->port);
    snprintf(base, sizeof(base), "--base-path=%s", base_path);
    return spawn(d, argv, "git");
}

int gitd_http_start(struct gitd *d, const char *project_root, const char *token, const char *cert,
                    const char *key)
{
    char port[16];
    const char *argv[] = {"python3", GIT_HTTP_SCRIPT, port, project_root, token, cert, key, NULL};

    memset(d, 0, sizeof(*d));
    d->port = gitd_free_port();
    if (d->port < 0)
        return -1;
    snprintf(port, sizeof(port), "%d", d->port);
    return spawn(d, argv, cert != NULL ? "https" : "http");
}

bool gitd_sshd_available(void)
{
    return access("/usr/sbin/sshd", X_OK) == 0 && gitd_sh("command -v ssh-keygen >/dev/null") == 0;
}

int gitd_sshd_start(struct gitd *d, const char *dir)
{
    char *cfg = xasprintf("%s/sshd_config", dir);
    const char *argv[] = {"/usr/sbin/sshd", "-D", "-e", "-f", cfg, NULL};
    FILE *f;
    int r;

    memset(d, 0, sizeof(*d));
    d->port = gitd_free_port();
    /* Privilege separation wants its empty directory when run as root. */
    if (d->port < 0 || gitd_sh("mkdir -p /run/sshd && test -f '%s/ssh_host_ed25519_key' || "
                               "ssh-keygen -q -t ed25519 -N '' -f '%s/ssh_host_ed25519_key'",
                               dir, dir) != 0) {
        free(cfg);
        return -1;
    }
    f = fopen(cfg, "w");
    if (f == NULL) {
        free(cfg);
        return -1;
    }
    fprintf(f,
            "Port %d\nListenAddress 127.0.0.1\nHostKey %s/ssh_host_ed25519_key\n"
            "AuthorizedKeysFile %s/authorized_keys\nPidFile none\nStrictModes no\nUsePAM no\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nLogLevel ERROR\n",
            d->port, dir, dir);
    fclose(f);
    r = spawn(d, argv, "ssh");
    free(cfg);
    return r;
}

void gitd_stop(struct gitd *d)
{
    int status;

    if (d->pid <= 0)
        return;
    kill(-d->pid, SIGTERM);
    for (int waited = 0; waited < 2000; waited += 20) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return;
        }
        sleep_ms(20);
    }
    kill(-d->pid, SIGKILL);
    waitpid(d->pid, &status, 0);
    d->pid = 0;
}
