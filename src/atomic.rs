//! Atomic file replacement: write a temporary file in the destination's folder, flush it to disk,
//! then rename it over the destination. A failed or killed run leaves the old file untouched, and
//! readers see either the whole old file or the whole new one.
//!
//! Temporary files are named `.NAME.tmp-<pid>-<random>`: a run killed by a signal cannot remove
//! its own, so every later write of NAME removes those whose writer (the pid) is no longer
//! running. Another live process's temporary file is never touched.

use std::io::Write;
use std::path::Path;

/// Prefix of temporary files, so that leftovers of a killed run are recognisable: `.NAME.tmp-…`.
pub fn temp_prefix(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!(".{name}.tmp-")
}

/// The folder `path` is in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The pid of the process that made the temporary file `file_name` for `path`, when it is one:
/// `.NAME.tmp-<pid>-<anything>`.
fn writer_pid(path: &Path, file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix(&temp_prefix(path))?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Whether process `pid` is running. Where that cannot be known (no /proc), every process is
/// assumed alive, so nothing is removed.
fn is_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") && Path::new("/proc/self").exists() {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Removes the temporary files of `path` left by writers that are no longer running (killed by a
/// signal mid-write); returns how many. Best effort: a file that cannot be removed stays.
pub fn remove_leftovers(path: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(folder_of(path)) else { return 0 };
    let own = std::process::id();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| writer_pid(path, n)) else { continue };
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if pid != own && is_file && !is_alive(pid) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A new temporary file beside `path`, named `.NAME.tmp-<pid>-<random><suffix>`, with the
/// permissions the replacement should have (the old file's; rw-r--r-- for a new file), after
/// removing dead writers' leftovers. Removed when dropped unless persisted.
pub fn temp_file(path: &Path, suffix: &str) -> std::io::Result<tempfile::NamedTempFile> {
    remove_leftovers(path);
    let prefix = format!("{}{}-", temp_prefix(path), std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(suffix);
    // The replacement keeps the old file's permissions; a new file gets rw-r--r-- (a temporary
    // file would otherwise be private to its owner).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    builder.tempfile_in(folder_of(path))
}

/// Renames `temp` over `path` and makes the rename durable.
pub fn persist(temp: tempfile::NamedTempFile, path: &Path) -> std::io::Result<()> {
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable; not every platform lets a folder be opened, so best effort.
    if let Ok(folder) = std::fs::File::open(folder_of(path)) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = temp_file(path, "")?;
    temp.write_all(bytes)?;
    persist(temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        std::fs::write(&path, b"old").unwrap();
        write_atomic(&path, b"new contents").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn temporary_names_carry_the_writer_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let temp = temp_file(&path, ".png").unwrap();
        let name = temp.path().file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with(".m.safetensors.tmp-") && name.ends_with(".png"), "{name}");
        assert_eq!(writer_pid(&path, &name), Some(std::process::id()));
        assert_eq!(writer_pid(&path, ".m.safetensors.tmp-abc"), None);
        assert_eq!(writer_pid(&path, ".other.tmp-12-x"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn leftovers_of_dead_writers_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        // Linux pids are at most 4194304 (pid_max's ceiling): these writers cannot be alive.
        let dead = [".m.safetensors.tmp-4194305-a1b2c3", ".m.safetensors.tmp-99999999-x.png"];
        let own = format!(".m.safetensors.tmp-{}-mine", std::process::id());
        let kept = [
            ".m.safetensors.tmp-1-init", // pid 1 is always running
            own.as_str(),
            ".m.safetensors.tmp-nopid", // an older name without a pid: unknown writer
            ".other.safetensors.tmp-4194305-z", // another file's temporary
            "m.safetensors.tmp-4194305-z", // not a temporary name
        ];
        for name in dead.iter().chain(&kept) {
            std::fs::write(dir.path().join(name), b"partial").unwrap();
        }
        write_atomic(&path, b"model").unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut expected: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
        expected.push("m.safetensors".into());
        expected.sort();
        assert_eq!(names, expected);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_readable_by_others_and_replacements_keep_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        write_atomic(&path, b"one").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-folder").join("m.safetensors");
        assert!(write_atomic(&missing, b"x").is_err());
        assert!(!missing.exists());
    }
}
