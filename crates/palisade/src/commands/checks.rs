//! `palisade checks list|explain`: the registry, from the metadata each check declares.

use std::io::{self, Write};

use palisade_checks::{by_id, explain, registry};
use serde_json::json;

use crate::cli::{ChecksCommand, ListFormat};
use crate::ExitStatus;

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
