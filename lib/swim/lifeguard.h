/* Pure maths of SWIM + Lifeguard: suspicion timeouts, retransmit limits and
 * the local health (awareness) scaling. No state, no side effects, so each is
 * table-tested in tests/unit/test_swim_math.c.
 *
 * The formulas follow HashiCorp memberlist (suspicion.go, awareness.go,
 * util.go), which follow the Lifeguard paper (Dadgar et al., 2018). */
#ifndef SWIMRING_SWIM_LIFEGUARD_H
#define SWIMRING_SWIM_LIFEGUARD_H

#include <stdint.h>
#include "swimring/time.h"

/* Minimum suspicion time: mult * max(1, log10(max(n,1))) * period.
 * max(1, ...) keeps small clusters from declaring a member dead in less than
 * `mult` periods. */
sr_time_us sr_swim_suspicion_min_us(uint32_t mult, uint32_t n, sr_time_us period);

/* Maximum suspicion time: max_mult * min. */
sr_time_us sr_swim_suspicion_max_us(uint32_t max_mult, sr_time_us min);

/* Confirmations expected before the timeout reaches its minimum: mult - 2,
 * or 0 when the cluster is too small to give them (n - 2 < k). */
uint32_t sr_swim_suspicion_k(uint32_t mult, uint32_t n);

/* Total suspicion timeout after `confirmations` independent suspicions
 * (memberlist's remainingSuspicionTime without the elapsed part):
 *   max - (max - min) * log(c + 1) / log(k + 1), never below min,
 * rounded down to whole milliseconds. k == 0 gives min. */
sr_time_us sr_swim_suspicion_timeout_us(uint32_t confirmations, uint32_t k,
                                        sr_time_us min, sr_time_us max);

/* How many times one update is piggybacked: mult * ceil(log10(n + 1)), >= 1. */
uint32_t sr_swim_retransmit_limit(uint32_t mult, uint32_t n);

/* Lifeguard local health: a timeout scaled by (score + 1). */
sr_time_us sr_swim_awareness_scale(sr_time_us timeout, uint32_t score);

/* Apply a delta to a health score, clamped to [0, max - 1]. */
uint32_t sr_swim_awareness_apply(uint32_t score, int delta, uint32_t max);

#endif
