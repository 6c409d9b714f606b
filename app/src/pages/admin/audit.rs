//! `/admin/audit`: the audit log, newest first, filterable by kind and by person, 50 a page.

use super::AdminFrame;
use crate::admin::audit_log;
use crate::audit::{AuditFilter, AuditPage};
use crate::components::live_value::live_value;
use crate::components::notice::ErrorNotice;
use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

#[derive(Clone, Debug, PartialEq, Eq)]
struct AuditQuery {
    filter: AuditFilter,
    q: String,
    older: Option<i64>,
}

impl AuditQuery {
    fn href_older(&self, older: i64) -> String {
        let mut href = format!("/admin/audit?filter={}", self.filter.code());
        if !self.q.is_empty() {
            href.push_str(&format!(
                "&q={}",
                crate::auth::redirect::encode_query_value(&self.q)
            ));
        }
        href.push_str(&format!("&older={older}"));
        href
    }
}

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    view! {
        <AdminFrame title="Audit log">
            <Audit/>
        </AdminFrame>
    }
}

#[component]
fn Audit() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        let m = query_map.read();
        AuditQuery {
            filter: AuditFilter::from_code(&m.get("filter").unwrap_or_default()),
            q: m.get("q").unwrap_or_default(),
            older: m.get("older").and_then(|o| o.parse().ok()),
        }
    });
    let page = Resource::new(
        move || query.get(),
        |q| audit_log(q.filter.code().to_owned(), q.q.clone(), q.older),
    );
    let q = move || query.get();
    let text = Signal::derive(move || q().q);
    view! {
        <Form method="GET" action="/admin/audit" attr:class="search-form" attr:role="search">
            <div class="field">
                <label for="audit-filter">"Show"</label>
                <select id="audit-filter" name="filter">
                    {AuditFilter::ALL.into_iter().map(|f| view! {
                        <option value=f.code() selected=move || q().filter == f>{f.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field grow">
                <label for="audit-q">"Person (name or email)"</label>
                <input id="audit-q" type="search" name="q" value=text use:live_value=text/>
            </div>
            <div class="field actions">
                <button type="submit">"Filter"</button>
                <a href="/admin/audit">"Clear"</a>
            </div>
        </Form>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let current = query.get_untracked();
                match page.await {
                    Ok(page) => view! { <AuditTable page query=current/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditTable(page: AuditPage, query: AuditQuery) -> impl IntoView {
    if page.rows.is_empty() {
        return view! { <div class="empty-state"><p>"Nothing in the log matches."</p></div> }
            .into_any();
    }
    let older = page.older.map(|o| query.href_older(o));
    let newest = query.older.is_some().then(|| {
        let mut first = query.clone();
        first.older = None;
        first
            .href_older(i64::MAX)
            .replace(&format!("&older={}", i64::MAX), "")
    });
    view! {
        <div class="table-wrap">
            <table class="audit-table">
                <caption>"Audit log, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"When (UTC)"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"To whom"</th>
                        <th scope="col">"Details"</th>
                        <th scope="col">"From"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.rows.into_iter().map(|row| view! {
                        <tr data-action=row.action.clone()>
                            <td class="nowrap">{row.at}</td>
                            <td>{row.action_label}</td>
                            <td>{row.actor}</td>
                            <td>{row.target.unwrap_or_default()}</td>
                            <td>{row.detail}</td>
                            <td class="client">
                                {row.ip.unwrap_or_else(|| "—".into())}
                                {row.user_agent.map(|ua| view! { <br/><small title=ua.clone()>{ua.chars().take(60).collect::<String>()}</small> })}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {newest.map(|href| view! { <a rel="prev" href=href>"← Newest"</a> })}
            {older.map(|href| view! { <a rel="next" href=href class="older">"Older →"</a> })}
        </nav>
    }
    .into_any()
}
