//! `forecast merge FILE…`: the outputs of a sharded run put back together, printed as the
//! unsharded run prints them. Each file's kind is read from its content, and all must be of one:
//!
//! - backtest parts (`backtest --shard K/N --format json`): every shard of one run (same
//!   fingerprint), each once; the parts are assembled into the whole report, bit for bit what
//!   one process computes, in any `--format`;
//! - forecasts (`predict --format jsonl`, or `json`): the series' lines sorted by id, as
//!   `predict` prints them; the exit code is the most severe series error, as `predict`'s;
//! - forecast ledgers (`predict --log`): their rows, each series' together, each forecast once;
//!   printed, or appended to the ledger `--out`.

use super::backtest::{print_report, ShardRecord, SHARD_KIND};
use super::predict::print_forecasts;
use crate::backtest::assemble;
use crate::cli::MergeArgs;
use crate::data::watchlist::expand_as;
use crate::error::{DataError, Error, Result};
use crate::ledger;
use crate::limits::MAX_MERGE_FILE_BYTES;
use crate::output::{print_text, SeriesForecast};
use crate::paths::shown;
use crate::shard::Shard;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What kind of shard output a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Backtest,
    Forecasts,
    Ledger,
}

pub fn run(args: &MergeArgs) -> Result<()> {
    let log = args.output.log();
    let files = expand_as("FILE", &args.files)?;
    let mut texts = Vec::new();
    for file in &files {
        texts.push(read(file)?);
    }
    let mut kinds = BTreeSet::new();
    for (file, text) in files.iter().zip(&texts) {
        kinds.extend(kind(file, text)?);
    }
    let kind = match kinds.into_iter().collect::<Vec<Kind>>()[..] {
        [] => Kind::Forecasts,
        [one] => one,
        _ => return Err(Error::Usage("the files are not all of one kind: merge backtest parts, forecasts or ledgers, one kind at a time".into())),
    };
    if args.out.is_some() && kind != Kind::Ledger {
        return Err(Error::Usage(
            "--out appends to a ledger; merge forecasts or backtest parts to stdout".into(),
        ));
    }
    log.info(&format!(
        "merging {} file(s) of {}",
        files.len(),
        match kind {
            Kind::Backtest => "backtest parts",
            Kind::Forecasts => "forecasts",
            Kind::Ledger => "ledger rows",
        }
    ));
    match kind {
        Kind::Backtest => backtests(&files, &texts, args),
        Kind::Forecasts => forecasts(&files, &texts, args),
        Kind::Ledger => ledgers(&files, &texts, args, &log),
    }
}

/// The file's text, refusing one too large to be a shard's output.
fn read(path: &Path) -> Result<String> {
    let fail = |why: String| Error::from(DataError::new(path, why));
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    if meta.is_dir() {
        return Err(fail("is a folder, not a shard's output".into()));
    }
    if meta.len() > MAX_MERGE_FILE_BYTES {
        return Err(fail(format!(
            "{} bytes: larger than any shard output ({MAX_MERGE_FILE_BYTES} at most)",
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it as text: {e}")))
}

/// The kind of `text` (None for an empty file: a shard that had no work).
fn kind(path: &Path, text: &str) -> Result<Option<Kind>> {
    let start = text.trim_start();
    if start.is_empty() {
        return Ok(None);
    }
    if start.starts_with('{') {
        // A backtest part is one line of JSON whose first key says so.
        let backtest = start.starts_with(&format!("{{\"forecast_shard\":\"{SHARD_KIND}\""));
        return Ok(Some(if backtest { Kind::Backtest } else { Kind::Forecasts }));
    }
    if ledger::starts_as_ledger(start.as_bytes()) {
        return Ok(Some(Kind::Ledger));
    }
    Err(DataError::new(
        path,
        "not a shard's output: not backtest parts (JSON), forecasts (JSON lines) or a ledger",
    )
    .with_hint(
        "merge what `backtest --shard K/N --format json`, `predict --format jsonl` or `predict --log` wrote",
    )
    .into())
}

fn backtests(files: &[PathBuf], texts: &[String], args: &MergeArgs) -> Result<()> {
    let mut records: Vec<(&PathBuf, ShardRecord)> = Vec::new();
    for (file, text) in files.iter().zip(texts) {
        if text.trim().is_empty() {
            continue;
        }
        let record: ShardRecord = serde_json::from_str(text)
            .map_err(|e| DataError::new(file, format!("not a backtest part: {e}")))?;
        record
            .check()
            .map_err(|why| DataError::new(file, format!("not a backtest part of forecast's: {why}")))?;
        records.push((file, record));
    }
    let Some((first_file, first)) = records.first() else {
        return Err(Error::Usage("no backtest parts to merge".into()));
    };
    let shard_of = |file: &Path, r: &ShardRecord| -> Result<Shard> {
        Shard::parse(&r.shard).map_err(|why| {
            DataError::new(file, format!("shard {}: {why}", crate::text::excerpt(&r.shard, 40))).into()
        })
    };
    let count = shard_of(first_file, first)?.count;
    let mut seen: Vec<Option<&PathBuf>> = vec![None; count];
    for (file, r) in &records {
        if r.run != first.run || r.units != first.units || r.scoring != first.scoring {
            return Err(DataError::new(
                file,
                format!(
                    "is a part of another backtest than {} (other flags, files or folds)",
                    shown(first_file)
                ),
            )
            .into());
        }
        let shard = shard_of(file, r)?;
        if shard.count != count {
            return Err(DataError::new(
                file,
                format!("shard {shard} does not fit the {count} shards of {}", shown(first_file)),
            )
            .into());
        }
        if let Some(other) = seen[shard.index].replace(file) {
            return Err(DataError::new(file, format!("shard {shard} is also in {}", shown(other))).into());
        }
    }
    let missing: Vec<String> =
        (1..=count).filter(|k| seen[k - 1].is_none()).map(|k| format!("{k}/{count}")).collect();
    if !missing.is_empty() {
        return Err(DataError::new(
            first_file,
            format!("shard(s) {} of this backtest are missing", missing.join(", ")),
        )
        .with_hint("merge every shard's output; a failed shard must be run again")
        .into());
    }
    let (csv, rows, scoring, units) = (first.csv.clone(), first.rows, first.scoring.clone(), first.units);
    let seconds = records.iter().map(|(_, r)| r.seconds).fold(0.0, f64::max);
    let parts: Vec<_> = records.into_iter().flat_map(|(_, r)| r.parts).collect();
    if parts.len() != units {
        return Err(DataError::new(
            &files[0],
            format!("the shards hold {} parts of a backtest of {units} units", parts.len()),
        )
        .into());
    }
    print_report(csv, rows, seconds, &assemble(parts, &scoring), args.output.format)
}

fn forecasts(files: &[PathBuf], texts: &[String], args: &MergeArgs) -> Result<()> {
    let mut items: Vec<SeriesForecast> = Vec::new();
    let mut from: Vec<&PathBuf> = Vec::new();
    for (file, text) in files.iter().zip(texts) {
        let bad = |e: serde_json::Error| DataError::new(file, format!("not forecasts: {e}"));
        let trimmed = text.trim_start();
        // `predict --format json`: one object with a list of series (and the model, when one
        // model forecast them all).
        if trimmed.starts_with('{') && !trimmed.lines().next().unwrap_or_default().trim_end().ends_with('}') {
            #[derive(serde::Deserialize)]
            struct Report {
                model: Option<String>,
                series: Vec<SeriesForecast>,
            }
            let report: Report = serde_json::from_str(text).map_err(bad)?;
            for mut item in report.series {
                item.model = item.model.or_else(|| report.model.clone());
                items.push(item);
                from.push(file);
            }
            continue;
        }
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            items.push(serde_json::from_str(line).map_err(bad)?);
            from.push(file);
        }
    }
    // A line of something else (a train summary) reads as a series with neither: refuse it.
    if let Some((item, file)) =
        items.iter().zip(&from).find(|(i, _)| i.forecast.is_none() == i.error.is_none())
    {
        return Err(DataError::new(
            file,
            format!(
                "series {}: not a forecast: neither forecasts nor an error",
                crate::text::excerpt(&item.id, 40)
            ),
        )
        .with_hint("merge what `predict --format jsonl` (or json) printed")
        .into());
    }
    let mut keys = std::collections::HashMap::new();
    for (item, file) in items.iter().zip(&from) {
        if let Some(other) = keys.insert((item.id.clone(), item.model.clone()), *file) {
            return Err(DataError::new(
                file,
                format!("series {} is also in {}: merge each shard's output once", item.id, shown(other)),
            )
            .into());
        }
    }
    items.sort_by(|a, b| (&a.id, &a.model).cmp(&(&b.id, &b.model)));
    print_forecasts(items, args.output.format)
}

fn ledgers(files: &[PathBuf], texts: &[String], args: &MergeArgs, log: &crate::output::Log) -> Result<()> {
    let mut all = Vec::new();
    for (file, text) in files.iter().zip(texts) {
        all.push(ledger::parse(file, text.as_bytes())?);
    }
    let rows = ledger::merge(all);
    match &args.out {
        Some(out) => {
            if let Some(file) = files.iter().find(|f| crate::paths::same_file(f, out)) {
                return Err(Error::Usage(format!("--out {} is one of the files merged", shown(file))));
            }
            let added = ledger::append(out, &rows)?;
            log.info(&format!("{}: {added} new row(s) of {}", out.display(), rows.len()));
            Ok(())
        }
        None => print_text(&String::from_utf8_lossy(&ledger::encode(&rows)?)),
    }
}
