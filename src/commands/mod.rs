//! One file per subcommand; each reads its flags, calls the library steps in data-flow order and
//! prints. Shared set-up (loading a CSV with its report, --as-of, load options) lives here.

pub mod backtest;
pub mod bench;
pub mod inspect;
pub mod merge;
pub mod predict;
pub mod score;
pub mod train;

use crate::calendar::Calendar;
use crate::data::load::TickerChoice;
use crate::data::watchlist::{self, Failed, Loaded};
use crate::data::{load_csv, LoadOptions, Series};
use crate::error::{DataError, Error, Result};
use crate::exit::Exit;
use crate::output::Log;
use crate::shard::Shard;
use chrono::NaiveDate;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Loads a CSV with the given options, printing what was dropped and any warnings.
pub fn load_series(path: &Path, opts: &LoadOptions, log: &Log) -> Result<Series> {
    let (series, report) = load_csv(path, opts)?;
    log.load_report(&report);
    Ok(series)
}

/// The calendar forecast dates use: the flag, else crypto when the data trades on weekends (said
/// on stderr), else weekdays.
pub fn choose_calendar(flag: Option<Calendar>, series: &Series, log: &Log) -> Calendar {
    flag.unwrap_or_else(|| {
        let detected = Calendar::detect(&series.dates);
        if detected == Calendar::Crypto {
            log.info("the data trades on weekends: forecast dates include every day (--calendar to change)");
        }
        detected
    })
}

/// The series cut at `date` (all of it without one).
pub fn as_of(series: Series, date: Option<NaiveDate>, csv: &Path) -> Result<Series> {
    let Some(date) = date else { return Ok(series) };
    let cut = series.up_to(date);
    if cut.is_empty() {
        return Err(DataError::new(csv, format!("no rows on or before --as-of {date}")).into());
    }
    Ok(cut)
}

/// A watchlist as a command reads it: the files `--csv` names (globs expanded), and each series
/// loaded (in parallel) or failed. `single` is true for one plain file without `--tickers`: the
/// command then behaves, prints and fails exactly as for one series.
#[derive(Debug)]
pub struct Watchlist {
    pub files: Vec<PathBuf>,
    pub loaded: Vec<Loaded>,
    pub failed: Vec<Failed>,
    pub single: bool,
}

impl Watchlist {
    /// Expands `patterns`, lets `check` refuse the files (outputs that are inputs), then loads
    /// every series, printing each load report. A lone file's failure is returned as the error;
    /// with several, failures are kept for the caller, and only none loaded is an error (exit 3).
    pub fn load(
        patterns: &[PathBuf],
        tickers: Option<&TickerChoice>,
        opts: &LoadOptions,
        check: impl FnOnce(&[PathBuf]) -> Result<()>,
        log: &Log,
    ) -> Result<Watchlist> {
        let files = watchlist::expand(patterns)?;
        check(&files)?;
        let (loaded, mut failed) = watchlist::load(&files, opts, tickers)?;
        for l in &loaded {
            log.load_report(&l.report);
        }
        let single = files.len() == 1 && tickers.is_none();
        if single && !failed.is_empty() {
            return Err(failed.remove(0).error);
        }
        if loaded.is_empty() {
            let first = failed.first().map(|f| f.error.to_string()).unwrap_or_default();
            return Err(DataError::new(
                files.first().map_or(Path::new(""), |f| f.as_path()),
                format!("none of the {} series could be read; the first: {first}", failed.len()),
            )
            .into());
        }
        Ok(Watchlist { files, loaded, failed, single })
    }

    /// Says on stderr which series could not be read and are left out.
    pub fn warn_failed(&self, log: &Log) {
        for f in &self.failed {
            log.warn(&format!("{}: left out: {}", f.id, f.error));
        }
    }
}

/// How bad a series' failure is among several: the exit code of a run in which some series
/// failed is the most severe one — an internal error, then a model-file error, then a data error,
/// then stale data.
pub fn severity_of(code: Exit) -> u8 {
    match code {
        Exit::Internal => 4,
        Exit::Model => 3,
        Exit::Data => 2,
        Exit::Stale => 1,
        _ => 0,
    }
}

/// This run's shard, from `--shard` or a scheduler's environment, and where it came from.
#[derive(Debug, Clone)]
pub struct RunShard {
    pub shard: Shard,
    from: Option<String>,
}

impl RunShard {
    /// The items of the sorted work list that are this shard's.
    pub fn select<T>(&self, items: impl IntoIterator<Item = T>) -> Vec<T> {
        self.shard.select(items)
    }

    /// Whether the work is split at all.
    pub fn is_sharded(&self) -> bool {
        self.from.is_some()
    }

    /// Says on stderr which shard this is and how much of the work is its own.
    pub fn announce(&self, log: &Log, mine: usize, total: usize, what: &str) {
        if let Some(from) = &self.from {
            log.info(&format!("shard {} ({from}): {mine} of {total} {what}", self.shard));
        }
    }
}

/// The shard `--shard` names, else the one a Slurm job array or a Kubernetes Indexed Job gives
/// this process (see [`Shard::resolve`]); the whole work when neither does.
pub fn shard(flag: Option<Shard>) -> Result<RunShard> {
    Ok(match Shard::resolve(flag, |name| std::env::var(name).ok())? {
        Some((shard, from)) => RunShard { shard, from: Some(from) },
        None => RunShard { shard: Shard::WHOLE, from: None },
    })
}

/// The ids of a watchlist's series (read or not) that are this shard's: every id sorted, then
/// dealt round robin. `train --each` and `predict --model DIR --csv` split by this one rule, so a
/// job array's task forecasts exactly the series it trained.
pub fn my_series(shard: &RunShard, loaded: &[Loaded], failed: &[Failed], log: &Log) -> HashSet<String> {
    let mut ids: Vec<&str> =
        loaded.iter().map(|l| l.id.as_str()).chain(failed.iter().map(|f| f.id.as_str())).collect();
    ids.sort_unstable();
    let total = ids.len();
    let mine: HashSet<String> = shard.select(ids).into_iter().map(str::to_string).collect();
    shard.announce(log, mine.len(), total, "series");
    mine
}

/// The end of a run over many series: `Ok` when none failed, else the most severe of `failures`
/// (each series' exit code and message) as the run's error, saying how many of `total` were not
/// `done` ("forecast", "trained").
pub fn most_severe(failures: Vec<(Exit, String)>, total: usize, done: &str) -> Result<()> {
    let count = failures.len();
    match failures.into_iter().max_by_key(|(code, _)| severity_of(*code)) {
        None => Ok(()),
        Some((code, message)) => Err(Error::Series(
            code,
            format!("{count} of {total} series not {done}; the most severe: {message}"),
        )),
    }
}
