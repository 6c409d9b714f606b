//! The admin area's server functions. Every one starts with `require_admin()`; wire types carry
//! only what the page shows (never tokens, never journal content).

use crate::error::AppError;
use crate::session::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One account as the admin's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub role: Role,
    pub provider: String,
    pub created_at: String,
    pub last_login_at: String,
}

/// Lists accounts for the admin overview.
#[server(prefix = "/api", endpoint = "admin/accounts")]
pub async fn list_accounts() -> Result<Vec<AccountRow>, AppError> {
    crate::session::ssr::require_admin().await?;
    let state = crate::state::AppState::get()?;
    let accounts = crate::auth::users::list_accounts(&state.db)
        .await
        .map_err(|e| AppError::internal("listing accounts", e))?;
    Ok(accounts
        .into_iter()
        .map(|a| AccountRow {
            id: a.id,
            display_name: a.display_name,
            email: a.email,
            email_verified: a.email_verified,
            role: a.role,
            provider: url_host(&a.issuer),
            created_at: a.created_at.chars().take(10).collect(),
            last_login_at: a
                .last_login_at
                .chars()
                .take(16)
                .collect::<String>()
                .replace('T', " "),
        })
        .collect())
}

#[cfg(feature = "ssr")]
fn url_host(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| issuer.to_owned())
}
