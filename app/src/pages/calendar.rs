//! `/journal/calendar`: a year of days as a heatmap (SVG rendered on the server, so it reads
//! without JavaScript). Every day with entries links to that day's entries.

use crate::components::guard::RequireUser;
use crate::components::notice::ErrorNotice;
use crate::entries::{calendar, CalendarYear};
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

const CELL: u32 = 14;
const GAP: u32 = 3;
const LEFT: u32 = 30;
const TOP: u32 = 18;

#[component]
pub fn CalendarPage() -> impl IntoView {
    view! {
        <Title text="Calendar"/>
        <RequireUser children=|_user: SessionUser| {
            let query = use_query_map();
            let year = Memo::new(move |_| query.read().get("year").and_then(|y| y.parse::<i32>().ok()));
            let data = Resource::new(move || year.get(), calendar);
            view! {
                <section class="page">
                    <p class="back"><a href="/journal">"← Journal"</a></p>
                    <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match data.await {
                                Ok(year) => view! { <Heatmap year/> }.into_any(),
                                Err(error) => view! { <h1>"Calendar"</h1><ErrorNotice error/> }.into_any(),
                            }
                        })}
                    </Transition>
                </section>
            }
        }/>
    }
}

fn level(count: i64) -> &'static str {
    match count {
        0 => "day l0",
        1 => "day l1",
        2 => "day l2",
        3..=4 => "day l3",
        _ => "day l4",
    }
}

fn heatmap_svg(year: &CalendarYear, width: u32, height: u32, summary: &str) -> String {
    use std::fmt::Write;
    let mut svg = format!(
        r#"<svg class="heatmap" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="heatmap-title"><title id="heatmap-title">Days with entries in {}: {summary}</title>"#,
        year.year
    );
    for (name, col) in &year.months {
        let _ = write!(
            svg,
            r#"<text x="{}" y="11" class="axis">{name}</text>"#,
            LEFT + col * (CELL + GAP)
        );
    }
    for (i, name) in ["Mon", "Wed", "Fri"].into_iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="0" y="{}" class="axis">{name}</text>"#,
            TOP + (i as u32 * 2) * (CELL + GAP) + 11
        );
    }
    for day in &year.days {
        let (x, y) = (LEFT + day.col * (CELL + GAP), TOP + day.row * (CELL + GAP));
        let rect = format!(
            r#"<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="3" class="{}"></rect>"#,
            level(day.count)
        );
        if day.count > 0 {
            let label = format!(
                "{}: {} {}",
                day.label,
                day.count,
                if day.count == 1 { "entry" } else { "entries" }
            );
            let _ = write!(
                svg,
                r#"<a href="/journal?from={0}&amp;to={0}" aria-label="{label}"><title>{label}</title>{rect}</a>"#,
                day.date
            );
        } else {
            svg.push_str(&rect);
        }
    }
    svg.push_str("</svg>");
    svg
}

#[component]
fn Heatmap(year: CalendarYear) -> impl IntoView {
    let weeks = year.days.iter().map(|d| d.col).max().unwrap_or(52) + 1;
    let width = LEFT + weeks * (CELL + GAP);
    let height = TOP + 7 * (CELL + GAP);
    let summary = format!(
        "{} {} on {} {} in {}.",
        year.total,
        if year.total == 1 { "entry" } else { "entries" },
        year.days_written,
        if year.days_written == 1 {
            "day"
        } else {
            "days"
        },
        year.year
    );
    let svg = heatmap_svg(&year, width, height, &summary);
    let prev = format!("/journal/calendar?year={}", year.year - 1);
    let next = format!("/journal/calendar?year={}", year.year + 1);
    view! {
        <div class="page-head">
            <h1>{format!("Calendar {}", year.year)}</h1>
            <nav class="pager" aria-label="Years">
                <a href=prev rel="prev">{format!("← {}", year.year - 1)}</a>
                <a href=next rel="next">{format!("{} →", year.year + 1)}</a>
            </nav>
        </div>
        <p>{summary.clone()}</p>
        // The SVG is assembled as markup from Quire's own data only (dates, numbers, month names),
        // so it is the same whether the server or the browser renders it.
        <div class="heatmap-wrap" inner_html=svg></div>
        <p class="hint">"Darker days have more entries. Select a day to read its entries."</p>
    }
}
