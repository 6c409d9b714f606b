//! `quire_bm25`: the SQLite search's ranking, FTS5's own `bm25` computed the same way, with less
//! counting. Registered on every SQLite connection ([`register`], from `db`'s pool options).
//!
//! Why: before it ranks anything, `bm25` counts every row of the whole index that holds each
//! phrase of the query, to weigh rare words above common ones (the IDF). For a word found in most
//! of a 100,000-entry journal that count walks ~94,000 rows per word, most of a common-word
//! search's time. Yet `bm25` only uses the count up to half the rows: a phrase in half the rows or
//! more gets the same floor weight (`1e-6`) however many more rows hold it. `quire_bm25` stops
//! counting there. Every score is the one `bm25` gives, so results rank exactly as before: to the
//! bit where the C compiler does not fuse multiply-adds (the default x86-64 target) and Rust's
//! `f64::ln` is the C library's `log`, as it is on Linux. A test compares the two on every row of
//! single words, phrases, prefixes, `OR`/`AND`/`NOT` and other column weights.
//!
//! This is the one place Quire calls C: FTS5's extension interface has no safe Rust binding
//! (rusqlite registers scalar functions, not FTS5 auxiliary ones). The unsafe code is confined to
//! this file, follows `fts5_aux.c`'s `fts5Bm25Function` line by line, has no arithmetic that can
//! overflow or index that can go out of bounds (a panic cannot unwind through SQLite: it would
//! abort the process), and answers every API failure with SQLite's error code.

use libsqlite3_sys as ffi;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;

/// The function's name in SQL: `quire_bm25(entries_fts, title_weight, body_weight)`.
pub const NAME: &CStr = c"quire_bm25";

/// BM25's constants, as FTS5 sets them.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Registers `quire_bm25` on one connection (its FTS5 module is per connection).
pub async fn register(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, held locked by `handle` (no statement of
    // sqlx's runs on it meanwhile) for the whole call.
    let rc = unsafe { create_function(db) };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            format!(
                "could not register the search's ranking function {} with SQLite's FTS5 \
                 (SQLite error {rc})",
                NAME.to_string_lossy()
            )
            .into(),
        ))
    }
}

/// FTS5's API of this connection (asked for the documented way: `SELECT fts5(?)` with a
/// pointer bound to it), then the function created through it.
///
/// # Safety
/// `db` must be an open connection not used by anyone else during the call.
unsafe fn create_function(db: *mut ffi::sqlite3) -> c_int {
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    let rc = unsafe {
        ffi::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        )
    };
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    // SAFETY: `stmt` was just prepared; FTS5 writes its API pointer into `api` while the
    // statement steps, and `api` outlives the statement, finalised before it goes.
    let rc = unsafe {
        ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&raw mut api).cast::<c_void>(),
            c"fts5_api_ptr".as_ptr(),
            None,
        )
    };
    let stepped = if rc == ffi::SQLITE_OK {
        unsafe { ffi::sqlite3_step(stmt) }
    } else {
        rc
    };
    let finalised = unsafe { ffi::sqlite3_finalize(stmt) };
    if stepped != ffi::SQLITE_ROW && stepped != ffi::SQLITE_DONE {
        return stepped;
    }
    if finalised != ffi::SQLITE_OK {
        return finalised;
    }
    // SAFETY: a non-null `api` is FTS5's, valid as long as the connection is open.
    let Some(create) = (unsafe { api.as_ref() }).and_then(|a| a.xCreateFunction) else {
        return ffi::SQLITE_ERROR;
    };
    unsafe { create(api, NAME.as_ptr(), ptr::null_mut(), Some(quire_bm25), None) }
}

/// What one query's rows share, worked out at its first row (FTS5 keeps it as the function's
/// auxiliary data for the query and drops it after): `bm25`'s `Fts5Bm25Data`.
struct QueryStats {
    /// Average row length in tokens, over the whole index.
    avgdl: f64,
    /// Each phrase's weight (IDF).
    idf: Vec<f64>,
    /// Each phrase's weighted frequency in the current row (reused from row to row).
    freq: Vec<f64>,
}

/// Calls one of FTS5's API functions, or returns `SQLITE_MISUSE` from the enclosing function if
/// this SQLite lacks it (it never does: they are all in version 1 of the API).
macro_rules! api {
    ($api:expr, $f:ident) => {
        match $api.$f {
            Some(f) => f,
            None => return Err(ffi::SQLITE_MISUSE),
        }
    };
}

/// The auxiliary function: FTS5 calls it for each row it ranks.
unsafe extern "C" fn quire_bm25(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    n_val: c_int,
    vals: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 hands over its API, the query's context and `n_val` argument values, all
    // valid for this call.
    let weights: &[*mut ffi::sqlite3_value] = match usize::try_from(n_val) {
        Ok(n) if n > 0 && !vals.is_null() => unsafe { std::slice::from_raw_parts(vals, n) },
        _ => &[],
    };
    let score = match unsafe { api.as_ref() } {
        Some(api) => unsafe { score(api, fts, weights) },
        None => Err(ffi::SQLITE_MISUSE),
    };
    match score {
        Ok(score) => unsafe { ffi::sqlite3_result_double(ctx, -score) },
        Err(rc) => unsafe { ffi::sqlite3_result_error_code(ctx, rc) },
    }
}

/// The row's BM25 score (`fts5Bm25Function`).
///
/// # Safety
/// `api`, `fts` and `weights` as FTS5 passed them to the current call.
unsafe fn score(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    weights: &[*mut ffi::sqlite3_value],
) -> Result<f64, c_int> {
    // SAFETY: FTS5 keeps the stats until the query ends; only `query_stats` sets them, once per
    // query, and nothing else reaches them: this reference is the only one while the call lasts.
    let stats = unsafe { &mut *query_stats(api, fts)? };
    stats.freq.iter_mut().for_each(|f| *f = 0.0);
    let mut n_inst: c_int = 0;
    check(unsafe { api!(api, xInstCount)(fts, &mut n_inst) })?;
    for i in 0..n_inst {
        let (mut phrase, mut column, mut offset): (c_int, c_int, c_int) = (0, 0, 0);
        check(unsafe { api!(api, xInst)(fts, i, &mut phrase, &mut column, &mut offset) })?;
        let w = match usize::try_from(column).ok().and_then(|c| weights.get(c)) {
            Some(value) => unsafe { ffi::sqlite3_value_double(*value) },
            None => 1.0,
        };
        match usize::try_from(phrase)
            .ok()
            .and_then(|p| stats.freq.get_mut(p))
        {
            Some(f) => *f += w,
            None => return Err(ffi::SQLITE_CORRUPT),
        }
    }
    let mut n_tok: c_int = 0;
    check(unsafe { api!(api, xColumnSize)(fts, -1, &mut n_tok) })?;
    let d = f64::from(n_tok);
    let mut score = 0.0;
    for (idf, freq) in stats.idf.iter().zip(&stats.freq) {
        score += idf * ((freq * (K1 + 1.0)) / (freq + K1 * (1.0 - B + B * d / stats.avgdl)));
    }
    Ok(score)
}

/// The query's [`QueryStats`] (never null): made at its first row and kept by FTS5 until the
/// query ends (`fts5Bm25GetData`).
///
/// # Safety
/// As [`score`].
unsafe fn query_stats(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
) -> Result<*mut QueryStats, c_int> {
    let kept = unsafe { api!(api, xGetAuxdata)(fts, 0) }.cast::<QueryStats>();
    if !kept.is_null() {
        return Ok(kept);
    }
    let n_phrase = usize::try_from(unsafe { api!(api, xPhraseCount)(fts) }).unwrap_or(0);
    let (mut n_row, mut n_token): (ffi::sqlite3_int64, ffi::sqlite3_int64) = (0, 0);
    check(unsafe { api!(api, xRowCount)(fts, &mut n_row) })?;
    check(unsafe { api!(api, xColumnTotalSize)(fts, -1, &mut n_token) })?;
    let mut stats = Box::new(QueryStats {
        avgdl: n_token as f64 / n_row as f64,
        idf: Vec::with_capacity(n_phrase),
        freq: vec![0.0; n_phrase],
    });
    for phrase in 0..n_phrase {
        let mut count = Count {
            hits: 0,
            // From this many rows on, the IDF below is at most zero, which BM25 floors at 1e-6:
            // counting further cannot change it.
            // (Half rounded up, written so no row count can overflow it.)
            enough: n_row / 2 + n_row % 2,
        };
        let phrase = c_int::try_from(phrase).map_err(|_| ffi::SQLITE_TOOBIG)?;
        check(unsafe {
            api!(api, xQueryPhrase)(
                fts,
                phrase,
                (&raw mut count).cast::<c_void>(),
                Some(count_row),
            )
        })?;
        let n_hit = count.hits;
        // IDF = log((N - n + 0.5) / (n + 0.5)), floored (FTS5's comment: "the minimum allowable
        // IDF is roughly that of a term that appears in just over half of 5,000,000 documents").
        let mut idf = (((n_row - n_hit) as f64 + 0.5) / (n_hit as f64 + 0.5)).ln();
        if idf <= 0.0 {
            idf = 1e-6;
        }
        stats.idf.push(idf);
    }
    let raw = Box::into_raw(stats);
    // SAFETY: FTS5 owns `raw` from here and frees it with `drop_stats` when the query ends; on
    // failure it has already called `drop_stats` on it.
    check(unsafe { api!(api, xSetAuxdata)(fts, raw.cast::<c_void>(), Some(drop_stats)) })?;
    Ok(raw)
}

/// Rows holding a phrase, counted up to `enough`.
struct Count {
    hits: ffi::sqlite3_int64,
    enough: ffi::sqlite3_int64,
}

/// `xQueryPhrase`'s callback, once per row holding the phrase: `SQLITE_DONE` ends the walk
/// early (FTS5 takes it as success).
unsafe extern "C" fn count_row(
    _api: *const ffi::Fts5ExtensionApi,
    _fts: *mut ffi::Fts5Context,
    count: *mut c_void,
) -> c_int {
    // SAFETY: `count` is the `Count` that `query_stats` passed, alive for the whole walk.
    match unsafe { count.cast::<Count>().as_mut() } {
        Some(count) => {
            count.hits += 1;
            if count.hits >= count.enough {
                ffi::SQLITE_DONE
            } else {
                ffi::SQLITE_OK
            }
        }
        None => ffi::SQLITE_MISUSE,
    }
}

/// Frees a query's [`QueryStats`] (FTS5 calls it when the query ends).
unsafe extern "C" fn drop_stats(stats: *mut c_void) {
    if !stats.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` in `query_stats`, and FTS5 frees it once.
        drop(unsafe { Box::from_raw(stats.cast::<QueryStats>()) });
    }
}

fn check(rc: c_int) -> Result<(), c_int> {
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rc)
    }
}
