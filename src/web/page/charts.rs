//! Charts drawn as SVG from our own numbers: feature importances, a confusion matrix,
//! predicted against actual, and the scoring sweep (time against batch size, log axes).

use leptos::prelude::*;

const W: f64 = 640.0;
const H: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// Horizontal bars, largest first.
#[component]
pub fn Bars(items: Vec<(String, f64)>) -> impl IntoView {
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1e-12);
    let row_h = 22.0;
    let label_w = 180.0;
    let height = row_h * items.len() as f64 + 8.0;
    let bars = items
        .into_iter()
        .enumerate()
        .map(|(i, (name, v))| {
            let y = i as f64 * row_h + 4.0;
            let w = (W - label_w - 70.0) * v / max;
            view! {
                <text x=label_w - 8.0 y=y + 15.0 text-anchor="end" class="label">{name}</text>
                <rect x=label_w y=y + 3.0 width=w height=row_h - 6.0 class="bar" rx="2"></rect>
                <text x=label_w + w + 6.0 y=y + 15.0 class="value">{format!("{:.3}", v)}</text>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {height}") role="img" aria-label="feature importances">
            {bars}
        </svg>
    }
}

/// One row's explanation: from `base` (the expected value), each contribution in turn moves
/// the running total right (up) or left (down), ending at the output they add up to.
#[component]
pub fn Waterfall(base: f64, items: Vec<(String, f64)>) -> impl IntoView {
    let row_h = 24.0;
    let label_w = 230.0;
    let value_w = 70.0;
    let height = row_h * (items.len() + 2) as f64 + 8.0;
    let mut at = base;
    let steps: Vec<(String, f64, f64)> = items
        .into_iter()
        .map(|(name, v)| {
            let from = at;
            at += v;
            (name, from, v)
        })
        .collect();
    let total = at;
    let (lo, hi) = steps
        .iter()
        .flat_map(|(_, from, v)| [*from, from + v])
        .chain([base, total])
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(x), h.max(x))
        });
    let span = (hi - lo).max(1e-12);
    let plot = W - label_w - value_w;
    let x = move |v: f64| label_w + plot * (v - lo) / span;
    let line = |y: f64, v: f64, label: String, class: &'static str| {
        view! {
            <text x=label_w - 8.0 y=y + 16.0 text-anchor="end" class="label">{label}</text>
            <line x1=x(v) x2=x(v) y1=y + 2.0 y2=y + row_h - 2.0 class=class></line>
            <text x=x(v) + 6.0 y=y + 16.0 class="value">{format!("{v:.3}")}</text>
        }
    };
    let bars = steps
        .into_iter()
        .enumerate()
        .map(|(i, (name, from, v))| {
            let y = (i + 1) as f64 * row_h + 4.0;
            let (a, b) = (x(from.min(from + v)), x(from.max(from + v)));
            let class = if v >= 0.0 { "bar up" } else { "bar down" };
            view! {
                <text x=label_w - 8.0 y=y + 16.0 text-anchor="end" class="label">{name}</text>
                <rect x=a y=y + 4.0 width=(b - a).max(1.0) height=row_h - 8.0 class=class rx="2"></rect>
                <text x=W - value_w + 8.0 y=y + 16.0 class="value">{format!("{v:+.3}")}</text>
            }
        })
        .collect_view();
    let n = bars.len();
    view! {
        <svg class="chart waterfall" viewBox=format!("0 0 {W} {height}") role="img" aria-label="contributions to this prediction">
            {line(4.0, base, "expected value".into(), "mark")}
            {bars}
            {line((n + 1) as f64 * row_h + 4.0, total, "prediction".into(), "mark total")}
        </svg>
    }
}

/// `matrix[truth][predicted]` as a table shaded by each row's share.
#[component]
pub fn Confusion(classes: Vec<String>, matrix: Vec<Vec<usize>>) -> impl IntoView {
    let head = classes
        .iter()
        .map(|c| view! { <th>{c.clone()}</th> })
        .collect_view();
    let rows = matrix
        .into_iter()
        .enumerate()
        .map(|(t, row)| {
            let total = row.iter().sum::<usize>().max(1) as f64;
            let cells = row
                .into_iter()
                .enumerate()
                .map(|(p, n)| {
                    let share = n as f64 / total;
                    let style = format!("background: rgba(37, 99, 235, {:.2})", share * 0.85);
                    let class = if t == p { "diag" } else { "" };
                    view! { <td class=class style=style>{n}</td> }
                })
                .collect_view();
            view! { <tr><th>{classes[t].clone()}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <table class="confusion">
            <thead><tr><th class="corner">"truth \\ predicted"</th>{head}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn ticks_linear(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let step = 10f64.powf((span / 5.0).log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * step)
        .find(|s| span / s <= 6.0)
        .unwrap_or(step * 10.0);
    let mut t = (lo / step).ceil() * step;
    let mut v = Vec::new();
    while t <= hi + step * 1e-9 {
        v.push(t);
        t += step;
    }
    v
}

fn fmt_tick(v: f64) -> String {
    if v.abs() >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Predicted against actual values (regression), with the diagonal.
#[component]
pub fn Scatter(truth: Vec<f64>, predicted: Vec<f64>) -> impl IntoView {
    let all = truth.iter().chain(&predicted).copied();
    let lo = all.clone().fold(f64::INFINITY, f64::min);
    let hi = all.fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    };
    let sx = move |v: f64| LEFT + (v - lo) / (hi - lo) * (W - LEFT - RIGHT);
    let sy = move |v: f64| H - BOTTOM - (v - lo) / (hi - lo) * (H - TOP - BOTTOM);
    let dots = truth
        .iter()
        .zip(&predicted)
        .take(5000)
        .map(|(&t, &p)| view! { <circle cx=sx(t) cy=sy(p) r="2.5" class="dot"></circle> })
        .collect_view();
    let ticks = ticks_linear(lo, hi);
    let xt = ticks
        .iter()
        .map(|&t| view! { <text x=sx(t) y=H - BOTTOM + 16.0 text-anchor="middle" class="tick">{fmt_tick(t)}</text> })
        .collect_view();
    let yt = ticks
        .iter()
        .map(|&t| view! { <text x=LEFT - 6.0 y=sy(t) + 4.0 text-anchor="end" class="tick">{fmt_tick(t)}</text> })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img" aria-label="predicted against actual">
            <line x1=sx(lo) y1=sy(lo) x2=sx(hi) y2=sy(hi) class="diagonal"></line>
            <line x1=LEFT y1=H - BOTTOM x2=W - RIGHT y2=H - BOTTOM class="axis"></line>
            <line x1=LEFT y1=TOP x2=LEFT y2=H - BOTTOM class="axis"></line>
            {dots}{xt}{yt}
            <text x=(LEFT + W - RIGHT) / 2.0 y=H - 6.0 text-anchor="middle" class="label">"actual"</text>
            <text x="14" y=(TOP + H - BOTTOM) / 2.0 text-anchor="middle" class="label"
                transform=format!("rotate(-90 14 {})", (TOP + H - BOTTOM) / 2.0)>"predicted"</text>
        </svg>
    }
}

/// One batch size of the sweep.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SweepPoint {
    pub rows: usize,
    /// All scoring workers.
    pub cpu_ms: f64,
    /// One worker.
    pub cpu_one_ms: f64,
    pub gpu_ms: Option<f64>,
    pub kernel_ms: Option<f64>,
    /// Outputs of one thread whose bits differ from the workers'.
    pub one_differ: usize,
    /// The GPU's outputs whose bits differ from the CPU's, when it ran.
    pub gpu_differ: Option<usize>,
    /// The GPU that ran is a CPU emulation.
    pub software: bool,
    /// No engine that ran gave other bits.
    pub agree: bool,
}

fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let (lo, hi) = (lo.log10().floor(), hi.log10().ceil());
    (lo, if hi > lo { hi } else { lo + 1.0 })
}

/// The sweep's frame: wider margins than the other charts, for its larger labels (20 units:
/// 16 px or more wherever the chart is 512 px wide or more).
const SW_LEFT: f64 = 100.0;
const SW_BOTTOM: f64 = 64.0;
const SW_RIGHT: f64 = 36.0;

/// Time against batch size on log axes: CPU (one worker, all workers), GPU end to end and GPU
/// kernel.
#[component]
pub fn Sweep(points: Vec<SweepPoint>) -> impl IntoView {
    let (x0, x1) = log_range(points.iter().map(|p| p.rows as f64));
    let (y0, y1) = log_range(
        points
            .iter()
            .flat_map(|p| [Some(p.cpu_ms), Some(p.cpu_one_ms), p.gpu_ms, p.kernel_ms])
            .flatten(),
    );
    let sx = move |v: f64| SW_LEFT + (v.log10() - x0) / (x1 - x0) * (W - SW_LEFT - SW_RIGHT);
    let sy = move |v: f64| {
        H - SW_BOTTOM - (v.max(1e-9).log10() - y0) / (y1 - y0) * (H - TOP - SW_BOTTOM)
    };
    let series = move |get: fn(&SweepPoint) -> Option<f64>, class: &'static str| {
        let pts: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| get(p).map(|v| (sx(p.rows as f64), sy(v))))
            .collect();
        let line = pts
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let dots = pts
            .iter()
            .map(|&(x, y)| view! { <circle cx=x cy=y r="4" class=format!("pt {class}")></circle> })
            .collect_view();
        view! { <polyline points=line class=format!("series {class}")></polyline>{dots} }
    };
    let cpu = series(|p| Some(p.cpu_ms), "cpu");
    let cpu_one = series(|p| Some(p.cpu_one_ms), "cpu-one");
    let gpu = series(|p| p.gpu_ms, "gpu");
    let kernel = series(|p| p.kernel_ms, "kernel");
    let xt = (x0 as i32..=x1 as i32)
        .map(|e| {
            let x = sx(10f64.powi(e));
            view! {
                <line x1=x y1=TOP x2=x y2=H - SW_BOTTOM class="grid"></line>
                <text x=x y=H - SW_BOTTOM + 24.0 text-anchor="middle" class="tick">{crate::spoken::pow10_rows(e)}</text>
            }
        })
        .collect_view();
    let yt = (y0 as i32..=y1 as i32)
        .map(|e| {
            let y = sy(10f64.powi(e));
            let label = crate::spoken::pow10_ms(e);
            view! {
                <line x1=SW_LEFT y1=y x2=W - SW_RIGHT y2=y class="grid"></line>
                <text x=SW_LEFT - 8.0 y=y + 7.0 text-anchor="end" class="tick">{label}</text>
            }
        })
        .collect_view();
    view! {
        <svg class="chart sweep" viewBox=format!("0 0 {W} {H}") role="img" aria-label="scoring time against batch size">
            {xt}{yt}
            <line x1=SW_LEFT y1=H - SW_BOTTOM x2=W - SW_RIGHT y2=H - SW_BOTTOM class="axis"></line>
            <line x1=SW_LEFT y1=TOP x2=SW_LEFT y2=H - SW_BOTTOM class="axis"></line>
            {cpu_one}{cpu}{gpu}{kernel}
            <text x=(SW_LEFT + W - SW_RIGHT) / 2.0 y=H - 8.0 text-anchor="middle" class="label">"rows in the batch"</text>
        </svg>
    }
}

/// The square frame of [`UnitCurve`].
const U: f64 = 300.0;
const U_LEFT: f64 = 52.0;
const U_BOTTOM: f64 = 44.0;
const U_PAD: f64 = 12.0;

/// Points on [0, 1] x [0, 1] joined in order (a ROC or precision-recall curve, a reliability
/// diagram's bins as dots), with the diagonal where it means "no better than chance" or
/// "perfectly calibrated", and a marker (the current threshold) that follows its signal.
#[component]
pub fn UnitCurve(
    points: Vec<(f64, f64)>,
    x_label: &'static str,
    y_label: &'static str,
    label: &'static str,
    #[prop(default = false)] diagonal: bool,
    #[prop(default = false)] dots: bool,
    #[prop(optional, into)] marker: Option<Signal<Option<(f64, f64)>>>,
) -> impl IntoView {
    let sx = |v: f64| U_LEFT + v.clamp(0.0, 1.0) * (U - U_LEFT - U_PAD);
    let sy = |v: f64| U - U_BOTTOM - v.clamp(0.0, 1.0) * (U - U_BOTTOM - U_PAD);
    let line = points
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
        .collect::<Vec<_>>()
        .join(" ");
    let dots = dots.then(|| {
        points
            .iter()
            .map(|&(x, y)| view! { <circle cx=sx(x) cy=sy(y) r="4" class="pt"></circle> })
            .collect_view()
    });
    let ticks = [0.0, 0.5, 1.0]
        .map(|t| {
            view! {
                <text x=sx(t) y=U - U_BOTTOM + 16.0 text-anchor="middle" class="tick">{fmt_tick(t)}</text>
                <text x=U_LEFT - 6.0 y=sy(t) + 4.0 text-anchor="end" class="tick">{fmt_tick(t)}</text>
            }
        })
        .collect_view();
    let marker = move || {
        marker.and_then(|m| m.get()).map(|(x, y)| {
            view! { <circle cx=sx(x) cy=sy(y) r="6" class="marker" data-testid="curve-marker"></circle> }
        })
    };
    view! {
        <svg class="chart unit" viewBox=format!("0 0 {U} {U}") role="img" aria-label=label>
            {diagonal.then(|| view! { <line x1=sx(0.0) y1=sy(0.0) x2=sx(1.0) y2=sy(1.0) class="diagonal"></line> })}
            <line x1=U_LEFT y1=U - U_BOTTOM x2=U - U_PAD y2=U - U_BOTTOM class="axis"></line>
            <line x1=U_LEFT y1=U_PAD x2=U_LEFT y2=U - U_BOTTOM class="axis"></line>
            <polyline points=line class="series curve"></polyline>
            {dots}{ticks}{marker}
            <text x=(U_LEFT + U - U_PAD) / 2.0 y=U - 8.0 text-anchor="middle" class="label">{x_label}</text>
            <text x="14" y=(U_PAD + U - U_BOTTOM) / 2.0 text-anchor="middle" class="label"
                transform=format!("rotate(-90 14 {})", (U_PAD + U - U_BOTTOM) / 2.0)>{y_label}</text>
        </svg>
    }
}
