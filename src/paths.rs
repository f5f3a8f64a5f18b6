//! The files a command is told to write, checked before any work: an output must not be one of
//! the command's inputs (`train --csv p.csv --out p.csv` would replace the prices with a model),
//! two outputs must not be the same file, and an output's folder must exist. Paths are compared
//! as files, not as spellings: `./p.csv`, an absolute path, a symbolic link and a hard link to
//! `p.csv` are all `p.csv`.
//!
//! [`shown`] is how a path appears in a message: control characters escaped, so that an error is
//! always one line however its path is spelled.

use crate::atomic::folder_of;
use crate::error::{Error, Result};
use crate::text::one_line;
use std::path::{Path, PathBuf};

/// A path as it appears in messages: `display()` with control characters (a newline in a file
/// name) escaped.
pub fn shown(path: &Path) -> String {
    one_line(&path.display().to_string())
}

/// What makes a file itself: its device and inode when it exists; otherwise its canonical
/// folder and its name (a file about to be created).
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Inode(u64, u64),
    Planned(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        return Some(Identity::Inode(meta.dev(), meta.ino()));
    }
    #[cfg(not(unix))]
    if let Ok(canonical) = std::fs::canonicalize(path) {
        return Some(Identity::Planned(canonical));
    }
    let name = path.file_name()?;
    Some(Identity::Planned(std::fs::canonicalize(folder_of(path)).ok()?.join(name)))
}

/// A file's name without its extension (`prices/AAPL.csv` → `AAPL`), lossily decoded: the id of
/// a series read from a file that does not name its ticker.
pub fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| shown(path))
}

/// Whether `a` and `b` name the same file (through `./`, `..`, symbolic and hard links).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (identity(a), identity(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Refuses (usage error, exit 2) an output that is one of the inputs or another output. `outputs`
/// and `inputs` are (flag, path) pairs, e.g. `("--out", out)` and `("--csv", csv)`.
pub fn refuse_overwriting_inputs(outputs: &[(&str, &Path)], inputs: &[(&str, &Path)]) -> Result<()> {
    for (i, &(flag, output)) in outputs.iter().enumerate() {
        for &(input_flag, input) in inputs {
            if same_file(output, input) {
                return Err(Error::Usage(format!(
                    "{flag} {} is the same file as {input_flag} {}: writing it would destroy the input; \
                     give {flag} another path",
                    shown(output),
                    shown(input)
                )));
            }
        }
        for &(other_flag, other) in &outputs[i + 1..] {
            if same_file(output, other) {
                return Err(Error::Usage(format!(
                    "{flag} {} and {other_flag} {} are the same file; give them different paths",
                    shown(output),
                    shown(other)
                )));
            }
        }
    }
    Ok(())
}

/// Refuses (usage error, exit 2) an output file that cannot be created: its folder is missing, or
/// the path is a folder.
pub fn check_output_path(flag: &str, path: &Path) -> Result<()> {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.is_dir() => {
            Err(Error::Usage(format!("{flag} {}: folder {} does not exist", shown(path), shown(folder))))
        }
        _ if path.is_dir() => {
            Err(Error::Usage(format!("{flag} {} is a folder; give a file name", shown(path))))
        }
        _ => Ok(()),
    }
}

/// [`check_output_path`] for each output, then [`refuse_overwriting_inputs`]: what every command
/// that writes files calls first.
pub fn check_outputs(outputs: &[(&str, &Path)], inputs: &[(&str, &Path)]) -> Result<()> {
    for &(flag, path) in outputs {
        check_output_path(flag, path)?;
    }
    refuse_overwriting_inputs(outputs, inputs)
}

/// A file name for the series `id`: its letters, digits, `-`, `_`, `.` and `^` kept, anything
/// else (a `/`, a space) as `_`, and a leading `.` as `_`, so no id names a hidden file or
/// another folder.
pub fn file_name_for(id: &str) -> String {
    let mut name: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.^".contains(c) { c } else { '_' }).collect();
    if name.starts_with('.') || name.is_empty() {
        name.insert(0, '_');
    }
    name
}

/// The model file of the series `id` in `dir`, as `train --each` writes it: DIR/ID.safetensors
/// (the id made a plain file name by [`file_name_for`]).
pub fn model_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{}.safetensors", file_name_for(id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    #[test]
    fn an_output_that_is_an_input_is_refused_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("p.csv");
        std::fs::write(&csv, "Date,Close\n").unwrap();
        let dotted = dir.path().join(".").join("p.csv");
        let round_about = dir.path().join("sub").join("..").join("p.csv");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let hard = dir.path().join("hard.csv");
        std::fs::hard_link(&csv, &hard).unwrap();
        let mut spellings = vec![csv.clone(), dotted, round_about, hard];
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&csv, &link).unwrap();
            spellings.push(link);
        }
        for output in &spellings {
            let err = refuse_overwriting_inputs(&[("--out", output)], &[("--csv", &csv)]).unwrap_err();
            assert_eq!(err.exit_code(), Exit::Usage);
            let message = err.to_string();
            assert!(message.contains("--out") && message.contains("--csv"), "{message}");
        }
        let model = dir.path().join("m.safetensors");
        refuse_overwriting_inputs(&[("--out", &model)], &[("--csv", &csv)]).unwrap();
    }

    #[test]
    fn two_outputs_that_do_not_exist_yet_are_compared_by_folder_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("x.png");
        let b = dir.path().join(".").join("x.png");
        let err = refuse_overwriting_inputs(&[("--plot", &a), ("--predictions", &b)], &[]).unwrap_err();
        assert!(err.to_string().contains("--predictions"), "{err}");
        let c = dir.path().join("y.png");
        refuse_overwriting_inputs(&[("--plot", &a), ("--predictions", &c)], &[]).unwrap();
    }

    #[test]
    fn missing_folders_and_folders_are_refused_as_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no").join("m.safetensors");
        assert!(check_output_path("--out", &missing).unwrap_err().to_string().contains("does not exist"));
        assert!(check_output_path("--out", dir.path()).unwrap_err().to_string().contains("is a folder"));
        check_output_path("--out", &dir.path().join("m.safetensors")).unwrap();
        check_output_path("--out", Path::new("m.safetensors")).unwrap();
    }

    #[test]
    fn paths_in_messages_are_one_line() {
        let message = shown(Path::new("evil\nname\r.csv"));
        assert_eq!(message, "evil\\nname\\r.csv");
    }

    #[test]
    fn series_ids_become_plain_file_names() {
        assert_eq!(file_name_for("AAPL"), "AAPL");
        assert_eq!(file_name_for("BRK/B"), "BRK_B");
        assert_eq!(file_name_for("^GSPC"), "^GSPC");
        assert_eq!(file_name_for(".."), "_..");
        assert_eq!(file_name_for("a b\u{e9}"), "a_b_");
    }
}
