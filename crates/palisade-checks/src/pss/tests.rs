//! Pod Security behaviour: the upstream conformance fixtures at v1.37, and every version
//! boundary the standard has.

use std::path::{Path, PathBuf};

use palisade_engine::{CheckSettings, Level, Memo, ObjectContext, Profile, Version};
use palisade_inventory::{find_pod_specs, objects_in};
use palisade_model::Category;
use palisade_source::{parse_document, split_documents, Limits};

use super::CHECKS;
use crate::registry;
use crate::testing::raw_findings;

/// Pod Security findings for `yaml` at `profile` as (check id, line).
fn eval(yaml: &str, profile: &str) -> Vec<(&'static str, u32)> {
    let profile: Profile = profile.parse().unwrap();
    // Only the Pod Security checks: the catalogue's findings carry no PSS context.
    let checks: Vec<_> = registry()
        .into_iter()
        .filter(|c| c.meta().category == Category::PodSecurity)
        .collect();
    raw_findings(yaml, &checks, profile, &CheckSettings::default())
        .into_iter()
        .map(|f| {
            let pss = f.pss.as_ref().expect("pss context");
            assert_eq!(pss.version(), profile.version.to_string());
            (f.check.id, f.line)
        })
        .collect()
}

fn ids(yaml: &str, profile: &str) -> Vec<&'static str> {
    let mut v: Vec<_> = eval(yaml, profile).into_iter().map(|(id, _)| id).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn fixtures_root() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pss-fixtures");
    if p.is_dir() {
        Some(p)
    } else {
        // Two tests read the fixtures: say it once.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| skipped_suite("the Pod Security conformance fixtures", &p));
        None
    }
}

/// The check a fixture names (by file name), as its upstream id.
fn check_named_by(file: &str) -> &'static str {
    let stem = file
        .trim_end_matches(".yaml")
        .trim_end_matches(char::is_numeric);
    CHECKS
        .iter()
        .map(|c| c.meta.id)
        .find(|id| id.eq_ignore_ascii_case(stem))
        .unwrap_or_else(|| panic!("fixture {file} names no known check"))
}

/// Checks that deny in place of `id` at this profile: itself, or the restricted twin
/// that replaces it.
fn deniers(id: &'static str, level: Level, version: Version) -> Vec<&'static str> {
    let mut out = vec![id];
    if level == Level::Restricted {
        out.extend(
            CHECKS
                .iter()
                .filter(|c| c.at(version).is_some_and(|v| v.overrides.contains(&id)))
                .map(|c| c.meta.id),
        );
    }
    out
}

#[test]
fn upstream_fixtures_v1_37() {
    let Some(root) = fixtures_root() else { return };
    let expected = std::fs::read_to_string(root.join("EXPECTED.csv")).unwrap();
    let mut checked = 0;
    for row in expected.lines().skip(1) {
        let cols: Vec<&str> = row.split(',').collect();
        let (path, level, version, outcome) = (cols[0], cols[1], cols[2], cols[3]);
        let yaml = std::fs::read_to_string(root.join(path)).unwrap();
        let profile = format!("{level}:{version}");
        let file = path.rsplit('/').next().unwrap();
        let found = ids(&yaml, &profile);
        if outcome == "fail" {
            let want = check_named_by(file);
            let lvl: Level = level.parse().unwrap();
            let ok = deniers(want, lvl, version.parse().unwrap());
            assert!(
                found.iter().any(|f| ok.contains(f)),
                "{path}: expected a {want} denial at {profile}, found {found:?}"
            );
            // `latest` is v1.37.
            assert_eq!(found, ids(&yaml, &format!("{level}:latest")), "{path}");
        } else {
            assert!(
                found.is_empty(),
                "{path}: expected no findings at {profile}, found {found:?}"
            );
        }
        checked += 1;
    }
    assert!(checked > 140, "only {checked} fixtures ran");
}

#[test]
fn every_check_has_a_failing_fixture() {
    let Some(root) = fixtures_root() else { return };
    let expected = std::fs::read_to_string(root.join("EXPECTED.csv")).unwrap();
    for c in CHECKS {
        let id = c.meta.id.to_ascii_lowercase();
        assert!(
            expected
                .lines()
                .any(|l| l.contains("/fail/")
                    && l.split('/').nth(3).is_some_and(|f| f.starts_with(&id))),
            "no failing fixture for {}",
            c.meta.id
        );
    }
}

const RESTRICTED_OK: &str = "
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: app@sha256:0
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
";

fn with(extra_pod: &str, extra_container: &str) -> String {
    let mut s = RESTRICTED_OK.replace(
        "  securityContext:\n    runAsNonRoot",
        &format!("{extra_pod}  securityContext:\n    runAsNonRoot"),
    );
    s.push_str(extra_container);
    s
}

#[test]
fn the_compliant_pod_passes_at_every_version() {
    for minor in 0..=40 {
        assert!(
            ids(RESTRICTED_OK, &format!("restricted:v1.{minor}")).is_empty(),
            "v1.{minor}"
        );
    }
}

#[test]
fn privileged_level_allows_everything() {
    let bad = with("  hostNetwork: true\n", "      privileged: true\n");
    assert!(ids(&bad, "privileged:latest").is_empty());
    assert_eq!(
        ids(&bad, "baseline:latest"),
        ["hostNamespaces", "privileged"]
    );
}

#[test]
fn version_boundaries() {
    // (pod fields, container securityContext fields, profile, expected ids)
    let cases: &[(&str, &str, &str, &[&str])] = &[
        // seccomp: annotations before v1.19, fields from v1.19
        ("", "      seccompProfile: {type: Unconfined}\n", "baseline:v1.18", &[]),
        ("", "      seccompProfile: {type: Unconfined}\n", "baseline:v1.19", &["seccompProfile_baseline"]),
        ("", "      seccompProfile: {type: Unconfined}\n", "restricted:v1.19", &["seccompProfile_restricted"]),
        // allowPrivilegeEscalation appears at v1.8
        ("", "      allowPrivilegeEscalation: true\n", "restricted:v1.7", &[]),
        ("", "      allowPrivilegeEscalation: true\n", "restricted:v1.8", &["allowPrivilegeEscalation"]),
        // capabilities: baseline rules under restricted until v1.22
        ("", "      capabilities: {add: [NET_RAW]}\n", "restricted:v1.21", &["capabilities_baseline"]),
        ("", "      capabilities: {add: [NET_RAW]}\n", "restricted:v1.22", &["capabilities_restricted"]),
        ("", "      capabilities: {add: [CHOWN], drop: [ALL]}\n", "restricted:v1.21", &[]),
        ("", "      capabilities: {add: [CHOWN], drop: [ALL]}\n", "restricted:v1.22", &["capabilities_restricted"]),
        // runAsUser appears at v1.23
        ("", "      runAsUser: 0\n", "restricted:v1.22", &[]),
        ("", "      runAsUser: 0\n", "restricted:v1.23", &["runAsUser"]),
        // user namespaces relax runAsNonRoot/runAsUser from v1.35
        ("  hostUsers: false\n", "      runAsUser: 0\n      runAsNonRoot: false\n", "restricted:v1.34", &["runAsNonRoot", "runAsUser"]),
        ("  hostUsers: false\n", "      runAsUser: 0\n      runAsNonRoot: false\n", "restricted:v1.35", &[]),
        ("  hostUsers: true\n", "      runAsUser: 0\n", "restricted:v1.35", &["runAsUser"]),
        // procMount: relaxed at baseline from v1.35, never under restricted
        ("  hostUsers: false\n", "      procMount: Unmasked\n", "baseline:v1.34", &["procMount"]),
        ("  hostUsers: false\n", "      procMount: Unmasked\n", "baseline:v1.35", &[]),
        ("  hostUsers: false\n", "      procMount: Unmasked\n", "restricted:v1.34", &["procMount"]),
        ("  hostUsers: false\n", "      procMount: Unmasked\n", "restricted:v1.35", &["procMount_restricted"]),
        // sysctls grow by version
        ("  securityContext:\n    sysctls: [{name: net.ipv4.ip_local_reserved_ports, value: '1'}]\n", "", "baseline:v1.26", &["sysctls"]),
        ("  securityContext:\n    sysctls: [{name: net.ipv4.ip_local_reserved_ports, value: '1'}]\n", "", "baseline:v1.27", &[]),
        ("  securityContext:\n    sysctls: [{name: net.ipv4.tcp_keepalive_time, value: '1'}]\n", "", "baseline:v1.28", &["sysctls"]),
        ("  securityContext:\n    sysctls: [{name: net.ipv4.tcp_keepalive_time, value: '1'}]\n", "", "baseline:v1.29", &[]),
        ("  securityContext:\n    sysctls: [{name: net.ipv4.tcp_rmem, value: '1'}]\n", "", "baseline:v1.31", &["sysctls"]),
        ("  securityContext:\n    sysctls: [{name: net.ipv4.tcp_rmem, value: '1'}]\n", "", "baseline:v1.32", &[]),
        ("  securityContext:\n    sysctls: [{name: net.ipv4.tcp_notsent_lowat, value: '1'}]\n", "", "baseline:v1.36", &["sysctls"]),
        ("  securityContext:\n    sysctls: [{name: net.ipv4.tcp_notsent_lowat, value: '1'}]\n", "", "baseline:v1.37", &[]),
        ("  securityContext:\n    sysctls: [{name: kernel.msgmax, value: '1'}]\n", "", "baseline:latest", &["sysctls"]),
        // SELinux container_engine_t from v1.31
        ("", "      seLinuxOptions: {type: container_engine_t}\n", "baseline:v1.30", &["seLinuxOptions"]),
        ("", "      seLinuxOptions: {type: container_engine_t}\n", "baseline:v1.31", &[]),
        ("", "      seLinuxOptions: {user: system_u}\n", "baseline:v1.31", &["seLinuxOptions"]),
        // AppArmor fields at every version
        ("", "      appArmorProfile: {type: Unconfined}\n", "baseline:v1.0", &["appArmorProfile"]),
        ("", "      appArmorProfile: {type: Localhost, localhostProfile: x}\n", "baseline:v1.0", &[]),
        // versions past the newest evaluate like it
        ("  securityContext:\n    sysctls: [{name: net.ipv4.tcp_notsent_lowat, value: '1'}]\n", "", "baseline:v1.99", &[]),
        // YAML 1.1 booleans are booleans, quoted strings are not
        ("", "      privileged: yes\n", "baseline:v1.0", &["privileged"]),
        ("", "      privileged: \"true\"\n", "baseline:v1.0", &[]),
        ("  hostPID: On\n", "", "baseline:v1.0", &["hostNamespaces"]),
    ];
    for (pod, container, profile, want) in cases {
        // Fields added to the compliant pod. Pod-level securityContext additions merge in.
        let yaml = if pod.contains("securityContext") {
            let extra = pod.trim_start_matches("  securityContext:\n");
            RESTRICTED_OK.replacen(
                "  securityContext:\n",
                &format!("  securityContext:\n{extra}"),
                1,
            ) + container
        } else {
            with(pod, container)
        };
        assert_eq!(
            &ids(&yaml, profile),
            want,
            "{profile} with {pod:?} {container:?}:\n{yaml}"
        );
    }
}

#[test]
fn seccomp_annotations_before_v1_19() {
    let yaml = "
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    seccomp.security.alpha.kubernetes.io/pod: unconfined
    container.seccomp.security.alpha.kubernetes.io/app: runtime/default
    container.seccomp.security.alpha.kubernetes.io/ghost: unconfined
spec:
  containers: [{name: app, image: x}]
";
    assert_eq!(
        eval(yaml, "baseline:v1.18"),
        [("seccompProfile_baseline", 7)]
    );
    assert!(ids(yaml, "baseline:v1.19").is_empty());
    // Restricted below v1.19 still runs the baseline annotation check.
    assert!(ids(yaml, "restricted:v1.18").contains(&"seccompProfile_baseline"));
    assert!(!ids(yaml, "restricted:v1.19").contains(&"seccompProfile_baseline"));
}

#[test]
fn windows_exemptions_from_v1_25() {
    let yaml = "
apiVersion: v1
kind: Pod
metadata: {name: w}
spec:
  os: {name: windows}
  securityContext: {runAsNonRoot: true}
  containers: [{name: app, image: x}]
";
    assert_eq!(
        ids(yaml, "restricted:v1.24"),
        [
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "seccompProfile_restricted"
        ]
    );
    assert!(ids(yaml, "restricted:v1.25").is_empty());
    // runAsNonRoot is not exempt.
    let root = yaml.replace("runAsNonRoot: true", "runAsUser: 1");
    assert_eq!(ids(&root, "restricted:v1.25"), ["runAsNonRoot"]);
}

#[test]
fn host_probes_from_v1_34() {
    let yaml = "
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: app
    image: x
    livenessProbe:
      httpGet: {host: 127.0.0.1, port: 80}
    lifecycle:
      preStop:
        tcpSocket: {host: '', port: 80}
";
    assert!(ids(yaml, "baseline:v1.33").is_empty());
    assert_eq!(
        eval(yaml, "baseline:v1.34"),
        [("hostProbesAndHostLifecycle", 10)]
    );
}

#[test]
fn volumes_at_each_level() {
    let yaml = "
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: app, image: x}]
  volumes:
  - name: ok
  - name: cfg
    configMap: {name: c}
  - name: host
    hostPath: {path: /}
  - name: share
    nfs: {server: s, path: /}
";
    assert_eq!(eval(yaml, "baseline:latest"), [("hostPathVolumes", 12)]);
    let r: Vec<_> = eval(yaml, "restricted:v1.0")
        .into_iter()
        .filter(|(id, _)| *id == "restrictedVolumes")
        .collect();
    assert_eq!(r, [("restrictedVolumes", 12), ("restrictedVolumes", 14)]);
}

#[test]
fn run_as_non_root_inheritance() {
    let pod = |pod_sc: &str, c_sc: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  securityContext: {{{pod_sc}}}\n  containers:\n  - name: a\n    image: x\n    securityContext: {{{c_sc}}}\n")
    };
    let non_root =
        |p: &str, c: &str| ids(&pod(p, c), "restricted:latest").contains(&"runAsNonRoot");
    assert!(!non_root("runAsNonRoot: true", ""));
    assert!(!non_root("", "runAsNonRoot: true"));
    assert!(non_root("", ""));
    assert!(non_root("runAsNonRoot: true", "runAsNonRoot: false"));
    assert!(non_root("runAsNonRoot: false", "runAsNonRoot: true"));
    assert!(non_root("", "runAsUser: 1000"));
}

#[test]
fn findings_point_at_the_offending_line_in_init_and_ephemeral_containers() {
    let yaml = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: prod}
spec:
  template:
    spec:
      initContainers:
      - name: init
        image: x
        securityContext:
          privileged: true
      containers:
      - name: app
        image: x
      ephemeralContainers:
      - name: debug
        image: x
        securityContext: {privileged: true}
";
    assert_eq!(
        eval(yaml, "baseline:latest"),
        [("privileged", 12), ("privileged", 19)]
    );
}

#[test]
fn overrides_follow_the_registry() {
    let v = Version::LATEST;
    let applies = |id: &str, level| {
        CHECKS
            .iter()
            .find(|c| c.meta.id == id)
            .unwrap()
            .applies(level, v)
    };
    for twin in [
        "hostPathVolumes",
        "capabilities_baseline",
        "seccompProfile_baseline",
        "procMount",
    ] {
        assert!(applies(twin, Level::Baseline), "{twin}");
        assert!(!applies(twin, Level::Restricted), "{twin}");
    }
    assert!(applies("privileged", Level::Restricted));
    assert!(!applies("runAsNonRoot", Level::Baseline));
}

#[test]
fn pss_covers_follows_profile_and_selection() {
    use super::helpers::pss_covers;
    use crate::testing::run_with;
    // Exercised through a tiny probe: the helper itself needs an ObjectContext.
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n";
    let chunk = &split_documents(yaml)[0];
    let doc = parse_document(yaml, chunk, &Limits::default()).unwrap();
    let (objects, _) = objects_in(&doc);
    let all = CheckSettings::default();
    let only_priv = CheckSettings {
        active: Some(["privileged"].into_iter().collect()),
        ..CheckSettings::default()
    };
    for (profile, settings, id, want) in [
        ("restricted", &all, "runAsNonRoot", true),
        ("baseline", &all, "runAsNonRoot", false),
        ("restricted", &only_priv, "runAsNonRoot", false),
        ("restricted", &only_priv, "privileged", true),
        ("privileged", &only_priv, "privileged", false),
    ] {
        let ctx = ObjectContext {
            object: objects[0].clone(),
            pods: find_pod_specs(&objects[0]),
            profile: profile.parse().unwrap(),
            duplicates: Vec::new(),
            settings,
            memo: Memo::default(),
        };
        assert_eq!(pss_covers(&ctx, id), want, "{profile} {id}");
    }
    assert!(!run_with(yaml, &[], "restricted", &all).is_empty());
}

/// Says on the real stderr, which the test harness does not capture, that a suite
/// depending on `../shared` did not run, so a plain `cargo test` shows it.
fn skipped_suite(suite: &str, missing: &Path) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {suite} did not run: {} is absent (it lives in ../shared beside the project)",
        missing.display()
    );
}
