//! The forecast ledger: `predict --log FILE` keeps every forecast a cron job made, one CSV row per
//! step and level, so that `forecast score` can later join them with the actual closes.
//!
//! Columns: `run_time` (UTC, RFC 3339), `model` (path), `model_hash` (first 16 hex digits of the
//! model file's SHA-256), `as_of`, `date` (the day forecast), `step`, `close`, `lower`, `upper`,
//! `level`, `last_close` (the close on `as_of`: naive's forecast), `sigma` (the scale of the log
//! return from `last_close` to the step's close, for a distributional model), `series` (the
//! series' id: a global model logs every series of its watchlist); ledgers written before the
//! last two have no such columns and still read. A rerun for the same `as_of`, model and series
//! adds no rows. The file is locked while it is rewritten, and replaced atomically; a
//! file that is not a ledger (its first line is not [`HEADER`]) is never written to. CSV through
//! the csv crate, so a model path with a comma or a quote reads back as it was.

use crate::atomic::write_atomic;
use crate::data::Series;
use crate::error::{DataError, Error, Result};
use crate::inference::Forecast;
use crate::interval_baselines::IntervalBaselines;
use crate::interval_metrics::{interval_significance, winkler};
use crate::lock::lock_model;
use crate::metrics::{errors, mae, rmse, skill, SkillTests};
use crate::paths::shown;
use crate::significance::Significance;
use crate::text::one_line;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub run_time: String,
    pub model: String,
    pub model_hash: String,
    pub as_of: String,
    pub date: String,
    pub step: usize,
    pub close: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub level: Option<f64>,
    pub last_close: f64,
    #[serde(default)]
    pub sigma: Option<f64>,
    /// The series forecast (its ticker or file stem); absent in ledgers written before it.
    #[serde(default)]
    pub series: Option<String>,
}

impl Entry {
    /// Rows with the same key are the same forecast.
    fn key(&self) -> (&str, Option<&str>, &str, usize, Option<u64>) {
        (&self.model_hash, self.series.as_deref(), &self.as_of, self.step, self.level.map(f64::to_bits))
    }

    fn key_owned(&self) -> (String, Option<String>, String, usize, Option<u64>) {
        let (hash, series, as_of, step, level) = self.key();
        (hash.to_string(), series.map(str::to_string), as_of.to_string(), step, level)
    }
}

/// First 16 hex digits of the SHA-256 of the file's bytes.
pub fn model_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The ledger rows of one forecast of series `series`.
pub fn entries(forecast: &Forecast, series: &str, model: &Path, hash: &str, run_time: &str) -> Vec<Entry> {
    let mut rows = Vec::new();
    for step in &forecast.forecasts {
        let base = Entry {
            run_time: run_time.to_string(),
            model: model.display().to_string(),
            model_hash: hash.to_string(),
            as_of: forecast.as_of.clone(),
            date: step.date.clone(),
            step: step.step,
            close: step.close,
            lower: None,
            upper: None,
            level: None,
            last_close: forecast.last_close,
            sigma: step.sigma,
            series: Some(series.to_string()),
        };
        for band in &step.intervals {
            rows.push(Entry {
                lower: Some(band.lower),
                upper: Some(band.upper),
                level: Some(band.level),
                ..base.clone()
            });
        }
        if step.intervals.is_empty() {
            rows.push(base);
        }
    }
    rows
}

/// The ledger's header line: a file whose first line is anything else (or one of [`OLD_HEADERS`])
/// is not a ledger.
pub const HEADER: &str =
    "run_time,model,model_hash,as_of,date,step,close,lower,upper,level,last_close,sigma,series";

/// The headers of ledgers written before the `sigma` and `series` columns: read, and rewritten
/// with [`HEADER`] when rows are appended.
pub const OLD_HEADERS: [&str; 2] = [
    "run_time,model,model_hash,as_of,date,step,close,lower,upper,level,last_close",
    "run_time,model,model_hash,as_of,date,step,close,lower,upper,level,last_close,sigma",
];

/// Characters of a foreign first line quoted in an error.
const QUOTED: usize = 80;

/// The first line of `bytes`, without its line end.
fn first_line(bytes: &[u8]) -> &[u8] {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether `line` is a ledger's header: [`HEADER`] or one of [`OLD_HEADERS`].
fn is_header(line: &[u8]) -> bool {
    line == HEADER.as_bytes() || OLD_HEADERS.iter().any(|h| line == h.as_bytes())
}

/// Whether `bytes` start as a ledger does (its header line).
pub fn starts_as_ledger(bytes: &[u8]) -> bool {
    is_header(first_line(bytes))
}

/// Refuses `bytes` (the whole file at `path`) unless it is empty or starts with [`HEADER`]:
/// appending would otherwise turn someone's file into a ledger.
fn check_header(path: &Path, bytes: &[u8], consequence: &str) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let line = first_line(bytes);
    if is_header(line) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(line);
    let quoted = crate::text::excerpt(&text, QUOTED);
    Err(DataError::at(
        path,
        1,
        None,
        format!("not a forecast ledger: its first line is \"{quoted}\", not the ledger header \"{HEADER}\"{consequence}"),
    )
    .with_hint("give a new file name, or the ledger written by `predict --log`")
    .into())
}

/// Parses the bytes of a ledger file at `path`.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Entry>> {
    check_header(path, bytes, "")?;
    let mut reader = csv::Reader::from_reader(bytes);
    reader
        .deserialize()
        .map(|row| {
            row.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                DataError::at(
                    path,
                    line,
                    None,
                    format!("not a forecast ledger row ({})", one_line(&e.to_string())),
                )
                .into()
            })
        })
        .collect()
}

/// The bytes of the ledger at `path`; `None` when there is no such file.
fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>> {
    if path.is_dir() {
        return Err(DataError::new(path, "is a folder, not a forecast ledger").into());
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DataError::new(path, format!("cannot read the forecast ledger: {e}")).into()),
    }
}

/// Reads a ledger: a missing file, or one that is not a ledger, is a data error (exit 3) naming
/// the line.
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    match read_bytes(path)? {
        Some(bytes) => parse(path, &bytes),
        None => Err(DataError::new(path, "no such forecast ledger")
            .with_hint("`predict --log FILE` writes one")
            .into()),
    }
}

/// Appends the rows not already in the ledger; returns how many were added. A new or empty file
/// becomes a ledger; any other file must already be one (its first line the ledger header), or
/// nothing is written (exit 3).
pub fn append(path: &Path, rows: &[Entry]) -> Result<usize> {
    if path.is_dir() {
        return Err(Error::output(format!("ledger {}", shown(path)), "it is a folder"));
    }
    // Checked before taking the lock, so that a foreign file does not get a lock file beside it.
    if let Some(bytes) = read_bytes(path)? {
        check_header(path, &bytes, "; nothing was written")?;
    }
    let _lock = lock_model(path, true)?;
    // Read again under the lock: another predict may have appended meanwhile.
    let mut all = match read_bytes(path)? {
        Some(bytes) => {
            check_header(path, &bytes, "; nothing was written")?;
            parse(path, &bytes)?
        }
        None => Vec::new(),
    };
    let before = all.len();
    for row in rows {
        if !all.iter().any(|e| e.key() == row.key()) {
            all.push(row.clone());
        }
    }
    let added = all.len() - before;
    if added > 0 {
        let bytes = encode(&all)?;
        write_atomic(path, &bytes).map_err(|e| Error::output(format!("ledger {}", shown(path)), e))?;
    }
    Ok(added)
}

/// `rows` as a ledger file: [`HEADER`], then one CSV record per row.
pub fn encode(rows: &[Entry]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).map_err(|e| Error::Internal(format!("cannot encode a ledger row: {e}")))?;
    }
    if rows.is_empty() {
        writer
            .write_record(HEADER.split(','))
            .map_err(|e| Error::Internal(format!("cannot encode the ledger: {e}")))?;
    }
    writer.into_inner().map_err(|e| Error::Internal(format!("cannot encode the ledger: {e}")))
}

/// `ledgers` as one, the rows of each series together (a sharded run's ledgers give the rows
/// its unsharded run logs, in that order), each forecast once.
pub fn merge(ledgers: Vec<Vec<Entry>>) -> Vec<Entry> {
    let mut rows: Vec<Entry> = Vec::new();
    let mut seen = HashSet::new();
    for row in ledgers.into_iter().flatten() {
        if seen.insert(row.key_owned()) {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| (&a.series, &a.model).cmp(&(&b.series, &b.model)));
    rows
}

/// A baseline's realised interval scores at one level, on the same forecasts.
#[derive(Debug, Serialize)]
pub struct BaselineScore {
    /// `ewma` or `garch-t` (see `interval_baselines`).
    pub method: String,
    pub coverage: f64,
    pub interval_score: f64,
    /// Whether the model's interval score differs from this baseline's for real.
    pub significance: Significance,
}

/// Realised interval coverage and interval (Winkler) score at one level, beside the EWMA and
/// GARCH(1,1)-t bands from the same origins (fitted on the file's closes before the first
/// forecast's `as_of`). Forecasts whose `as_of` is not in the price file are left out.
#[derive(Debug, Serialize)]
pub struct LevelScore {
    pub level: f64,
    pub forecasts: usize,
    pub coverage: f64,
    pub interval_score: f64,
    pub baselines: Vec<BaselineScore>,
}

/// One model's realised accuracy on one series.
#[derive(Debug, Serialize)]
pub struct ModelScore {
    pub model: String,
    pub model_hash: String,
    /// The series (absent for rows of ledgers written before the `series` column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Forecasts whose day has an actual close now.
    pub scored: usize,
    /// Forecasts still waiting for their day.
    pub pending: usize,
    pub first_as_of: String,
    pub last_as_of: String,
    pub rmse: f64,
    pub mae: f64,
    pub naive_rmse: f64,
    pub naive_mae: f64,
    /// 1 − rmse / naive_rmse over the scored forecasts.
    pub skill: f64,
    /// Whether the difference from naive is real (the forecasts pooled by the date they forecast).
    pub significance: SkillTests,
    pub intervals: Vec<LevelScore>,
}

/// Each model's (by file hash) realised accuracy per series: the ledger's forecasts joined with
/// the closes that have arrived in the prices `prices_of` finds for the series (by id; None for
/// rows without one), beside naive's, with interval coverage and what is pending. Series without
/// prices are returned as the ids left unscored.
pub fn score<'a>(
    entries: &[Entry],
    prices_of: impl Fn(Option<&str>) -> Option<&'a Series>,
) -> (Vec<ModelScore>, Vec<String>) {
    let mut groups: BTreeMap<(String, String, Option<String>), Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        groups.entry((e.model_hash.clone(), e.model.clone(), e.series.clone())).or_default().push(e);
    }
    let mut unscored = Vec::new();
    let mut scores = Vec::new();
    for ((hash, model, id), rows) in groups {
        match prices_of(id.as_deref()) {
            Some(series) => scores.push(score_model(hash, model, id, &rows, series)),
            None => unscored.extend(id.filter(|i| !unscored.contains(i))),
        }
    }
    (scores, unscored)
}

fn score_model(
    hash: String,
    model: String,
    id: Option<String>,
    rows: &[&Entry],
    series: &Series,
) -> ModelScore {
    let actual: HashMap<String, f64> =
        series.dates.iter().zip(&series.close).map(|(d, c)| (d.to_string(), *c)).collect();
    let actual = &actual;
    // One point forecast per (as_of, step); the level rows repeat it.
    let mut seen = HashSet::new();
    let (mut forecast, mut naive, mut realised, mut pending) = (vec![], vec![], vec![], 0);
    let (mut dates, mut horizon) = (vec![], 1);
    for e in rows {
        if !seen.insert((e.as_of.as_str(), e.step)) {
            continue;
        }
        match actual.get(&e.date) {
            Some(&a) => {
                forecast.push(e.close);
                naive.push(e.last_close);
                realised.push(a);
                dates.push(e.date.as_str());
                horizon = horizon.max(e.step);
            }
            None => pending += 1,
        }
    }
    let as_of: Vec<&str> = rows.iter().map(|e| e.as_of.as_str()).collect();
    let (model_rmse, naive_rmse) = (rmse(&forecast, &realised), rmse(&naive, &realised));
    ModelScore {
        model,
        model_hash: hash,
        series: id,
        scored: realised.len(),
        pending,
        first_as_of: as_of.iter().min().map(|s| s.to_string()).unwrap_or_default(),
        last_as_of: as_of.iter().max().map(|s| s.to_string()).unwrap_or_default(),
        rmse: model_rmse,
        mae: mae(&forecast, &realised),
        naive_rmse,
        naive_mae: mae(&naive, &realised),
        skill: skill(model_rmse, naive_rmse),
        significance: SkillTests::of_errors(
            &errors(&forecast, &realised),
            &errors(&naive, &realised),
            &dates,
            horizon,
        ),
        intervals: interval_scores(rows, actual, series),
    }
}

/// One logged interval forecast whose day has arrived.
struct ScoredInterval<'a> {
    /// The day forecast.
    date: &'a str,
    level: f64,
    bounds: (f64, f64),
    actual: f64,
    /// The series day of its `as_of`.
    origin: usize,
    step: usize,
}

/// Realised interval scores per level: the model's logged bounds beside the EWMA and GARCH bands
/// from each forecast's `as_of` close.
fn interval_scores(rows: &[&Entry], actual: &HashMap<String, f64>, series: &Series) -> Vec<LevelScore> {
    let days: HashMap<String, usize> =
        series.dates.iter().enumerate().map(|(i, d)| (d.to_string(), i)).collect();
    let day_of = |date: &str| days.get(date).copied();
    let scored: Vec<ScoredInterval> = rows
        .iter()
        .filter_map(|e| {
            Some(ScoredInterval {
                date: &e.date,
                level: e.level?,
                bounds: (e.lower?, e.upper?),
                actual: *actual.get(&e.date)?,
                origin: day_of(&e.as_of)?,
                step: e.step,
            })
        })
        .collect();
    let mut levels: Vec<f64> = scored.iter().map(|r| r.level).collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    let first_origin = scored.iter().map(|r| r.origin).min().unwrap_or(0);
    let baselines = IntervalBaselines::new(&series.close, &levels).with_garch(first_origin + 1);
    levels
        .iter()
        .enumerate()
        .map(|(l, &level)| {
            let mine: Vec<&ScoredInterval> = scored.iter().filter(|r| r.level == level).collect();
            let dates: Vec<&str> = mine.iter().map(|r| r.date).collect();
            let horizon = mine.iter().map(|r| r.step).max().unwrap_or(1);
            // Each forecast's interval score (None when a band is missing), and the coverage.
            let scores = |bounds: &dyn Fn(usize) -> Option<(f64, f64)>| -> Option<(f64, Vec<f64>)> {
                let (mut hits, mut winklers) = (0usize, Vec::with_capacity(mine.len()));
                for (i, r) in mine.iter().enumerate() {
                    let (lower, upper) = bounds(i)?;
                    hits += usize::from(lower <= r.actual && r.actual <= upper);
                    winklers.push(winkler(lower, upper, r.actual, level));
                }
                Some((hits as f64 / mine.len().max(1) as f64, winklers))
            };
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            let origin = |i: usize| series.close[mine[i].origin];
            let (coverage, model) = scores(&|i| Some(mine[i].bounds)).unwrap_or_default();
            let interval_score = mean(&model);
            let ewma = scores(&|i| Some(baselines.ewma(mine[i].origin, mine[i].step).bounds(origin(i), l)));
            let garch =
                scores(&|i| Some(baselines.garch(mine[i].origin, mine[i].step)?.bounds(origin(i), l)));
            let baselines = [("ewma", ewma), ("garch-t", garch)]
                .into_iter()
                .filter_map(|(method, score)| {
                    let (coverage, winklers) = score?;
                    Some(BaselineScore {
                        method: method.to_string(),
                        coverage,
                        interval_score: mean(&winklers),
                        significance: interval_significance(&model, &winklers, &dates, horizon),
                    })
                })
                .collect();
            LevelScore { level, forecasts: mine.len(), coverage, interval_score, baselines }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(as_of: &str, step: usize) -> Entry {
        Entry {
            run_time: "2025-01-03T22:00:00Z".into(),
            model: "m.safetensors".into(),
            model_hash: "abcd".into(),
            as_of: as_of.into(),
            date: "2025-01-06".into(),
            step,
            close: 101.5,
            lower: Some(99.0),
            upper: Some(104.0),
            level: Some(0.9),
            last_close: 101.0,
            sigma: Some(0.01),
            series: Some("SYN".into()),
        }
    }

    #[test]
    fn a_rerun_adds_nothing_and_a_new_day_adds_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forecasts.csv");
        assert_eq!(append(&path, &[entry("2025-01-03", 1), entry("2025-01-03", 2)]).unwrap(), 2);
        let mut rerun = entry("2025-01-03", 1);
        rerun.run_time = "2025-01-03T23:00:00Z".into();
        assert_eq!(append(&path, &[rerun]).unwrap(), 0);
        assert_eq!(append(&path, &[entry("2025-01-06", 1)]).unwrap(), 1);
        let rows = read(&path).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], entry("2025-01-03", 1));
    }
}

#[cfg(test)]
mod foreign_files {
    use super::*;
    use crate::exit::Exit;

    fn entry() -> Entry {
        Entry {
            run_time: "2025-01-03T22:00:00Z".into(),
            model: "dir,with \"quotes\"/m.safetensors".into(),
            model_hash: "abcd".into(),
            as_of: "2025-01-03".into(),
            date: "2025-01-06".into(),
            step: 1,
            close: 101.5,
            lower: None,
            upper: None,
            level: None,
            last_close: 101.0,
            sigma: None,
            series: None,
        }
    }

    #[test]
    fn a_file_that_is_not_a_ledger_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("notes.txt", "buy low, sell high\n"),
            ("header.csv", "Date,Open,High,Low,Close\n"),
            ("one-line.txt", "no newline at the end"),
            ("blank.txt", "\n"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let err = append(&path, &[entry()]).unwrap_err();
            assert_eq!(err.exit_code(), Exit::Data, "{name}");
            let message = err.to_string();
            assert!(
                message.contains("not a forecast ledger") && message.contains("nothing was written"),
                "{message}"
            );
            assert!(message.contains(&format!("{name}:1")), "{message}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{name} was changed");
            let err = read(&path).unwrap_err();
            assert_eq!(err.exit_code(), Exit::Data);
            assert!(!err.to_string().contains('\n'), "{err}");
        }
    }

    #[test]
    fn an_empty_file_becomes_a_ledger_and_paths_with_commas_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forecasts.csv");
        std::fs::write(&path, "").unwrap();
        assert_eq!(append(&path, &[entry()]).unwrap(), 1);
        assert!(std::fs::read_to_string(&path).unwrap().starts_with(HEADER));
        assert_eq!(read(&path).unwrap(), [entry()]);
    }

    #[test]
    fn a_missing_ledger_is_a_data_error_for_score() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(&dir.path().join("none.csv")).unwrap_err();
        assert_eq!(err.exit_code(), Exit::Data);
    }
}
