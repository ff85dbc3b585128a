//! Finding and reading inputs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use palisade_model::LoadError;

/// Largest input read, so one huge file cannot exhaust memory.
pub const MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;

/// What an input is and how to get its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// A YAML or JSON file.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A directory holding a `kustomization.yaml`, rendered with `kubectl kustomize`.
    Kustomize(PathBuf),
    /// A Helm chart directory (`Chart.yaml`), rendered with `helm template`.
    Helm(PathBuf),
    /// Text the caller already holds (an API request body, a test, a fuzz input).
    Inline(String),
}

/// One input, with the name reports show for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub name: Arc<str>,
    pub kind: InputKind,
}

/// An input's text, ready to split into documents.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub name: Arc<str>,
    pub text: String,
}

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn special_dir(dir: &Path) -> Option<InputKind> {
    if KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()) {
        Some(InputKind::Kustomize(dir.to_path_buf()))
    } else if dir.join("Chart.yaml").is_file() {
        Some(InputKind::Helm(dir.to_path_buf()))
    } else {
        None
    }
}

fn display(path: &Path) -> Arc<str> {
    let s = path.to_string_lossy();
    Arc::from(s.strip_prefix("./").unwrap_or(&s))
}

fn error(name: Arc<str>, message: String) -> LoadError {
    LoadError {
        file: name,
        document: None,
        line: 0,
        column: 0,
        message,
        skipped: false,
    }
}

/// Expands command-line paths into inputs: directories recursively (`.yaml`, `.yml`,
/// `.json`, skipping hidden entries), kustomize directories and Helm charts as one input
/// each, `-` as stdin. Paths that cannot be read become errors; the rest still load.
#[must_use]
pub fn discover(paths: &[PathBuf]) -> (Vec<InputSpec>, Vec<LoadError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(InputSpec {
                name: Arc::from("<stdin>"),
                kind: InputKind::Stdin,
            });
            continue;
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                errors.push(error(display(path), format!("cannot read: {e}")));
                continue;
            }
        };
        if !meta.is_dir() {
            inputs.push(InputSpec {
                name: display(path),
                kind: InputKind::File(path.clone()),
            });
            continue;
        }
        let mut walker = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .follow_links(false)
            .into_iter();
        while let Some(entry) = walker.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let p = e.path().map_or_else(|| display(path), display);
                    errors.push(error(p, format!("cannot read: {e}")));
                    continue;
                }
            };
            let p = entry.path();
            let hidden = entry.depth() > 0
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with('.'));
            if hidden {
                if entry.file_type().is_dir() {
                    walker.skip_current_dir();
                }
                continue;
            }
            if entry.file_type().is_dir() {
                if let Some(kind) = special_dir(p) {
                    inputs.push(InputSpec {
                        name: display(p),
                        kind,
                    });
                    walker.skip_current_dir();
                }
            } else if entry.file_type().is_file() && is_manifest(p) {
                inputs.push(InputSpec {
                    name: display(p),
                    kind: InputKind::File(p.to_path_buf()),
                });
            }
        }
    }
    (inputs, errors)
}

/// Turns each lone `\r` (old Mac line ends) into `\n`. YAML counts a lone CR as a line
/// break; the document splitter and the line numbers must count it the same way. Same
/// length, so columns and offsets do not move.
fn normalize_line_breaks(s: String) -> String {
    if !s.contains('\r') {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() != Some(&'\n') {
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes bytes as UTF-8. Invalid sequences become U+FFFD so the rest of the input is
/// still scanned, and the first one is reported with its line and column.
fn decode(name: &Arc<str>, bytes: Vec<u8>) -> (String, Option<LoadError>) {
    match String::from_utf8(bytes) {
        Ok(mut s) => {
            if s.starts_with('\u{feff}') {
                s.drain(..3);
            }
            (s, None)
        }
        Err(e) => {
            let bytes = e.into_bytes();
            let valid = match std::str::from_utf8(&bytes) {
                Ok(_) => bytes.len(),
                Err(u) => u.valid_up_to(),
            };
            let before = String::from_utf8_lossy(&bytes[..valid]);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let err = LoadError {
                file: name.clone(),
                document: None,
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
                message: "invalid UTF-8; the bytes were replaced and the rest scanned".into(),
                skipped: false,
            };
            (String::from_utf8_lossy(&bytes).into_owned(), Some(err))
        }
    }
}

/// Reads at most [`MAX_INPUT_BYTES`] (and one more, to tell); `expected` is the size
/// when known (a file's), so the buffer is sized once instead of grown and copied.
fn read_limited(
    name: &Arc<str>,
    mut reader: impl Read,
    expected: Option<u64>,
) -> Result<Vec<u8>, LoadError> {
    let capacity = expected.map_or(0, |n| n.min(MAX_INPUT_BYTES) + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    reader
        .by_ref()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(name.clone(), format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(error(
            name.clone(),
            format!("larger than {} MiB; not scanned", MAX_INPUT_BYTES >> 20),
        ));
    }
    Ok(bytes)
}

fn render(name: &Arc<str>, tool: &str, args: &[&std::ffi::OsStr]) -> Result<Vec<u8>, LoadError> {
    let output = Command::new(tool).args(args).output().map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            format!("`{tool}` is not installed or not on PATH")
        } else {
            e.to_string()
        };
        error(name.clone(), format!("cannot render with {tool}: {why}"))
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(error(
            name.clone(),
            format!("`{tool}` failed ({}): {}", output.status, stderr.trim()),
        ));
    }
    Ok(output.stdout)
}

/// Reads (or renders) one input. Returns the text and, for partly bad input, an error
/// to report alongside it.
///
/// # Errors
/// The input cannot be read or rendered at all.
pub fn read_input(spec: &InputSpec) -> Result<(SourceText, Option<LoadError>), LoadError> {
    let name = &spec.name;
    let bytes = match &spec.kind {
        InputKind::File(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| error(name.clone(), format!("cannot read: {e}")))?;
            let size = file.metadata().ok().map(|m| m.len());
            read_limited(name, file, size)?
        }
        InputKind::Stdin => read_limited(name, std::io::stdin().lock(), None)?,
        InputKind::Inline(text) => text.as_bytes().to_vec(),
        InputKind::Kustomize(dir) => {
            render(name, "kubectl", &["kustomize".as_ref(), dir.as_os_str()])?
        }
        InputKind::Helm(dir) => {
            let chart = dir.display();
            if which("helm").is_none() {
                return Err(error(
                    name.clone(),
                    format!("{chart} is a Helm chart, but `helm` is not on PATH: install Helm, or render it yourself (`helm template {chart} | palisade scan -`)"),
                ));
            }
            render(name, "helm", &["template".as_ref(), dir.as_os_str()])?
        }
    };
    let (text, err) = decode(name, bytes);
    let text = normalize_line_breaks(text);
    Ok((
        SourceText {
            name: name.clone(),
            text,
        },
        err,
    ))
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_reported_with_position_and_the_rest_kept() {
        let name: Arc<str> = Arc::from("x.yaml");
        let (text, err) = decode(&name, b"a: 1\nb: \xff\xfe\nc: 3\n".to_vec());
        let err = err.unwrap();
        assert_eq!((err.line, err.column), (2, 4));
        assert!(text.contains("c: 3"));
    }

    #[test]
    fn lone_carriage_returns_are_line_breaks() {
        assert_eq!(normalize_line_breaks("a\rb\r\nc\r".into()), "a\nb\r\nc\n");
        let crash = "kind: Pod\r---\rkind: Pod\r";
        let text = normalize_line_breaks(crash.into());
        assert_eq!(palisade_source::split_documents(&text).len(), 2);
    }

    #[test]
    fn bom_is_stripped() {
        let name: Arc<str> = Arc::from("x.yaml");
        let (text, err) = decode(&name, "\u{feff}a: 1".as_bytes().to_vec());
        assert_eq!(text, "a: 1");
        assert!(err.is_none());
    }

    #[test]
    fn directories_are_walked_and_special_dirs_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("k/sub")).unwrap();
        std::fs::create_dir_all(root.join("chart/templates")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("a.yaml"), "").unwrap();
        std::fs::write(root.join("b.json"), "").unwrap();
        std::fs::write(root.join("notes.txt"), "").unwrap();
        std::fs::write(root.join(".git/c.yaml"), "").unwrap();
        std::fs::write(root.join("k/kustomization.yaml"), "").unwrap();
        std::fs::write(root.join("k/sub/d.yaml"), "").unwrap();
        std::fs::write(root.join("chart/Chart.yaml"), "").unwrap();
        std::fs::write(root.join("chart/templates/e.yaml"), "{{ .x }}").unwrap();
        let (inputs, errors) = discover(&[root.to_path_buf(), root.join("missing.yaml")]);
        let kinds: Vec<_> = inputs
            .iter()
            .map(|i| match &i.kind {
                InputKind::File(p) => format!("file {}", p.strip_prefix(root).unwrap().display()),
                InputKind::Kustomize(p) => {
                    format!("kustomize {}", p.strip_prefix(root).unwrap().display())
                }
                InputKind::Helm(p) => format!("helm {}", p.strip_prefix(root).unwrap().display()),
                InputKind::Stdin | InputKind::Inline(_) => "in memory".into(),
            })
            .collect();
        assert_eq!(
            kinds,
            ["file a.yaml", "file b.json", "helm chart", "kustomize k"]
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].file.ends_with("missing.yaml"));
    }
}
