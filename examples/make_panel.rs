//! Writes a synthetic panel of many series (one CSV per series, dates aligned) for measuring a global
//! model's memory and speed — **not real market data**.
//!
//! ```text
//! cargo run --release --example make_panel -- --series 500 --days 5000 --out DIR [--seed 1]
//! ```
//!
//! Series `i` (1-based) goes to `DIR/SYN{i}.csv`, zero-padded to the width of the count but at least
//! 4 digits (`SYN0001.csv` … `SYN0500.csv`), in the format of
//! [`write_csv`](forecast::data::synthetic::write_csv). It is [`generate`]d from the default
//! [`SyntheticConfig`] (so every series starts on the same date and their dates align; a long one
//! may run past today) with `seed = SEED + i`, `days = DAYS`, and three parameters drawn from that
//! seed: `start_price` log-uniform in 10..500, `mean_vol` uniform in 0.008..0.03 and `annual_drift`
//! uniform in -0.05..0.15. The same arguments always give the same files. Existing files of the
//! same names are overwritten; other files in DIR are left alone. Bad arguments exit with code 2.

use forecast::data::synthetic::{generate, write_csv, SyntheticConfig};
use rayon::prelude::*;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: make_panel --series N --days N --out DIR [--seed S]";

struct Args {
    series: usize,
    days: usize,
    out: PathBuf,
    seed: u64,
}

/// Parses `--series N --days N --out DIR [--seed S]` (each flag once, in any order).
fn parse_args(mut args: impl Iterator<Item = OsString>) -> Result<Args, String> {
    let (mut series, mut days, mut out, mut seed) = (None, None, None, None);
    while let Some(flag) = args.next() {
        let flag = flag.into_string().map_err(|f| format!("unknown argument {f:?}"))?;
        let value = match flag.as_str() {
            "--series" | "--days" | "--out" | "--seed" => {
                args.next().ok_or_else(|| format!("{flag} needs a value"))?
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        };
        let number = |min: u64| -> Result<u64, String> {
            value
                .to_str()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|&n| n >= min)
                .ok_or_else(|| format!("{flag} needs an integer >= {min}, not {value:?}"))
        };
        let already = match flag.as_str() {
            "--series" => series.replace(number(1)? as usize).is_some(),
            "--days" => days.replace(number(1)? as usize).is_some(),
            "--seed" => seed.replace(number(0)?).is_some(),
            _ if value.is_empty() => return Err("--out needs a folder, not \"\"".into()),
            _ => out.replace(PathBuf::from(value)).is_some(), // --out
        };
        if already {
            return Err(format!("{flag} given twice"));
        }
    }
    Ok(Args {
        series: series.ok_or("--series is required")?,
        days: days.ok_or("--days is required")?,
        out: out.ok_or("--out is required")?,
        seed: seed.unwrap_or(1),
    })
}

/// SplitMix64: a fixed, well-mixed stream of 64-bit values from a seed, independent of the ChaCha8
/// stream that [`generate`] draws from the same seed.
struct SplitMix64(u64);

impl SplitMix64 {
    /// A uniform draw in [0, 1) from the top 53 bits.
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The configuration of one series: default dates and GARCH, with price, vol and drift from `seed`.
fn config(seed: u64, days: usize) -> SyntheticConfig {
    let mut draws = SplitMix64(seed);
    let (low, high) = (10f64.ln(), 500f64.ln());
    SyntheticConfig {
        seed,
        days,
        start_price: (low + (high - low) * draws.uniform()).exp(),
        mean_vol: 0.008 + (0.03 - 0.008) * draws.uniform(),
        annual_drift: -0.05 + (0.15 - -0.05) * draws.uniform(),
        ..SyntheticConfig::default()
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("make_panel: {message} ({USAGE})");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("make_panel: cannot create {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    let width = args.series.to_string().len().max(4);
    let written = (1..=args.series).into_par_iter().try_for_each(|i| {
        let path = args.out.join(format!("SYN{i:0width$}.csv"));
        let bars = generate(&config(args.seed.wrapping_add(i as u64), args.days));
        File::create(&path)
            .and_then(|file| {
                let mut out = BufWriter::with_capacity(1 << 20, file);
                write_csv(&bars, &mut out)?;
                out.flush()
            })
            .map_err(|e| format!("writing {}: {e}", path.display()))
    });
    if let Err(message) = written {
        eprintln!("make_panel: {message}");
        return ExitCode::FAILURE;
    }
    // Every series has the same dates: those of the default start and `days`.
    let dates = generate(&SyntheticConfig { days: args.days, ..SyntheticConfig::default() });
    eprintln!(
        "wrote {} series x {} days ({} to {}, seeds {} to {}) to {} in {:.2} s",
        args.series,
        args.days,
        dates[0].date,
        dates[dates.len() - 1].date,
        args.seed.wrapping_add(1),
        args.seed.wrapping_add(args.series as u64),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
