//! History on SQLite files, and on a real PostgreSQL server when CI gives one.

use super::*;

fn row(fp: &str, check: &str, ns: &str, sev: Severity) -> Row {
    Row {
        fingerprint: fp.to_owned(),
        check: check.to_owned(),
        severity: sev,
        namespace: ns.to_owned(),
        object: format!("Pod {ns}/{fp}"),
        message: format!("{check} on {fp}"),
    }
}

/// The same story on any database: three evaluations of one cluster, one of another.
fn exercise(url: &str, cluster: &str, other: &str) {
    let a = row("a", "privileged", "web", Severity::High);
    let b = row("b", "privileged", "db", Severity::High);
    let c = row("c", "runAsNonRoot", "web", Severity::Medium);
    let mut h = History::open(url).unwrap();

    let first = h
        .record(cluster, 1000, &[a.clone(), b.clone(), a.clone()])
        .unwrap();
    assert_eq!(
        (first.findings, first.appeared, first.fixed),
        (2, 2, 0),
        "a twice is one"
    );
    assert_eq!(first.by_severity, [0, 2, 0, 0, 0]);

    let second = h.record(cluster, 2000, &[b.clone(), c.clone()]).unwrap();
    assert_eq!((second.findings, second.appeared, second.fixed), (2, 1, 1));
    assert!(second.id > first.id);

    // Reopened, the database remembers what is open: a comes back as new, c is fixed.
    drop(h);
    let mut h = History::open(url).unwrap();
    let third = h.record(cluster, 3000, &[a.clone(), b.clone()]).unwrap();
    assert_eq!((third.appeared, third.fixed), (1, 1));

    let changes = h
        .changes(&Filter {
            cluster: Some(cluster.into()),
            ..Filter::default()
        })
        .unwrap();
    let story: Vec<(i64, &str, &str)> = changes
        .iter()
        .map(|c| (c.at, c.kind.as_str(), c.row.fingerprint.as_str()))
        .collect();
    assert_eq!(
        story,
        [
            // Within an evaluation: by kind, check, namespace, object.
            (1000, "appeared", "b"),
            (1000, "appeared", "a"),
            (2000, "appeared", "c"),
            (2000, "fixed", "a"),
            (3000, "appeared", "a"),
            (3000, "fixed", "c"),
        ]
    );
    assert_eq!(changes[1].row, a, "the finding is kept whole");

    // Per check and namespace.
    let drift = h
        .drift(&Filter {
            cluster: Some(cluster.into()),
            ..Filter::default()
        })
        .unwrap();
    let web = &drift[&("privileged".to_owned(), "web".to_owned())];
    assert_eq!((web.appeared, web.fixed, web.open), (2, 1, 1));
    assert_eq!(
        (web.last_appeared, web.last_fixed),
        (Some(3000), Some(2000))
    );
    let c_web = &drift[&("runAsNonRoot".to_owned(), "web".to_owned())];
    assert_eq!((c_web.appeared, c_web.fixed, c_web.open), (1, 1, 0));

    // Filters: a check, a namespace, a time.
    let since = h
        .changes(&Filter {
            cluster: Some(cluster.into()),
            namespace: Some("web".into()),
            since: Some(2000),
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(since.len(), 4, "{since:?}");
    assert!(since
        .iter()
        .all(|c| c.row.namespace == "web" && c.at >= 2000));

    // Another cluster is separate, and the fleet compares them.
    h.record(other, 2500, std::slice::from_ref(&c)).unwrap();
    let evaluations = h.evaluations(Some(cluster), 2).unwrap();
    assert_eq!(
        evaluations.iter().map(|e| e.at).collect::<Vec<_>>(),
        [2000, 3000],
        "the last two, oldest first"
    );
    let fleet = h.fleet().unwrap();
    let mine = fleet.iter().find(|s| s.latest.cluster == cluster).unwrap();
    assert_eq!(mine.latest.at, 3000);
    assert_eq!(mine.by_check.get("privileged"), Some(&2));
    let theirs = fleet.iter().find(|s| s.latest.cluster == other).unwrap();
    assert_eq!(theirs.by_check.get("runAsNonRoot"), Some(&1));
    assert_eq!(theirs.by_check.get("privileged"), None);
}

#[test]
fn sqlite_records_what_appeared_and_what_was_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    exercise(path.to_str().unwrap(), "prod", "staging");
    // The `sqlite:` form names the same file.
    let mut h = History::open(&format!("sqlite:{}", path.display())).unwrap();
    assert_eq!(h.evaluations(None, 100).unwrap().len(), 4);
}

#[test]
fn a_large_evaluation_is_recorded_in_batches_and_fixed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("h.db");
    let mut h = History::open(url.to_str().unwrap()).unwrap();
    let rows: Vec<Row> = (0..2345)
        .map(|i| row(&format!("{i:032x}"), "privileged", "ns", Severity::High))
        .collect();
    assert_eq!(h.record("c", 1, &rows).unwrap().appeared, 2345);
    let fixed = h.record("c", 2, &rows[..100]).unwrap();
    assert_eq!(
        (fixed.appeared, fixed.fixed, fixed.findings),
        (0, 2245, 100)
    );
    assert_eq!(h.fleet().unwrap()[0].by_check["privileged"], 100);
}

#[test]
fn an_unusable_database_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_db = dir.path().join("notes.txt");
    std::fs::write(
        &not_a_db,
        "this is not a database, just text long enough to matter",
    )
    .unwrap();
    let Err(e) = History::open(not_a_db.to_str().unwrap()) else {
        panic!("a text file opened as a database");
    };
    assert!(e.to_string().contains("notes.txt"), "{e}");
}

/// Runs against the PostgreSQL server `.ci/run` starts (`PALISADE_TEST_POSTGRES`).
#[test]
fn postgres_records_the_same_history() {
    let Ok(url) = std::env::var("PALISADE_TEST_POSTGRES") else {
        eprintln!(
            "skipped: PALISADE_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server \
             and sets it)"
        );
        return;
    };
    // Unique cluster names: the server's database outlives one test run.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    exercise(&url, &format!("prod-{nanos}"), &format!("staging-{nanos}"));
}

/// A TLS connection to the same server, checked against the CA `.ci/postgres.sh` made.
#[test]
fn postgres_over_tls_checks_the_server_certificate() {
    let (Ok(url), Ok(ca)) = (
        std::env::var("PALISADE_TEST_POSTGRES"),
        std::env::var("PALISADE_TEST_POSTGRES_CA"),
    ) else {
        eprintln!("skipped: PALISADE_TEST_POSTGRES(_CA) are not set (.ci/run sets them)");
        return;
    };
    let tls = format!("{url}?sslmode=require&sslrootcert={ca}");
    let mut h = History::open(&tls).unwrap();
    let rows =
        h.db.query(
            "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap();
    assert_eq!(
        rows[0][0].text(),
        "true",
        "the server sees an encrypted connection"
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    h.record(
        &format!("tls-{nanos}"),
        1,
        &[row("a", "privileged", "web", Severity::High)],
    )
    .unwrap();
    // A CA that did not sign the server's certificate: refused.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
        ])
        .arg("-keyout")
        .arg(dir.path().join("other.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(status.status.success());
    let wrong = format!("{url}?sslmode=require&sslrootcert={}", other.display());
    let Err(e) = History::open(&wrong) else {
        panic!("a server certificate from another CA was accepted");
    };
    let text = format!("{e:?}");
    assert!(
        text.to_lowercase().contains("certificate") || text.contains("tls"),
        "{text}"
    );
}
