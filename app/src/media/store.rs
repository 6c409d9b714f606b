//! Where a photo's bytes live (ssr): in the database (the default: backups, `migrate-db` and
//! several instances need nothing more) or in a folder (`QUIRE_MEDIA_DIR`, for big libraries;
//! several instances must share it). The rows that say which photos exist, whose they are and
//! which entries use them are always in the database, so ownership checks never depend on the
//! store; [`super::repo`] talks to both through this one type.
//!
//! A folder write can never leave a half-written file under a photo's name: bytes go to a
//! temporary file, are flushed to disk, then renamed into place. A crash between the files and
//! the database row leaves files without a row; the hourly sweep deletes those after a day.

use std::path::{Path, PathBuf};

/// The configured store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaStore {
    Database,
    Folder(PathBuf),
}

impl MediaStore {
    pub fn of(config: &crate::config::Config) -> MediaStore {
        match &config.media_dir {
            Some(dir) => MediaStore::Folder(dir.clone()),
            None => MediaStore::Database,
        }
    }

    /// Whether the bytes go into `photo_variants.data`.
    pub fn in_database(&self) -> bool {
        matches!(self, MediaStore::Database)
    }

    /// Checks at start-up that the folder exists (it is created if missing) and is writable.
    pub fn prepare(&self) -> std::io::Result<()> {
        if let MediaStore::Folder(dir) = self {
            std::fs::create_dir_all(dir.join("tmp"))?;
            let probe = dir.join("tmp").join(".quire-write-check");
            std::fs::write(&probe, b"ok")?;
            std::fs::remove_file(probe)?;
        }
        Ok(())
    }
}

/// The file of one size of one photo: `<dir>/<first two characters of the id>/<id>.<variant>`.
/// Ids are base64url, so they are safe as file names.
pub fn file_path(dir: &Path, id: &str, variant: &str) -> PathBuf {
    let shard = id.get(..2).unwrap_or("__");
    dir.join(shard).join(format!("{id}.{variant}"))
}

/// Writes one size of a photo into the folder (blocking; callers use the blocking pool).
pub fn write_file(dir: &Path, id: &str, variant: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let target = file_path(dir, id, variant);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = dir
        .join("tmp")
        .join(format!("{id}.{variant}.{}", rand::random::<u64>()));
    std::fs::create_dir_all(dir.join("tmp"))?;
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, &target)
}

pub fn read_file(dir: &Path, id: &str, variant: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(file_path(dir, id, variant))
}

/// Removes every size of a photo from the folder; missing files are fine.
pub fn remove_files(dir: &Path, id: &str) {
    for variant in ["original", "large", "small"] {
        let _ = std::fs::remove_file(file_path(dir, id, variant));
    }
}

/// Photo ids that have files in the folder, last changed before `older_than`, and temporary
/// files left by an interrupted write (returned as paths to delete).
pub fn files_older_than(
    dir: &Path,
    older_than: std::time::SystemTime,
) -> (Vec<String>, Vec<PathBuf>) {
    let mut ids = Vec::new();
    let mut stale_tmp = Vec::new();
    let old = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < older_than)
    };
    let Ok(shards) = std::fs::read_dir(dir) else {
        return (ids, stale_tmp);
    };
    for shard in shards.flatten() {
        let path = shard.path();
        if !path.is_dir() {
            continue;
        }
        let is_tmp = shard.file_name() == "tmp";
        let Ok(files) = std::fs::read_dir(&path) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if !old(&path) {
                continue;
            }
            if is_tmp {
                stale_tmp.push(path);
            } else if let Some(id) = file
                .file_name()
                .to_str()
                .and_then(|name| name.split('.').next())
            {
                if super::is_photo_id(id) && !ids.iter().any(|known| known == id) {
                    ids.push(id.to_owned());
                }
            }
        }
    }
    (ids, stale_tmp)
}
