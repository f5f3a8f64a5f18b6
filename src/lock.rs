//! One writer per model path. `train` holds an exclusive lock on `.NAME.lock` beside the model
//! file for its whole run, so two trains on the same `--out` never interleave: the second fails
//! at once (exit 7) or, with `--wait`, queues. The lock is the operating system's (released when
//! the process ends, however it ends), so a killed run leaves nothing that blocks the next one;
//! the empty lock file itself stays and is reused.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file that guards `model`.
pub fn lock_path(model: &Path) -> PathBuf {
    let name = model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    model.with_file_name(format!(".{name}.lock"))
}

/// Takes the lock on `model`'s path, waiting for it when `wait`; held until the returned file is
/// dropped.
pub fn lock_model(model: &Path, wait: bool) -> Result<File> {
    let path = lock_path(model);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::output(format!("lock file {}", path.display()), e))?;
    if wait {
        file.lock().map_err(|e| Error::output(format!("lock file {}", path.display()), e))?;
        return Ok(file);
    }
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::Locked(format!(
            "{}: another forecast is writing this model (lock {}); retry later, or pass --wait to queue",
            model.display(),
            path.display()
        ))),
        Err(TryLockError::Error(e)) => Err(Error::output(format!("lock file {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    #[test]
    fn a_second_writer_is_refused_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.safetensors");
        let first = lock_model(&model, false).unwrap();
        let err = lock_model(&model, false).unwrap_err();
        assert_eq!(err.exit_code(), Exit::Locked);
        assert!(err.to_string().contains("--wait"), "{err}");
        drop(first);
        lock_model(&model, false).expect("free again once the first is done");
    }
}
