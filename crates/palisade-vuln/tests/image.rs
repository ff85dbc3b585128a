//! OCI image layouts built here, layer by layer, read back.

use palisade_vuln::image::read_layout;
use palisade_vuln::testing::{image, layer};

const STATUS_OLD: &str =
    "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\nSource: openssl\n";
const STATUS_NEW: &str = "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nSource: openssl\n\nPackage: curl\nStatus: install ok installed\nVersion: 7.88.1-10\n";

#[test]
fn later_layers_replace_and_whiteouts_delete() {
    let dir = tempfile::tempdir().unwrap();
    let digest = image(
        dir.path(),
        &[
            layer(&[
                ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
                ("var/lib/dpkg/status", STATUS_OLD),
                ("lib/apk/db/installed", "P:stray\nV:1.0-r0\n"),
            ]),
            layer(&[
                ("./var/lib/dpkg/status", STATUS_NEW),
                ("lib/apk/db/.wh.installed", ""),
            ]),
        ],
    );
    let image = read_layout(dir.path()).unwrap();
    assert_eq!(image.digest, digest);
    assert_eq!(image.ecosystem.as_deref(), Some("Debian:12"));
    let names: Vec<(&str, &str)> = image
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        names,
        [("libssl3", "3.0.11-1~deb12u2"), ("curl", "7.88.1-10")]
    );
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    image(
        dir.path(),
        &[layer(&[(
            "etc/os-release",
            "ID=alpine\nVERSION_ID=3.19.1\n",
        )])],
    );
    // Corrupt every layer blob (gzip magic at the start).
    for entry in std::fs::read_dir(dir.path().join("blobs/sha256")).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let e = read_layout(dir.path()).unwrap_err().to_string();
    assert!(e.contains("not the sha256:"), "{e}");
}

#[test]
fn not_a_layout_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_layout(dir.path()).unwrap_err().to_string();
    assert!(e.contains("index.json"), "{e}");
}

/// A real rpm database: a package built by rpmbuild, installed into a fresh database by
/// rpm itself, read from an image's layer.
#[test]
fn an_rpm_database_made_by_rpm_is_read() {
    let present = std::process::Command::new("rpmbuild")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            std::env::var_os("PALISADE_TEST_ORACLES").is_none(),
            "rpmbuild is not installed but PALISADE_TEST_ORACLES is set"
        );
        eprintln!("skipped: rpmbuild is not installed (apt-get install rpm)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("t.spec"),
        "Name: palisade-test\nVersion: 1.2.3\nRelease: 4.el9\nEpoch: 1\nSummary: t\nLicense: MIT\n\
         BuildArch: noarch\n%description\nt\n%files\n",
    )
    .unwrap();
    let top = format!("_topdir {}", d.join("top").display());
    run(&[
        "rpmbuild",
        "-bb",
        "--quiet",
        "--define",
        &top,
        d.join("t.spec").to_str().unwrap(),
    ]);
    let rpm_file = d.join("top/RPMS/noarch/palisade-test-1.2.3-4.el9.noarch.rpm");
    let db = d.join("db");
    run(&["rpm", "--initdb", "--dbpath", db.to_str().unwrap()]);
    run(&[
        "rpm",
        "--dbpath",
        db.to_str().unwrap(),
        "-i",
        "--nodeps",
        "--justdb",
        "--noscripts",
        "--ignorearch",
        "--ignoreos",
        rpm_file.to_str().unwrap(),
    ]);
    let main = std::fs::read(db.join("rpmdb.sqlite")).unwrap();
    let wal = std::fs::read(db.join("rpmdb.sqlite-wal")).ok();
    let packages = palisade_vuln::packages::rpmdb(&main, wal.as_deref()).unwrap();
    let found: Vec<(&str, &str)> = packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(found, [("palisade-test", "1:1.2.3-4.el9")]);

    // The same database inside an image.
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        (
            "etc/os-release",
            b"ID=\"rocky\"\nVERSION_ID=\"9.3\"\n".to_vec(),
        ),
        ("var/lib/rpm/rpmdb.sqlite", main),
    ];
    if let Some(w) = wal {
        files.push(("var/lib/rpm/rpmdb.sqlite-wal", w));
    }
    let layout = d.join("img");
    palisade_vuln::testing::image(&layout, &[palisade_vuln::testing::layer_bytes(&files)]);
    let contents = read_layout(&layout).unwrap();
    assert_eq!(contents.ecosystem.as_deref(), Some("Rocky Linux:9"));
    assert_eq!(contents.packages.len(), 1);
    assert_eq!(contents.packages[0].version, "1:1.2.3-4.el9");
}

#[test]
fn whiteouts_delete_only_what_is_below_them() {
    let dir = tempfile::tempdir().unwrap();
    image(
        dir.path(),
        &[
            layer(&[
                ("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n"),
                ("lib/apk/db/installed", "P:old\nV:1.0-r0\n"),
                (
                    "var/lib/dpkg/status",
                    "Package: a\nStatus: install ok installed\nVersion: 1\n",
                ),
            ]),
            // The same layer whites out the lower database and brings its own; an opaque
            // var/lib/dpkg drops the lower status.
            layer(&[
                ("lib/apk/db/.wh.installed", ""),
                ("lib/apk/db/installed", "P:new\nV:2.0-r0\n"),
                ("var/lib/dpkg/.wh..wh..opq", ""),
            ]),
        ],
    );
    let image = read_layout(dir.path()).unwrap();
    let names: Vec<&str> = image.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["new"]);
    assert_eq!(image.ecosystem.as_deref(), Some("Alpine:v3.19"));
}

/// rpm's Berkeley DB database (RHEL 7 and 8): packages built by rpmbuild and installed
/// by rpm, their headers written into a hash database by Berkeley DB itself
/// (`db5.3_load`), with pages small enough that headers overflow onto chains of pages
/// and the table splits into many buckets.
#[test]
fn an_rpm_berkeley_db_written_by_berkeley_db_is_read() {
    let present = |tool: &str, arg: &str| {
        std::process::Command::new(tool)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success() || !o.stderr.is_empty())
    };
    if !present("rpmbuild", "--version") || !present("db5.3_load", "-V") {
        assert!(
            std::env::var_os("PALISADE_TEST_ORACLES").is_none(),
            "rpmbuild or db5.3_load is not installed but PALISADE_TEST_ORACLES is set"
        );
        eprintln!("skipped: rpmbuild or db5.3_load is missing (apt-get install rpm db5.3-util)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let top = format!("_topdir {}", d.join("top").display());
    let db = d.join("db");
    run(&["rpm", "--initdb", "--dbpath", db.to_str().unwrap()]);
    let mut want = Vec::new();
    for i in 0..40 {
        // Every fifth package has a long description: a header of several pages.
        let description = if i % 5 == 0 {
            "a long description line\n".repeat(400)
        } else {
            "short\n".to_owned()
        };
        let spec = d.join(format!("p{i}.spec"));
        std::fs::write(
            &spec,
            format!(
                "Name: pkg{i}\nVersion: 1.{i}\nRelease: {i}.el8\n{}Summary: t\nLicense: MIT\n\
                 BuildArch: noarch\n%description\n{description}%files\n",
                if i % 3 == 0 { "Epoch: 2\n" } else { "" }
            ),
        )
        .unwrap();
        run(&[
            "rpmbuild",
            "-bb",
            "--quiet",
            "--define",
            &top,
            spec.to_str().unwrap(),
        ]);
        let rpm = d.join(format!("top/RPMS/noarch/pkg{i}-1.{i}-{i}.el8.noarch.rpm"));
        run(&[
            "rpm",
            "--dbpath",
            db.to_str().unwrap(),
            "-i",
            "--nodeps",
            "--justdb",
            "--noscripts",
            "--ignorearch",
            "--ignoreos",
            rpm.to_str().unwrap(),
        ]);
        let epoch = if i % 3 == 0 { "2:" } else { "" };
        want.push((format!("pkg{i}"), format!("{epoch}1.{i}-{i}.el8")));
    }
    // The headers rpm wrote, as Berkeley DB's dump format: the header number (native
    // byte order) as key, the header as value; key 0 holds the next number, as rpm's own.
    let conn = rusqlite::Connection::open(db.join("rpmdb.sqlite")).unwrap();
    let mut rows: Vec<(u32, Vec<u8>)> = conn
        .prepare("SELECT hnum, blob FROM Packages")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.push((0, 41u32.to_le_bytes().to_vec()));
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut dump =
        String::from("VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=1024\nHEADER=END\n");
    for (n, blob) in &rows {
        dump.push_str(&format!(" {}\n {}\n", hex(&n.to_le_bytes()), hex(blob)));
    }
    dump.push_str("DATA=END\n");
    std::fs::write(d.join("dump"), dump).unwrap();
    let packages_db = d.join("Packages");
    run(&[
        "db5.3_load",
        "-f",
        d.join("dump").to_str().unwrap(),
        packages_db.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&packages_db).unwrap();

    let mut found: Vec<(String, String)> = palisade_vuln::packages::rpm_bdb(&bytes)
        .unwrap()
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect();
    found.sort();
    want.sort();
    assert_eq!(found, want);

    // In an image, Packages is read when there is no rpmdb.sqlite.
    let layout = d.join("img");
    palisade_vuln::testing::image(
        &layout,
        &[palisade_vuln::testing::layer_bytes(&[
            (
                "etc/os-release",
                b"ID=\"rhel\"\nVERSION_ID=\"8.9\"\n".to_vec(),
            ),
            ("var/lib/rpm/Packages", bytes.clone()),
        ])],
    );
    let contents = read_layout(&layout).unwrap();
    assert_eq!(contents.packages.len(), 40);

    // Every truncation and every changed byte of the database is an error or a
    // (possibly shorter) list, never a panic.
    for cut in (0..bytes.len()).step_by(97) {
        let _ = palisade_vuln::packages::rpm_bdb(&bytes[..cut]);
    }
    let mut damaged = bytes.clone();
    for at in (0..bytes.len()).step_by(13) {
        let was = damaged[at];
        damaged[at] ^= 0xa5;
        let _ = palisade_vuln::packages::rpm_bdb(&damaged);
        damaged[at] = was;
    }
}

/// Runs a tool the test needs and asserts it succeeded.
fn run(args: &[&str]) {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
