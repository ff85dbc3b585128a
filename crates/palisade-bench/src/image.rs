//! An image with N Debian packages matched against an OSV database of 4 records per
//! package: the time to read the layout and match, best of 10.

use std::fmt::Write as _;
use std::time::Instant;

use palisade_vuln::image::read_layout;
use palisade_vuln::osv::Database;
use palisade_vuln::testing::{image, layer};
use serde_json::json;

pub fn run(packages: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut status = String::new();
    for i in 0..packages {
        let _ = write!(
            status,
            "Package: pkg{i}\nStatus: install ok installed\nVersion: 1.{i}-1~deb12u1\nSource: src{i}\n\n"
        );
    }
    image(
        &dir.path().join("img"),
        &[layer(&[
            ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
            ("var/lib/dpkg/status", &status),
        ])],
    );
    let records: Vec<_> = (0..packages * 4)
        .map(|n| {
            let i = n / 4;
            json!({"id": format!("DSA-{n}"), "summary": "a bug",
                "affected": [{"package": {"ecosystem": "Debian:12", "name": format!("src{i}")},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                        {"fixed": format!("1.{i}-1~deb12u{}", n % 4)}]}],
                    "ecosystem_specific": {"urgency": "high"}}]})
        })
        .collect();
    std::fs::write(
        dir.path().join("osv.json"),
        serde_json::to_string(&records)?,
    )?;
    let mut db = Database::open(&dir.path().join("db"))?;
    let t = Instant::now();
    db.import(&[dir.path().join("osv.json")])?;
    println!(
        "imported {} records in {:.2} s",
        records.len(),
        t.elapsed().as_secs_f64()
    );
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let contents = read_layout(&dir.path().join("img"))?;
        let eco = contents.ecosystem.clone().unwrap_or_default();
        found = 0;
        for p in &contents.packages {
            found += db.matches(&eco, p)?.len();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{packages} packages, {found} vulnerabilities: read and matched in {:.1} ms (best of 10)",
        best * 1000.0
    );
    Ok(())
}
