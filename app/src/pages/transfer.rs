//! `/journal/transfer`: export the journal (JSON or Markdown files) and import one.

use crate::components::guard::RequireUser;
use crate::entries::{last_import_report, ImportReport};
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TransferPage() -> impl IntoView {
    view! {
        <Title text="Export and import"/>
        <RequireUser children=|_user: SessionUser| {
            let report = Resource::new(|| (), |_| last_import_report());
            view! {
                <section class="page">
                    <p class="back"><a href="/journal">"← Journal"</a></p>
                    <h1>"Export and import"</h1>
                    <h2>"Take your journal with you"</h2>
                    <p>"Download every entry (the trash excepted) whenever you like."</p>
                    <ul class="download-list">
                        <li><a class="button" href="/export/quire.json" download>"Download JSON"</a>" Quire’s own format: re-import it here or anywhere."</li>
                        <li><a class="button" href="/export/markdown.zip" download>"Download Markdown (zip)"</a>" One file per entry, with front matter."</li>
                    </ul>
                    <h2>"Import"</h2>
                    <p>"Import a Quire JSON export, or a jrnl export (" <code>"jrnl --export json"</code> "). Entries you already have are skipped, so importing the same file twice is harmless. Files can be up to 20 MB."</p>
                    <form method="post" action="/import" enctype="multipart/form-data" class="import-form">
                        <div class="field">
                            <label for="import-file">"File to import"</label>
                            <input id="import-file" type="file" name="file" accept=".json,application/json" required/>
                        </div>
                        <button type="submit">"Import"</button>
                    </form>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            report.await.ok().flatten().map(|report| view! { <Report report/> })
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
    view! {
        <section class="import-report" aria-label="Last import">
            <h2>"Last import"</h2>
            {report.file.map(|f| view! { <p class="hint">{format!("File: {f}")}</p> })}
            <p>{summary}"."</p>
            {(!report.problems.is_empty()).then(|| view! {
                <ul class="problems">
                    {report.problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                </ul>
            })}
        </section>
    }
}
