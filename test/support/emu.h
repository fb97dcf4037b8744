/*
 * emu.h - the local Google API emulator (test/emulator/emulator.py) as a
 * child process of a C test, and blocking calls to its control API.
 *
 * emu_start() runs `python3 emulator.py --port 0 --port-file F [--seed S]`
 * in a private temporary directory and waits for the port file; emu_stop()
 * sends SIGTERM (SIGKILL after two seconds) and removes the directory.  The
 * control calls use a libcurl easy handle and block: they are for test setup
 * and checks between loop runs, never from a loop callback that the
 * emulator has to answer concurrently (the emulator is threaded, so even
 * that would work, but tests should not rely on it).
 */
#ifndef ROAM_TEST_EMU_H
#define ROAM_TEST_EMU_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

struct emu {
    pid_t pid;
    int port;
    char dir[64];  /* temporary directory: port file, seed, scratch files */
    char base[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts the emulator with a seed (JSON text; NULL for none).  Returns 0, or
 * -1 after printing why on stderr. */
int emu_start(struct emu *e, const char *seed_json);
/* Stops it and removes its directory (and the files tests put there). */
void emu_stop(struct emu *e);

/* base + path, a new string. */
char *emu_url(const struct emu *e, const char *path);
/* A path inside the emulator's temporary directory, a new string. */
char *emu_path(const struct emu *e, const char *name);
/* Writes text to a file in the temporary directory; returns its path (new
 * string) or NULL. */
char *emu_write_file(const struct emu *e, const char *name, const char *text);

/* A blocking request (json may be NULL); returns the HTTP status, or -1.
 * The body goes to *ret_body (free it) when ret_body is not NULL. */
long emu_call(const struct emu *e, const char *method, const char *path, const char *json,
              char **ret_body);
/* Clears faults and the request log.  Returns 0 or -1. */
int emu_reset(const struct emu *e);
/* Adds fault rules (JSON: one rule or a list).  Returns 0 or -1. */
int emu_fault(const struct emu *e, const char *rules_json);
/* The request log (a JSON array; json_decref it), or NULL. */
json_t *emu_log(const struct emu *e);
/* Log entries with this method (NULL: any) whose path ends with suffix. */
size_t emu_count(const struct emu *e, const char *method, const char *path_suffix);

#endif
