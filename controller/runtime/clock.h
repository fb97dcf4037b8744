/*
 * clock.h - injectable time.
 *
 * Code that decides by time (backoff budgets, token expiry, JWT iat) reads
 * a struct clock instead of calling clock_gettime() itself, so tests can
 * substitute a fake clock and advance it without sleeping.  A clock has two
 * readings: monotonic milliseconds (for intervals and deadlines; the origin
 * is arbitrary) and wall-clock seconds since the Unix epoch (for timestamps
 * that leave the process, such as JWT claims).
 *
 * libuv timers keep using the loop's own time; the clock is for decisions,
 * not for waking up.
 */
#ifndef ROAM_CLOCK_H
#define ROAM_CLOCK_H

#include <stdint.h>

struct clock;

typedef uint64_t clock_mono_fn(const struct clock *c);
typedef int64_t clock_wall_fn(const struct clock *c);

struct clock {
    clock_mono_fn *mono_ms; /* monotonic milliseconds */
    clock_wall_fn *wall_s;  /* seconds since 1970-01-01T00:00:00Z */
};

/* The process clock (CLOCK_MONOTONIC, CLOCK_REALTIME); a static object. */
const struct clock *clock_system(void);

/* Readings of c; a NULL c means clock_system(). */
uint64_t clock_mono_ms(const struct clock *c);
int64_t clock_wall_s(const struct clock *c);

/*
 * A fake clock for tests: both readings move only when advanced.  Pass
 * &f->base wherever a const struct clock * is expected.
 */
struct clock_fake {
    struct clock base; /* first member */
    uint64_t mono_ms;
    int64_t wall_ms;
};

/* Starts the fake at the given readings.  Cannot fail. */
void clock_fake_init(struct clock_fake *f, uint64_t mono_ms, int64_t wall_s);
/* Moves both readings forward by ms milliseconds. */
void clock_fake_advance(struct clock_fake *f, uint64_t ms);

#endif
