//! `/admin/…`: the admin dashboard — overview, users, audit log, sign-up policy. Every page sits
//! behind [`RequireAdmin`] (others get the 403 page) and every number comes from a server function
//! that checks the admin role itself. Pages render fully on the server, so the dashboard reads the
//! same without JavaScript; forms are plain GET searches and `ActionForm` posts.

pub mod audit;
pub mod signup;
pub mod users;

use crate::admin::{admin_overview, DayCount, Overview};
use crate::components::guard::RequireAdmin;
use crate::components::notice::ErrorNotice;
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

/// The dashboard's tabs; the current one is marked for screen readers.
#[component]
pub fn AdminNav() -> impl IntoView {
    let location = use_location();
    let tabs = [
        ("/admin", "Overview"),
        ("/admin/users", "Users"),
        ("/admin/audit", "Audit log"),
        ("/admin/signup", "Sign-up"),
    ];
    view! {
        <nav class="admin-nav" aria-label="Admin">
            {tabs.into_iter().map(|(href, label)| {
                let current = move || {
                    let path = location.pathname.get();
                    let here = if href == "/admin" { path == "/admin" } else { path.starts_with(href) };
                    here.then_some("page")
                };
                view! { <a href=href aria-current=current>{label}</a> }
            }).collect_view()}
        </nav>
    }
}

/// A dashboard page: title, tabs, content, for admins only.
#[component]
pub fn AdminFrame(title: &'static str, children: ChildrenFn) -> impl IntoView {
    view! {
        <Title text=title/>
        <RequireAdmin children=move |_admin: SessionUser| view! {
            <section class="page admin">
                <p class="eyebrow">"Administration"</p>
                <h1>{title}</h1>
                <AdminNav/>
                {children()}
            </section>
        }/>
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <AdminFrame title="Overview">
            <OverviewPanel/>
        </AdminFrame>
    }
}

#[component]
fn OverviewPanel() -> impl IntoView {
    let overview = Resource::new(|| (), |_| admin_overview());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <Stats o/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// "12.3 MB" and friends.
fn human_bytes(bytes: i64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", (b / 1e3).max(1.0))
    }
}

#[component]
fn Stats(o: Overview) -> impl IntoView {
    let stat = |label: &'static str, value: String, href: Option<&'static str>| {
        view! {
            <div class="stat">
                <dt>{label}</dt>
                <dd>{match href {
                    Some(href) => view! { <a href=href>{value}</a> }.into_any(),
                    None => value.into_any(),
                }}</dd>
            </div>
        }
    };
    let chart = chart_svg(&o.per_day);
    let total_90: i64 = o.per_day.iter().map(|d| d.count).sum();
    let days = o.per_day.clone();
    view! {
        <h2>"People"</h2>
        <dl class="stats" aria-label="People">
            {stat("Accounts", o.users_total.to_string(), Some("/admin/users"))}
            {stat("Active in the last 7 days", o.users_active_7.to_string(), None)}
            {stat("Active in the last 30 days", o.users_active_30.to_string(), None)}
            {stat("Disabled", o.users_disabled.to_string(), Some("/admin/users?status=disabled"))}
            {stat("Admins", o.admins.to_string(), Some("/admin/users?role=admin"))}
            {stat("Active sessions", o.sessions_active.to_string(), None)}
        </dl>
        <h2>"Journals"</h2>
        <dl class="stats" aria-label="Journals">
            {stat("Entries", o.entries_total.to_string(), None)}
            {stat("Written in the last 7 days", o.entries_7.to_string(), None)}
            {stat("Database size", human_bytes(o.db_bytes), None)}
        </dl>
        <h2 id="chart-heading">"Entries written per day"</h2>
        <p class="hint">{format!("Last 90 days (UTC): {total_90} entries in all.")}</p>
        <figure class="chart" aria-labelledby="chart-heading">
            <div inner_html=chart></div>
        </figure>
        <details class="chart-table">
            <summary>"The same numbers as a table"</summary>
            <div class="table-wrap">
                <table>
                    <caption>"Entries written per day, last 90 days"</caption>
                    <thead><tr><th scope="col">"Day"</th><th scope="col">"Entries"</th></tr></thead>
                    <tbody>
                        {days.into_iter().rev().map(|d| view! {
                            <tr><th scope="row">{d.date}</th><td>{d.count}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
}

/// The 90-day bar chart as SVG markup. Built from dates and counts only (no user text), so it is
/// safe to insert as markup, and identical on server and client.
fn chart_svg(days: &[DayCount]) -> String {
    use std::fmt::Write;
    const BAR: u32 = 7;
    const GAP: u32 = 2;
    const HEIGHT: u32 = 120;
    const LEFT: u32 = 34;
    const BOTTOM: u32 = 20;
    let max = days.iter().map(|d| d.count).max().unwrap_or(0).max(1);
    let width = LEFT + days.len() as u32 * (BAR + GAP);
    let total: i64 = days.iter().map(|d| d.count).sum();
    let busiest = days
        .iter()
        .max_by_key(|d| d.count)
        .filter(|d| d.count > 0)
        .map(|d| format!(" The busiest day was {} with {}.", d.date, d.count))
        .unwrap_or_default();
    let first = days.first().map(|d| d.date.as_str()).unwrap_or("");
    let last = days.last().map(|d| d.date.as_str()).unwrap_or("");
    let mut svg = format!(
        r#"<svg class="bar-chart" viewBox="0 0 {width} {h}" role="img" aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMinYMin meet"><title id="chart-title">Entries written per day from {first} to {last}</title><desc id="chart-desc">{total} entries over {n} days.{busiest}</desc>"#,
        h = HEIGHT + BOTTOM,
        n = days.len(),
    );
    let _ = write!(
        svg,
        r#"<text x="0" y="10" class="axis">{max}</text><text x="0" y="{HEIGHT}" class="axis">0</text><line x1="{LEFT}" y1="{HEIGHT}" x2="{width}" y2="{HEIGHT}" class="baseline"></line>"#
    );
    for (i, day) in days.iter().enumerate() {
        let x = LEFT + i as u32 * (BAR + GAP);
        let h = ((day.count as f64 / max as f64) * (HEIGHT - 4) as f64).round() as u32;
        let h = if day.count > 0 { h.max(2) } else { 0 };
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{}" width="{BAR}" height="{h}" class="bar"><title>{}: {}</title></rect>"#,
            HEIGHT - h,
            day.date,
            day.count
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="{y}" class="axis">{first}</text><text x="{width}" y="{y}" class="axis" text-anchor="end">{last}</text></svg>"#,
        y = HEIGHT + 15
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_has_a_bar_per_day_and_a_text_alternative() {
        let days: Vec<DayCount> = (1..=3)
            .map(|d| DayCount {
                date: format!("2026-11-0{d}"),
                count: d,
            })
            .collect();
        let svg = chart_svg(&days);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("<title id=\"chart-title\">Entries written per day from 2026-11-01 to 2026-11-03</title>"));
        assert!(svg.contains("6 entries over 3 days. The busiest day was 2026-11-03 with 3."));
    }

    #[test]
    fn sizes_read_like_a_person_would_write_them() {
        assert_eq!(human_bytes(4096), "4 kB");
        assert_eq!(human_bytes(12_300_000), "12.3 MB");
    }
}
