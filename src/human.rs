//! Numbers as an audience reads them off a slide: thousands separators, seconds once a time
//! passes a second, and the race's outcome in words. Used by the page; plain functions, so
//! they are tested natively.

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
            format!("{} s", count(s.round() as usize))
        } else {
            format!("{} s", sig3(s))
        };
    }
    format!("{} ms", sig3(ms))
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

/// The race's outcome in words: which side was faster, by how much, against what, at how
/// many rows. `cpu_ms` is the CPU workers' median, `gpu_ms` the GPU's first-run median (rows
/// uploaded included), both from rows in memory to outputs in memory.
pub fn verdict(cpu_ms: f64, workers: usize, gpu_ms: f64, rows: usize) -> String {
    let cpu = cpu_workers(workers);
    let rows = format!("{} row{}", count(rows), if rows == 1 { "" } else { "s" });
    let ratio = cpu_ms / gpu_ms.max(1e-9);
    if (1.0 / TIE..TIE).contains(&ratio) {
        format!("GPU and {cpu} tie at {rows}")
    } else if ratio >= TIE {
        format!("GPU {} faster than {cpu} at {rows}", times(ratio))
    } else {
        format!("{cpu} {} faster than the GPU at {rows}", times(1.0 / ratio))
    }
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

    #[test]
    fn durations_switch_to_seconds_above_a_second() {
        assert_eq!(duration(0.0421), "0.042 ms");
        assert_eq!(duration(4.2), "4.20 ms");
        assert_eq!(duration(42.04), "42.0 ms");
        assert_eq!(duration(99.96), "100 ms");
        assert_eq!(duration(420.4), "420 ms");
        assert_eq!(duration(999.4), "999 ms");
        assert_eq!(duration(26679.0), "26.7 s");
        assert_eq!(duration(186_000.0), "186 s");
        assert_eq!(duration(1_234_000.0), "1,234 s");
        assert_eq!(duration(f64::NAN), "n/a");
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
        assert_eq!(
            verdict(120.0, 16, 10.0, 1_000_000),
            "GPU 12x faster than 16 CPU workers at 1,000,000 rows"
        );
        assert_eq!(
            verdict(1.0, 16, 3.2, 100),
            "16 CPU workers 3.2x faster than the GPU at 100 rows"
        );
        assert_eq!(
            verdict(10.0, 1, 10.3, 1),
            "GPU and 1 CPU worker tie at 1 row"
        );
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
