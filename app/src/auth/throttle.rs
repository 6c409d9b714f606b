//! Brute-force protection for password logins: failed attempts are counted per account (the email
//! typed, whether or not such an account exists) and per client address (IPv6 by /64, since one
//! machine usually holds a whole /64), and past a few free failures each further one locks that
//! key for a growing time. The person is told when they can try again. Attempts made while locked
//! are refused without checking the password and are not counted, so more guesses do not extend a
//! lock.
//!
//! An attempt is *reserved* ([`reserve`]) before the password is checked: in one transaction the
//! locks are checked and the attempt counted as a failure. Parallel requests therefore cannot all
//! slip in before the first failure is recorded. A success then takes its reservation back
//! ([`succeeded`]): the account's counter is cleared, the address loses this one failure and any
//! lock it caused (one good password must not reset a spray across many accounts). An attempt
//! that could not be checked (a server error) is given back the same way ([`release`]).
//!
//! The counters live in the database (`login_throttle`, SQLite or PostgreSQL), so every Quire
//! instance sharing it sees the same limits; rows nobody failed on for [`FORGET_AFTER_SECS`] are
//! purged hourly.
//!
//! Concurrency: a reservation first locks the row of every key it counts against (creating the
//! row if needed, see [`reserve`]), in one fixed order, and only then reads the counters. On SQLite
//! the write transaction already serialises writers; on PostgreSQL, which does not, these row locks
//! make concurrent attempts on a key count one after the other, so parallel guesses cannot all
//! read the same counter and slip past a lock.

use crate::db::Pool;
use crate::{on_pool, on_tx};

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
    /// The address key of a client: IPv6 addresses count per /64 network.
    pub fn address(ip: Option<&str>) -> Key {
        let Some(ip) = ip else {
            return Key::Address("unknown".to_owned());
        };
        match ip.parse::<std::net::IpAddr>().map(|a| a.to_canonical()) {
            Ok(std::net::IpAddr::V6(v6)) => {
                let s = v6.segments();
                Key::Address(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
            }
            Ok(v4) => Key::Address(v4.to_string()),
            Err(_) => Key::Address(ip.to_owned()),
        }
    }

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
        let locked: Option<i64> = on_pool!(pool, |p| sqlx::query_scalar(
            "SELECT locked_until FROM login_throttle WHERE key = $1"
        )
        .bind(key.stored())
        .fetch_optional(p)
        .await)?;
        until = later(until, locked.filter(|t| *t > now));
    }
    Ok(until)
}

/// The later of two optional moments.
fn later(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// What [`reserve`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// A key is locked until then: refuse without checking anything. Not counted.
    Locked(i64),
    /// Go ahead and check the password. The attempt is already counted as a failure.
    Granted(Reserved),
}

/// An attempt counted in advance, to be taken back if it turns out not to be a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// When this failure locked the keys, if it did.
    pub locks_until: Option<i64>,
    /// Per key: the lock this reservation wrote (0 for none), and the lock it replaced.
    written: Vec<(Key, i64, i64)>,
}

/// Checks the locks and, unless one holds, counts this attempt as a failure of every key — in one
/// transaction, so that concurrent attempts are counted one after the other.
///
/// The transaction first locks each key's row, in the order of the stored keys (so two
/// reservations sharing keys never wait on each other in a cycle): an upsert that inserts an empty
/// counter when there is none and otherwise changes nothing, returning the counter. An upsert
/// rather than `SELECT … FOR UPDATE` because a key without a row yet has nothing to lock, and two
/// first failures would both count from zero; on PostgreSQL the second upsert waits for the first
/// transaction and then returns its committed counter. On SQLite the write transaction holds the
/// database's write lock anyway. A refusal rolls back, so the empty counters vanish with it.
pub async fn reserve(pool: &Pool, keys: &[Key], now: i64) -> Result<Reservation, sqlx::Error> {
    let mut ordered: Vec<(String, &Key)> = keys.iter().map(|k| (k.stored(), k)).collect();
    ordered.sort_by(|a, b| a.0.cmp(&b.0));

    let mut tx = pool.begin_write().await?;
    let mut previous = Vec::with_capacity(ordered.len());
    let mut until = None;
    for (stored, _) in &ordered {
        let row: (i64, i64, i64) = on_tx!(&mut tx, |c| sqlx::query_as(
            "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until)
             VALUES ($1, 0, 0, 0)
             ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures
             RETURNING failures, last_failure_at, locked_until",
        )
        .bind(stored)
        .fetch_one(c)
        .await)?;
        until = later(until, Some(row.2).filter(|t| *t > now));
        previous.push(row);
    }
    if let Some(until) = until {
        // Dropping the transaction rolls it back (and releases the row locks).
        return Ok(Reservation::Locked(until));
    }

    let mut reserved = Reserved {
        locks_until: None,
        written: Vec::new(),
    };
    for ((stored, key), (n, last, lock)) in ordered.iter().zip(previous) {
        // An empty counter just created (0 failures) counts from zero like a missing one.
        let failures = if now - last <= FORGET_AFTER_SECS {
            n + 1
        } else {
            1
        };
        let delay = delay_after(failures, key.free_failures());
        let locked = if delay > 0 { now + delay } else { 0 };
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE login_throttle SET failures = $2, last_failure_at = $3, locked_until = $4
             WHERE key = $1",
        )
        .bind(stored)
        .bind(failures)
        .bind(now)
        .bind(locked)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
        reserved.written.push(((*key).clone(), locked, lock));
        if locked > 0 {
            reserved.locks_until = later(reserved.locks_until, Some(locked));
        }
    }
    tx.commit().await?;
    Ok(Reservation::Granted(reserved))
}

/// Takes a reservation back (the attempt was not a failure after all, or could not be checked):
/// each key loses this one failure, and a lock this reservation wrote is undone — unless a later
/// failure has replaced it.
pub async fn release(pool: &Pool, reserved: &Reserved) -> Result<(), sqlx::Error> {
    // The keys are in the order `reserve` locked them, so this takes the row locks in that order
    // too.
    let mut tx = pool.begin_write().await?;
    for (key, written, replaced) in &reserved.written {
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE login_throttle
             SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
                 locked_until = CASE WHEN locked_until = $2 THEN $3 ELSE locked_until END
             WHERE key = $1",
        )
        .bind(key.stored())
        .bind(written)
        .bind(replaced)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    }
    tx.commit().await
}

/// A reserved attempt succeeded: the account starts again from zero, every other key gets its
/// failure (and any lock it caused) back. One good password does not reset a spray across many
/// accounts from the same address.
pub async fn succeeded(pool: &Pool, reserved: &Reserved, account: &Key) -> Result<(), sqlx::Error> {
    release(pool, reserved).await?;
    clear(pool, account).await
}

/// Counts a failure for each key outside a login (a wrong current password, a registration
/// probing for taken emails); returns the moment a key is locked until, if this locked one.
pub async fn record_failure(
    pool: &Pool,
    keys: &[Key],
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    match reserve(pool, keys, now).await? {
        Reservation::Locked(until) => Ok(Some(until)),
        Reservation::Granted(reserved) => Ok(reserved.locks_until),
    }
}

/// Drops counters nobody has failed on for a while and that hold no lock.
pub async fn purge_stale(pool: &Pool, now: i64) -> Result<u64, sqlx::Error> {
    Ok(on_pool!(pool, |p| sqlx::query(
        "DELETE FROM login_throttle WHERE last_failure_at < $1 AND locked_until <= $2"
    )
    .bind(now - FORGET_AFTER_SECS)
    .bind(now)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))?)
}

/// Forgets the failures of a key (after a successful login).
pub async fn clear(pool: &Pool, key: &Key) -> Result<(), sqlx::Error> {
    on_pool!(pool, |p| sqlx::query(
        "DELETE FROM login_throttle WHERE key = $1"
    )
    .bind(key.stored())
    .execute(p)
    .await
    .map(|done| done.rows_affected()))?;
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
    fn ipv6_addresses_count_per_64_network() {
        assert_eq!(
            Key::address(Some("2001:db8:1:2:aaaa::1")),
            Key::address(Some("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            Key::address(Some("2001:db8:1:2::1")),
            Key::address(Some("2001:db8:1:3::1"))
        );
        assert_eq!(
            Key::address(Some("::ffff:192.0.2.7")),
            Key::Address("192.0.2.7".into())
        );
        assert_eq!(
            Key::address(Some("192.0.2.7")),
            Key::Address("192.0.2.7".into())
        );
        assert_eq!(Key::address(None), Key::Address("unknown".into()));
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
