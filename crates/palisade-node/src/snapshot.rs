//! What a node shows Palisade: the command lines of its Kubernetes processes and the
//! files their flags and configuration name. Collected from a root directory (`/` on
//! the node, or a captured tree), or read back from a capture file; the checks see only
//! this, so a capture judged elsewhere gives the same answers as the node itself.
//!
//! Key material is never read: a file is described by its type, mode, owner and group,
//! and only configuration files (kubelet and kube-proxy configuration, drop-ins, static
//! pod manifests, `/etc/passwd` and `/etc/group` for names) are read, up to 1 MiB each.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The capture format's version.
pub const FORMAT: u32 = 1;

/// A file bigger than this is not read (configuration files are a few KiB).
pub const MAX_READ: u64 = 1 << 20;

/// Ownership and modes a captured tree cannot carry itself (a checkout loses them, and
/// tests do not run as root): lines `PATH MODE UID GID` in this file at the tree's root,
/// `MODE` in octal or `-` to keep the file's own.
pub const OWNERS_FILE: &str = ".palisade-owners";

/// Everything collected from one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    /// Where it was collected from: `/`, or the `--root` directory.
    pub root: String,
    pub hostname: Option<String>,
    /// The Kubernetes processes, by pid.
    pub processes: Vec<Process>,
    /// Every path looked at, by its absolute path on the node.
    pub files: BTreeMap<String, FileFact>,
    /// `/etc/passwd` and `/etc/group` names by id.
    pub users: BTreeMap<u32, String>,
    pub groups: BTreeMap<u32, String>,
    /// What could not be read, and why.
    pub problems: Vec<String>,
}

/// A running process: its command line as `/proc/PID/cmdline` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    pub args: Vec<String>,
}

impl Process {
    /// The program's name: `kubelet` for `/usr/bin/kubelet`.
    #[must_use]
    pub fn program(&self) -> &str {
        let first = self.args.first().map_or("", String::as_str);
        first.rsplit('/').next().unwrap_or(first)
    }

    /// Where the command line is, for findings: `/proc/1234/cmdline`.
    #[must_use]
    pub fn cmdline_path(&self) -> String {
        format!("/proc/{}/cmdline", self.pid)
    }
}

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Dir,
    Missing,
    Other,
}

/// One path: its type, mode and owner, and for configuration files their text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFact {
    pub kind: FileKind,
    /// Permission bits (`0o600`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A directory's entries, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<String>,
}

impl Snapshot {
    /// A snapshot holding `files` (path, text), each owned by root with mode 0600, and
    /// the directories listing them: for tests and fuzzing.
    #[doc(hidden)]
    pub fn with_texts(files: &[(&str, &str)]) -> Snapshot {
        let mut snap = Snapshot::default();
        let fact = |text: Option<String>, kind, entries| FileFact {
            kind,
            mode: 0o600,
            uid: 0,
            gid: 0,
            text,
            entries,
        };
        let mut dirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, text) in files {
            snap.files.insert(
                (*path).to_owned(),
                fact(Some((*text).to_owned()), FileKind::File, Vec::new()),
            );
            // Every ancestor lists its child.
            let mut child = (*path).to_owned();
            while let Some((dir, name)) = child.rsplit_once('/') {
                if dir.is_empty() {
                    break;
                }
                let names = dirs.entry(dir.to_owned()).or_default();
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
                child = dir.to_owned();
            }
        }
        for (dir, mut names) in dirs {
            names.sort();
            snap.files.insert(dir, fact(None, FileKind::Dir, names));
        }
        snap
    }
}

impl FileFact {
    const MISSING: FileFact = FileFact {
        kind: FileKind::Missing,
        mode: 0,
        uid: 0,
        gid: 0,
        text: None,
        entries: Vec::new(),
    };

    #[must_use]
    pub fn exists(&self) -> bool {
        self.kind != FileKind::Missing
    }
}

/// The programs whose processes are collected.
pub const PROGRAMS: &[&str] = &[
    "kubelet",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
    "kube-proxy",
    // k3s runs the kubelet and the control plane inside its own process.
    "k3s",
];

/// Reads paths under a root directory, recording each into a [`Snapshot`].
pub struct Collector {
    root: PathBuf,
    owners: BTreeMap<String, (Option<u32>, u32, u32)>,
    pub snapshot: Snapshot,
}

impl Collector {
    /// A collector of the tree at `root` (`/` on a live node).
    #[must_use]
    pub fn new(root: &Path) -> Collector {
        let mut snapshot = Snapshot {
            format: FORMAT,
            root: root.display().to_string(),
            ..Snapshot::default()
        };
        let owners = match fs::read_to_string(root.join(OWNERS_FILE)) {
            Ok(text) => parse_owners(&text, &mut snapshot.problems),
            Err(_) => BTreeMap::new(),
        };
        Collector {
            root: root.to_path_buf(),
            owners,
            snapshot,
        }
    }

    /// `path` (absolute on the node) under the root.
    fn host_path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// Follows symbolic links inside the root (an absolute target is the node's path,
    /// not this machine's), at most 16 deep.
    fn resolve(&self, path: &str) -> String {
        let mut current = normalize(path);
        for _ in 0..16 {
            match fs::read_link(self.host_path(&current)) {
                Ok(target) => {
                    let target = target.to_string_lossy().into_owned();
                    current = if target.starts_with('/') {
                        normalize(&target)
                    } else {
                        let parent = current.rsplit_once('/').map_or("", |(p, _)| p);
                        normalize(&format!("{parent}/{target}"))
                    };
                }
                Err(_) => return current,
            }
        }
        current
    }

    /// Records and returns the type, mode and owner of `path`.
    pub fn stat(&mut self, path: &str) -> FileFact {
        let path = normalize(path);
        if let Some(fact) = self.snapshot.files.get(&path) {
            return fact.clone();
        }
        let real = self.resolve(&path);
        let fact = match fs::metadata(self.host_path(&real)) {
            Ok(meta) => {
                let kind = if meta.is_file() {
                    FileKind::File
                } else if meta.is_dir() {
                    FileKind::Dir
                } else {
                    FileKind::Other
                };
                let (mode, uid, gid) = unix_ids(&meta);
                let (mode, uid, gid) = match self.owners.get(&path).or(self.owners.get(&real)) {
                    Some(&(m, u, g)) => (m.unwrap_or(mode), u, g),
                    None => (mode, uid, gid),
                };
                FileFact {
                    kind,
                    mode,
                    uid,
                    gid,
                    text: None,
                    entries: Vec::new(),
                }
            }
            Err(_) => FileFact::MISSING,
        };
        self.snapshot.files.insert(path, fact.clone());
        fact
    }

    /// Records `path` with its text (a configuration file); `None` when it is missing,
    /// not a file, too big or unreadable (said in the snapshot's problems).
    pub fn read(&mut self, path: &str) -> Option<String> {
        let path = normalize(path);
        let fact = self.stat(&path);
        if let Some(text) = &fact.text {
            return Some(text.clone());
        }
        if fact.kind != FileKind::File {
            return None;
        }
        let real = self.resolve(&path);
        let text = match read_limited(&self.host_path(&real)) {
            Ok(text) => text,
            Err(why) => {
                self.snapshot.problems.push(format!("{path}: {why}"));
                return None;
            }
        };
        if let Some(f) = self.snapshot.files.get_mut(&path) {
            f.text = Some(text.clone());
        }
        Some(text)
    }

    /// Records directory `path` with its sorted entries (empty when it is no directory).
    pub fn list(&mut self, path: &str) -> Vec<String> {
        let path = normalize(path);
        let fact = self.stat(&path);
        if fact.kind != FileKind::Dir {
            return Vec::new();
        }
        if !fact.entries.is_empty() {
            return fact.entries;
        }
        let real = self.resolve(&path);
        let mut entries: Vec<String> = match fs::read_dir(self.host_path(&real)) {
            Ok(dir) => dir
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(e) => {
                self.snapshot.problems.push(format!("{path}: {e}"));
                Vec::new()
            }
        };
        entries.sort();
        if let Some(f) = self.snapshot.files.get_mut(&path) {
            f.entries.clone_from(&entries);
        }
        entries
    }

    /// The Kubernetes processes under `/proc`, by pid. A `cmdline` file holds its
    /// arguments NUL-separated; one without a NUL (written by hand for a fixture) is
    /// read one argument per line.
    pub fn processes(&mut self) {
        let Ok(dir) = fs::read_dir(self.host_path("/proc")) else {
            return;
        };
        let mut found = Vec::new();
        for entry in dir.filter_map(Result::ok) {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(bytes) = fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let args: Vec<String> = if text.contains('\0') {
                text.trim_end_matches('\0')
                    .split('\0')
                    .map(str::to_owned)
                    .collect()
            } else {
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            let process = Process { pid, args };
            if PROGRAMS.contains(&process.program()) {
                found.push(process);
            }
        }
        found.sort_by_key(|p| p.pid);
        self.snapshot.processes = found;
    }

    /// Names of users and groups, and the host name.
    pub fn identities(&mut self) {
        for (file, into) in [("/etc/passwd", true), ("/etc/group", false)] {
            let Some(text) = self.read(file) else {
                continue;
            };
            for line in text.lines() {
                let mut parts = line.split(':');
                let (Some(name), _, Some(id)) = (parts.next(), parts.next(), parts.next()) else {
                    continue;
                };
                if let Ok(id) = id.parse::<u32>() {
                    let map = if into {
                        &mut self.snapshot.users
                    } else {
                        &mut self.snapshot.groups
                    };
                    map.entry(id).or_insert_with(|| name.to_owned());
                }
            }
        }
        self.snapshot.hostname = self
            .read("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty());
    }
}

/// Reads a node's files: live from a root directory ([`Collector`], which records what
/// it reads), or from a capture ([`Snapshot`]), so both are judged by the same code.
pub trait Files {
    fn stat(&mut self, path: &str) -> FileFact;
    /// A configuration file's text.
    fn read(&mut self, path: &str) -> Option<String>;
    /// The part of a file `keep` keeps (a file that also holds secrets: only the part
    /// kept is recorded, so a capture never holds the rest). `keep` must keep what it
    /// kept.
    fn read_part(&mut self, path: &str, keep: &dyn Fn(&str) -> String) -> Option<String>;
    /// A directory's sorted entries; `None` when it is no directory.
    fn list(&mut self, path: &str) -> Option<Vec<String>>;
}

impl Files for Collector {
    fn stat(&mut self, path: &str) -> FileFact {
        Collector::stat(self, path)
    }

    fn read(&mut self, path: &str) -> Option<String> {
        Collector::read(self, path)
    }

    fn read_part(&mut self, path: &str, keep: &dyn Fn(&str) -> String) -> Option<String> {
        let path = normalize(path);
        let fact = Collector::stat(self, &path);
        if let Some(text) = fact.text {
            return Some(keep(&text));
        }
        if fact.kind != FileKind::File {
            return None;
        }
        let real = self.resolve(&path);
        let kept = match read_limited(&self.host_path(&real)) {
            Ok(text) => keep(&text),
            Err(why) => {
                self.snapshot.problems.push(format!("{path}: {why}"));
                return None;
            }
        };
        if let Some(f) = self.snapshot.files.get_mut(&path) {
            f.text = Some(kept.clone());
        }
        Some(kept)
    }

    fn list(&mut self, path: &str) -> Option<Vec<String>> {
        let dir = Collector::stat(self, path).kind == FileKind::Dir;
        dir.then(|| Collector::list(self, path))
    }
}

impl Files for &Snapshot {
    fn stat(&mut self, path: &str) -> FileFact {
        self.files
            .get(&normalize(path))
            .cloned()
            .unwrap_or(FileFact::MISSING)
    }

    fn read(&mut self, path: &str) -> Option<String> {
        self.files
            .get(&normalize(path))
            .and_then(|f| f.text.clone())
    }

    fn read_part(&mut self, path: &str, keep: &dyn Fn(&str) -> String) -> Option<String> {
        Files::read(self, path).map(|t| keep(&t))
    }

    fn list(&mut self, path: &str) -> Option<Vec<String>> {
        self.files
            .get(&normalize(path))
            .filter(|f| f.kind == FileKind::Dir)
            .map(|f| f.entries.clone())
    }
}

/// `/a/./b//c/../d` → `/a/b/d`.
#[must_use]
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn read_limited(path: &Path) -> Result<String, String> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_READ + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_READ {
        return Err(format!("larger than {MAX_READ} bytes, not read"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text, not read".to_owned())
}

#[cfg(unix)]
fn unix_ids(meta: &fs::Metadata) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    (meta.mode() & 0o7777, meta.uid(), meta.gid())
}

#[cfg(not(unix))]
fn unix_ids(_: &fs::Metadata) -> (u32, u32, u32) {
    (0, 0, 0)
}

fn parse_owners(
    text: &str,
    problems: &mut Vec<String>,
) -> BTreeMap<String, (Option<u32>, u32, u32)> {
    let mut owners = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parsed = match fields.as_slice() {
            [path, mode, uid, gid] => {
                let mode = if *mode == "-" {
                    Some(None)
                } else {
                    u32::from_str_radix(mode, 8).ok().map(Some)
                };
                match (mode, uid.parse::<u32>(), gid.parse::<u32>()) {
                    (Some(mode), Ok(uid), Ok(gid)) => Some((normalize(path), (mode, uid, gid))),
                    _ => None,
                }
            }
            _ => None,
        };
        match parsed {
            Some((path, owner)) => {
                owners.insert(path, owner);
            }
            None => problems.push(format!(
                "{OWNERS_FILE}:{}: expected `PATH MODE UID GID`, got {line:?}",
                n + 1
            )),
        }
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized() {
        assert_eq!(normalize("/a/./b//c/../d"), "/a/b/d");
        assert_eq!(normalize("relative/x"), "/relative/x");
        assert_eq!(normalize("/../../etc"), "/etc");
    }

    #[test]
    fn owners_file_overrides_and_reports_bad_lines() {
        let mut problems = Vec::new();
        let owners = parse_owners(
            "# comment\n/etc/kubernetes/admin.conf 644 0 0\n/var/lib/etcd - 998 998\nbad line\n",
            &mut problems,
        );
        assert_eq!(owners["/etc/kubernetes/admin.conf"], (Some(0o644), 0, 0));
        assert_eq!(owners["/var/lib/etcd"], (None, 998, 998));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains(":4:"), "{problems:?}");
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc/kubernetes")).unwrap();
        fs::write(root.join("etc/kubernetes/real.yaml"), "kind: X\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/kubernetes/real.yaml", root.join("etc/link.yaml"))
            .unwrap();
        let mut c = Collector::new(root);
        #[cfg(unix)]
        assert_eq!(c.read("/etc/link.yaml").as_deref(), Some("kind: X\n"));
        assert!(!c.stat("/etc/missing").exists());
        assert_eq!(c.list("/etc/kubernetes"), ["real.yaml"]);
    }
}
