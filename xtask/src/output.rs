//! Output that is either complete or absent, and one run per output directory.
//!
//! - [`write_atomic`]: a file is written under a temporary name in its own directory and
//!   renamed over the target, so a reader sees the old or the new file, never a torn one.
//! - [`publish_dir`]: a report directory `DIR/NAME/` is built whole in a staging directory
//!   `DIR/.NAME.staging-PID/` and swapped in by two renames (old → `.NAME.old-PID`, staging
//!   → `NAME`); at every instant `NAME/` is either the complete old report, absent for
//!   the instant between the renames, or the complete new one — never report.json of one
//!   run beside report.md of another.
//! - [`OutDirLock`]: `DIR/.reproduce.lock`, created exclusively (`create_new`), holds the
//!   owner's pid; a second `reproduce` into the same directory fails with
//!   [`LockError::Busy`] naming that pid instead of interleaving its writes. A lock whose
//!   process is gone (checked through `/proc` on Linux) is stale and taken over.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the lock file inside an output directory.
pub const LOCK_FILE: &str = ".reproduce.lock";

/// Writes `contents` to `path` atomically: to `.NAME.tmp-PID` beside it, then a rename.
///
/// # Errors
/// Any I/O error; the temporary file is removed on failure.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(contents)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Builds `out/name/` whole: `fill` writes every file into a fresh staging directory,
/// which then replaces `out/name/` (module docs). If `fill` or a rename fails, the
/// staging directory is removed and `out/name/` is left as it was.
///
/// # Errors
/// `fill`'s error, or the I/O error of creating the staging directory or of a rename
/// (with the path).
pub fn publish_dir<T>(
    out: &Path,
    name: &str,
    fill: impl FnOnce(&Path) -> Result<T, String>,
) -> Result<T, String> {
    let pid = std::process::id();
    let staging = out.join(format!(".{name}.staging-{pid}"));
    let old = out.join(format!(".{name}.old-{pid}"));
    let target = out.join(name);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
    let cleanup = |msg: String| {
        let _ = std::fs::remove_dir_all(&staging);
        msg
    };
    let value = fill(&staging).map_err(cleanup)?;
    let had_old = target.exists();
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(&target, &old)
            .map_err(|e| cleanup(format!("{}: {e}", target.display())))?;
    }
    if let Err(e) = std::fs::rename(&staging, &target) {
        // Put the old report back so the directory is as before.
        if had_old {
            let _ = std::fs::rename(&old, &target);
        }
        return Err(cleanup(format!("{}: {e}", target.display())));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(value)
}

/// Why an output directory could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another live process holds the lock.
    Busy {
        /// The lock file.
        path: PathBuf,
        /// What the lock file says about its owner.
        owner: String,
    },
    /// The lock file could not be created or read.
    Io {
        /// The lock file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Busy { path, owner } => write!(
                f,
                "the output directory is in use by another `cargo xtask reproduce` ({owner}); \
                 wait for it to finish or pass a different --out (if no such run is active, \
                 delete {})",
                path.display()
            ),
            Self::Io { path, error } => write!(f, "cannot create {}: {error}", path.display()),
        }
    }
}

/// Exclusive ownership of an output directory for one `reproduce` (module docs); the lock
/// file is removed on drop.
#[derive(Debug)]
pub struct OutDirLock {
    path: PathBuf,
}

impl OutDirLock {
    /// Takes the lock of `out` (which must exist), taking over a stale one.
    ///
    /// # Errors
    /// [`LockError::Busy`] when a live process holds it, [`LockError::Io`] otherwise.
    pub fn acquire(out: &Path) -> Result<Self, LockError> {
        let path = out.join(LOCK_FILE);
        for _attempt in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let started = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    writeln!(f, "pid {}\nstarted {started}", std::process::id()).map_err(
                        |error| LockError::Io {
                            path: path.clone(),
                            error,
                        },
                    )?;
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let pid = parse_pid(&text);
                    if pid.is_some_and(process_is_gone) {
                        eprintln!(
                            "warning: taking over the stale lock {} (its process {} is gone)",
                            path.display(),
                            pid.unwrap_or(0)
                        );
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    let owner = match pid {
                        Some(p) => format!("pid {p}"),
                        None => "owner unknown".into(),
                    };
                    return Err(LockError::Busy { path, owner });
                }
                Err(error) => return Err(LockError::Io { path, error }),
            }
        }
        Err(LockError::Busy {
            path,
            owner: "taken by another run while a stale lock was replaced".into(),
        })
    }

    /// The lock file.
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutDirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn parse_pid(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("pid "))
        .and_then(|p| p.trim().parse().ok())
}

/// Whether process `pid` certainly no longer exists: only decidable through `/proc` (on
/// other systems a lock is never treated as stale).
fn process_is_gone(pid: u32) -> bool {
    let proc_root = Path::new("/proc/self");
    proc_root.exists() && !Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::unique_temp_dir;

    #[test]
    fn atomic_write_replaces_whole_files_and_leaves_no_temporaries() {
        let dir = unique_temp_dir("atomic");
        let path = dir.join("page.html");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        assert!(write_atomic(&dir.join("missing/page.html"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_publication_leaves_the_old_report_untouched() {
        let dir = unique_temp_dir("publish");
        publish_dir(&dir, "exp", |d| {
            std::fs::write(d.join("report.json"), "old").map_err(|e| e.to_string())?;
            std::fs::write(d.join("report.md"), "old").map_err(|e| e.to_string())
        })
        .unwrap();
        // The second run writes its report.json, then fails on report.md.
        let err = publish_dir(&dir, "exp", |d| {
            std::fs::write(d.join("report.json"), "new").map_err(|e| e.to_string())?;
            Err::<(), _>("report.md: disk full".to_string())
        })
        .unwrap_err();
        assert!(err.contains("disk full"));
        for f in ["report.json", "report.md"] {
            assert_eq!(
                std::fs::read_to_string(dir.join("exp").join(f)).unwrap(),
                "old"
            );
        }
        // A successful one replaces the whole directory (no stale file survives).
        publish_dir(&dir, "exp", |d| {
            std::fs::write(d.join("report.json"), "new").map_err(|e| e.to_string())
        })
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("exp/report.json")).unwrap(),
            "new"
        );
        assert!(!dir.join("exp/report.md").exists());
        // Nothing but `exp/` is left behind.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["exp"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_second_run_into_a_locked_directory_is_refused() {
        let dir = unique_temp_dir("lock");
        let lock = OutDirLock::acquire(&dir).unwrap();
        let err = OutDirLock::acquire(&dir).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LockError::Busy { .. }), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(lock);
        assert!(!dir.join(LOCK_FILE).exists());
        let again = OutDirLock::acquire(&dir).unwrap();
        assert_eq!(again.path(), dir.join(LOCK_FILE));
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stale_lock_is_taken_over() {
        if !Path::new("/proc/self").exists() {
            return; // staleness is only decidable through /proc
        }
        let dir = unique_temp_dir("stale");
        // A pid far above Linux's pid_max (2^22) never names a live process.
        std::fs::write(dir.join(LOCK_FILE), "pid 999999999\nstarted 0\n").unwrap();
        let lock = OutDirLock::acquire(&dir).unwrap();
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert_eq!(parse_pid(&text), Some(std::process::id()));
        drop(lock);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
