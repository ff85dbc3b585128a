//! API server audit logging: a log file (CIS 1.2.16), its retention (1.2.17-1.2.19) and
//! a policy (3.2.1).
//!
//! The retention flags keep their defaults in mind: `--audit-log-maxage` and
//! `--audit-log-maxbackup` default to 0, which means no limit (files are never removed),
//! and `--audit-log-maxsize` 0 rotates at the log library's default, 100 MB. So only a
//! value that shortens retention below the CIS figure is reported, not a missing flag.

use palisade_engine::{CheckSettings, Findings};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::flags::{Component, Target};
use super::{report_at, report_missing, FlagRule, Test, AUDIT_DOC, CIS_DOC, NSA_LOGGING};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static LOG_PATH: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-audit-log-missing",
        title: "API server writes no audit log",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--audit-log-path`. Graded low when an audit webhook (`--audit-webhook-config-file`) sends the events elsewhere. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.16 (Automated).",
        rationale: "The audit log is the only record of who read which Secret, who exec'd into which pod and who changed which RBAC binding. Without it an intrusion through the API leaves no trace to investigate or alert on.",
        remediation: "Set `--audit-log-path` (for example `/var/log/kubernetes/audit/audit.log`, mounted from the host), `--audit-policy-file` with a policy, and the retention flags `--audit-log-maxage`, `--audit-log-maxbackup` and `--audit-log-maxsize`.",
        references: &[AUDIT_DOC, "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/", CIS_DOC],
        mappings: &[cis("1.2.16"), nsa(NSA_LOGGING), mitre("T1562")],
        peers: &[peer(PeerTool::Kubescape, "C-0130"), peer(PeerTool::Kubescape, "C-0067"), peer(PeerTool::Checkov, "CKV_K8S_91")],
        peer_notes: "Same CIS item as kubescape C-0130 and Checkov CKV_K8S_91; kubescape C-0067 asks whether audit logs are on at all. Palisade grades a webhook-only setup low rather than ignoring it, and `--audit-log-path=-` (standard output) counts as a log.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(log_path),
};

fn log_path(meta: &'static CheckMeta, t: &Target<'_, '_>, _: &CheckSettings, out: &mut Findings) {
    if t.flags.set("audit-log-path").is_some() {
        return;
    }
    let webhook = t.flags.set("audit-webhook-config-file").is_some();
    let what = if webhook {
        "so no audit log file is kept (events go only to the webhook)"
    } else {
        "so no audit log is written and API requests leave no trace"
    };
    let f = report_missing(
        meta,
        t,
        format!(
            "{}: --audit-log-path is not set, {what}; set --audit-log-path and --audit-policy-file",
            t.who()
        ),
        out,
    );
    if webhook {
        f.severity = Severity::Low;
    }
}

/// The log file's path, when the API server writes one to a file (`-` is standard output,
/// which the retention flags do not apply to).
fn log_file<'d>(t: &Target<'_, 'd>) -> Option<&'d str> {
    t.flags
        .set("audit-log-path")
        .and_then(|s| s.text())
        .filter(|p| *p != "-")
}

/// Reports a retention flag set to a value that keeps less than `min`, described by
/// `effect`. Only positive values below `min` do: 0 is the default, and the API server
/// refuses negative values.
fn retention(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    flag: &str,
    min: i64,
    effect: fn(i64) -> String,
    out: &mut Findings,
) {
    if log_file(t).is_none() {
        return;
    }
    let Some(s) = t.flags.last(flag) else { return };
    let Some(n) = s.as_int() else { return };
    if (1..min).contains(&n) {
        report_at(
            meta,
            s,
            format!(
                "{}: {} {}, so evidence of an intrusion may be deleted before anyone looks; set --{flag}={min} or more",
                t.who(),
                s.written(),
                effect(n)
            ),
            out,
        );
    }
}

pub static LOG_MAXAGE: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-audit-log-maxage-low",
        title: "API server keeps audit logs for less than 30 days",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-apiserver that writes an audit log file with `--audit-log-maxage` set between 1 and 29 days. Unset or 0 means files are never removed by age, which keeps at least 30 days and is not reported. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.17 (Automated).",
        rationale: "Intrusions are often found weeks later; rotated audit files older than the limit are deleted, and with them the record of what the attacker did.",
        remediation: "Set `--audit-log-maxage=30` or more (or ship the log to a central store that keeps it), with a size and count limit that fit the disk.",
        references: &[AUDIT_DOC, "https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#log-backend", CIS_DOC],
        mappings: &[cis("1.2.17"), nsa(NSA_LOGGING), mitre("T1070")],
        peers: &[peer(PeerTool::Kubescape, "C-0131"), peer(PeerTool::Checkov, "CKV_K8S_92")],
        peer_notes: "Same CIS item as kubescape C-0131 and Checkov CKV_K8S_92, which also fail when the flag is missing; Palisade does not, since the default removes nothing by age. Only judged when `--audit-log-path` names a file (`apiserver-audit-log-missing` reports a missing log).",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(maxage),
};

fn maxage(meta: &'static CheckMeta, t: &Target<'_, '_>, _: &CheckSettings, out: &mut Findings) {
    retention(
        meta,
        t,
        "audit-log-maxage",
        30,
        |n| format!("deletes rotated audit files after {n} days"),
        out,
    );
}

pub static LOG_MAXBACKUP: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-audit-log-maxbackup-low",
        title: "API server keeps fewer than 10 rotated audit logs",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-apiserver that writes an audit log file with `--audit-log-maxbackup` set between 1 and 9. Unset or 0 keeps every rotated file and is not reported. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.18 (Automated).",
        rationale: "On a busy API server a handful of rotated files can hold only hours of history: the oldest file is deleted at each rotation, whatever its age.",
        remediation: "Set `--audit-log-maxbackup=10` or more, sized with `--audit-log-maxsize` to the history you need and the disk you have.",
        references: &[AUDIT_DOC, "https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#log-backend", CIS_DOC],
        mappings: &[cis("1.2.18"), nsa(NSA_LOGGING), mitre("T1070")],
        peers: &[peer(PeerTool::Kubescape, "C-0132"), peer(PeerTool::Checkov, "CKV_K8S_93")],
        peer_notes: "Same CIS item as kubescape C-0132 and Checkov CKV_K8S_93, which also fail a missing flag; Palisade does not, since 0 means no limit on the number of files.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(maxbackup),
};

fn maxbackup(meta: &'static CheckMeta, t: &Target<'_, '_>, _: &CheckSettings, out: &mut Findings) {
    retention(
        meta,
        t,
        "audit-log-maxbackup",
        10,
        |n| format!("keeps only {n} rotated audit files"),
        out,
    );
}

pub static LOG_MAXSIZE: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-audit-log-maxsize-low",
        title: "API server rotates audit logs below 100 MB",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-apiserver that writes an audit log file with `--audit-log-maxsize` set between 1 and 99 (megabytes). Unset or 0 rotates at the log library's default of 100 MB and is not reported. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.19 (Automated).",
        rationale: "Small files rotate often, and with a bounded number of backups the retained history shrinks with them.",
        remediation: "Set `--audit-log-maxsize=100` or more.",
        references: &[AUDIT_DOC, "https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#log-backend", CIS_DOC],
        mappings: &[cis("1.2.19"), nsa(NSA_LOGGING), mitre("T1070")],
        peers: &[peer(PeerTool::Kubescape, "C-0133"), peer(PeerTool::Checkov, "CKV_K8S_94")],
        peer_notes: "Same CIS item as kubescape C-0133 and Checkov CKV_K8S_94, which also fail a missing flag; Palisade does not, since the default size is 100 MB.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(maxsize),
};

fn maxsize(meta: &'static CheckMeta, t: &Target<'_, '_>, _: &CheckSettings, out: &mut Findings) {
    retention(
        meta,
        t,
        "audit-log-maxsize",
        100,
        |n| format!("rotates the audit log every {n} MB"),
        out,
    );
}

pub static POLICY: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-audit-policy-missing",
        title: "API server has an audit backend but no audit policy",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--audit-policy-file`. When no audit backend is configured either, `apiserver-audit-log-missing` reports the problem and this check stays quiet unless that one is not run. CIS Kubernetes Benchmark v1.10.0 recommendation 3.2.1 (Manual).",
        rationale: "The API server records only the events its audit policy selects; without a policy file it records none, so `--audit-log-path` produces an empty log and the cluster looks audited when it is not.",
        remediation: "Set `--audit-policy-file` to a policy that logs at least metadata for every request, with Secrets, ConfigMaps and TokenReviews at `Metadata` only so their contents stay out of the log.",
        references: &[AUDIT_DOC, "https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#audit-policy", CIS_DOC],
        mappings: &[cis("3.2.1"), nsa(NSA_LOGGING), mitre("T1562")],
        peers: &[peer(PeerTool::Kubescape, "C-0160")],
        peer_notes: "Same CIS item as kubescape C-0160. Whether the policy covers the right events (3.2.2) is in the file, which Palisade does not read.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(policy),
};

fn policy(meta: &'static CheckMeta, t: &Target<'_, '_>, s: &CheckSettings, out: &mut Findings) {
    if t.flags.set("audit-policy-file").is_some() {
        return;
    }
    let backend = t.flags.set("audit-log-path").is_some()
        || t.flags.set("audit-webhook-config-file").is_some();
    if !backend && s.is_active(LOG_PATH.meta.id) {
        return;
    }
    report_missing(
        meta,
        t,
        format!(
            "{}: --audit-policy-file is not set, so the API server records no audit events{}; set --audit-policy-file",
            t.who(),
            if backend { " and its audit log stays empty" } else { "" }
        ),
        out,
    );
}

#[cfg(test)]
mod tests {
    use crate::controlplane::tests::apiserver;
    use crate::testing::{ids, run, run_with};
    use palisade_engine::CheckSettings;
    use palisade_model::Severity;

    const LOG: &[&str] = &[
        "--audit-log-path=/var/log/kubernetes/audit.log",
        "--audit-policy-file=/etc/kubernetes/audit.yaml",
    ];

    fn with_log(extra: &[&str]) -> String {
        let args: Vec<&str> = LOG.iter().chain(extra).copied().collect();
        apiserver(&args)
    }

    #[test]
    fn audit_log_and_policy() {
        const BOTH: &[&str] = &[
            "apiserver-audit-log-missing",
            "apiserver-audit-policy-missing",
        ];
        assert!(run(&with_log(&[]), BOTH).is_empty());
        // No backend: one finding, the missing log.
        let hits = run(&apiserver(&[]), BOTH);
        assert_eq!(ids(&hits), ["apiserver-audit-log-missing"]);
        assert_eq!(hits[0].severity, Severity::Medium);
        let settings = CheckSettings {
            active: Some(BOTH[1..].iter().copied().collect()),
            ..CheckSettings::default()
        };
        let hits = run_with(&apiserver(&[]), &BOTH[1..], "restricted", &settings);
        assert_eq!(ids(&hits), ["apiserver-audit-policy-missing"]);
        // A log without a policy records nothing.
        let hits = run(&apiserver(&["--audit-log-path", "/var/log/a.log"]), BOTH);
        assert_eq!(ids(&hits), ["apiserver-audit-policy-missing"]);
        assert!(
            hits[0].message.contains("its audit log stays empty"),
            "{}",
            hits[0].message
        );
        // Webhook only: low.
        let hits = run(
            &apiserver(&[
                "--audit-webhook-config-file=/etc/wh.yaml",
                "--audit-policy-file=/p",
            ]),
            BOTH,
        );
        assert_eq!(
            (ids(&hits)[0], hits[0].severity),
            ("apiserver-audit-log-missing", Severity::Low)
        );
    }

    #[test]
    fn retention_flags_judge_values_not_absence() {
        for (id, flag, low, ok) in [
            (
                "apiserver-audit-log-maxage-low",
                "--audit-log-maxage",
                "7",
                "30",
            ),
            (
                "apiserver-audit-log-maxbackup-low",
                "--audit-log-maxbackup",
                "3",
                "10",
            ),
            (
                "apiserver-audit-log-maxsize-low",
                "--audit-log-maxsize",
                "50",
                "100",
            ),
        ] {
            // Defaults keep everything (or 100 MB files): not reported.
            assert!(run(&with_log(&[]), &[id]).is_empty(), "{id}");
            assert!(
                run(&with_log(&[&format!("{flag}=0")]), &[id]).is_empty(),
                "{id}"
            );
            assert!(
                run(&with_log(&[&format!("{flag}={ok}")]), &[id]).is_empty(),
                "{id}"
            );
            let hits = run(&with_log(&[&format!("{flag}={low}")]), &[id]);
            assert_eq!(ids(&hits), [id]);
            assert_eq!(hits[0].path, "spec.containers[0].command[3]");
            // As the next element, and repeated: the last wins.
            assert_eq!(ids(&run(&with_log(&[flag, low]), &[id])), [id]);
            assert!(run(
                &with_log(&[&format!("{flag}={low}"), &format!("{flag}={ok}")]),
                &[id]
            )
            .is_empty());
            // Standard output and no log are not judged.
            assert!(run(
                &apiserver(&["--audit-log-path=-", &format!("{flag}={low}")]),
                &[id]
            )
            .is_empty());
            assert!(run(&apiserver(&[&format!("{flag}={low}")]), &[id]).is_empty());
        }
        // Go integer syntax: 0x1e is 30, 030 is octal 24.
        assert!(run(
            &with_log(&["--audit-log-maxage=0x1e"]),
            &["apiserver-audit-log-maxage-low"]
        )
        .is_empty());
        assert_eq!(
            run(
                &with_log(&["--audit-log-maxage=030"]),
                &["apiserver-audit-log-maxage-low"]
            )
            .len(),
            1
        );
    }
}
