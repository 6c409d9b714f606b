//! `/admin/users`: the account table (search, filters, sorting, pages), and `/admin/users/:id`:
//! one account with its actions. Every action goes through a confirmation step on its own address
//! (`?confirm=disable`), so it works the same with a keyboard, on a phone and without JavaScript;
//! the result comes back as a flash message on the account's page.

use super::AdminFrame;
use crate::admin::{
    admin_user, admin_users, ApplyUserAction, UserAction, UserDetail, UserFilter, UserPage,
    UserRow, UserSort, UserStatus,
};
use crate::components::live_value::live_value;
use crate::components::notice::ErrorNotice;
use crate::session::Role;
use leptos::prelude::*;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
};

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    view! {
        <AdminFrame title="Users">
            <Users/>
        </AdminFrame>
    }
}

#[component]
fn Users() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let m = query.read();
        UserFilter::from_query(|k| m.get(k))
    });
    let page = Resource::new(
        move || filter.get(),
        |f| {
            admin_users(
                Some(f.q.clone()),
                f.role.map(|r| r.as_str().to_owned()),
                f.status.map(|s| s.code().to_owned()),
                Some(f.sort.code().to_owned()),
                Some(if f.descending { "desc" } else { "asc" }.to_owned()),
                Some(f.page.to_string()),
            )
        },
    );
    let options = Resource::new(|| (), |_| crate::auth::login_options());
    view! {
        <UserSearch filter/>
        <Transition fallback=|| view! { <p class="loading">"Loading accounts…"</p> }>
            {move || Suspend::new(async move {
                let f = filter.get_untracked();
                match page.await {
                    Ok(page) => view! { <UserTable page filter=f/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                options.await.ok().filter(|o| o.password_login).map(|_| view! { <CreateAccountForm/> })
            })}
        </Suspense>
    }
}

/// Creates an email-and-password account and hands over a one-time set-password link (Quire
/// sends no email). Only shown with password login on.
#[component]
fn CreateAccountForm() -> impl IntoView {
    view! {
        <section class="create-account" aria-labelledby="create-account-heading">
            <h2 id="create-account-heading">"Create an account"</h2>
            <p class="hint">"For someone who logs in with an email and password. You get a one-time link to hand them, where they choose their password."</p>
            <form method="post" action="/api/admin/create-account" class="search-form" aria-label="Create an account">
                <div class="field grow">
                    <label for="new-account-name">"Name"</label>
                    <input id="new-account-name" name="name" required maxlength="100" autocomplete="off"/>
                </div>
                <div class="field grow">
                    <label for="new-account-email">"Email"</label>
                    <input id="new-account-email" name="email" type="email" required maxlength="254" autocomplete="off"/>
                </div>
                <div class="field actions">
                    <button type="submit">"Create account"</button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn UserSearch(filter: Memo<UserFilter>) -> impl IntoView {
    let f = move || filter.get();
    let text = Signal::derive(move || f().q);
    view! {
        <Form method="GET" action="/admin/users" attr:class="search-form" attr:role="search">
            <div class="field grow">
                <label for="user-q">"Search by name or email"</label>
                <input id="user-q" type="search" name="q" value=text use:live_value=text/>
            </div>
            <div class="field">
                <label for="user-role">"Role"</label>
                <select id="user-role" name="role">
                    <option value="" selected=move || f().role.is_none()>"Any role"</option>
                    <option value="user" selected=move || f().role == Some(Role::User)>"User"</option>
                    <option value="admin" selected=move || f().role == Some(Role::Admin)>"Admin"</option>
                </select>
            </div>
            <div class="field">
                <label for="user-status">"Status"</label>
                <select id="user-status" name="status">
                    <option value="" selected=move || f().status.is_none()>"Any status"</option>
                    <option value="active" selected=move || f().status == Some(UserStatus::Active)>"Active"</option>
                    <option value="disabled" selected=move || f().status == Some(UserStatus::Disabled)>"Disabled"</option>
                </select>
            </div>
            <input type="hidden" name="sort" value=move || f().sort.code()/>
            <input type="hidden" name="dir" value=move || if f().descending { "desc" } else { "asc" }/>
            <div class="field actions">
                <button type="submit">"Search"</button>
                <a href="/admin/users">"Clear"</a>
            </div>
        </Form>
    }
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::User => "User",
    }
}

pub fn status_label(status: UserStatus) -> &'static str {
    match status {
        UserStatus::Active => "Active",
        UserStatus::Disabled => "Disabled",
    }
}

#[component]
fn UserTable(page: UserPage, filter: UserFilter) -> impl IntoView {
    if page.rows.is_empty() {
        return view! { <div class="empty-state"><p>"No account matches this search."</p></div> }
            .into_any();
    }
    // A column header is a link that sorts by it (again: the other way round).
    let header = {
        let filter = filter.clone();
        move |sort: UserSort, label: &'static str| {
            let active = filter.sort == sort;
            let descending = if active {
                !filter.descending
            } else {
                UserFilter::from_query(|k| (k == "sort").then(|| sort.code().to_owned())).descending
            };
            let href = format!("/admin/users?{}", filter.query(sort, descending, 1));
            let aria_sort = active.then_some(if filter.descending {
                "descending"
            } else {
                "ascending"
            });
            let arrow = if active {
                if filter.descending {
                    " ↓"
                } else {
                    " ↑"
                }
            } else {
                ""
            };
            view! {
                <th scope="col" aria-sort=aria_sort>
                    <a href=href>{label}{arrow}</a>
                </th>
            }
        }
    };
    let prev = (page.page > 1).then(|| {
        format!(
            "/admin/users?{}",
            filter.query(filter.sort, filter.descending, page.page - 1)
        )
    });
    let next = (page.page < page.pages).then(|| {
        format!(
            "/admin/users?{}",
            filter.query(filter.sort, filter.descending, page.page + 1)
        )
    });
    view! {
        <div class="table-wrap">
            <table class="users-table">
                <caption>{format!("{} accounts · page {} of {}", page.total, page.page, page.pages)}</caption>
                <thead>
                    <tr>
                        {header(UserSort::Name, "Name")}
                        {header(UserSort::Email, "Email")}
                        <th scope="col">"Provider"</th>
                        {header(UserSort::Role, "Role")}
                        {header(UserSort::Status, "Status")}
                        {header(UserSort::Created, "Created")}
                        {header(UserSort::LastLogin, "Last login")}
                        {header(UserSort::Entries, "Entries")}
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {page.rows.into_iter().map(|row: UserRow| {
                        let href = format!("/admin/users/{}", row.id);
                        let manage = format!("Manage {}", row.display_name);
                        view! {
                            <tr class=(row.status == UserStatus::Disabled).then_some("disabled")>
                                <th scope="row"><a href=href.clone()>{row.display_name.clone()}</a></th>
                                <td>
                                    {row.email.clone().unwrap_or_else(|| "—".into())}
                                    {(!row.email_verified && row.email.is_some()).then(|| view! { <span class="badge">"unverified"</span> })}
                                </td>
                                <td>{row.provider.clone()}</td>
                                <td>{role_label(row.role)}</td>
                                <td><span class=format!("status status-{}", row.status.code())>{status_label(row.status)}</span></td>
                                <td class="nowrap">{row.created.clone()}</td>
                                <td class="nowrap">{row.last_login.clone()}</td>
                                <td class="num">{row.entries}</td>
                                <td><a class="button button-small" href=href aria-label=manage>"Manage"</a></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {prev.map(|href| view! { <a rel="prev" href=href>"← Previous"</a> })}
            {next.map(|href| view! { <a rel="next" href=href class="older">"Next →"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
pub fn AdminUserPage() -> impl IntoView {
    view! {
        <AdminFrame title="Account">
            <Account/>
        </AdminFrame>
    }
}

#[component]
fn Account() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
    });
    let confirm = Memo::new(move |_| {
        query
            .read()
            .get("confirm")
            .and_then(|c| UserAction::parse(&c))
    });
    let act = ServerAction::<ApplyUserAction>::new();
    let detail = Resource::new(
        move || (id.get(), act.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => admin_user(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <p class="back"><a href="/admin/users">"← All users"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <AccountCard detail confirm act/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The actions that make sense for this account right now (the server re-checks everything).
fn available(detail: &UserDetail) -> Vec<UserAction> {
    let u = &detail.user;
    let mut actions = Vec::new();
    if u.role == Role::User && u.status == UserStatus::Active {
        actions.push(UserAction::Promote);
    }
    if u.role == Role::Admin && !detail.is_self {
        actions.push(UserAction::Demote);
    }
    match u.status {
        UserStatus::Active if !detail.is_self => actions.push(UserAction::Disable),
        UserStatus::Disabled => actions.push(UserAction::Enable),
        _ => {}
    }
    actions.push(UserAction::SignOut);
    if u.password_account {
        match &detail.link_request {
            Some(request) => {
                if !request.by_you {
                    actions.push(UserAction::ApproveLink);
                }
                actions.push(UserAction::CancelLink);
            }
            // Nobody could approve it: the page says why instead (see `LinkRule`).
            None if detail.has_way_in && detail.other_admins == 0 => {}
            None => actions.push(UserAction::PasswordLink),
        }
    }
    if !detail.is_self {
        actions.push(UserAction::Delete);
    }
    actions
}

#[component]
fn AccountCard(
    detail: UserDetail,
    confirm: Memo<Option<UserAction>>,
    act: ServerAction<ApplyUserAction>,
) -> impl IntoView {
    let u = detail.user.clone();
    let sources = u.admin_sources();
    let actions = available(&detail);
    let base = format!("/admin/users/{}", u.id);
    let name = u.display_name.clone();
    view! {
        <article class="account" aria-labelledby="account-name">
            <h2 id="account-name">{u.display_name.clone()}</h2>
            <dl class="facts">
                <dt>"Email"</dt>
                <dd>
                    {u.email.clone().unwrap_or_else(|| "—".into())}
                    {(!u.email_verified && u.email.is_some()).then(|| view! { <span class="badge">"unverified"</span> })}
                </dd>
                <dt>"Provider"</dt><dd>{u.provider.clone()}</dd>
                <dt>"Role"</dt>
                <dd>
                    {role_label(u.role)}
                    {(!sources.is_empty()).then(|| format!(" ({})", sources.join(", ")))}
                </dd>
                <dt>"Status"</dt><dd data-testid="account-status">{status_label(u.status)}</dd>
                <dt>"Active sessions"</dt><dd>{detail.sessions}</dd>
                <dt>"Created"</dt><dd>{u.created.clone()}</dd>
                <dt>"Last login"</dt><dd>{u.last_login.clone()}" UTC"</dd>
                <dt>"Entries"</dt><dd>{u.entries}</dd>
            </dl>
            {(u.admin_by_email || u.admin_by_group).then(|| view! {
                <p class="hint">"Admin through the configuration or the identity provider: that is re-checked at every login, and demoting happens there."</p>
            })}
            {detail.is_self.then(|| view! { <p class="hint">"This is you. Another admin has to disable, demote or delete your account."</p> })}
            {u.password_account.then(|| view! { <LinkRule detail=detail.clone()/> })}
            <div class="account-actions" role="group" aria-label="Actions">
                {actions.into_iter().map(|a| {
                    let href = format!("{base}?confirm={}", a.code());
                    let class = if a.is_dangerous() { "button button-danger-quiet" } else { "button button-quiet" };
                    view! { <a class=class href=href>{a.label()}</a> }
                }).collect_view()}
            </div>
            {move || confirm.get().map(|action| view! {
                <Confirm action user=detail.user.clone() base=base.clone() name=name.clone() act/>
            })}
        </article>
    }
}

/// What the set-password link rule means for this account right now, in words: a pending
/// request and who may approve it, or why no link can be asked for.
#[component]
fn LinkRule(detail: UserDetail) -> impl IntoView {
    let name = detail.user.display_name.clone();
    match (&detail.link_request, detail.has_way_in, detail.other_admins) {
        (Some(request), _, _) if request.by_you => view! {
            <div class="notice" role="status" aria-labelledby="link-request-title">
                <h3 id="link-request-title">"Set-password link waiting for approval"</h3>
                <p>{format!("You asked for a set-password link for {name} on {}. Another admin must approve it on this page; they get the link. The request lapses on {}.", request.requested_at, request.expires_at)}</p>
            </div>
        }.into_any(),
        (Some(request), _, _) => view! {
            <div class="notice" role="status" aria-labelledby="link-request-title">
                <h3 id="link-request-title">"Set-password link waiting for your approval"</h3>
                <p>{format!("{} asked for a set-password link for {name} on {}. If you approve, the link is shown to you (not to them), and {name} is told at their next login. Approve only if you know {name} asked for it.", request.requester, request.requested_at)}</p>
            </div>
        }.into_any(),
        (None, true, 0) => view! {
            <div class="notice" role="status" aria-labelledby="link-rule-title">
                <h3 id="link-rule-title">"No set-password link without a second admin"</h3>
                <p>{crate::admin::only_admin_refusal_text(&name)}</p>
            </div>
        }.into_any(),
        (None, true, _) => view! {
            <p class="hint">{format!("{name} can already log in, so a new set-password link needs another admin’s approval, and {name} is told at their next login.")}</p>
        }.into_any(),
        (None, false, _) => ().into_any(),
    }
}

#[component]
fn Confirm(
    action: UserAction,
    user: UserRow,
    base: String,
    name: String,
    act: ServerAction<ApplyUserAction>,
) -> impl IntoView {
    let expected = user.confirmation_text();
    let error = move || act.value().get().and_then(|r| r.err());
    let button = format!("Yes, {} {name}", verb(action));
    view! {
        <div class="confirm" role="dialog" aria-modal="false" aria-labelledby="confirm-title">
            <h3 id="confirm-title">{format!("{}?", action.label())}</h3>
            <p>{action.consequence(&name)}</p>
            <ActionForm action=act>
                <input type="hidden" name="id" value=user.id.to_string()/>
                <input type="hidden" name="action" value=action.code()/>
                {(action == UserAction::Delete).then(|| view! {
                    <div class="field">
                        <label for="confirm-text">{format!("Type {expected} to confirm")}</label>
                        <input id="confirm-text" name="confirm" autocomplete="off" required/>
                    </div>
                })}
                {move || error().map(|error| view! { <ErrorNotice error/> })}
                <div class="form-actions">
                    <button type="submit" class=action.is_dangerous().then_some("button-danger")>{button.clone()}</button>
                    <a href=base.clone()>"Cancel"</a>
                </div>
            </ActionForm>
        </div>
    }
}

fn verb(action: UserAction) -> &'static str {
    match action {
        UserAction::Promote => "promote",
        UserAction::Demote => "demote",
        UserAction::Disable => "disable",
        UserAction::Enable => "enable",
        UserAction::SignOut => "sign out",
        UserAction::Delete => "delete",
        UserAction::PasswordLink => "ask for a set-password link for",
        UserAction::ApproveLink => "approve the set-password link for",
        UserAction::CancelLink => "cancel the link request for",
    }
}
