//! The HTML report in a real browser (Debian's Chromium, headless): the page renders
//! with no network, its script runs and filters, its charts and graphs are drawn; and
//! the Markdown report for pull requests.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{root, run_in};
use serde_json::Value;

/// The browser: `PALISADE_TEST_CHROMIUM` (which `.ci/run` sets, so CI never skips), or
/// `/usr/bin/chromium` when installed.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PALISADE_TEST_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let default = Path::new("/usr/bin/chromium");
    default.exists().then(|| default.to_path_buf())
}

/// Chromium with the flags a closed machine needs, and `args`.
fn browser(chromium: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // No network at all: the page must need none.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn the_html_report_renders_in_a_browser_and_its_filter_works() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let html = d.join("report.html");
    let db = d.join("history.db");
    let (html_s, db_s) = (html.to_str().unwrap(), db.to_str().unwrap());
    // Two evaluations, so the trend has a line.
    for _ in 0..2 {
        run_in(
            &root(),
            &[
                "scan",
                "examples/",
                "--framework",
                "all",
                "--database",
                db_s,
                "--cluster-name",
                "examples",
                "-f",
                "html",
                "-o",
                html_s,
            ],
        );
    }
    let page = std::fs::read_to_string(&html).unwrap();
    let json = run_in(&root(), &["scan", "examples/", "-f", "json"]);
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();

    // Self-contained: nothing to fetch.
    for external in ["<script src", "<link", "<img", "@import", "url(http"] {
        assert!(!page.contains(external), "the page loads {external}");
    }
    assert!(page.contains("Content-Security-Policy"));
    // Findings grouped by namespace and check, with the line and the fix.
    assert_eq!(count(&page, "<li class=\"finding\""), findings.len());
    assert!(page.contains("<section class=\"namespace\" data-namespace=\"shop\">"));
    assert!(
        page.contains("<pre class=\"line\">"),
        "offending lines are shown"
    );
    assert!(page.contains("How to fix:"));
    // No line of a secret finding is printed.
    for f in findings.iter().filter(|f| f["category"] == "secrets") {
        let place = format!(
            "{}:{}:",
            f["location"]["file"].as_str().unwrap(),
            f["location"]["line"]
        );
        let at = page.find(&place).unwrap();
        let item = &page[at..at + page[at..].find("</li>").unwrap()];
        assert!(!item.contains("<pre"), "a secret's line is shown: {item}");
    }
    // Charts and graphs.
    assert!(page.contains("id=\"chart-severity\""));
    assert!(page.contains("id=\"chart-frameworks\""));
    assert_eq!(
        count(&page, "<polyline class=\"series\""),
        6,
        "total and five severities"
    );
    assert!(page.contains("RBAC escalation paths"));
    assert!(page.contains("Network reachability"));
    assert!(page.contains("cluster-admin"));

    let Some(chromium) = chromium() else {
        eprintln!("skipped the browser: no chromium (apt-get install chromium; .ci/run does)");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", html.display());
    // The DOM after the script ran: it marks the page ready and counts what is shown.
    let dom = browser(&chromium, profile.path(), &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("data-ready=\"true\""),
        "the script did not run"
    );
    let shown = format!("<span id=\"visible-count\">{}</span>", findings.len());
    assert!(dom.contains(&shown), "every finding shown at first");
    // Hiding low and info through the link hides exactly those.
    let low_info = findings
        .iter()
        .filter(|f| f["severity"] == "low" || f["severity"] == "info")
        .count();
    assert!(low_info > 0);
    let dom = browser(
        &chromium,
        profile.path(),
        &["--dump-dom", &format!("{url}#hide=low,info")],
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    let shown = format!(
        "<span id=\"visible-count\">{}</span>",
        findings.len() - low_info
    );
    assert!(dom.contains(&shown), "the filter hides low and info");
    assert_eq!(
        count(&dom, "data-severity=\"low\" hidden") + count(&dom, "data-severity=\"info\" hidden"),
        low_info
    );
    // A screenshot: a real, non-blank picture of the page's size.
    let shot = d.join("shot.png");
    browser(
        &chromium,
        profile.path(),
        &[
            "--window-size=1200,2000",
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 2000));
    assert!(
        png.len() > 30_000,
        "a blank page compresses to almost nothing: {}",
        png.len()
    );
}

#[test]
fn the_markdown_report_fits_a_pull_request_comment() {
    let out = run_in(
        &root(),
        &["scan", "examples/", "--framework", "cis", "-f", "markdown"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("## Palisade: "), "{text}");
    assert!(
        text.contains("| CIS Kubernetes Benchmark v1.10.0 |"),
        "{text}"
    );
    assert!(text.contains("<details><summary><b>critical</b> <code>privileged</code>"));
    assert!(text.contains("**Fix:**"));
    assert_eq!(count(&text, "<details>"), count(&text, "</details>"));

    // A large scan is cut to fit, and says how much is left out.
    let dir = tempfile::tempdir().unwrap();
    let mut many = String::new();
    for i in 0..3000 {
        many.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: n}}\nspec:\n  containers:\n  - {{name: c, image: nginx, securityContext: {{privileged: true}}}}\n"
        ));
    }
    std::fs::write(dir.path().join("many.yaml"), many).unwrap();
    let out = run_in(dir.path(), &["scan", "many.yaml", "-f", "markdown"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.len() < 65_536, "{}", text.len());
    assert!(
        text.contains("did not fit in a comment"),
        "{}",
        &text[text.len() - 300..]
    );
    assert_eq!(count(&text, "<details>"), count(&text, "</details>"));
}
