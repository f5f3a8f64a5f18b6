//! Step 0: the file's bytes. Only a regular file (after following symbolic links) is read: a FIFO
//! would block until some writer came, and a device such as `/dev/zero` never ends. The type is
//! checked on the path before the file is opened, so that opening a FIFO cannot block, and again on
//! the opened handle, in case the path was replaced in between. At most [`MAX_FILE_BYTES`] + 1 bytes
//! are read whatever the file's size says, so that a file that grows while it is read cannot pass
//! the limit either.

use std::fs::{File, FileType, Metadata};
use std::io::Read;
use std::path::Path;

use crate::error::DataError;

/// The largest CSV file read, in bytes (1 GiB). A century of daily prices is a few megabytes and
/// the largest multi-instrument exports seen (Kaggle's 500 stocks over 5 years) are tens of
/// megabytes; the loader needs a few times the file's size in memory.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The file at `path`, refused unless it is a regular file of at most [`MAX_FILE_BYTES`].
pub(super) fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    let metadata = std::fs::metadata(path).map_err(|err| unreadable(path, &err))?;
    check(path, &metadata)?;
    let file = File::open(path).map_err(|err| unreadable(path, &err))?;
    let metadata = file.metadata().map_err(|err| unreadable(path, &err))?;
    check(path, &metadata)?;
    read_capped(file, metadata.len(), MAX_FILE_BYTES, path)
}

/// Refuses anything but a regular file, and a file larger than [`MAX_FILE_BYTES`].
fn check(path: &Path, metadata: &Metadata) -> Result<(), DataError> {
    let file_type = metadata.file_type();
    if !file_type.is_file() {
        return Err(DataError::new(path, format!("not a regular file: this is {}", kind(&file_type)))
            .with_hint(
                "give the path of a CSV file; to read another program's output, save it to a file first",
            ));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large(path, Some(metadata.len())));
    }
    Ok(())
}

/// What a file that is not a regular file is, in words.
fn kind(file_type: &FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe), which would block until another program writes to it";
        }
        if file_type.is_char_device() {
            return "a character device, which may never end";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// Reads at most `limit` bytes from `reader` (`size` is what the file's metadata says it holds);
/// an error when there are more.
pub(super) fn read_capped(
    reader: impl Read,
    size: u64,
    limit: u64,
    path: &Path,
) -> Result<Vec<u8>, DataError> {
    let mut bytes = Vec::new();
    let expected = usize::try_from(size.min(limit)).unwrap_or(0).saturating_add(1);
    bytes.try_reserve_exact(expected).map_err(|_| out_of_memory(path))?;
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(|err| {
        if err.kind() == std::io::ErrorKind::OutOfMemory {
            out_of_memory(path)
        } else {
            unreadable(path, &err)
        }
    })?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(too_large(path, None));
    }
    Ok(bytes)
}

/// The file (or the bytes given to `parse_csv`) is over [`MAX_FILE_BYTES`]; `size` when known.
pub(super) fn too_large(path: &Path, size: Option<u64>) -> DataError {
    let size = match size {
        Some(size) => format!("{size} bytes"),
        None => "larger than that".to_string(),
    };
    DataError::new(path, format!("the file is {size}; the limit is {MAX_FILE_BYTES} bytes (1 GiB)"))
        .with_hint(
            "a daily price file is a few megabytes; check the path, or cut the file to the instrument needed",
        )
}

fn unreadable(path: &Path, err: &std::io::Error) -> DataError {
    DataError::new(path, format!("cannot read the file: {err}"))
        .with_hint("check that the path is right and that the file is readable")
}

fn out_of_memory(path: &Path) -> DataError {
    DataError::new(path, "not enough memory to read the file")
        .with_hint("free some memory, or use a smaller file")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        let path = Path::new("grows.csv");
        let endless = std::io::repeat(b'x');
        let err = read_capped(endless, 0, 100, path).err().map(|err| err.to_string()).unwrap_or_default();
        assert!(err.contains("the limit is"), "{err}");
        match read_capped(&b"0123456789"[..], 3, 10, path) {
            Ok(bytes) => assert_eq!(bytes, b"0123456789"),
            Err(err) => panic!("{err}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_directories_are_refused_before_reading() {
        for (path, what) in [("/dev/zero", "character device"), ("/", "directory")] {
            let err = read(Path::new(path)).err().map(|err| err.to_string()).unwrap_or_default();
            assert!(err.contains(&format!("not a regular file: this is a {what}")), "{err}");
        }
    }
}
