//! `/w/:ws/reports`: finished runs of the workspace or one workflow by day, week or month — totals,
//! success rate, average and 95th-percentile duration — as SVG charts and a table.

use leptos::prelude::*;
use leptos_meta::Title;
use uuid::Uuid;

use crate::engine::api::run_report;
use crate::engine::model::{Granularity, Report, ReportBucket};
use crate::engine::page::duration;
use crate::ui::form::{ErrorPanel, Loading};
use crate::workflows::api::list_workflows;
use crate::workspaces::layout::workspace_param;

/// The charts' drawing area, in SVG units.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 36.0;
const TOP: f64 = 12.0;

#[component]
pub fn ReportsPage() -> impl IntoView {
    let ws = workspace_param();
    let workflow = RwSignal::new(None::<Uuid>);
    let granularity = RwSignal::new(Granularity::Day);
    let workflows = Resource::new(
        move || ws.get(),
        |ws| async move {
            match ws {
                Some(ws) => list_workflows(ws).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let report = Resource::new(
        move || (ws.get(), workflow.get(), granularity.get()),
        |(ws, workflow, granularity)| async move {
            match ws {
                Some(ws) => run_report(ws, workflow, granularity).await,
                None => Ok(Report::default()),
            }
        },
    );
    view! {
        <Title text="Reports · Flowdeck"/>
        <header class="page-header">
            <h1>"Reports"</h1>
            <p class="muted">"Finished runs (simulations left out), in your time zone."</p>
        </header>
        <section class="panel reports">
            <div class="row toolbar">
                <select aria-label="Workflow" on:change=move |ev| workflow.set(event_target_value(&ev).parse().ok())>
                    <option value="">"All workflows"</option>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            workflows
                                .await
                                .unwrap_or_default()
                                .into_iter()
                                .map(|w| view! { <option value=w.id.to_string()>{w.name}</option> })
                                .collect_view()
                        })}
                    </Transition>
                </select>
                <select
                    aria-label="Group by"
                    on:change=move |ev| granularity.set(Granularity::parse(&event_target_value(&ev)).unwrap_or(Granularity::Day))
                >
                    {Granularity::ALL.into_iter().map(|g| view! { <option value=g.as_str()>{g.label()}</option> }).collect_view()}
                </select>
            </div>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match report.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(r) => view! { <ReportView r/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn runs(b: &ReportBucket) -> u32 {
    b.completed + b.failed + b.cancelled
}

#[component]
fn ReportView(r: Report) -> impl IntoView {
    let t = r.total.clone();
    let ended = t.completed + t.failed;
    let rate = if ended == 0 {
        "—".to_owned()
    } else {
        format!("{:.0} %", f64::from(t.completed) * 100.0 / f64::from(ended))
    };
    if runs(&t) == 0 {
        return view! {
            <p class="muted" data-testid="no-report">"No finished runs in this period yet."</p>
        }
        .into_any();
    }
    view! {
        <dl class="report-totals" data-testid="report-totals">
            <div><dt>"Runs"</dt><dd>{runs(&t)}</dd></div>
            <div><dt>"Completed"</dt><dd>{t.completed}</dd></div>
            <div><dt>"Failed"</dt><dd>{t.failed}</dd></div>
            <div><dt>"Success rate"</dt><dd>{rate}</dd></div>
            <div><dt>"Average"</dt><dd>{or_dash(t.avg_ms)}</dd></div>
            <div><dt>"p95"</dt><dd>{or_dash(t.p95_ms)}</dd></div>
        </dl>
        <h2>"Runs"</h2>
        {count_chart(&r.buckets)}
        <h2>"Duration"</h2>
        {duration_chart(&r.buckets)}
        <table class="report-table" data-testid="report-table">
            <thead><tr><th>"Period"</th><th>"Completed"</th><th>"Failed"</th><th>"Cancelled"</th><th>"Average"</th><th>"p95"</th></tr></thead>
            <tbody>
                {r.buckets.iter().rev().filter(|b| runs(b) > 0).map(|b| view! {
                    <tr>
                        <td>{b.label.clone()}</td>
                        <td>{b.completed}</td>
                        <td>{b.failed}</td>
                        <td>{b.cancelled}</td>
                        <td>{or_dash(b.avg_ms)}</td>
                        <td>{or_dash(b.p95_ms)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn or_dash(ms: Option<i64>) -> String {
    if ms.is_some() { duration(ms) } else { "—".to_owned() }
}

/// A round number at or above `max` for the top of an axis.
fn nice(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let step = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * step).find(|v| *v >= max).unwrap_or(max)
}

/// The x of the middle of bucket `i` of `n`.
fn x_of(i: usize, n: usize) -> f64 {
    LEFT + (WIDTH - LEFT) * (i as f64 + 0.5) / n as f64
}

fn y_of(value: f64, top: f64) -> f64 {
    HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / top
}

/// The axes, grid lines at 0, half and the top, and the buckets' labels.
fn axes(buckets: &[ReportBucket], top: f64, unit: fn(f64) -> String) -> impl IntoView {
    let n = buckets.len();
    let every = n.div_ceil(7).max(1);
    let ticks = [0.0, top / 2.0, top];
    view! {
        {ticks.map(|v| view! {
            <line class="grid" x1=LEFT x2=WIDTH y1=y_of(v, top) y2=y_of(v, top)></line>
            <text class="tick" x=LEFT - 6.0 y=y_of(v, top) + 4.0 text-anchor="end">{unit(v)}</text>
        }).collect_view()}
        {buckets.iter().enumerate().filter(|(i, _)| (n - 1 - i).is_multiple_of(every)).map(|(i, b)| view! {
            <text class="tick" x=x_of(i, n) y=HEIGHT - BOTTOM + 16.0 text-anchor="middle">{b.label.trim_start_matches("Week of ").to_owned()}</text>
        }).collect_view()}
    }
}

fn count_chart(buckets: &[ReportBucket]) -> impl IntoView {
    let n = buckets.len();
    let top = nice(buckets.iter().map(runs).max().unwrap_or(0) as f64);
    let bar = (WIDTH - LEFT) / n as f64 * 0.6;
    let view_box = format!("0 0 {WIDTH} {HEIGHT}");
    view! {
        <svg class="chart" viewBox=view_box role="img" aria-label="Finished runs per period: completed, failed, cancelled" data-testid="count-chart">
            {axes(buckets, top, |v| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") })}
            {buckets.iter().enumerate().map(|(i, b)| {
                let x = x_of(i, n) - bar / 2.0;
                let mut base = 0.0;
                let parts = [("completed", b.completed), ("failed", b.failed), ("cancelled", b.cancelled)];
                let rects = parts.map(|(class, count)| {
                    let (from, to) = (base, base + f64::from(count));
                    base = to;
                    (count > 0).then(|| view! {
                        <rect class=format!("bar {class}") x=x width=bar y=y_of(to, top) height=y_of(from, top) - y_of(to, top)></rect>
                    })
                });
                let title = format!("{}: {} completed, {} failed, {} cancelled", b.label, b.completed, b.failed, b.cancelled);
                view! { <g class="bucket"><title>{title}</title>{rects.into_iter().collect_view()}</g> }
            }).collect_view()}
        </svg>
        <p class="legend">
            <span class="key completed"></span>"Completed"
            <span class="key failed"></span>"Failed"
            <span class="key cancelled"></span>"Cancelled"
        </p>
    }
}

fn duration_chart(buckets: &[ReportBucket]) -> impl IntoView {
    let n = buckets.len();
    let max = buckets.iter().filter_map(|b| b.p95_ms.max(b.avg_ms)).max().unwrap_or(0);
    let top = nice(max as f64);
    let line = |pick: fn(&ReportBucket) -> Option<i64>| {
        buckets
            .iter()
            .enumerate()
            .filter_map(|(i, b)| pick(b).map(|ms| format!("{:.1},{:.1}", x_of(i, n), y_of(ms as f64, top))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let dots = |pick: fn(&ReportBucket) -> Option<i64>, class: &'static str| {
        buckets
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                pick(b).map(|ms| {
                    let title = format!("{}: {}", b.label, duration(Some(ms)));
                    view! { <circle class=class cx=x_of(i, n) cy=y_of(ms as f64, top) r="3"><title>{title}</title></circle> }
                })
            })
            .collect_view()
    };
    let view_box = format!("0 0 {WIDTH} {HEIGHT}");
    view! {
        <svg class="chart" viewBox=view_box role="img" aria-label="Average and 95th-percentile run duration per period" data-testid="duration-chart">
            {axes(buckets, top, |v| duration(Some(v as i64)))}
            <polyline class="line avg" points=line(|b| b.avg_ms)></polyline>
            <polyline class="line p95" points=line(|b| b.p95_ms)></polyline>
            {dots(|b| b.avg_ms, "dot avg")}
            {dots(|b| b.p95_ms, "dot p95")}
        </svg>
        <p class="legend"><span class="key avg"></span>"Average" <span class="key p95"></span>"95th percentile"</p>
    }
}
