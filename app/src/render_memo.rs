//! One answer per page render for the data server functions a page reads.
//!
//! While the server renders a page, Leptos runs a page's components more than once (Suspense walks
//! its children to find their resources, then renders them; see leptos#4688), and each run creates
//! the page's resources anew, each calling its server function: the journal page ran its list
//! query three times per request. A page render gets a [`RenderMemo`] (provided per request in
//! `server`), and the read-only server functions answer through [`once`]: the first call with
//! given arguments runs, later and concurrent calls in the same render share its answer. Calls
//! from the browser are requests of their own and are never shared. Only reads go through here:
//! nothing a request writes can be hidden by an earlier answer of the same request.

use crate::error::AppError;
use leptos::prelude::use_context;
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// The answers of one page render, by server function and arguments.
#[derive(Clone, Default)]
pub struct RenderMemo(Arc<Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>>);

/// Runs `fetch` once per render for `key` (the server function's endpoint and its arguments),
/// or simply runs it outside a page render.
pub async fn once<T, F, Fut>(key: String, fetch: F) -> Result<T, AppError>
where
    T: Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let Some(memo) = use_context::<RenderMemo>() else {
        return fetch().await;
    };
    let cell = {
        // Every operation under the lock is a lookup or an insert: a poisoned lock is still whole.
        let mut answers = memo
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = answers
            .entry(key)
            .or_insert_with(|| Arc::new(OnceCell::<Result<T, AppError>>::new()));
        Arc::clone(entry).downcast::<OnceCell<Result<T, AppError>>>()
    };
    match cell {
        Ok(cell) => cell.get_or_init(fetch).await.clone(),
        // The same key with another answer type cannot happen (keys name the server function);
        // should it, the call is simply not shared.
        Err(_) => fetch().await,
    }
}
