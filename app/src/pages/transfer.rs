//! `/journal/transfer`: export the journal (JSON or Markdown files) and import one.

use crate::components::guard::RequireUser;
use crate::entries::{last_import_report, ImportReport, ImportState};
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TransferPage() -> impl IntoView {
    view! {
        <Title text="Export and import"/>
        <RequireUser children=|_user: SessionUser| {
            let report = Resource::new(|| (), |_| last_import_report());
            #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
            let report_resource = report;
            view! {
                <section class="page">
                    <p class="back"><a href="/journal">"← Journal"</a></p>
                    <h1>"Export and import"</h1>
                    <h2>"Take your journal with you"</h2>
                    <p>"Download every entry (the trash excepted) whenever you like."</p>
                    <ul class="download-list">
                        <li><a class="button" href="/export/quire.json" download>"Download JSON"</a>" Quire’s own format: re-import it here or anywhere. Photos are referred to, not included."</li>
                        <li><a class="button" href="/export/quire.zip" download>"Download JSON with photos (zip)"</a>" The same, with every photo: import it to bring back entries and photos."</li>
                        <li><a class="button" href="/export/markdown.zip" download>"Download Markdown (zip)"</a>" One file per entry, with front matter, and a photos folder the entries link to."</li>
                    </ul>
                    <h2>"Import"</h2>
                    <p>"Import a Quire export (JSON, or the zip with photos), a jrnl export (" <code>"jrnl --export json"</code> "), or a Day One export (the zip Day One makes with File → Export → JSON, photos included). Entries you already have are skipped, so importing the same file twice is harmless. JSON files can be up to 20 MB, zips much larger, and 50,000 entries; a large file is imported in the background while you go on writing."</p>
                    <form method="post" action="/import" enctype="multipart/form-data" class="import-form">
                        <div class="field">
                            <label for="import-file">"File to import"</label>
                            <input id="import-file" type="file" name="file" accept=".json,.zip,application/json,application/zip" required/>
                        </div>
                        <button type="submit">"Import"</button>
                    </form>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let report = report.await.ok().flatten();
                            // While an import runs, look again every second.
                            #[cfg(feature = "hydrate")]
                            if report.as_ref().is_some_and(ImportReport::is_running) {
                                leptos::leptos_dom::helpers::set_timeout(
                                    move || report_resource.refetch(),
                                    std::time::Duration::from_secs(1),
                                );
                            }
                            report.map(|report| view! { <Report report/> })
                        })}
                    </Transition>
                </section>
            }
        }/>
    }
}

#[component]
fn Report(report: ImportReport) -> impl IntoView {
    let summary = report.summary();
    let progress = match report.state {
        ImportState::Running { done, total } => Some((done, total)),
        _ => None,
    };
    let hidden = report.problem_count.saturating_sub(report.problems.len());
    view! {
        <section class="import-report" aria-label="Last import">
            <h2>"Last import"</h2>
            {report.file.map(|f| view! { <p class="hint">{format!("File: {f}")}</p> })}
            {progress.map(|(done, total)| view! {
                <progress aria-label="Import progress" max=total.max(1) value=done></progress>
                // Without JavaScript the page reloads itself until the import is done.
                <noscript><meta http-equiv="refresh" content="2"/></noscript>
            })}
            <p role="status">{summary}"."</p>
            {(!report.problems.is_empty()).then(|| view! {
                <ul class="problems">
                    {report.problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                </ul>
            })}
            {(hidden > 0).then(|| view! {
                <p class="hint">{format!("…and {hidden} more not listed.")}</p>
            })}
        </section>
    }
}
