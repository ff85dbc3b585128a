//! `palisade checks list|explain`: the registry, from the metadata each check declares.

use std::io::{self, Write};

use palisade_checks::{by_id, explain, registry};
use palisade_model::{CheckMeta, Framework};
use serde_json::json;

use crate::cli::{ChecksCommand, ListFormat};
use crate::ExitStatus;

/// `CIS 5.2.2, PSS baseline, MITRE T1611, NSA`: the frameworks a check maps to, short.
fn mappings(m: &CheckMeta) -> String {
    let mut out: Vec<String> = Vec::new();
    for framework in [
        Framework::Cis,
        Framework::Pss,
        Framework::Mitre,
        Framework::Nsa,
    ] {
        let ids: Vec<&str> = m
            .mappings
            .iter()
            .filter(|x| x.framework == framework)
            .map(|x| x.id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let key = framework.key().to_uppercase();
        // NSA sections are long titles; the key alone says the check maps there.
        out.push(if framework == Framework::Nsa {
            key
        } else {
            format!("{key} {}", ids.join(" "))
        });
    }
    out.join(", ")
}

pub fn run(command: ChecksCommand) -> anyhow::Result<ExitStatus> {
    let mut out = io::stdout().lock();
    match command {
        ChecksCommand::List {
            format: ListFormat::Table,
        } => {
            writeln!(
                out,
                "{:<32} {:<9} {:<13} {:<44} MAPPINGS",
                "ID", "SEVERITY", "CATEGORY", "TITLE"
            )?;
            for c in registry() {
                let m = c.meta();
                writeln!(
                    out,
                    "{:<32} {:<9} {:<13} {:<44} {}",
                    m.id,
                    m.severity.as_str(),
                    m.category.as_str(),
                    m.title,
                    mappings(m)
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
