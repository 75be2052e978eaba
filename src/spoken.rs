//! Numbers as an audience reads them off a slide: thousands separators, seconds once a time
//! passes a second, a number never apart from its unit, the race's outcome in words, and which
//! engines' outputs agreed. Used by the page (and `forest bench`'s outputs line); plain
//! functions, so they are tested natively.

/// Between a number and its unit: a line never breaks there ("1.08 ms", never "1.08 / ms").
pub const NBSP: char = '\u{a0}';

/// `1234567` as "1,234,567".
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration with three significant figures: "0.042 ms", "4.20 ms", "420 ms", "4.20 s",
/// "42.0 s", "186 s", "1,234 s".
pub fn duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "n/a".into();
    }
    if ms >= 1000.0 {
        let s = ms / 1000.0;
        return if s >= 1000.0 {
            format!("{}{NBSP}s", count(s.round() as usize))
        } else {
            format!("{}{NBSP}s", sig3(s))
        };
    }
    format!("{}{NBSP}ms", sig3(ms))
}

/// Three significant figures, without an exponent (values below 0.001 read as "0.000").
fn sig3(v: f64) -> String {
    // Rounded first, so 99.96 reads "100", not "100.0".
    let r = |d: i32| (v * 10f64.powi(d)).round() / 10f64.powi(d);
    if r(0) >= 100.0 {
        format!("{:.0}", r(0))
    } else if r(1) >= 10.0 {
        format!("{:.1}", r(1))
    } else if r(2) >= 1.0 {
        format!("{:.2}", r(2))
    } else {
        format!("{:.3}", v)
    }
}

/// A log-axis tick at `10^e` ms: "0.01 ms", "1 ms", "100 ms", "1 s", "100 s".
pub fn pow10_ms(e: i32) -> String {
    if e >= 3 {
        format!("{} s", count(10usize.pow((e - 3) as u32)))
    } else if e >= 0 {
        format!("{} ms", 10usize.pow(e as u32))
    } else {
        format!("{} ms", 10f64.powi(e))
    }
}

/// A log-axis tick at `10^e` rows: "100", "10k", "1M".
pub fn pow10_rows(e: i32) -> String {
    match e {
        ..=2 => format!("{}", 10f64.powi(e)),
        3..=5 => format!("{}k", 10usize.pow((e - 3) as u32)),
        _ => format!("{}M", 10usize.pow((e - 6).min(12) as u32)),
    }
}

/// "12x" from 12.3, "3.2x" from 3.24: how many times one time goes into the other.
pub fn times(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{}x", count(ratio.round() as usize))
    } else {
        format!("{ratio:.1}x")
    }
}

/// Times within this factor of each other are a tie: run-to-run spread on a busy laptop is
/// a few percent.
const TIE: f64 = 1.05;

/// "16 CPU workers" or "1 CPU worker".
pub fn cpu_workers(workers: usize) -> String {
    format!("{workers} CPU {}", plural(workers, "worker"))
}

/// `word`, with an "s" unless there is one.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.into()
    } else {
        format!("{word}s")
    }
}

/// "1,000 rows", "1 row": a count of rows that stays on one line.
pub fn rows(n: usize) -> String {
    format!("{}{NBSP}{}", count(n), plural(n, "row"))
}

/// The side that won a race, or `None` for a tie (within [`TIE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Cpu,
    Gpu,
}

/// Which of the CPU workers (`cpu_ms`) and the GPU (`gpu_ms`) was faster: what the verdict
/// says and what the race marks "fastest", so the two never disagree.
pub fn faster(cpu_ms: f64, gpu_ms: f64) -> Option<Side> {
    let ratio = cpu_ms / gpu_ms.max(1e-9);
    if (1.0 / TIE..TIE).contains(&ratio) {
        None
    } else if ratio >= TIE {
        Some(Side::Gpu)
    } else {
        Some(Side::Cpu)
    }
}

/// "GPU", or "software GPU" for a CPU emulation of one: how every figure names it.
pub fn gpu_name(software: bool) -> &'static str {
    if software { "software GPU" } else { "GPU" }
}

/// The race's outcome in words: which side was faster, by how much, against what, at how
/// many rows. `cpu_ms` is the CPU workers' median, `gpu_ms` the GPU's first-run median (rows
/// uploaded included), both from rows in memory to outputs in memory. A software GPU is
/// called one.
pub fn verdict(cpu_ms: f64, workers: usize, gpu_ms: f64, rows: usize, software: bool) -> String {
    let cpu = cpu_workers(workers);
    let gpu = gpu_name(software);
    let rows = self::rows(rows);
    let ratio = cpu_ms / gpu_ms.max(1e-9);
    match faster(cpu_ms, gpu_ms) {
        None => format!("{} and {cpu} tie at {rows}", capital(gpu)),
        Some(Side::Gpu) => format!(
            "{} {} faster than {cpu} at {rows}",
            capital(gpu),
            times(ratio)
        ),
        Some(Side::Cpu) => format!(
            "{cpu} {} faster than the {gpu} at {rows}",
            times(1.0 / ratio)
        ),
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The GPU's part in an outputs line: the outputs of its that differ from the CPU's, or why
/// it did not run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GpuOutputs<'a> {
    Compared { differ: usize, software: bool },
    DidNotRun(&'a str),
}

/// Which engines gave the same output bits, naming only those that ran and were compared:
/// "CPU 1 thread, 16 CPU workers and GPU: outputs bit-identical", or "CPU 1 thread and 2 CPU
/// workers: outputs bit-identical; the GPU did not run: <why>". `cpu` names the reference
/// (the CPU workers, or threads); `one_thread`: outputs of one CPU thread whose bits differ
/// from the reference's (`None`: it did not run).
pub fn outputs_line(cpu: &str, one_thread: Option<usize>, gpu: GpuOutputs) -> String {
    let mut same = Vec::new();
    let mut differ = Vec::new();
    if let Some(n) = one_thread {
        if n == 0 {
            same.push("CPU 1 thread".to_string());
        } else {
            differ.push(format!(
                "CPU 1 thread's outputs differ from those of {cpu} in {}",
                count(n)
            ));
        }
    }
    same.push(cpu.to_string());
    let mut off = None;
    match gpu {
        GpuOutputs::Compared {
            differ: n,
            software,
        } => {
            let name = gpu_name(software);
            if n == 0 {
                same.push(name.to_string());
            } else {
                differ.push(format!(
                    "the {name}'s outputs differ from the CPU's in {}",
                    count(n)
                ));
            }
        }
        GpuOutputs::DidNotRun(why) => off = Some(format!("the GPU did not run: {why}")),
    }
    let mut parts = Vec::new();
    if same.len() > 1 {
        let last = same.pop().unwrap_or_default();
        parts.push(format!(
            "{} and {last}: outputs bit-identical",
            same.join(", ")
        ));
    } else if differ.is_empty() {
        // Only the reference ran: nothing was compared.
        parts.push(format!("{cpu}: nothing to compare with"));
    }
    parts.extend(differ);
    parts.extend(off);
    parts.join("; ")
}

/// The smallest batch from which the GPU stays ahead of the CPU workers to the end, from
/// `(rows, cpu_ms, gpu_ms)` in rising rows; `None` when it is behind at the largest batch.
pub fn crossover(points: &[(usize, f64, f64)]) -> Option<usize> {
    let mut from = None;
    for &(rows, cpu, gpu) in points {
        if gpu < cpu {
            from.get_or_insert(rows);
        } else {
            from = None;
        }
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_and_workers() {
        assert_eq!(plural(1, "worker"), "worker");
        assert_eq!(plural(0, "worker"), "workers");
        assert_eq!(cpu_workers(1), "1 CPU worker");
        assert_eq!(cpu_workers(16), "16 CPU workers");
    }

    #[test]
    fn counts_have_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(26679), "26,679");
        assert_eq!(count(1_000_000), "1,000,000");
    }

    /// Spaces as a reader sees them (the tests write plain ones).
    fn plain(s: String) -> String {
        s.replace(NBSP, " ")
    }

    #[test]
    fn durations_switch_to_seconds_above_a_second() {
        let d = |ms| plain(duration(ms));
        assert_eq!(d(0.0421), "0.042 ms");
        assert_eq!(d(4.2), "4.20 ms");
        assert_eq!(d(42.04), "42.0 ms");
        assert_eq!(d(99.96), "100 ms");
        assert_eq!(d(420.4), "420 ms");
        assert_eq!(d(999.4), "999 ms");
        assert_eq!(d(26679.0), "26.7 s");
        assert_eq!(d(186_000.0), "186 s");
        assert_eq!(d(1_234_000.0), "1,234 s");
        assert_eq!(d(f64::NAN), "n/a");
    }

    #[test]
    fn a_number_and_its_unit_never_part() {
        assert_eq!(duration(1.08), "1.08\u{a0}ms");
        assert_eq!(rows(1_000_000), "1,000,000\u{a0}rows");
        assert!(!verdict(120.0, 16, 10.0, 1000, false).contains(" rows"));
    }

    #[test]
    fn the_outputs_line_names_only_the_engines_that_ran() {
        let l = |one, gpu| plain(outputs_line(&cpu_workers(16), one, gpu));
        assert_eq!(
            l(
                Some(0),
                GpuOutputs::Compared {
                    differ: 0,
                    software: false
                }
            ),
            "CPU 1 thread, 16 CPU workers and GPU: outputs bit-identical"
        );
        assert_eq!(
            l(Some(0), GpuOutputs::DidNotRun("WebGPU is not available")),
            "CPU 1 thread and 16 CPU workers: outputs bit-identical; the GPU did not run: WebGPU is not available"
        );
        assert_eq!(
            l(
                Some(0),
                GpuOutputs::Compared {
                    differ: 1200,
                    software: true
                }
            ),
            "CPU 1 thread and 16 CPU workers: outputs bit-identical; the software GPU's outputs differ from the CPU's in 1,200"
        );
        assert_eq!(
            l(
                Some(3),
                GpuOutputs::Compared {
                    differ: 0,
                    software: false
                }
            ),
            "16 CPU workers and GPU: outputs bit-identical; CPU 1 thread's outputs differ from those of 16 CPU workers in 3"
        );
        assert_eq!(
            l(None, GpuOutputs::DidNotRun("--cpu-only")),
            "16 CPU workers: nothing to compare with; the GPU did not run: --cpu-only"
        );
        for one in [None, Some(0), Some(2)] {
            let line = l(one, GpuOutputs::DidNotRun("no adapter"));
            assert!(!line.contains("and GPU"), "{line}");
        }
    }

    #[test]
    fn axis_ticks_read_in_units() {
        assert_eq!(pow10_ms(-2), "0.01 ms");
        assert_eq!(pow10_ms(0), "1 ms");
        assert_eq!(pow10_ms(2), "100 ms");
        assert_eq!(pow10_ms(3), "1 s");
        assert_eq!(pow10_ms(5), "100 s");
        assert_eq!(pow10_rows(2), "100");
        assert_eq!(pow10_rows(4), "10k");
        assert_eq!(pow10_rows(6), "1M");
    }

    #[test]
    fn the_verdict_names_the_winner_never_a_fraction() {
        let v = |c, w, g, r, s| plain(verdict(c, w, g, r, s));
        assert_eq!(
            v(120.0, 16, 10.0, 1_000_000, false),
            "GPU 12x faster than 16 CPU workers at 1,000,000 rows"
        );
        assert_eq!(
            v(1.0, 16, 3.2, 100, false),
            "16 CPU workers 3.2x faster than the GPU at 100 rows"
        );
        assert_eq!(
            v(10.0, 1, 10.3, 1, false),
            "GPU and 1 CPU worker tie at 1 row"
        );
        assert_eq!(
            v(1.0, 2, 12.0, 569, true),
            "2 CPU workers 12x faster than the software GPU at 569 rows"
        );
        assert_eq!(
            v(12.0, 2, 1.0, 10, true),
            "Software GPU 12x faster than 2 CPU workers at 10 rows"
        );
    }

    #[test]
    fn the_winner_is_the_verdict_s() {
        assert_eq!(faster(120.0, 10.0), Some(Side::Gpu));
        assert_eq!(faster(1.0, 3.2), Some(Side::Cpu));
        assert_eq!(faster(10.0, 10.3), None);
    }

    #[test]
    fn crossover_is_where_the_gpu_stays_ahead() {
        let pts = [
            (100, 1.0, 3.0),
            (1000, 2.0, 1.5),
            (10_000, 4.0, 5.0),
            (100_000, 40.0, 8.0),
            (1_000_000, 400.0, 50.0),
        ];
        assert_eq!(crossover(&pts), Some(100_000));
        assert_eq!(crossover(&pts[..3]), None);
        assert_eq!(crossover(&[]), None);
    }
}
