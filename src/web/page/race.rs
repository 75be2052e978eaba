//! The race as a presenter shows it: the outcome in words, large, over one lane per engine
//! whose bar grows for as long as that engine took (scaled so the slowest takes
//! [`RACE_S`]), and a benchmark's summary card.

use super::charts::SweepPoint;
use super::state::{BenchSummary, ScoreView};
use crate::spoken::{self, GpuOutputs, Side};
use leptos::prelude::*;

/// Seconds the slowest lane's bar takes to grow; the others take their share of it.
const RACE_S: f64 = 2.4;

/// The verdict line: GPU first run (upload included) against the CPU workers, the pair that
/// both start from rows in memory and end with outputs in memory.
fn verdict(r: &ScoreView) -> String {
    match r.gpu_ms {
        Some(g) => spoken::verdict(r.cpu.ms, r.cpu.workers, g, r.rows, r.software()),
        None => format!(
            "{}: {} for {} (no GPU)",
            spoken::cpu_workers(r.cpu.workers),
            spoken::duration(r.cpu.ms),
            spoken::rows(r.rows)
        ),
    }
}

#[component]
pub fn Race(race: ScoreView) -> impl IntoView {
    let n = race.cpu.workers;
    let gpu = race.gpu_name();
    // "fastest" marks the verdict's winner (CPU workers or GPU first run), nothing on a tie
    // or without a GPU: the lanes never contradict the sentence above them.
    let winner = race.gpu_ms.and_then(|g| spoken::faster(race.cpu.ms, g));
    let lanes: Vec<(String, &'static str, Option<f64>, bool)> = vec![
        (
            "CPU, 1 thread".to_string(),
            "cpu-one",
            Some(race.cpu.one_ms),
            false,
        ),
        (
            format!("CPU, {n} {}", spoken::plural(n, "worker")),
            "cpu",
            Some(race.cpu.ms),
            winner == Some(Side::Cpu),
        ),
        (
            format!("{gpu}, first run (rows uploaded)"),
            "gpu",
            race.gpu_ms,
            winner == Some(Side::Gpu),
        ),
        (
            format!("{gpu}, rows already on the GPU"),
            "gpu-resident",
            race.resident_ms,
            false,
        ),
    ];
    let lanes: Vec<(String, &'static str, f64, bool)> = lanes
        .into_iter()
        .filter_map(|(name, class, ms, first)| Some((name, class, ms?, first)))
        .collect();
    let slowest = lanes.iter().map(|l| l.2).fold(1e-9, f64::max);
    // A screen reader gets every lane's time (the lanes are one image).
    let spoken_lanes = format!(
        "time per engine, shorter is faster: {}",
        lanes
            .iter()
            .map(|l| format!("{} {}", l.0, spoken::duration(l.2)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    // The bars grow over RACE_S whatever the run took: say how much slower that is.
    let pace = RACE_S * 1e3 / slowest;
    let replay = format!(
        "Replayed {} {} than it ran: the slowest lane took {}, its bar {RACE_S} s.",
        spoken::times(pace.max(1.0 / pace)),
        if pace >= 1.0 { "slower" } else { "faster" },
        spoken::duration(slowest)
    );
    let lanes = lanes
        .into_iter()
        .map(|(name, class, ms, first)| {
            let share = ms / slowest;
            // Bars grow at one speed: the faster engine's stops first.
            let style = format!(
                "--share: {:.4}; --secs: {:.3}s",
                share.max(0.004),
                RACE_S * share
            );
            view! {
                <div class=format!("lane {class}") data-testid="lane">
                    <div class="bar" style=style></div>
                    <span class="who">{name}{first.then_some(view! { <b class="first">" · fastest"</b> })}</span>
                    <b class="time" style=format!("--secs: {:.3}s", RACE_S * share)>{spoken::duration(ms)}</b>
                </div>
            }
        })
        .collect_view();
    // One line under the verdict: what the GPU was (a software one is not this machine's
    // graphics card) and which engines' outputs agreed. (Rows kept on the GPU have their lane.)
    // (The adapter is set only for a GPU that ran.)
    let sub = if race.software() {
        format!(
            "software GPU: not this machine's graphics card · {}",
            race.outputs_line()
        )
    } else {
        race.outputs_line()
    };
    view! {
        <div class="race" data-testid="race">
            <p class="verdict" data-testid="verdict" aria-live="polite">{verdict(&race)}</p>
            <p class=if race.agree() { "race-sub muted" } else { "race-sub bad" } data-testid="race-sub">{sub}</p>
            {race.gpu_error.clone().map(|e| view! { <p class="bad">"GPU: " {e}</p> })}
            <div class="lanes" role="img" aria-label=spoken_lanes>{lanes}</div>
            <p class="muted replay" data-testid="replay">{replay}</p>
        </div>
    }
}

/// What every batch of a benchmark showed of the outputs, naming only the engines that ran.
fn outputs_summary(points: &[SweepPoint], workers: usize, gpu_off: &str) -> String {
    let one: usize = points.iter().map(|p| p.one_differ).sum();
    let ran: Vec<usize> = points.iter().filter_map(|p| p.gpu_differ).collect();
    let software = points.iter().any(|p| p.software);
    let gpu = if ran.len() == points.len() && !ran.is_empty() {
        GpuOutputs::Compared {
            differ: ran.iter().sum(),
            software,
        }
    } else if ran.is_empty() {
        GpuOutputs::DidNotRun(gpu_off)
    } else {
        GpuOutputs::DidNotRun("at some batch sizes (see the table)")
    };
    format!(
        "Every batch size: {}.",
        spoken::outputs_line(&spoken::cpu_workers(workers), Some(one), gpu)
    )
}

/// A benchmark's outcome on one card, above the race (whose verdict is the largest batch's):
/// where the GPU overtakes the CPU workers, whether every output agreed, and what ran.
#[component]
pub fn BenchCard(summary: BenchSummary) -> impl IntoView {
    let largest = summary.points.last().map_or(0, |p| p.rows);
    let agree = summary.points.iter().all(|p| p.agree);
    let pts: Vec<(usize, f64, f64)> = summary
        .points
        .iter()
        .filter_map(|p| Some((p.rows, p.cpu_ms, p.gpu_ms?)))
        .collect();
    let cpu = spoken::cpu_workers(summary.workers);
    let gpu = spoken::gpu_name(summary.points.iter().any(|p| p.software));
    let cross = match spoken::crossover(&pts) {
        _ if pts.is_empty() => "The GPU did not run.".to_string(),
        Some(rows) if pts.len() == summary.points.len() => format!(
            "The {gpu} is ahead of {cpu} from {} up to the largest batch, {}.",
            spoken::rows(rows),
            spoken::rows(largest)
        ),
        _ => format!(
            "The {gpu} stays behind {cpu} at the largest batch, {}.",
            spoken::rows(largest)
        ),
    };
    let outputs = outputs_summary(&summary.points, summary.workers, &summary.adapter);
    view! {
        <div class="bench-card" data-testid="bench-summary">
            <p><b>"Benchmark done. "</b>{cross}" "
                <span class=if agree { "ok" } else { "bad" } data-testid="bench-outputs">{outputs}</span></p>
            <p class="muted">{summary.setup} " · GPU: " {summary.adapter} " · medians"</p>
        </div>
    }
}
