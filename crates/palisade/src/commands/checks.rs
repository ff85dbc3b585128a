//! `palisade checks list|explain`: the registry, from the metadata each check declares.

use std::io::{self, Write};

use palisade_checks::{by_id, registry};
use palisade_model::CheckMeta;
use serde_json::json;

use crate::cli::{ChecksCommand, ListFormat};
use crate::ExitStatus;

fn mappings(m: &CheckMeta) -> String {
    m.mappings
        .iter()
        .map(|x| format!("{} {}", x.framework.as_str(), x.id))
        .collect::<Vec<_>>()
        .join("; ")
}

fn peers(m: &CheckMeta) -> String {
    m.peers
        .iter()
        .map(|p| format!("{} {}", p.tool.as_str(), p.id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The full explanation of a check, as Markdown (also the generated docs' text).
pub fn explain(m: &CheckMeta) -> String {
    let mut s = format!("# {} ({})\n\n", m.id, m.title);
    s.push_str(&format!(
        "Severity: {}  \nCategory: {}\n\n",
        m.severity,
        m.category.as_str()
    ));
    s.push_str(&format!("## What it flags\n{}\n\n", m.description));
    s.push_str(&format!("## Why it matters\n{}\n\n", m.rationale));
    s.push_str(&format!("## How to fix it\n{}\n\n", m.remediation));
    if !m.mappings.is_empty() {
        s.push_str(&format!("## Mappings\n{}\n\n", mappings(m)));
    }
    if !m.peers.is_empty() || !m.peer_notes.is_empty() {
        s.push_str("## Peer equivalents\n");
        if !m.peers.is_empty() {
            s.push_str(&format!("{}\n\n", peers(m)));
        }
        s.push_str(&format!("{}\n\n", m.peer_notes));
    }
    if !m.references.is_empty() {
        s.push_str("## References\n");
        for r in m.references {
            s.push_str(&format!("- {r}\n"));
        }
        s.push('\n');
    }
    s.push_str(&format!("Defined in {}\n", m.source));
    s
}

pub fn run(command: ChecksCommand) -> anyhow::Result<ExitStatus> {
    let mut out = io::stdout().lock();
    match command {
        ChecksCommand::List {
            format: ListFormat::Table,
        } => {
            writeln!(
                out,
                "{:<28} {:<9} {:<13} TITLE",
                "ID", "SEVERITY", "CATEGORY"
            )?;
            for c in registry() {
                let m = c.meta();
                writeln!(
                    out,
                    "{:<28} {:<9} {:<13} {}",
                    m.id,
                    m.severity.as_str(),
                    m.category.as_str(),
                    m.title
                )?;
            }
        }
        ChecksCommand::List {
            format: ListFormat::Json,
        } => {
            let list: Vec<_> = registry()
                .into_iter()
                .map(|c| {
                    let m = c.meta();
                    json!({
                        "id": m.id, "title": m.title, "severity": m.severity.as_str(),
                        "category": m.category.as_str(), "description": m.description,
                        "rationale": m.rationale, "remediation": m.remediation,
                        "references": m.references,
                        "mappings": m.mappings.iter().map(|x| json!({"framework": x.framework.key(), "id": x.id})).collect::<Vec<_>>(),
                        "peers": m.peers.iter().map(|p| json!({"tool": p.tool.as_str(), "id": p.id})).collect::<Vec<_>>(),
                        "peer_notes": m.peer_notes,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
        ChecksCommand::Explain { id } => {
            let Some(m) = by_id(&id) else {
                anyhow::bail!("no check {id:?} (see `palisade checks list`)");
            };
            out.write_all(explain(m).as_bytes())?;
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}
