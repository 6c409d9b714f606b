//! Brute-force protection for password logins. Every attempt counts against three keys:
//!
//! - the account *at* the address it came from ([`Key::AccountAt`]): past a few free failures each
//!   further one locks that pair for a growing time;
//! - the address ([`Key::Address`], IPv6 by /64, since one machine usually holds a whole /64):
//!   past more free failures (several people may share it) it is locked the same way, whatever
//!   account it tries — this stops one address spraying guesses across many accounts;
//! - the account across all addresses ([`Key::Account`]): it never locks. Past a few failures it
//!   only *slows* every attempt on the account down by a short, capped wait ([`slowdown_after`])
//!   before the password is checked.
//!
//! Why the account-wide key never refuses: if it locked, anyone who knows a person's email could
//! keep them out of their own journal just by failing on purpose. So a locked account is not a
//! locked-out owner — the owner, from an address that has not failed, always gets their password
//! checked (at worst after a few seconds' wait). The price: an attacker with many addresses gets a
//! few guesses per address per lock period; long passwords not on the common list (see
//! `auth::password`) keep that far from enough.
//!
//! Locked keys are refused without checking the password, and such attempts are not counted, so
//! more guesses do not extend a lock. The person is told when they can try again.
//!
//! An attempt is *reserved* ([`reserve`]) before the password is checked: in one transaction the
//! locks are checked and the attempt counted as a failure. Parallel requests therefore cannot all
//! slip in before the first failure is recorded. A success then takes its reservation back
//! ([`succeeded`]): the account's counters (everywhere and at this address) are cleared, the
//! address loses this one failure and any lock it caused (one good password must not reset a spray
//! across many accounts). An attempt that could not be checked (a server error) is given back the
//! same way ([`release`]).
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

/// Failures of one account from one address allowed before that pair is locked.
pub const ACCOUNT_FREE_FAILURES: i64 = 3;
/// Failures from one address allowed before delays begin (several people may share it).
pub const ADDRESS_FREE_FAILURES: i64 = 10;
/// The first delay, in seconds; each further failure doubles it.
pub const FIRST_DELAY_SECS: i64 = 30;
/// No delay is longer than this.
pub const MAX_DELAY_SECS: i64 = 15 * 60;
/// A key with no failure for this long starts again from zero.
pub const FORGET_AFTER_SECS: i64 = 60 * 60;
/// Failures of one account, from anywhere, before its attempts are slowed down.
pub const ACCOUNT_SLOW_FREE_FAILURES: i64 = 5;
/// The longest an attempt on a much-failed account waits before its password is checked.
pub const MAX_SLOWDOWN_SECS: u64 = 4;

/// What is being limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// One account (the email typed, whether or not such an account exists), from anywhere:
    /// never locks, only slows down.
    Account(String),
    /// One account from one address (the second field, as [`Key::address`] writes it): locks.
    AccountAt(String, String),
    /// One address, whatever account it tries: locks.
    Address(String),
}

impl Key {
    /// The address key of a client: IPv6 addresses count per /64 network.
    pub fn address(ip: Option<&str>) -> Key {
        Key::Address(network(ip))
    }

    /// The keys a login attempt on `email` from `ip` counts against.
    pub fn login(email: &str, ip: Option<&str>) -> [Key; 3] {
        let network = network(ip);
        [
            Key::Account(email.to_owned()),
            Key::AccountAt(email.to_owned(), network.clone()),
            Key::Address(network),
        ]
    }

    fn stored(&self) -> String {
        match self {
            Key::Account(email) => format!("account:{email}"),
            // The address first: it cannot contain `|`, the email might.
            Key::AccountAt(email, at) => format!("pair:{at}|{email}"),
            Key::Address(ip) => format!("ip:{ip}"),
        }
    }

    /// Failures allowed before the key locks; `None` for a key that never locks.
    fn free_failures(&self) -> Option<i64> {
        match self {
            Key::Account(_) => None,
            Key::AccountAt(..) => Some(ACCOUNT_FREE_FAILURES),
            Key::Address(_) => Some(ADDRESS_FREE_FAILURES),
        }
    }

    /// Whether this key is an account's (everywhere or at one address), which a success clears.
    fn is_account(&self) -> bool {
        matches!(self, Key::Account(_) | Key::AccountAt(..))
    }
}

/// The network a client address counts as: itself for IPv4, its /64 for IPv6, "unknown" when
/// there is none. Also the `source` of anonymous audit rows.
pub fn network(ip: Option<&str>) -> String {
    let Some(ip) = ip else {
        return "unknown".to_owned();
    };
    match ip.parse::<std::net::IpAddr>().map(|a| a.to_canonical()) {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// How long an attempt on an account waits after the account's `failures`-th failure in a row
/// (from any address): nothing for the first few, then 1, 2, 4 … seconds, capped.
pub fn slowdown_after(failures: i64) -> std::time::Duration {
    if failures <= ACCOUNT_SLOW_FREE_FAILURES {
        return std::time::Duration::ZERO;
    }
    let doublings = (failures - ACCOUNT_SLOW_FREE_FAILURES - 1).min(10) as u32;
    std::time::Duration::from_secs((1u64 << doublings).min(MAX_SLOWDOWN_SECS))
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
    for key in keys.iter().filter(|k| k.free_failures().is_some()) {
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
    /// How long to wait before checking the password: the account has failed a lot lately.
    pub slow_down: std::time::Duration,
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
    for (stored, key) in &ordered {
        let row: (i64, i64, i64) = on_tx!(&mut tx, |c| sqlx::query_as(
            "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until)
             VALUES ($1, 0, 0, 0)
             ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures
             RETURNING failures, last_failure_at, locked_until",
        )
        .bind(stored)
        .fetch_one(c)
        .await)?;
        // A key that never locks (the account everywhere) is never a reason to refuse, even if
        // its row holds a lock written before it stopped locking.
        if key.free_failures().is_some() {
            until = later(until, Some(row.2).filter(|t| *t > now));
        }
        previous.push(row);
    }
    if let Some(until) = until {
        // Dropping the transaction rolls it back (and releases the row locks).
        return Ok(Reservation::Locked(until));
    }

    let mut reserved = Reserved {
        locks_until: None,
        slow_down: std::time::Duration::ZERO,
        written: Vec::new(),
    };
    for ((stored, key), (n, last, lock)) in ordered.iter().zip(previous) {
        // An empty counter just created (0 failures) counts from zero like a missing one.
        let failures = if now - last <= FORGET_AFTER_SECS {
            n + 1
        } else {
            1
        };
        let locked = match key.free_failures() {
            Some(free) => match delay_after(failures, free) {
                0 => 0,
                delay => now + delay,
            },
            None => {
                // The account everywhere: slows down, never locks. Counted from the failures
                // before this one, so the free attempts cost no wait at all.
                reserved.slow_down = reserved.slow_down.max(slowdown_after(failures - 1));
                0
            }
        };
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

/// A reserved attempt succeeded: the account starts again from zero (everywhere, and at this
/// address), every other key gets its failure (and any lock it caused) back. One good password
/// does not reset a spray across many accounts from the same address.
pub async fn succeeded(pool: &Pool, reserved: &Reserved) -> Result<(), sqlx::Error> {
    release(pool, reserved).await?;
    for (key, _, _) in &reserved.written {
        if key.is_account() {
            clear(pool, key).await?;
        }
    }
    Ok(())
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
    fn a_login_counts_against_the_account_the_pair_and_the_address() {
        let keys = Key::login("ada@example.com", Some("2001:db8:1:2::7"));
        assert_eq!(
            keys.clone().map(|k| k.stored()),
            [
                "account:ada@example.com".to_owned(),
                "pair:2001:db8:1:2::/64|ada@example.com".to_owned(),
                "ip:2001:db8:1:2::/64".to_owned(),
            ]
        );
        assert_eq!(keys[0].free_failures(), None, "the account never locks");
    }

    #[test]
    fn a_much_failed_account_only_slows_down_and_never_for_long() {
        use std::time::Duration;
        assert_eq!(slowdown_after(ACCOUNT_SLOW_FREE_FAILURES), Duration::ZERO);
        assert_eq!(
            slowdown_after(ACCOUNT_SLOW_FREE_FAILURES + 1),
            Duration::from_secs(1)
        );
        assert_eq!(
            slowdown_after(ACCOUNT_SLOW_FREE_FAILURES + 2),
            Duration::from_secs(2)
        );
        assert_eq!(
            slowdown_after(1_000_000),
            Duration::from_secs(MAX_SLOWDOWN_SECS)
        );
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
