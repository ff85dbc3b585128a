//! kube-scheduler flags (CIS 1.4.1, 1.4.2).

use palisade_engine::{CheckSettings, Findings};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::flags::{Component, Target};
use super::{report_at, report_missing, FlagRule, Test, CIS_DOC, NSA_CONTROL_PLANE, SCHEDULER_DOC};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static PROFILING: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "scheduler-profiling-enabled",
        title: "Scheduler profiling is enabled",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-scheduler whose `--profiling` is `true` or not set (it defaults to `true`). With `--config`, the flag is ignored and the file's `enableProfiling` decides (default `true`): a `--profiling` flag is then reported as ignored, and without one nothing is reported, since Palisade does not read the file. CIS Kubernetes Benchmark v1.10.0 recommendation 1.4.1 (Automated).",
        rationale: "Profiling serves `/debug/pprof` on the scheduler's secure port to clients authorized for the path, exposing its internals and letting them make it spend CPU on demand.",
        remediation: "Set `--profiling=false`, or with `--config`, `enableProfiling: false` in the `KubeSchedulerConfiguration`.",
        references: &[SCHEDULER_DOC, "https://kubernetes.io/docs/reference/config-api/kube-scheduler-config.v1/", CIS_DOC],
        mappings: &[cis("1.4.1"), nsa(NSA_CONTROL_PLANE), mitre("T1499")],
        peers: &[peer(PeerTool::Kubescape, "C-0151"), peer(PeerTool::Checkov, "CKV_K8S_114")],
        peer_notes: "Same CIS item as kubescape C-0151 and Checkov CKV_K8S_114. Palisade knows that `--config` makes the scheduler ignore `--profiling`, so `--profiling=false` next to `--config` is reported as ineffective instead of passing.",
        source: file!(),
    },
    component: Component::Scheduler,
    test: Test::Custom(profiling),
};

fn profiling(meta: &'static CheckMeta, t: &Target<'_, '_>, _: &CheckSettings, out: &mut Findings) {
    let why = "so /debug/pprof serves the scheduler's profiles to any client allowed that path";
    let config = t.flags.set("config").is_some();
    match (t.flags.last("profiling"), config) {
        (Some(s), true) => {
            report_at(
                meta,
                s,
                format!("{}: {} is ignored because --config is set, and the file's enableProfiling decides (default true); set enableProfiling: false in the KubeSchedulerConfiguration and remove the flag", t.who(), s.written()),
                out,
            );
        }
        (None, true) => {}
        (None, false) => {
            report_missing(
                meta,
                t,
                format!(
                    "{}: --profiling is not set and defaults to true, {why}; set --profiling=false",
                    t.who()
                ),
                out,
            );
        }
        (Some(s), false) => {
            if s.as_bool() == Some(true) {
                report_at(
                    meta,
                    s,
                    format!("{}: {}, {why}; set --profiling=false", t.who(), s.written()),
                    out,
                );
            }
        }
    }
}

pub static BIND_ADDRESS: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "scheduler-bind-address-not-loopback",
        title: "Scheduler listens beyond localhost",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-scheduler whose `--bind-address` is not a loopback address, or is not set (it defaults to `0.0.0.0`, every interface; kubeadm sets `127.0.0.1`). CIS Kubernetes Benchmark v1.10.0 recommendation 1.4.2 (Automated).",
        rationale: "The secure port (10259) serves health, metrics and, with profiling on, `/debug/pprof`. Bound to every interface, it is reachable from pods and the network.",
        remediation: "Set `--bind-address=127.0.0.1`.",
        references: &[SCHEDULER_DOC, "https://kubernetes.io/docs/reference/networking/ports-and-protocols/", CIS_DOC],
        mappings: &[cis("1.4.2"), nsa(NSA_CONTROL_PLANE), mitre("T1046")],
        peers: &[peer(PeerTool::Kubescape, "C-0152"), peer(PeerTool::Checkov, "CKV_K8S_115")],
        peer_notes: "Same CIS item as kubescape C-0152 and Checkov CKV_K8S_115. kube-bench passes a missing flag; Palisade reports it, because the default listens on every interface.",
        source: file!(),
    },
    component: Component::Scheduler,
    test: Test::Loopback { port: 10259 },
};

#[cfg(test)]
mod tests {
    use crate::controlplane::tests::component;
    use crate::testing::{ids, run};

    fn scheduler(args: &[&str]) -> String {
        component(
            "kube-scheduler",
            "registry.k8s.io/kube-scheduler:v1.30.0",
            args,
        )
    }

    #[test]
    fn profiling_and_config_files() {
        const ID: &[&str] = &["scheduler-profiling-enabled"];
        assert_eq!(ids(&run(&scheduler(&[]), ID)), ID);
        assert!(run(&scheduler(&["--profiling=false"]), ID).is_empty());
        assert!(run(&scheduler(&["--config=/etc/kubernetes/scheduler.yaml"]), ID).is_empty());
        let hits = run(
            &scheduler(&[
                "--config",
                "/etc/kubernetes/scheduler.yaml",
                "--profiling=false",
            ]),
            ID,
        );
        assert_eq!(hits[0].path, "spec.containers[0].command[3]");
        assert!(
            hits[0]
                .message
                .contains("is ignored because --config is set"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn bind_address() {
        const ID: &[&str] = &["scheduler-bind-address-not-loopback"];
        assert_eq!(ids(&run(&scheduler(&[]), ID)), ID);
        assert!(run(&scheduler(&["--bind-address=127.0.0.1"]), ID).is_empty());
        assert_eq!(
            run(&scheduler(&["--bind-address=10.0.0.5"]), ID)[0].path,
            "spec.containers[0].command[1]"
        );
    }
}
