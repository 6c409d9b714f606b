//! `server admin …`: account recovery from the command line, for when no admin can log in (say,
//! the only admin left the company and their provider account is gone). Runs against the database
//! directly; every change lands in the audit log as done by "command line".

use super::repo::{self, Actor, Change, Outcome};
use super::UserRow;
use crate::audit::ssr::ClientInfo;
use crate::db::Pool;

pub const USAGE: &str = "usage: server admin <command>

commands:
  list                    every account: id, role, status, email, name
  promote <email or id>   make an account admin (kept until an admin demotes it)
  enable <email or id>    let a disabled account log in again
  password-link <email or id>
                          a one-time set-password link for an email-and-password account,
                          valid for 7 days (recovery when no second admin can approve one in
                          the dashboard); the owner is told at their next login

The link starts with QUIRE_PUBLIC_URL when that is set.

The database is DATABASE_URL (sqlite://… or postgres://…; default sqlite://data/quire.db), read
from the environment or .env.";

/// Runs one command and returns what to print, or an error sentence.
pub async fn run(pool: &Pool, args: &[String]) -> Result<String, String> {
    let actor = Actor {
        id: None,
        label: "command line".to_owned(),
    };
    match args {
        [command] if command == "list" => {
            let (rows, _) = repo::list_users(
                pool,
                &super::UserFilter {
                    sort: super::UserSort::Created,
                    page: 1,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            let mut out = String::from("id\trole\tstatus\temail\tname\n");
            for row in rows {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    row.id,
                    row.role.as_str(),
                    row.status.code(),
                    row.email.as_deref().unwrap_or("-"),
                    row.display_name
                ));
            }
            Ok(out)
        }
        [command, who] if command == "promote" || command == "enable" => {
            let target = find_one(pool, who).await?;
            let change = if command == "promote" {
                Change::Promote
            } else {
                Change::Enable
            };
            match repo::apply(pool, &actor, target.id, change, &ClientInfo::default())
                .await
                .map_err(|e| e.to_string())?
            {
                Outcome::Done { target } => Ok(format!(
                    "{} (id {}) is now {}.\n",
                    target.display_name,
                    target.id,
                    if change == Change::Promote {
                        "an admin"
                    } else {
                        "enabled"
                    }
                )),
                Outcome::Refused(reason) => Err(reason),
                Outcome::NotFound => Err(format!("no account matches {who:?}")),
            }
        }
        [command, who] if command == "password-link" => {
            let target = find_one(pool, who).await?;
            let now = chrono::Utc::now().timestamp();
            match repo::operator_password_link(pool, &actor, target.id, now, &ClientInfo::default())
                .await
                .map_err(|e| e.to_string())?
            {
                repo::LinkOutcome::Issued { token, target } => {
                    let origin = std::env::var("QUIRE_PUBLIC_URL").unwrap_or_default();
                    Ok(format!(
                        "One-time set-password link for {} (id {}), valid for 7 days. Hand it over privately:\n{}/set-password?token={token}\n",
                        target.display_name,
                        target.id,
                        origin.trim_end_matches('/')
                    ))
                }
                repo::LinkOutcome::Refused(reason) => Err(reason),
                repo::LinkOutcome::Pending { .. } | repo::LinkOutcome::NotFound => {
                    Err(format!("no account matches {who:?}"))
                }
            }
        }
        _ => Err(USAGE.to_owned()),
    }
}

/// The account an email or id names; an email shared by accounts at several providers must be
/// disambiguated by id.
async fn find_one(pool: &Pool, who: &str) -> Result<UserRow, String> {
    if let Ok(id) = who.parse::<i64>() {
        return repo::find_user(pool, id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no account has id {id}"));
    }
    let mut matches = repo::find_by_email(pool, who)
        .await
        .map_err(|e| e.to_string())?;
    match matches.len() {
        0 => Err(format!(
            "no account has the email {who:?} (it must have logged in once; see `server admin list`)"
        )),
        1 => Ok(matches.remove(0)),
        _ => Err(format!(
            "several accounts have the email {who:?} (ids {}); name one by id",
            matches
                .iter()
                .map(|m| m.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
