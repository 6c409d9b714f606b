//! `/admin`: account overview for administrators. Everyone else gets the 403 page.

use crate::admin::{list_accounts, AccountRow};
use crate::components::guard::RequireAdmin;
use crate::components::notice::ErrorNotice;
use crate::session::{Role, SessionUser};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin"/>
        <RequireAdmin children=|_admin: SessionUser| view! { <Accounts/> }/>
    }
}

#[component]
fn Accounts() -> impl IntoView {
    let accounts = Resource::new(|| (), |_| list_accounts());
    view! {
        <section class="page">
            <h1>"Administration"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading accounts…"</p> }>
                {move || Suspend::new(async move {
                    match accounts.await {
                        Ok(rows) => view! { <AccountTable rows/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AccountTable(rows: Vec<AccountRow>) -> impl IntoView {
    let count = rows.len();
    view! {
        <div class="table-wrap">
            <table>
                <caption>{format!("Accounts ({count})")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Provider"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last login"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr>
                            <th scope="row">{row.display_name}</th>
                            <td>
                                {row.email.unwrap_or_else(|| "—".into())}
                                {(!row.email_verified).then(|| view! { <span class="badge">"unverified"</span> })}
                            </td>
                            <td>{row.provider}</td>
                            <td>{match row.role { Role::Admin => "Admin", Role::User => "User" }}</td>
                            <td class="nowrap">{row.created_at}</td>
                            <td class="nowrap">{row.last_login_at}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
