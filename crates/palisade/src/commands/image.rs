//! `palisade image scan` and `palisade db update`.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use palisade_model::Severity;
use palisade_vuln::image::read_layout;
use palisade_vuln::osv::{Database, Match};
use serde_json::json;

use crate::cli::{DbCommand, FailOn, HistoryFormat, ImageCommand};
use crate::ExitStatus;

/// `~/.cache/palisade/db`, or `DIR` given.
fn db_dir(given: Option<&PathBuf>) -> PathBuf {
    given.cloned().unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from("."));
        cache.join("palisade/db")
    })
}

/// A match's severity for gating: `unknown` ranks as medium.
fn severity(m: &Match) -> Severity {
    Severity::parse(&m.severity).unwrap_or(Severity::Medium)
}

pub fn db(command: DbCommand) -> anyhow::Result<ExitStatus> {
    match command {
        DbCommand::Update { from, db } => {
            let dir = db_dir(db.as_ref());
            let mut database = Database::open(&dir)?;
            let (n, problems) = database.import(&from)?;
            for p in &problems {
                eprintln!("palisade: warning: {p}");
            }
            eprintln!("palisade: imported {n} OSV records into {}", dir.display());
            Ok(if problems.is_empty() {
                ExitStatus::Clean
            } else {
                ExitStatus::Error
            })
        }
    }
}

pub fn run(command: ImageCommand) -> anyhow::Result<ExitStatus> {
    let ImageCommand::Scan(args) = command;
    let dir = db_dir(args.db.as_ref());
    if !dir.join("osv.sqlite").exists() {
        anyhow::bail!(
            "no vulnerability database in {}: import one with `palisade db update --from DIR --db {}`",
            dir.display(),
            dir.display()
        );
    }
    let database = Database::open(&dir)?;
    let image = read_layout(&args.image)?;
    let Some(ecosystem) = &image.ecosystem else {
        anyhow::bail!(
            "{}: no os-release in the image: its packages cannot be matched to an OS's advisories",
            args.image.display()
        );
    };
    let mut matches = Vec::new();
    for p in &image.packages {
        matches.extend(database.matches(ecosystem, p)?);
    }
    // Most severe first, then by package.
    matches.sort_by(|a, b| {
        severity(b)
            .cmp(&severity(a))
            .then(a.package.cmp(&b.package))
            .then(a.id.cmp(&b.id))
    });
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        HistoryFormat::Json => {
            let list: Vec<_> = matches
                .iter()
                .map(|m| {
                    json!({"id": m.id, "aliases": m.aliases, "severity": m.severity,
                        "package": m.package, "installed": m.installed, "fixed": m.fixed,
                        "summary": m.summary})
                })
                .collect();
            serde_json::to_writer(
                &mut out,
                &json!({"image": args.image.display().to_string(), "digest": image.digest,
                    "ecosystem": ecosystem, "packages": image.packages.len(),
                    "vulnerabilities": list}),
            )?;
            writeln!(out)?;
        }
        HistoryFormat::Text => {
            writeln!(
                out,
                "{} ({}): {ecosystem}, {} packages",
                args.image.display(),
                image.digest,
                image.packages.len()
            )?;
            for m in &matches {
                let aliases = if m.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", m.aliases.join(", "))
                };
                let fixed = m
                    .fixed
                    .as_ref()
                    .map_or_else(|| "no fix yet".to_owned(), |f| format!("fixed in {f}"));
                writeln!(
                    out,
                    "  {:<8} {} {} {}{aliases}: {fixed}; {}",
                    m.severity, m.package, m.installed, m.id, m.summary
                )?;
            }
            let affected: std::collections::BTreeSet<&str> =
                matches.iter().map(|m| m.package.as_str()).collect();
            writeln!(
                out,
                "{} vulnerabilit{} in {} of {} packages",
                matches.len(),
                if matches.len() == 1 { "y" } else { "ies" },
                affected.len(),
                image.packages.len()
            )?;
        }
    }
    out.flush()?;
    let failing = match args.fail_on.unwrap_or(FailOn::Severity(Severity::High)) {
        FailOn::Never => false,
        FailOn::Severity(min) => matches.iter().any(|m| severity(m) >= min),
    };
    Ok(if failing {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}
