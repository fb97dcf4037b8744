/*
 * backoff.c - full-jitter exponential backoff and retry budget (see
 * backoff.h).
 */
#include "backoff.h"

#include <stddef.h>

#include "api/common/err.h"

static const struct backoff_policy default_policy = BACKOFF_POLICY_DEFAULT;

static void fill_defaults(struct backoff_policy *p)
{
    if (p->base_ms == 0)
        p->base_ms = default_policy.base_ms;
    if (p->cap_ms == 0)
        p->cap_ms = default_policy.cap_ms;
    if (p->cap_ms < p->base_ms)
        p->cap_ms = p->base_ms;
}

/* splitmix64: spreads nearby seeds (1, 2, 3...) over the whole state. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

void backoff_init(struct backoff *b, const struct backoff_policy *policy, const struct clock *clock,
                  uint64_t seed)
{
    b->pol = policy != NULL ? *policy : default_policy;
    fill_defaults(&b->pol);
    b->clock = clock;
    b->rng = mix(seed);
    if (b->rng == 0)
        b->rng = 0x9e3779b97f4a7c15u;
    backoff_reset(b);
}

void backoff_reset(struct backoff *b)
{
    b->start_ms = clock_mono_ms(b->clock);
    b->attempts = 1;
}

uint64_t backoff_ceiling(const struct backoff_policy *policy, unsigned n)
{
    struct backoff_policy p = *policy;
    uint64_t c;

    fill_defaults(&p);
    c = p.base_ms;
    /* Doubling stops at the cap, so the shift can never overflow. */
    for (unsigned i = 1; i < n && c < p.cap_ms; i++)
        c *= 2;
    return c < p.cap_ms ? c : p.cap_ms;
}

static uint64_t next_random(struct backoff *b)
{
    uint64_t x = b->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return x;
}

int backoff_next(struct backoff *b, uint64_t min_ms, uint64_t *ret_delay_ms)
{
    uint64_t ceiling, delay, elapsed;

    if (b->pol.max_attempts != 0 && b->attempts >= b->pol.max_attempts)
        return ERR_LIMIT;
    ceiling = backoff_ceiling(&b->pol, b->attempts);
    delay = next_random(b) % (ceiling + 1);
    if (delay < min_ms)
        delay = min_ms;
    if (b->pol.max_elapsed_ms != 0) {
        elapsed = clock_mono_ms(b->clock) - b->start_ms;
        if (elapsed > b->pol.max_elapsed_ms || delay > b->pol.max_elapsed_ms - elapsed)
            return ERR_LIMIT;
    }
    b->attempts++;
    *ret_delay_ms = delay;
    return 0;
}
