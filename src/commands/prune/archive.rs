//! `--archive FILE`: every deleted row appended as a JSON line and synced to disk before its
//! batch commits, so the file always holds at least what the table lost.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::db::DeletedRow;
use crate::error::usage;

/// The archive: JSON lines appended and synced to disk before each batch commits.
pub struct Archive {
    file: File,
    path: PathBuf,
}

impl Archive {
    /// Opens (creating if needed) for appending.
    pub fn open(path: &Path) -> Result<Archive> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                usage(format!(
                    "--archive {}: cannot open for appending: {e}",
                    path.display()
                ))
            })?;
        Ok(Archive {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends the rows and syncs. On failure the file is cut back to where it was, so a batch
    /// that rolls back leaves no trace in the archive.
    pub fn append(&mut self, rows: &[DeletedRow]) -> Result<()> {
        let before = self.file.metadata()?.len();
        let mut buf = Vec::with_capacity(rows.len() * 512);
        for row in rows {
            if let Some(json) = &row.row {
                buf.extend_from_slice(json.as_bytes());
                buf.push(b'\n');
            }
        }
        let written = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.set_len(before);
            return Err(e).with_context(|| format!("writing archive {}", self.path.display()));
        }
        Ok(())
    }
}
