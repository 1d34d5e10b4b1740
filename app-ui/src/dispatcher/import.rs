//! CSV import with progress and a row report.

use super::*;

#[component]
pub(crate) fn Import() -> impl IntoView {
    let c = ctx();
    let file = NodeRef::<Input>::new();
    let partial = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let progress = RwSignal::new(None::<app_api::ImportProgress>);
    let report = RwSignal::new(None::<app_api::ImportReport>);
    let error = RwSignal::new(None::<String>);
    let start = move |_| {
        let Some(input) = file.get() else { return };
        busy.set(true);
        report.set(None);
        error.set(None);
        leptos::task::spawn_local(async move {
            let text = match util::input_file_text(&input).await {
                None => {
                    error.set(Some("Choose a CSV file first.".into()));
                    busy.set(false);
                    return;
                }
                Some(Err(e)) => {
                    error.set(Some(e));
                    busy.set(false);
                    return;
                }
                Some(Ok(t)) => t,
            };
            let poll = set_interval_with_handle(
                move || {
                    run(Request::ImportProgress, move |r| {
                        if let Ok(Response::ImportProgress(p)) = r
                            && p.phase != "idle"
                        {
                            progress.set(Some(p));
                        }
                    })
                },
                std::time::Duration::from_millis(250),
            )
            .ok();
            let r = crate::api::call(&Request::ImportOrdersCsv {
                csv: text,
                partial: partial.get_untracked(),
            })
            .await;
            if let Some(h) = poll {
                h.clear();
            }
            busy.set(false);
            progress.set(None);
            match r {
                Ok(Response::ImportReport(rep)) => {
                    report.set(Some(rep));
                    c.bump();
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(util::describe(&e))),
            }
        });
    };
    view! {
        <section class="card">
            <h2>"Import orders from CSV"</h2>
            <p class="muted">"Every row is checked first; with errors nothing is imported unless you allow a partial import. Addresses without coordinates are placed on the map by the address search; an ambiguous or unknown one is a problem of its row."</p>
            <details id="csv-columns"><summary>"Columns"</summary>
                <table class="problems"><tbody>
                    {app_api::ORDER_CSV_COLUMNS.iter().map(|(name, what)| view! { <tr><td><code>{*name}</code></td><td>{*what}</td></tr> }).collect_view()}
                </tbody></table>
                <p class="muted small" id="csv-export-only">{format!("An orders export imports as it is (as new orders): its columns {} are skipped.", app_api::ORDER_CSV_EXPORT_ONLY.join(", "))}</p>
            </details>
            <div class="row">
                <input type="file" id="csv-file" accept=".csv,text/csv" node_ref=file/>
                <label class="check"><input type="checkbox" id="csv-partial" on:change=move |ev| partial.set(event_target_checked(&ev))/>"Import the good rows even if some are bad"</label>
                <button id="csv-import" on:click=start disabled=busy>"Import"</button>
            </div>
            {move || progress.get().map(|p| {
                let pct = if p.total > 0 { p.done as f64 * 100.0 / p.total as f64 } else { 0.0 };
                view! { <div class="progress" id="csv-progress"><div class="bar-fill" style:width=format!("{pct:.0}%")></div><span>{format!("{} {:.0}%", p.phase, pct)}</span></div> }
            })}
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="csv-error">{move || error.get()}</p></Show>
            {move || report.get().map(|r| view! {
                <div id="csv-report">
                    <p><b>{if r.committed { format!("Imported {} of {} rows", r.imported, r.rows) } else { format!("Nothing imported: {} of {} rows have problems", r.rejected, r.rows) }}</b>
                        {r.first_reference.clone().map(|f| format!(" · {} … {}", f, r.last_reference.clone().unwrap_or_default()))}
                        {format!(" · {:.1} s", r.ms / 1000.0)}</p>
                    {(!r.problems.is_empty()).then(|| view! {
                        <table class="problems"><thead><tr><th>"Line"</th><th>"Column"</th><th>"Problem"</th></tr></thead>
                        <tbody>{r.problems.iter().map(|p| view! { <tr><td>{p.line}</td><td>{p.column.clone().unwrap_or_default()}</td><td>{p.message.clone()}</td></tr> }).collect_view()}</tbody></table>
                    })}
                    {(!r.geocoded.is_empty()).then(|| view! {
                        <details id="csv-geocoded"><summary>{format!("{} addresses placed on the map by the address search", r.geocoded.len())}</summary>
                            <table class="problems"><thead><tr><th>"Line"</th><th>"Column"</th><th>"Typed"</th><th>"Placed at"</th></tr></thead>
                            <tbody>{r.geocoded.iter().map(|g| view! { <tr><td>{g.line}</td><td>{g.column.clone()}</td><td>{g.typed.clone()}</td>
                                <td>{g.matched.clone()}{g.interpolated.then_some(" (estimated between house numbers)")}</td></tr> }).collect_view()}</tbody></table>
                        </details>
                    })}
                </div>
            })}
        </section>
    }
}
