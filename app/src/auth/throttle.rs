//! Brute-force protection for password logins: failed attempts are counted per account (the email
//! typed, whether or not such an account exists) and per client address, and past a few free
//! failures each further one locks that key for a growing time. The person is told when they can
//! try again. Attempts made while locked are refused without checking the password and are not
//! counted, so a locked key cannot be kept locked forever by more guesses.
//!
//! The counters live in the database (`login_throttle`), so every Quire instance sharing it sees
//! the same limits. A success clears the account's counter (not the address's: one good password
//! must not reset a spray across many accounts).

use crate::db::Pool;

/// Failures of one account allowed before delays begin.
pub const ACCOUNT_FREE_FAILURES: i64 = 3;
/// Failures from one address allowed before delays begin (several people may share it).
pub const ADDRESS_FREE_FAILURES: i64 = 10;
/// The first delay, in seconds; each further failure doubles it.
pub const FIRST_DELAY_SECS: i64 = 30;
/// No delay is longer than this.
pub const MAX_DELAY_SECS: i64 = 15 * 60;
/// A key with no failure for this long starts again from zero.
pub const FORGET_AFTER_SECS: i64 = 60 * 60;

/// What is being limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Account(String),
    Address(String),
}

impl Key {
    fn stored(&self) -> String {
        match self {
            Key::Account(email) => format!("account:{email}"),
            Key::Address(ip) => format!("ip:{ip}"),
        }
    }

    fn free_failures(&self) -> i64 {
        match self {
            Key::Account(_) => ACCOUNT_FREE_FAILURES,
            Key::Address(_) => ADDRESS_FREE_FAILURES,
        }
    }
}

/// How long a key is locked after its `failures`-th failure in a row.
pub fn delay_after(failures: i64, free: i64) -> i64 {
    if failures <= free {
        return 0;
    }
    let doublings = (failures - free - 1).min(20) as u32;
    (FIRST_DELAY_SECS.saturating_mul(1i64 << doublings)).min(MAX_DELAY_SECS)
}

/// The moment (unix seconds) until which any of `keys` is locked, if one is locked at `now`.
pub async fn locked_until(pool: &Pool, keys: &[Key], now: i64) -> Result<Option<i64>, sqlx::Error> {
    let mut until = None;
    for key in keys {
        let locked: Option<i64> =
            sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE key = ?1")
                .bind(key.stored())
                .fetch_optional(pool)
                .await?;
        if let Some(t) = locked.filter(|t| *t > now) {
            until = Some(until.map_or(t, |u: i64| u.max(t)));
        }
    }
    Ok(until)
}

/// Counts a failure for each key; returns the latest moment any of them is now locked until
/// (`None` when this failure was still free).
pub async fn record_failure(
    pool: &Pool,
    keys: &[Key],
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let mut until = None;
    for key in keys {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let previous: Option<(i64, i64)> =
            sqlx::query_as("SELECT failures, last_failure_at FROM login_throttle WHERE key = ?1")
                .bind(key.stored())
                .fetch_optional(&mut *tx)
                .await?;
        let failures = match previous {
            Some((n, last)) if now - last <= FORGET_AFTER_SECS => n + 1,
            _ => 1,
        };
        let delay = delay_after(failures, key.free_failures());
        let locked = if delay > 0 { now + delay } else { 0 };
        sqlx::query(
            "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                 last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
        )
        .bind(key.stored())
        .bind(failures)
        .bind(now)
        .bind(locked)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if locked > 0 {
            until = Some(until.map_or(locked, |u: i64| u.max(locked)));
        }
    }
    Ok(until)
}

/// Forgets the failures of a key (after a successful login).
pub async fn clear(pool: &Pool, key: &Key) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_throttle WHERE key = ?1")
        .bind(key.stored())
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failures_cost_nothing() {
        assert_eq!(delay_after(1, 3), 0);
        assert_eq!(delay_after(3, 3), 0);
    }

    #[test]
    fn each_further_failure_doubles_the_delay_up_to_the_cap() {
        assert_eq!(delay_after(4, 3), 30);
        assert_eq!(delay_after(5, 3), 60);
        assert_eq!(delay_after(6, 3), 120);
        assert_eq!(delay_after(9, 3), MAX_DELAY_SECS);
        assert_eq!(delay_after(1_000, 3), MAX_DELAY_SECS);
    }

    #[test]
    fn the_wait_is_said_in_words_and_as_a_time() {
        use crate::auth::local::try_again_phrase;
        assert_eq!(
            try_again_phrase(90, 0),
            "in 1 minute 30 seconds (at 00:01:30 UTC)"
        );
        assert_eq!(try_again_phrase(30, 0), "in 30 seconds (at 00:00:30 UTC)");
        assert_eq!(
            try_again_phrase(86_400 + 3_725, 86_400 + 3_600),
            "in 2 minutes 5 seconds (at 01:02:05 UTC)"
        );
    }
}
