//! The race as a presenter shows it: the outcome in words, large, over one lane per engine
//! whose bar grows for as long as that engine took (scaled so the slowest takes
//! [`RACE_S`]), and a benchmark's summary card.

use super::state::{BenchSummary, RaceView};
use crate::human;
use leptos::prelude::*;

/// Seconds the slowest lane's bar takes to grow; the others take their share of it.
const RACE_S: f64 = 2.4;

/// The verdict line: GPU first run (upload included) against the CPU workers, the pair that
/// both start from rows in memory and end with outputs in memory.
fn verdict(r: &RaceView) -> String {
    match r.gpu_ms {
        Some(g) => human::verdict(r.cpu_ms, r.workers, g, r.rows),
        None => format!(
            "{}: {} for {} rows (no GPU)",
            human::cpu_workers(r.workers),
            human::duration(r.cpu_ms),
            human::count(r.rows)
        ),
    }
}

#[component]
pub fn Race(race: RaceView) -> impl IntoView {
    let n = race.workers;
    let lanes: Vec<(String, &'static str, f64)> = [
        (
            "CPU, 1 thread".to_string(),
            "cpu-one",
            Some(race.cpu_one_ms),
        ),
        (
            format!("CPU, {n} {}", human::plural(n, "worker")),
            "cpu",
            Some(race.cpu_ms),
        ),
        ("GPU, first run (rows uploaded)".into(), "gpu", race.gpu_ms),
        (
            "GPU, rows already on the GPU".into(),
            "gpu-resident",
            race.resident_ms,
        ),
    ]
    .into_iter()
    .filter_map(|(name, class, ms)| Some((name, class, ms?)))
    .collect();
    let slowest = lanes.iter().map(|l| l.2).fold(1e-9, f64::max);
    let fastest = lanes.iter().map(|l| l.2).fold(f64::INFINITY, f64::min);
    let lanes = lanes
        .into_iter()
        .map(|(name, class, ms)| {
            let share = ms / slowest;
            // Bars grow at one speed: the faster engine's stops first.
            let style = format!(
                "--share: {:.4}; --secs: {:.3}s",
                share.max(0.004),
                RACE_S * share
            );
            let winner = ms == fastest;
            view! {
                <div class=format!("lane {class}") data-testid="lane">
                    <div class="bar" style=style></div>
                    <span class="who">{name}{winner.then_some(view! { <b class="first">" · fastest"</b> })}</span>
                    <b class="time" style=format!("--secs: {:.3}s", RACE_S * share)>{human::duration(ms)}</b>
                </div>
            }
        })
        .collect_view();
    let sub = {
        let mut parts = Vec::new();
        if let Some(r) = race.resident_ms {
            let ratio = race.cpu_ms / r.max(1e-9);
            parts.push(if ratio >= 1.0 {
                format!(
                    "rows kept on the GPU: {} faster than the CPU workers",
                    human::times(ratio)
                )
            } else {
                format!(
                    "rows kept on the GPU: {} slower than the CPU workers",
                    human::times(1.0 / ratio)
                )
            });
        }
        parts.push(if race.identical {
            "outputs bit-identical".into()
        } else {
            "outputs differ (see below)".into()
        });
        parts.join(" · ")
    };
    view! {
        <div class="race" data-testid="race">
            <p class="verdict" data-testid="verdict" aria-live="polite">{verdict(&race)}</p>
            <p class="race-sub muted" data-testid="race-sub">{sub}</p>
            {race.gpu_off.clone().map(|e| view! { <p class="bad">"GPU: " {e}</p> })}
            <div class="lanes" role="img" aria-label="time per engine, shorter is faster">{lanes}</div>
        </div>
    }
}

/// A benchmark's outcome on one card, above the race (whose verdict is the largest batch's):
/// where the GPU overtakes the CPU workers, whether every output agreed, and what ran.
#[component]
pub fn BenchCard(summary: BenchSummary) -> impl IntoView {
    let largest = summary.points.last().map_or(0, |p| p.rows);
    let identical = summary.points.iter().all(|p| p.identical);
    let pts: Vec<(usize, f64, f64)> = summary
        .points
        .iter()
        .filter_map(|p| Some((p.rows, p.cpu_ms, p.gpu_ms?)))
        .collect();
    let cpu = human::cpu_workers(summary.workers);
    let cross = match human::crossover(&pts) {
        _ if pts.is_empty() => "The GPU did not run.".to_string(),
        Some(rows) if pts.len() == summary.points.len() => format!(
            "The GPU is ahead of {cpu} from {} rows up to the largest batch, {} rows.",
            human::count(rows),
            human::count(largest)
        ),
        _ => format!(
            "The GPU stays behind {cpu} at the largest batch, {} rows.",
            human::count(largest)
        ),
    };
    view! {
        <div class="bench-card" data-testid="bench-summary">
            <p><b>"Benchmark done. "</b>{cross}" "
                <span class=if identical { "ok" } else { "bad" }>{if identical {
                    "Every batch size: CPU (1 thread and workers) and GPU outputs bit-identical."
                } else {
                    "Some outputs differ between the engines: see the table below."
                }}</span></p>
            <p class="muted">{summary.setup} " · GPU: " {summary.adapter} " · medians"</p>
        </div>
    }
}
