/*
 * backoff.h - truncated exponential backoff with full jitter and a retry
 * budget.
 *
 * After the n-th failed attempt (n = 1, 2, ...) the next delay is drawn
 * uniformly from [0, min(cap, base * 2^(n-1))] ("full jitter": retries of
 * many clients spread out instead of arriving in waves), then raised to the
 * minimum the server asked for (Retry-After, RetryInfo.retryDelay).  The
 * budget ends the retries: at most max_attempts attempts in all, and no
 * retry that would start later than max_elapsed_ms after the first attempt.
 * Alternatives rejected: "equal jitter" and decorrelated jitter spread less
 * or are harder to bound; a fixed schedule synchronises clients.
 *
 * Time comes from an injectable clock (clock.h) so tests never sleep.  The
 * random numbers come from a small xorshift generator seeded by the caller,
 * so a test can fix the sequence.  Not thread-safe; one struct per retried
 * operation, on one loop.
 */
#ifndef ROAM_BACKOFF_H
#define ROAM_BACKOFF_H

#include <stdint.h>

#include "controller/runtime/clock.h"

struct backoff_policy {
    uint64_t base_ms;        /* ceiling of the first delay; 0 means 1000 */
    uint64_t cap_ms;         /* largest ceiling; 0 means 32000 */
    unsigned max_attempts;   /* attempts in all, first included; 0 = no limit */
    uint64_t max_elapsed_ms; /* from the first attempt; 0 = no limit */
};

/* Base 1 s, doubling, cap 32 s, 6 attempts, 5 minutes. */
#define BACKOFF_POLICY_DEFAULT                                                                     \
    {                                                                                              \
        1000u, 32000u, 6u, 300000u                                                                 \
    }

struct backoff {
    struct backoff_policy pol;
    const struct clock *clock; /* borrowed; NULL = system clock */
    uint64_t start_ms;         /* clock reading at init/reset */
    unsigned attempts;         /* attempts made, the first included */
    uint64_t rng;              /* xorshift64 state, never 0 */
};

/*
 * Starts a budget at the clock's current reading, counting the first attempt
 * as made.  policy is copied (NULL = BACKOFF_POLICY_DEFAULT); clock is
 * borrowed and must outlive b.  Equal seeds give equal delays.  Cannot
 * fail.
 */
void backoff_init(struct backoff *b, const struct backoff_policy *policy, const struct clock *clock,
                  uint64_t seed);

/* Restarts the budget (attempt count and elapsed time), keeping the rng. */
void backoff_reset(struct backoff *b);

/*
 * Called after a failed attempt: returns 0 and the delay before the next
 * attempt in *ret_delay_ms (counting that attempt as made), or ERR_LIMIT when
 * the budget forbids another attempt (*ret_delay_ms untouched).  min_ms is the
 * smallest acceptable delay (0 when the server gave none); when it alone
 * passes max_elapsed_ms the budget is exhausted too.
 */
int backoff_next(struct backoff *b, uint64_t min_ms, uint64_t *ret_delay_ms);

/* The ceiling of the delay after the n-th failed attempt (n >= 1), before
 * jitter: min(cap, base * 2^(n-1)). */
uint64_t backoff_ceiling(const struct backoff_policy *policy, unsigned n);

#endif
