/*
 * shard.h - which apps this process owns when a pass is split over several
 * processes (`--shard I/N`, or the tasks of a Cloud Run job).
 *
 * An app belongs to shard  fmix64(fnv1a64(name)) mod N,  where fnv1a64 is
 * 64-bit FNV-1a over the bytes of metadata.name (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3) and fmix64 is MurmurHash3's
 * 64-bit finaliser (x ^= x >> 33; x *= 0xff51afd7ed558ccd; x ^= x >> 33;
 * x *= 0xc4ceb9fe1a85ec53; x ^= x >> 33).  Both are fixed arithmetic on
 * bytes, so the split is the same on every platform and in every version;
 * changing it would move apps between the tasks of a running job, so it is
 * part of the interface and pinned by tests.  The finaliser is there because
 * FNV-1a's low bits are weak (its lowest bit is the parity of the bytes'
 * lowest bits), and `mod N` reads the low bits.  Alternatives rejected:
 * SHA-256 (a dependency for 8 bytes of hash), rendezvous hashing (moves
 * fewer apps when N changes, but tasks of one execution never change N).
 *
 * The shard comes from --shard when given, else from CLOUD_RUN_TASK_INDEX /
 * CLOUD_RUN_TASK_COUNT (set on every Cloud Run job task), else 0/1 (own
 * everything).
 */
#ifndef ROAM_SHARD_H
#define ROAM_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include "api/common/caps.h"

/* Cloud Run jobs run at most 10,000 tasks; more shards make no sense. */
#define SHARD_MAX_COUNT CAP_SHARD_COUNT

struct shard {
    unsigned index; /* 0 <= index < count */
    unsigned count; /* >= 1 */
};

/* All apps: 0/1. */
#define SHARD_ALL                                                                                  \
    {                                                                                              \
        0u, 1u                                                                                     \
    }

/*
 * Parses "I/N" (decimal, no signs, no spaces, 0 <= I < N <= SHARD_MAX_COUNT)
 * into *ret.  Returns 0, or ERR_PARSE / ERR_LIMIT with a static reason in
 * *ret_why (when not NULL); *ret is untouched on failure.
 */
int shard_parse(const char *s, struct shard *ret, const char **ret_why);

/*
 * The shard to use: flag (the --shard value) when not NULL, else the two
 * environment values given (normally getenv("CLOUD_RUN_TASK_INDEX") and
 * getenv("CLOUD_RUN_TASK_COUNT")) when both are set, else 0/1.  Returns 0 or
 * an error as shard_parse, with a reason naming the source.  One variable
 * set without the other is an error.
 */
int shard_resolve(const char *flag, const char *task_index, const char *task_count,
                  struct shard *ret, const char **ret_why);

/* shard_resolve with the process environment. */
int shard_from_env(const char *flag, struct shard *ret, const char **ret_why);

/* fmix64(fnv1a64(name)), see above. */
uint64_t shard_hash(const char *name);
/* 64-bit FNV-1a alone, exposed for the test vectors. */
uint64_t shard_fnv1a64(const char *s);

/* Whether s owns the app called name.  A NULL s owns everything. */
bool shard_owns(const struct shard *s, const char *name);

#endif
