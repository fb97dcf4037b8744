/*
 * clock.c - the system clock and the fake clock for tests (see clock.h).
 */
#include "clock.h"

#include <stddef.h>
#include <time.h>

static uint64_t system_mono_ms(const struct clock *c)
{
    struct timespec ts;

    (void)c;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t system_wall_s(const struct clock *c)
{
    struct timespec ts;

    (void)c;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static const struct clock system_clock = {system_mono_ms, system_wall_s};

const struct clock *clock_system(void)
{
    return &system_clock;
}

uint64_t clock_mono_ms(const struct clock *c)
{
    if (c == NULL)
        c = &system_clock;
    return c->mono_ms(c);
}

int64_t clock_wall_s(const struct clock *c)
{
    if (c == NULL)
        c = &system_clock;
    return c->wall_s(c);
}

static uint64_t fake_mono_ms(const struct clock *c)
{
    const struct clock_fake *f = (const struct clock_fake *)c;

    return f->mono_ms;
}

static int64_t fake_wall_s(const struct clock *c)
{
    const struct clock_fake *f = (const struct clock_fake *)c;

    return f->wall_ms / 1000;
}

void clock_fake_init(struct clock_fake *f, uint64_t mono_ms, int64_t wall_s)
{
    f->base.mono_ms = fake_mono_ms;
    f->base.wall_s = fake_wall_s;
    f->mono_ms = mono_ms;
    f->wall_ms = wall_s * 1000;
}

void clock_fake_advance(struct clock_fake *f, uint64_t ms)
{
    f->mono_ms += ms;
    f->wall_ms += (int64_t)ms;
}
