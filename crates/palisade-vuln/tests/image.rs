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
    let run = |args: &[&str]| {
        let out = std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
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
