//! A batch's token bucket over its share of an ECS account bucket (docs/decisions/0006 § Pacing).
//! Pure: the clock is a number of milliseconds handed in.
//!
//! The shares of a wave's batches add up to the account's bucket, so a release that keeps to them
//! is not throttled by itself. A throttled call means something else draws on the bucket (a
//! clean-up, another release, CI registering ahead): the batch then halves its rate for
//! [`SLOW_DOWN_MS`] and starts from an empty bucket.

use crate::contract::Bucket;

/// How long a throttled batch keeps to half its rate.
pub const SLOW_DOWN_MS: u64 = 30_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    share: Bucket,
    tokens: u32,
    /// When the next token is added.
    next_refill_ms: u64,
    /// Until then, tokens come at half the rate.
    slowed_until_ms: u64,
}

impl TokenBucket {
    /// A full bucket at `now_ms`.
    pub fn new(share: Bucket, now_ms: u64) -> Self {
        TokenBucket {
            share,
            tokens: share.burst,
            next_refill_ms: now_ms.saturating_add(share.refill_interval_ms.max(1)),
            slowed_until_ms: 0,
        }
    }

    /// A bucket of burst 0 still holds one token once it has refilled: otherwise it never calls.
    fn capacity(&self) -> u32 {
        self.share.burst.max(1)
    }

    fn interval_at(&self, at_ms: u64) -> u64 {
        let interval = self.share.refill_interval_ms.max(1);
        if at_ms < self.slowed_until_ms {
            interval.saturating_mul(2)
        } else {
            interval
        }
    }

    fn refill(&mut self, now_ms: u64) {
        while self.next_refill_ms <= now_ms {
            if self.tokens >= self.capacity() {
                // Full: the next token comes one interval from now, not from the past.
                self.next_refill_ms = now_ms.saturating_add(self.interval_at(now_ms));
                return;
            }
            self.tokens += 1;
            self.next_refill_ms = self
                .next_refill_ms
                .saturating_add(self.interval_at(self.next_refill_ms));
        }
    }

    /// Takes a token at `now_ms`, or says when the next one comes (`Err(at_ms)`).
    pub fn take(&mut self, now_ms: u64) -> Result<(), u64> {
        self.refill(now_ms);
        if self.tokens > 0 {
            self.tokens -= 1;
            Ok(())
        } else {
            Err(self.next_refill_ms)
        }
    }

    /// ECS throttled a call taken from this bucket at `now_ms`.
    pub fn throttled(&mut self, now_ms: u64) {
        self.tokens = 0;
        self.slowed_until_ms = now_ms.saturating_add(SLOW_DOWN_MS);
        self.next_refill_ms = now_ms.saturating_add(self.interval_at(now_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(burst: u32, refill_interval_ms: u64) -> TokenBucket {
        TokenBucket::new(
            Bucket {
                burst,
                refill_interval_ms,
            },
            0,
        )
    }

    /// The times at which `calls` calls get their token when each asks as soon as it may.
    fn schedule(mut b: TokenBucket, start_ms: u64, calls: usize) -> Vec<u64> {
        let mut now = start_ms;
        let mut at = Vec::new();
        while at.len() < calls {
            match b.take(now) {
                Ok(()) => at.push(now),
                Err(next) => {
                    assert!(next > now, "the next token is in the future");
                    now = next;
                }
            }
        }
        at
    }

    #[test]
    fn burst_then_one_per_interval() {
        // (burst, interval, calls) -> token times
        let cases: [(u32, u64, usize, &[u64]); 4] = [
            (2, 1_000, 5, &[0, 0, 1_000, 2_000, 3_000]),
            (0, 10_000, 3, &[10_000, 20_000, 30_000]),
            (1, 500, 3, &[0, 500, 1_000]),
            (3, 200, 4, &[0, 0, 0, 200]),
        ];
        for (burst, interval, calls, expected) in cases {
            assert_eq!(
                schedule(bucket(burst, interval), 0, calls),
                expected,
                "burst {burst}, every {interval} ms"
            );
        }
    }

    #[test]
    fn an_idle_bucket_refills_to_its_burst_and_no_more() {
        let mut b = bucket(2, 1_000);
        assert_eq!(b.take(0), Ok(()));
        assert_eq!(b.take(0), Ok(()));
        // A minute idle: two tokens back, not sixty.
        assert_eq!(schedule(b, 60_000, 3), [60_000, 60_000, 61_000]);
    }

    #[test]
    fn throttled_empties_the_bucket_and_halves_the_rate_for_thirty_seconds() {
        let mut b = bucket(5, 1_000);
        b.throttled(0);
        assert_eq!(b.take(0), Err(2_000));
        let times = schedule(b, 0, 17);
        // Every 2 s while slowed (tokens at 2, 4, ..., 30 s), then every second again.
        assert_eq!(
            &times[..15],
            &(1..=15).map(|k| k * 2_000).collect::<Vec<_>>()[..]
        );
        assert_eq!(&times[15..], &[31_000, 32_000]);
    }

    #[test]
    fn a_zero_interval_still_advances() {
        let mut b = bucket(0, 0);
        assert_eq!(b.take(0), Err(1));
        assert_eq!(b.take(1), Ok(()));
    }
}
