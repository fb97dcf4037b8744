/*
 * emu.c - start, stop and drive the Google API emulator from C tests (see
 * emu.h).
 */
#include "emu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "api/common/buf.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

#ifndef ROAM_SOURCE_DIR
#error "ROAM_SOURCE_DIR must name the source tree"
#endif

#define EMU_SCRIPT ROAM_SOURCE_DIR "/test/emulator/emulator.py"
#define EMU_START_MS 15000

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

char *emu_path(const struct emu *e, const char *name)
{
    return xasprintf("%s/%s", e->dir, name);
}

char *emu_url(const struct emu *e, const char *path)
{
    return xasprintf("%s%s", e->base, path);
}

char *emu_write_file(const struct emu *e, const char *name, const char *text)
{
    char *path = emu_path(e, name);
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        free(path);
        return NULL;
    }
    fputs(text, f);
    fclose(f);
    return path;
}

static void child(const struct emu *e, const char *seed)
{
    char *port_file = emu_path(e, "port");
    int null = open("/dev/null", O_RDWR);

    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
    }
    if (seed != NULL)
        execlp("python3", "python3", EMU_SCRIPT, "--port", "0", "--port-file", port_file, "--seed",
               seed, (char *)NULL);
    else
        execlp("python3", "python3", EMU_SCRIPT, "--port", "0", "--port-file", port_file,
               (char *)NULL);
    _exit(127);
}

static int read_port(const struct emu *e)
{
    char *path = emu_path(e, "port");
    FILE *f = fopen(path, "r");
    char line[32];
    long long port = -1;

    free(path);
    if (f == NULL)
        return -1;
    if (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (str_to_ll(line, 1, 65535, &port) < 0)
            port = -1;
    }
    fclose(f);
    return (int)port;
}

int emu_start(struct emu *e, const char *seed_json)
{
    char *seed = NULL;
    int status;

    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/roam-emu-XXXXXX");
    if (mkdtemp(e->dir) == NULL) {
        perror("emu: mkdtemp");
        return -1;
    }
    if (seed_json != NULL) {
        seed = emu_write_file(e, "seed.json", seed_json);
        if (seed == NULL)
            return -1;
    }
    fflush(NULL);
    e->pid = fork();
    if (e->pid < 0) {
        perror("emu: fork");
        free(seed);
        return -1;
    }
    if (e->pid == 0)
        child(e, seed);
    free(seed);
    for (int waited = 0; waited < EMU_START_MS; waited += 20) {
        e->port = read_port(e);
        if (e->port > 0) {
            snprintf(e->base, sizeof(e->base), "http://127.0.0.1:%d", e->port);
            return 0;
        }
        if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
            fprintf(stderr, "emu: the emulator exited early (status %d)\n", status);
            e->pid = 0;
            return -1;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "emu: no port file after %d ms\n", EMU_START_MS);
    emu_stop(e);
    return -1;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (d == NULL)
        return;
    for (;;) {
        char *p;

        de = readdir(d);
        if (de == NULL)
            break;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        p = xasprintf("%s/%s", dir, de->d_name);
        if (unlink(p) < 0 && errno == EISDIR)
            remove_dir(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

void emu_stop(struct emu *e)
{
    int status;

    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        for (int waited = 0; waited < 2000; waited += 20) {
            if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
                e->pid = 0;
                break;
            }
            sleep_ms(20);
        }
        if (e->pid > 0) {
            kill(e->pid, SIGKILL);
            waitpid(e->pid, &status, 0);
            e->pid = 0;
        }
    }
    if (e->dir[0] != '\0')
        remove_dir(e->dir);
    e->dir[0] = '\0';
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
    return buf_append(data, p, size * n) == 0 ? size * n : 0;
}

long emu_call(const struct emu *e, const char *method, const char *path, const char *json,
              char **ret_body)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL;
    struct buf b;
    char *url;
    long status = -1;

    if (c == NULL)
        return -1;
    buf_init(&b, 64u * 1024u * 1024u);
    url = emu_url(e, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (json != NULL) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    free(url);
    if (ret_body != NULL)
        *ret_body = xstrdup(buf_str(&b));
    buf_release(&b);
    return status;
}

int emu_reset(const struct emu *e)
{
    if (emu_call(e, "DELETE", "/_emulator/faults", NULL, NULL) != 200)
        return -1;
    return emu_call(e, "DELETE", "/_emulator/log", NULL, NULL) == 200 ? 0 : -1;
}

int emu_fault(const struct emu *e, const char *rules_json)
{
    char *body = NULL;
    long st = emu_call(e, "POST", "/_emulator/faults", rules_json, &body);

    if (st != 200)
        fprintf(stderr, "emu: fault rejected (%ld): %s\n", st, body != NULL ? body : "");
    free(body);
    return st == 200 ? 0 : -1;
}

json_t *emu_log(const struct emu *e)
{
    char *body = NULL;
    json_t *log = NULL;

    if (emu_call(e, "GET", "/_emulator/log", NULL, &body) == 200)
        log = json_loads(body, 0, NULL);
    free(body);
    if (log != NULL && !json_is_array(log)) {
        json_decref(log);
        log = NULL;
    }
    return log;
}

size_t emu_count(const struct emu *e, const char *method, const char *path_suffix)
{
    json_t *log = emu_log(e), *entry;
    size_t i, n = 0;

    if (log == NULL)
        return 0;
    json_array_foreach (log, i, entry) {
        const char *m = json_string_value(json_object_get(entry, "method"));
        const char *p = json_string_value(json_object_get(entry, "path"));

        if (m == NULL || p == NULL)
            continue;
        if ((method == NULL || strcmp(m, method) == 0) && str_has_suffix(p, path_suffix))
            n++;
    }
    json_decref(log);
    return n;
}
