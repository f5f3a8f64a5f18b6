//! A watchlist: the series a command line names — CSV files, globs that forecast expands itself
//! (`'prices/*.csv'`, matches sorted by name), and in a file that holds several tickers every one
//! of them or a list (`--tickers`) — loaded in parallel, each with its id: the ticker the file
//! names, else the file name's stem. Two series with the same id are an error naming both sources.
//!
//! A file or ticker that cannot be loaded does not stop the others: it is returned as a
//! [`Failed`] with its own error, for the caller to report (predict) or skip (train).

use super::load::{load_csv, load_csv_tickers, TickerChoice};
use super::{LoadOptions, LoadReport, Series};
use crate::error::{DataError, Error, Result};
use crate::paths::{shown, stem};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One series of a watchlist, loaded.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub id: String,
    /// The file, as an absolute path without `..` (recorded in a model, so it works from anywhere).
    pub csv: PathBuf,
    /// The options it was read with; for a ticker of a multi-ticker file, `ticker` names it.
    pub load_options: LoadOptions,
    pub series: Series,
    pub report: LoadReport,
}

/// One series of a watchlist that could not be loaded.
#[derive(Debug)]
pub struct Failed {
    /// Its ticker, or its file name's stem.
    pub id: String,
    pub csv: PathBuf,
    pub error: Error,
}

/// Where one series is read from: a file, and the options to read it with (`ticker` set picks
/// one ticker of a multi-ticker file).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub id: String,
    pub csv: PathBuf,
    pub load_options: LoadOptions,
}

/// True when `pattern` has a glob wildcard (`*`, `?` or `[`).
pub fn is_glob(pattern: &Path) -> bool {
    pattern.to_string_lossy().contains(['*', '?', '['])
}

/// The files named by `patterns`, in order: a plain path as it is (a missing file is reported
/// when it is read), a glob as its matching files sorted by name. A glob that matches no file, or
/// is malformed, is a usage error; a file named twice is read once.
pub fn expand(patterns: &[PathBuf]) -> Result<Vec<PathBuf>> {
    expand_as("--csv", patterns)
}

/// [`expand`] for the flag `flag`, which its errors name.
pub fn expand_as(flag: &str, patterns: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for pattern in patterns {
        if !is_glob(pattern) {
            files.push(pattern.clone());
            continue;
        }
        let text = pattern.to_string_lossy();
        let matches = glob::glob(&text)
            .map_err(|e| Error::Usage(format!("{flag} {}: not a valid glob ({e})", shown(pattern))))?;
        let mut found: Vec<PathBuf> = matches.filter_map(|m| m.ok()).filter(|p| p.is_file()).collect();
        if found.is_empty() {
            return Err(Error::Usage(format!("{flag} {}: matches no file", shown(pattern))));
        }
        found.sort();
        files.extend(found);
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(absolute(f)));
    Ok(files)
}

/// `path` made absolute and without `..` where it exists (as is otherwise).
pub fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_path_buf())
}

/// Loads every series of `files` in parallel: one per file, or with `tickers` every chosen ticker
/// of each file (a file without a ticker column is one series). Returns the loaded series and the
/// failures, each in file order; two loaded series with the same id are a data error naming both.
pub fn load(
    files: &[PathBuf],
    opts: &LoadOptions,
    tickers: Option<&TickerChoice>,
) -> Result<(Vec<Loaded>, Vec<Failed>)> {
    crate::pool::start();
    let per_file: Vec<(Vec<Loaded>, Vec<Failed>)> =
        files.par_iter().map(|file| load_file(file, opts, tickers)).collect();
    let (mut loaded, mut failed) = (Vec::new(), Vec::new());
    for (l, f) in per_file {
        loaded.extend(l);
        failed.extend(f);
    }
    check_unique(loaded.iter().map(|l| (l.id.as_str(), l.csv.as_path())))?;
    Ok((loaded, failed))
}

/// The series of one file: those loaded and those that failed.
fn load_file(file: &Path, opts: &LoadOptions, tickers: Option<&TickerChoice>) -> (Vec<Loaded>, Vec<Failed>) {
    let csv = absolute(file);
    let Some(choice) = tickers else {
        return match load_csv(&csv, opts) {
            Ok((series, report)) => {
                let id = report.ticker.clone().unwrap_or_else(|| stem(&csv));
                (vec![Loaded { id, csv, load_options: opts.clone(), series, report }], vec![])
            }
            Err(e) => {
                let id = opts.ticker.clone().unwrap_or_else(|| stem(&csv));
                (vec![], vec![Failed { id, csv, error: e.into() }])
            }
        };
    };
    let entries = match load_csv_tickers(&csv, opts, choice) {
        Ok(entries) => entries,
        Err(e) => return (vec![], vec![Failed { id: stem(&csv), csv, error: e.into() }]),
    };
    let several = entries.len() > 1 || matches!(choice, TickerChoice::Listed(_));
    let (mut loaded, mut failed) = (Vec::new(), Vec::new());
    for (id, result) in entries {
        // A ticker of a multi-ticker file is read again by naming it.
        let load_options =
            if several { LoadOptions { ticker: Some(id.clone()), ..opts.clone() } } else { opts.clone() };
        match result {
            Ok((series, report)) => {
                loaded.push(Loaded { id, csv: csv.clone(), load_options, series, report })
            }
            Err(e) => failed.push(Failed { id, csv: csv.clone(), error: e.into() }),
        }
    }
    (loaded, failed)
}

/// Refuses two series with the same id, naming both sources.
pub fn check_unique<'a>(series: impl Iterator<Item = (&'a str, &'a Path)>) -> Result<()> {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for (id, csv) in series {
        if let Some(first) = seen.insert(id, csv) {
            return Err(DataError::new(
                csv,
                format!(
                    "series {} is also in {}: each series of a watchlist needs its own id",
                    crate::text::excerpt(id, 40),
                    shown(first)
                ),
            )
            .with_hint("drop one of the two files, or give the files distinct names or ticker columns")
            .into());
        }
    }
    Ok(())
}

/// What reading one series gave.
pub type Read = std::result::Result<(Series, LoadReport), Error>;

/// Reads each source again (predict's refresh), in parallel: several tickers of one file from one
/// parse of it. Results in the order of `sources`.
pub fn reload(sources: &[Source]) -> Vec<Read> {
    // Tickers of the same file read with the same other options share one parse.
    let mut groups: Vec<(PathBuf, LoadOptions, Vec<usize>)> = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        let rest = LoadOptions { ticker: None, ..s.load_options.clone() };
        match groups.iter_mut().find(|g| s.load_options.ticker.is_some() && g.0 == s.csv && g.1 == rest) {
            Some(g) => g.2.push(i),
            None if s.load_options.ticker.is_some() => groups.push((s.csv.clone(), rest, vec![i])),
            None => groups.push((s.csv.clone(), s.load_options.clone(), vec![i])),
        }
    }
    crate::pool::start();
    let read: Vec<Vec<(usize, Read)>> = groups
        .par_iter()
        .map(|(csv, opts, members)| {
            if let [i] = members[..] {
                return vec![(i, load_csv(csv, &sources[i].load_options).map_err(Error::from))];
            }
            let names: Vec<String> =
                members.iter().filter_map(|&i| sources[i].load_options.ticker.clone()).collect();
            let mut by_name: HashMap<String, Read> =
                match load_csv_tickers(csv, opts, &TickerChoice::Listed(names)) {
                    Ok(entries) => entries.into_iter().map(|(id, r)| (id, r.map_err(Error::from))).collect(),
                    Err(e) => return members.iter().map(|&i| (i, Err(Error::from(e.clone())))).collect(),
                };
            members
                .iter()
                .map(|&i| {
                    let name = sources[i].load_options.ticker.clone().unwrap_or_default();
                    let read = by_name.remove(&name).unwrap_or_else(|| {
                        Err(DataError::new(
                            csv,
                            format!("no ticker {} in the file", crate::text::excerpt(&name, 40)),
                        )
                        .into())
                    });
                    (i, read)
                })
                .collect()
        })
        .collect();
    let mut out: Vec<Option<Read>> = (0..sources.len()).map(|_| None).collect();
    for (i, r) in read.into_iter().flatten() {
        out[i] = Some(r);
    }
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Internal("a series was not read".into()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    #[test]
    fn globs_expand_sorted_plain_paths_pass_and_a_file_named_twice_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", "c.txt"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let glob = dir.path().join("*.csv");
        let plain = dir.path().join("c.txt");
        let files = expand(&[plain.clone(), glob.clone(), dir.path().join("a.csv")]).unwrap();
        let names: Vec<String> = files.iter().map(|f| stem(f)).collect();
        assert_eq!(names, ["c", "a", "b"]);
        // A missing plain file passes (reading it says what is wrong); a glob with no match does not.
        assert_eq!(expand(&[dir.path().join("missing.csv")]).unwrap().len(), 1);
        let err = expand(&[dir.path().join("*.parquet")]).unwrap_err();
        assert_eq!(err.exit_code(), Exit::Usage);
        assert!(err.to_string().contains("matches no file"), "{err}");
    }

    #[test]
    fn two_series_with_one_id_are_refused_naming_both_files() {
        let (a, b) = (Path::new("x/AAPL.csv"), Path::new("y/big.csv"));
        check_unique([("AAPL", a), ("MSFT", b)].into_iter()).unwrap();
        let err = check_unique([("AAPL", a), ("AAPL", b)].into_iter()).unwrap_err();
        assert_eq!(err.exit_code(), Exit::Data);
        let message = err.to_string();
        assert!(message.contains("y/big.csv") && message.contains("x/AAPL.csv"), "{message}");
    }
}
