//! Reads `/proc/sysvipc/shm` and `/proc/sysvipc/sem`: the objects that exist
//! now (used to seed the model with objects created before tracing began).
//!
//! Both files are a header line of column names and one line per object of
//! whitespace-separated columns. Columns are found by name, so kernels that
//! add columns (`rss`, `swap`) parse the same. `perms` is octal and carries
//! mode bits above 0o777 (`SHM_DEST` = 0o1000, `SHM_LOCKED` = 0o2000).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where the kernel lists shared-memory segments.
pub const SHM_PATH: &str = "/proc/sysvipc/shm";
/// Where the kernel lists semaphore sets.
pub const SEM_PATH: &str = "/proc/sysvipc/sem";
/// `SHM_DEST` in the mode: removal requested, freed at the last detach.
pub const SHM_DEST: u32 = 0o1000;

/// A failure reading one of the files.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // each variant says what its fields hold
pub enum SysvIpcError {
    /// The file could not be read.
    #[error(
        "cannot read {path}: {source} (is /proc mounted, and is the kernel built with CONFIG_SYSVIPC?)"
    )]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file's content is not what the kernel writes.
    #[error("{path}:{line}: {what}")]
    Format {
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
}

/// One line of `/proc/sysvipc/shm`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShmEntry {
    /// IPC key (`IPC_PRIVATE` = 0).
    pub key: i32,
    /// Segment id.
    pub shmid: i32,
    /// Mode: permissions (`& 0o777`) and `SHM_DEST`/`SHM_LOCKED`.
    pub perms: u32,
    /// Size in bytes.
    pub size: u64,
    /// Creator pid.
    pub cpid: u32,
    /// Last shmat/shmdt pid.
    pub lpid: u32,
    /// Current attaches.
    pub nattch: u64,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Creator uid.
    pub cuid: u32,
    /// Creator gid.
    pub cgid: u32,
    /// Last attach (Unix seconds, 0 = never).
    pub atime: u64,
    /// Last detach (Unix seconds, 0 = never).
    pub dtime: u64,
    /// Last change (Unix seconds).
    pub ctime: u64,
    /// Resident bytes (newer kernels).
    pub rss: Option<u64>,
    /// Swapped bytes (newer kernels).
    pub swap: Option<u64>,
}

impl ShmEntry {
    /// True when removal was requested (`SHM_DEST`).
    pub fn dest(&self) -> bool {
        self.perms & SHM_DEST != 0
    }
}

/// One line of `/proc/sysvipc/sem`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SemEntry {
    /// IPC key (`IPC_PRIVATE` = 0).
    pub key: i32,
    /// Set id.
    pub semid: i32,
    /// Mode (`& 0o777`: permissions).
    pub perms: u32,
    /// Semaphores in the set.
    pub nsems: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Creator uid.
    pub cuid: u32,
    /// Creator gid.
    pub cgid: u32,
    /// Last semop (Unix seconds, 0 = never).
    pub otime: u64,
    /// Last change (Unix seconds).
    pub ctime: u64,
}

/// Reads `/proc/sysvipc/shm` (or a file in its format).
pub fn read_shm(path: impl AsRef<Path>) -> Result<Vec<ShmEntry>, SysvIpcError> {
    let path = path.as_ref();
    parse_shm(&read(path)?, path)
}

/// Reads `/proc/sysvipc/sem` (or a file in its format).
pub fn read_sem(path: impl AsRef<Path>) -> Result<Vec<SemEntry>, SysvIpcError> {
    let path = path.as_ref();
    parse_sem(&read(path)?, path)
}

fn read(path: &Path) -> Result<String, SysvIpcError> {
    std::fs::read_to_string(path).map_err(|source| SysvIpcError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses the text of `/proc/sysvipc/shm`; `path` names it in errors.
pub fn parse_shm(text: &str, path: &Path) -> Result<Vec<ShmEntry>, SysvIpcError> {
    Table::parse(text, path)?
        .rows()
        .map(|row| {
            Ok(ShmEntry {
                key: row.key("key")?,
                shmid: row.num("shmid")?,
                perms: row.octal("perms")?,
                size: row.num("size")?,
                cpid: row.num("cpid")?,
                lpid: row.num("lpid")?,
                nattch: row.num("nattch")?,
                uid: row.num("uid")?,
                gid: row.num("gid")?,
                cuid: row.num("cuid")?,
                cgid: row.num("cgid")?,
                atime: row.num("atime")?,
                dtime: row.num("dtime")?,
                ctime: row.num("ctime")?,
                rss: row.opt_num("rss")?,
                swap: row.opt_num("swap")?,
            })
        })
        .collect()
}

/// Parses the text of `/proc/sysvipc/sem`; `path` names it in errors.
pub fn parse_sem(text: &str, path: &Path) -> Result<Vec<SemEntry>, SysvIpcError> {
    Table::parse(text, path)?
        .rows()
        .map(|row| {
            Ok(SemEntry {
                key: row.key("key")?,
                semid: row.num("semid")?,
                perms: row.octal("perms")?,
                nsems: row.num("nsems")?,
                uid: row.num("uid")?,
                gid: row.num("gid")?,
                cuid: row.num("cuid")?,
                cgid: row.num("cgid")?,
                otime: row.num("otime")?,
                ctime: row.num("ctime")?,
            })
        })
        .collect()
}

struct Table<'a> {
    path: &'a Path,
    columns: HashMap<&'a str, usize>,
    lines: Vec<(usize, Vec<&'a str>)>,
}

struct Row<'t, 'a> {
    table: &'t Table<'a>,
    line: usize,
    fields: &'t [&'a str],
}

impl<'a> Table<'a> {
    fn parse(text: &'a str, path: &'a Path) -> Result<Table<'a>, SysvIpcError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(SysvIpcError::Format {
                path: path.to_path_buf(),
                line: 1,
                what: "empty file: expected a header line of column names".into(),
            });
        };
        let columns = header
            .split_whitespace()
            .enumerate()
            .map(|(i, name)| (name, i))
            .collect();
        let lines = lines
            .map(|(i, l)| (i + 1, l.split_whitespace().collect()))
            .collect();
        Ok(Table {
            path,
            columns,
            lines,
        })
    }

    fn rows(&self) -> impl Iterator<Item = Row<'_, 'a>> {
        self.lines.iter().map(move |(line, fields)| Row {
            table: self,
            line: *line,
            fields,
        })
    }
}

impl Row<'_, '_> {
    fn err(&self, what: String) -> SysvIpcError {
        SysvIpcError::Format {
            path: self.table.path.to_path_buf(),
            line: self.line,
            what,
        }
    }

    fn field(&self, name: &str) -> Result<Option<&str>, SysvIpcError> {
        let Some(&i) = self.table.columns.get(name) else {
            return Ok(None);
        };
        match self.fields.get(i) {
            Some(f) => Ok(Some(f)),
            None => Err(self.err(format!(
                "missing column `{name}` (line has {} fields)",
                self.fields.len()
            ))),
        }
    }

    fn text(&self, name: &str) -> Result<&str, SysvIpcError> {
        self.field(name)?
            .ok_or_else(|| self.err(format!("no `{name}` column in the header")))
    }

    fn num<T: std::str::FromStr>(&self, name: &str) -> Result<T, SysvIpcError> {
        let t = self.text(name)?;
        t.parse()
            .map_err(|_| self.err(format!("column `{name}`: `{t}` is not a number")))
    }

    fn opt_num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, SysvIpcError> {
        match self.field(name)? {
            None => Ok(None),
            Some(t) => t
                .parse()
                .map(Some)
                .map_err(|_| self.err(format!("column `{name}`: `{t}` is not a number"))),
        }
    }

    fn octal(&self, name: &str) -> Result<u32, SysvIpcError> {
        let t = self.text(name)?;
        u32::from_str_radix(t, 8)
            .map_err(|_| self.err(format!("column `{name}`: `{t}` is not octal")))
    }

    /// Keys are printed as signed decimal ints.
    fn key(&self, name: &str) -> Result<i32, SysvIpcError> {
        let t = self.text(name)?;
        match t.parse::<i64>() {
            Ok(v) if v >= i64::from(i32::MIN) && v <= i64::from(u32::MAX) => Ok(v as i32),
            _ => Err(self.err(format!("column `{name}`: `{t}` is not a 32-bit key"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHM: &str = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
     92552      32768  1777                   516  4242  4243      0     0     0     0     0 1716000000 1716000001 1715999999                  4096                     0
        -1          1   600                  4096   100   100      2  1000  1000  1000  1000          0          0 1715999999                     0                     0
";
    const SEM: &str =
        "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime
     92553      32768   777          1     0     0     0     0 1716000002 1715999999
";

    #[test]
    fn parses_shm_lines() -> Result<(), SysvIpcError> {
        let v = parse_shm(SHM, Path::new("shm"))?;
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].key, 0x16988);
        assert_eq!(v[0].shmid, 32768);
        assert_eq!(v[0].perms & 0o777, 0o777);
        assert!(v[0].dest());
        assert_eq!(
            (v[0].size, v[0].cpid, v[0].lpid, v[0].nattch),
            (516, 4242, 4243, 0)
        );
        assert_eq!(v[0].rss, Some(4096));
        assert_eq!(v[1].key, -1);
        assert!(!v[1].dest());
        assert_eq!(v[1].nattch, 2);
        Ok(())
    }

    #[test]
    fn parses_sem_lines_and_old_shm_without_rss() -> Result<(), SysvIpcError> {
        let v = parse_sem(SEM, Path::new("sem"))?;
        assert_eq!(v.len(), 1);
        assert_eq!(
            (v[0].key, v[0].semid, v[0].perms, v[0].nsems),
            (0x16989, 32768, 0o777, 1)
        );
        let old = "key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime\n1 2 666 10 3 4 0 0 0 0 0 0 0 0\n";
        let s = parse_shm(old, Path::new("old"))?;
        assert_eq!(s[0].rss, None);
        Ok(())
    }

    #[test]
    fn bad_lines_name_the_line() {
        let bad = "key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime\n1 2 999 10\n";
        let err = parse_shm(bad, Path::new("x")).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("x:2: column `perms`: `999` is not octal")
        );
        let err = parse_sem("", Path::new("y")).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("header")));
    }
}
