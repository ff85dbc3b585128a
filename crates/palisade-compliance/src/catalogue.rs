//! The controls of each framework, written here from the frameworks' public documents
//! (ids and short titles in our own words), so a report lists every control, including
//! those no check implements.

/// How a framework says a control is assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assessment {
    /// A tool can decide it from configuration.
    Automated,
    /// The framework says a person must judge it (CIS "Manual").
    Manual,
}

/// One control of a framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// The framework's id: `5.2.2` (CIS), `T1611` (MITRE), the section title (NSA).
    pub id: &'static str,
    /// A short title, in our words.
    pub title: &'static str,
    pub assessment: Assessment,
}

/// A group of controls (a CIS section, an NSA chapter, a MITRE tactic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
}

use Assessment::{Automated, Manual};

/// A control, compactly.
const fn c(id: &'static str, title: &'static str, assessment: Assessment) -> Control {
    Control {
        id,
        title,
        assessment,
    }
}

/// A section, compactly.
const fn s(id: &'static str, title: &'static str) -> Section {
    Section { id, title }
}

// ---------------------------------------------------------------------------------------
// CIS Kubernetes Benchmark v1.10.0
// ---------------------------------------------------------------------------------------

/// The sections of the CIS Kubernetes Benchmark v1.10.0 that hold recommendations.
pub static CIS_V1_10_SECTIONS: &[Section] = &[
    s("1.1", "Control plane node configuration files"),
    s("1.2", "API server"),
    s("1.3", "Controller manager"),
    s("1.4", "Scheduler"),
    s("2", "etcd"),
    s("3.1", "Authentication and authorization"),
    s("3.2", "Logging"),
    s("4.1", "Worker node configuration files"),
    s("4.2", "Kubelet"),
    s("4.3", "kube-proxy"),
    s("5.1", "RBAC and service accounts"),
    s("5.2", "Pod Security Standards"),
    s("5.3", "Network policies and CNI"),
    s("5.4", "Secrets management"),
    s("5.5", "Extensible admission control"),
    s("5.7", "General policies"),
];

/// Every recommendation of the CIS Kubernetes Benchmark v1.10.0, in benchmark order.
pub static CIS_V1_10: &[Control] = &[
    // 1.1 Control plane node configuration files
    c("1.1.1", "API server pod spec is 600 or stricter", Automated),
    c("1.1.2", "API server pod spec owned by root:root", Automated),
    c(
        "1.1.3",
        "Controller manager spec 600 or stricter",
        Automated,
    ),
    c("1.1.4", "Controller manager pod spec root-owned", Automated),
    c("1.1.5", "Scheduler pod spec is 600 or stricter", Automated),
    c("1.1.6", "Scheduler pod spec owned by root:root", Automated),
    c("1.1.7", "etcd pod spec is 600 or stricter", Automated),
    c("1.1.8", "etcd pod spec owned by root:root", Automated),
    c("1.1.9", "CNI files are 600 or stricter", Manual),
    c("1.1.10", "CNI files owned by root:root", Manual),
    c("1.1.11", "etcd data dir is 700 or stricter", Automated),
    c("1.1.12", "etcd data dir owned by etcd:etcd", Automated),
    c("1.1.13", "Admin kubeconfig files are 600", Automated),
    c("1.1.14", "Admin kubeconfig owned by root:root", Automated),
    c("1.1.15", "scheduler.conf is 600 or stricter", Automated),
    c("1.1.16", "scheduler.conf owned by root:root", Automated),
    c("1.1.17", "controller-manager.conf 600 or less", Automated),
    c("1.1.18", "controller-manager.conf root-owned", Automated),
    c("1.1.19", "PKI dir and files owned by root:root", Automated),
    c("1.1.20", "PKI certificates are 600 or stricter", Manual),
    c("1.1.21", "PKI private keys are 600", Manual),
    // 1.2 API server
    c("1.2.1", "API server --anonymous-auth is false", Manual),
    c("1.2.2", "API server has no --token-auth-file", Automated),
    c("1.2.3", "DenyServiceExternalIPs plugin is on", Manual),
    c("1.2.4", "API server has a kubelet client cert", Automated),
    c("1.2.5", "API server verifies kubelet certs", Automated),
    c("1.2.6", "API server authz is not AlwaysAllow", Automated),
    c("1.2.7", "API server authz includes Node", Automated),
    c("1.2.8", "API server authz includes RBAC", Automated),
    c("1.2.9", "EventRateLimit plugin is on", Manual),
    c("1.2.10", "AlwaysAdmit plugin is off", Automated),
    c("1.2.11", "AlwaysPullImages plugin is on", Manual),
    c("1.2.12", "ServiceAccount plugin is on", Automated),
    c("1.2.13", "NamespaceLifecycle plugin is on", Automated),
    c("1.2.14", "NodeRestriction plugin is on", Automated),
    c("1.2.15", "API server --profiling is false", Automated),
    c("1.2.16", "API server writes an audit log", Automated),
    c("1.2.17", "Audit log kept 30 days or as fits", Automated),
    c("1.2.18", "10 or more audit log backups kept", Automated),
    c("1.2.19", "Audit log rotates at 100 MB or so", Automated),
    c("1.2.20", "API server request timeout fits", Manual),
    c("1.2.21", "API server looks up SA tokens", Automated),
    c("1.2.22", "API server has an SA key file", Automated),
    c("1.2.23", "API server has an etcd client cert", Automated),
    c("1.2.24", "API server serves TLS (cert and key)", Automated),
    c("1.2.25", "API server has a client CA file", Automated),
    c("1.2.26", "API server has an etcd CA file", Automated),
    c("1.2.27", "API server encrypts data at rest", Manual),
    c("1.2.28", "Encryption providers are suitable", Manual),
    c("1.2.29", "API server uses strong ciphers only", Manual),
    // 1.3 Controller manager
    c("1.3.1", "Terminated pod GC threshold fits", Manual),
    c("1.3.2", "Controller manager --profiling false", Automated),
    c("1.3.3", "Controllers use own SA credentials", Automated),
    c("1.3.4", "Controller manager has an SA key", Automated),
    c("1.3.5", "Controller manager has a root CA", Automated),
    c("1.3.6", "Kubelet serving cert rotation is on", Automated),
    c("1.3.7", "Controller manager binds 127.0.0.1", Automated),
    // 1.4 Scheduler
    c("1.4.1", "Scheduler --profiling is false", Automated),
    c("1.4.2", "Scheduler binds to 127.0.0.1", Automated),
    // 2 etcd
    c("2.1", "etcd serves TLS (cert and key)", Automated),
    c("2.2", "etcd requires client certificates", Automated),
    c("2.3", "etcd does not use auto TLS", Automated),
    c("2.4", "etcd has a peer cert and key", Automated),
    c("2.5", "etcd requires peer certificates", Automated),
    c("2.6", "etcd peers do not use auto TLS", Automated),
    c("2.7", "etcd has its own certificate authority", Manual),
    // 3.1 Authentication and authorization
    c("3.1.1", "No client cert auth for users", Manual),
    c("3.1.2", "No service account token auth for users", Manual),
    c("3.1.3", "No bootstrap token auth for users", Manual),
    // 3.2 Logging
    c("3.2.1", "A minimal audit policy exists", Manual),
    c("3.2.2", "Audit policy covers key concerns", Manual),
    // 4.1 Worker node configuration files
    c("4.1.1", "Kubelet service file 600 or stricter", Automated),
    c("4.1.2", "Kubelet service file root-owned", Automated),
    c("4.1.3", "Proxy kubeconfig 600 or stricter", Manual),
    c("4.1.4", "Proxy kubeconfig owned by root:root", Manual),
    c("4.1.5", "Kubelet kubeconfig 600 or stricter", Automated),
    c("4.1.6", "Kubelet kubeconfig root-owned", Automated),
    c("4.1.7", "Kubelet client CA file 600 or less", Manual),
    c("4.1.8", "Kubelet client CA file owned by root", Manual),
    c("4.1.9", "Kubelet config file 600 or stricter", Automated),
    c("4.1.10", "Kubelet config file root-owned", Automated),
    // 4.2 Kubelet
    c("4.2.1", "Kubelet anonymous auth is off", Automated),
    c("4.2.2", "Kubelet authz is not AlwaysAllow", Automated),
    c("4.2.3", "Kubelet has a client CA file", Automated),
    c("4.2.4", "Kubelet read-only port is 0", Manual),
    c("4.2.5", "Kubelet stream idle timeout is not 0", Manual),
    c("4.2.6", "Kubelet manages iptables chains", Automated),
    c("4.2.7", "Kubelet hostname is not overridden", Manual),
    c("4.2.8", "Kubelet event QPS captures events", Manual),
    c("4.2.9", "Kubelet serves TLS (cert and key)", Manual),
    c("4.2.10", "Kubelet cert rotation is not off", Automated),
    c("4.2.11", "Kubelet serving cert rotation is on", Manual),
    c("4.2.12", "Kubelet uses strong ciphers only", Manual),
    c("4.2.13", "Pod PIDs are limited", Manual),
    // 4.3 kube-proxy
    c("4.3.1", "kube-proxy metrics on localhost", Automated),
    // 5.1 RBAC and service accounts
    c("5.1.1", "cluster-admin bound only if needed", Automated),
    c("5.1.2", "Few subjects can read Secrets", Automated),
    c("5.1.3", "Roles avoid wildcards", Automated),
    c("5.1.4", "Few subjects can create Pods", Automated),
    c("5.1.5", "Default service accounts unused", Automated),
    c("5.1.6", "SA tokens mounted only if needed", Automated),
    c("5.1.7", "No use of the system:masters group", Manual),
    c("5.1.8", "Bind, impersonate, escalate limited", Manual),
    c("5.1.9", "Few subjects can create PVs", Manual),
    c("5.1.10", "Few subjects can use nodes/proxy", Manual),
    c("5.1.11", "Few subjects can approve CSRs", Manual),
    c("5.1.12", "Few subjects can edit webhook configs", Manual),
    c("5.1.13", "Few subjects can create SA tokens", Manual),
    // 5.2 Pod Security Standards
    c("5.2.1", "A policy control mechanism is active", Manual),
    c("5.2.2", "Privileged containers are kept out", Manual),
    c("5.2.3", "Host PID sharing is kept out", Manual),
    c("5.2.4", "Host IPC sharing is kept out", Manual),
    c("5.2.5", "Host network sharing is kept out", Manual),
    c("5.2.6", "Privilege escalation is kept out", Manual),
    c("5.2.7", "Root containers are kept out", Manual),
    c("5.2.8", "NET_RAW capability is kept out", Manual),
    c("5.2.9", "Added capabilities are kept out", Manual),
    c("5.2.10", "Containers drop their capabilities", Manual),
    c("5.2.11", "Windows HostProcess is kept out", Manual),
    c("5.2.12", "HostPath volumes are kept out", Manual),
    c("5.2.13", "Host ports are kept out", Manual),
    // 5.3 Network policies and CNI
    c("5.3.1", "The CNI enforces NetworkPolicies", Manual),
    c("5.3.2", "Every namespace has NetworkPolicies", Manual),
    // 5.4 Secrets management
    c("5.4.1", "Secrets as files, not env variables", Manual),
    c("5.4.2", "External secret storage considered", Manual),
    // 5.5 Extensible admission control
    c("5.5.1", "Image provenance is checked on admit", Manual),
    // 5.7 General policies
    c("5.7.1", "Namespaces as admin boundaries", Manual),
    c("5.7.2", "Pods use the RuntimeDefault seccomp", Manual),
    c("5.7.3", "Pods and containers set securityContext", Manual),
    c("5.7.4", "The default namespace is not used", Manual),
];

// ---------------------------------------------------------------------------------------
// NSA/CISA Kubernetes Hardening Guide v1.2 (August 2022)
// ---------------------------------------------------------------------------------------

const NSA_POD: &str = "Kubernetes Pod security";
const NSA_NETWORK: &str = "Network separation and hardening";
const NSA_AUTH: &str = "Authentication and authorization";
const NSA_AUDIT: &str = "Audit logging and threat detection";
const NSA_UPGRADE: &str = "Upgrading and application security practices";

/// The chapters of the NSA/CISA Kubernetes Hardening Guide v1.2.
pub static NSA_SECTIONS: &[Section] = &[
    s(NSA_POD, "Kubernetes Pod security"),
    s(NSA_NETWORK, "Network separation and hardening"),
    s(NSA_AUTH, "Authentication and authorization"),
    s(NSA_AUDIT, "Audit logging and threat detection"),
    s(NSA_UPGRADE, "Upgrading and application security practices"),
];

/// The sub-sections of the NSA/CISA guide (and the chapters the checks map to as a whole).
pub static NSA: &[Control] = &[
    // Kubernetes Pod security
    c(
        "Pod security",
        "Pod security in general (the chapter)",
        Automated,
    ),
    c(
        "Non-root containers and rootless container engines",
        "Containers run as non-root users",
        Automated,
    ),
    c(
        "Immutable container file systems",
        "Container root file systems are read-only",
        Automated,
    ),
    c(
        "Building secure container images",
        "Images are minimal, scanned and trusted",
        Automated,
    ),
    c(
        "Pod security enforcement",
        "An admission policy enforces Pod security",
        Automated,
    ),
    c(
        "Protecting Pod service account tokens",
        "SA tokens mounted only when needed",
        Automated,
    ),
    c(
        "Hardening container environments",
        "Seccomp, AppArmor, SELinux or sandboxes",
        Automated,
    ),
    // Network separation and hardening
    c(
        "Network separation and hardening",
        "Network separation in general (the chapter)",
        Automated,
    ),
    c(
        "Namespaces",
        "Workloads are split into namespaces",
        Automated,
    ),
    c(
        "Network policies",
        "Network policies limit Pod traffic",
        Automated,
    ),
    c(
        "Resource policies",
        "Requests, limits, quotas and LimitRanges",
        Automated,
    ),
    c(
        "Control plane hardening",
        "Control plane components set securely",
        Automated,
    ),
    c("Etcd", "etcd reachable only by the API server", Automated),
    c(
        "Kubeconfig files",
        "Kubeconfig files are protected",
        Automated,
    ),
    c(
        "Worker node segmentation",
        "Worker nodes are segmented off",
        Automated,
    ),
    c(
        "Worker node protection",
        "Kubelet and node files are hardened",
        Automated,
    ),
    c(
        "Encryption",
        "Traffic and stored data are encrypted",
        Automated,
    ),
    c("Secrets", "Secrets are encrypted and kept apart", Automated),
    c(
        "Protecting sensitive cloud infrastructure",
        "Pods cannot reach cloud metadata",
        Automated,
    ),
    // Authentication and authorization
    c(
        "Authentication and authorization",
        "Authn and authz in general (the chapter)",
        Automated,
    ),
    c(
        "Authentication",
        "Strong authn, no anonymous access",
        Automated,
    ),
    c(
        "Role-based access control",
        "RBAC on, with least-privilege roles",
        Automated,
    ),
    // Audit logging and threat detection
    c(
        "Audit logging",
        "Audit logging in general (the chapter)",
        Automated,
    ),
    c(
        "Logging",
        "Cluster, node and app activity logged",
        Automated,
    ),
    c(
        "Kubernetes native audit logging configuration",
        "API server audit policy and backend",
        Automated,
    ),
    c(
        "Worker node and container logging",
        "Node and container logs are collected",
        Automated,
    ),
    c(
        "Seccomp: audit mode",
        "Seccomp audit mode logs system calls",
        Automated,
    ),
    c("Syslog", "Logs are forwarded with syslog", Automated),
    c("SIEM platforms", "Logs feed a SIEM", Manual),
    c(
        "Service meshes",
        "A service mesh secures and logs traffic",
        Automated,
    ),
    c("Fault tolerance", "Logging survives outages", Manual),
    c("Threat detection", "Logs are reviewed for threats", Manual),
    c("Alerting", "Suspicious events raise alerts", Manual),
    c("Tools", "Detection tools watch the cluster", Manual),
    // Upgrading and application security practices
    c(
        "Upgrading and application security practices",
        "Patched, scanned, unused parts removed",
        Automated,
    ),
];

/// The chapter (an `NSA_SECTIONS` id) of each NSA control.
pub static NSA_CHAPTER: &[(&str, &str)] = &[
    ("Pod security", NSA_POD),
    (
        "Non-root containers and rootless container engines",
        NSA_POD,
    ),
    ("Immutable container file systems", NSA_POD),
    ("Building secure container images", NSA_POD),
    ("Pod security enforcement", NSA_POD),
    ("Protecting Pod service account tokens", NSA_POD),
    ("Hardening container environments", NSA_POD),
    ("Network separation and hardening", NSA_NETWORK),
    ("Namespaces", NSA_NETWORK),
    ("Network policies", NSA_NETWORK),
    ("Resource policies", NSA_NETWORK),
    ("Control plane hardening", NSA_NETWORK),
    ("Etcd", NSA_NETWORK),
    ("Kubeconfig files", NSA_NETWORK),
    ("Worker node segmentation", NSA_NETWORK),
    ("Worker node protection", NSA_NETWORK),
    ("Encryption", NSA_NETWORK),
    ("Secrets", NSA_NETWORK),
    ("Protecting sensitive cloud infrastructure", NSA_NETWORK),
    ("Authentication and authorization", NSA_AUTH),
    ("Authentication", NSA_AUTH),
    ("Role-based access control", NSA_AUTH),
    ("Audit logging", NSA_AUDIT),
    ("Logging", NSA_AUDIT),
    ("Kubernetes native audit logging configuration", NSA_AUDIT),
    ("Worker node and container logging", NSA_AUDIT),
    ("Seccomp: audit mode", NSA_AUDIT),
    ("Syslog", NSA_AUDIT),
    ("SIEM platforms", NSA_AUDIT),
    ("Service meshes", NSA_AUDIT),
    ("Fault tolerance", NSA_AUDIT),
    ("Threat detection", NSA_AUDIT),
    ("Alerting", NSA_AUDIT),
    ("Tools", NSA_AUDIT),
    ("Upgrading and application security practices", NSA_UPGRADE),
];

/// The chapter of an NSA control, or `""` when the id is not in the catalogue.
#[must_use]
pub fn nsa_chapter(id: &str) -> &'static str {
    NSA_CHAPTER
        .iter()
        .find(|(control, _)| *control == id)
        .map_or("", |&(_, chapter)| chapter)
}

// ---------------------------------------------------------------------------------------
// MITRE ATT&CK Containers matrix
// ---------------------------------------------------------------------------------------

/// The ATT&CK tactics that hold the catalogue's techniques, in matrix order.
pub static MITRE_SECTIONS: &[Section] = &[
    s("TA0001", "Initial Access"),
    s("TA0002", "Execution"),
    s("TA0003", "Persistence"),
    s("TA0004", "Privilege Escalation"),
    s("TA0005", "Defense Evasion"),
    s("TA0006", "Credential Access"),
    s("TA0007", "Discovery"),
    s("TA0008", "Lateral Movement"),
    s("TA0010", "Exfiltration"),
    s("TA0040", "Impact"),
];

/// The techniques of the ATT&CK Containers matrix, plus the others Palisade's checks name.
pub static MITRE: &[Control] = &[
    // Initial Access
    c("T1190", "Exploit Public-Facing Application", Automated),
    c("T1133", "External Remote Services", Automated),
    c("T1078", "Valid Accounts", Automated),
    c("T1078.001", "Valid Accounts: Default Accounts", Automated),
    c("T1078.003", "Valid Accounts: Local Accounts", Automated),
    c("T1078.004", "Valid Accounts: Cloud Accounts", Automated),
    // Execution
    c("T1609", "Container Administration Command", Automated),
    c("T1610", "Deploy Container", Automated),
    c("T1053", "Scheduled Task/Job", Automated),
    c(
        "T1053.007",
        "Scheduled Task/Job: Container Orchestration Job",
        Automated,
    ),
    c("T1204", "User Execution", Automated),
    c("T1204.003", "User Execution: Malicious Image", Automated),
    // Persistence
    c("T1098", "Account Manipulation", Automated),
    c(
        "T1098.006",
        "Account Manipulation: Additional Container Cluster Roles",
        Automated,
    ),
    c("T1136", "Create Account", Automated),
    c("T1136.001", "Create Account: Local Account", Automated),
    c("T1543", "Create or Modify System Process", Automated),
    c(
        "T1543.005",
        "Create or Modify System Process: Container Service",
        Automated,
    ),
    c("T1525", "Implant Internal Image", Automated),
    // Privilege Escalation
    c("T1611", "Escape to Host", Automated),
    c("T1068", "Exploitation for Privilege Escalation", Automated),
    c("T1134", "Access Token Manipulation", Automated),
    c("T1548", "Abuse Elevation Control Mechanism", Automated),
    c(
        "T1548.001",
        "Abuse Elevation Control Mechanism: Setuid and Setgid",
        Automated,
    ),
    // Defense Evasion
    c("T1612", "Build Image on Host", Automated),
    c("T1562", "Impair Defenses", Automated),
    c(
        "T1562.001",
        "Impair Defenses: Disable or Modify Tools",
        Automated,
    ),
    c("T1070", "Indicator Removal", Automated),
    c("T1036", "Masquerading", Automated),
    c(
        "T1036.005",
        "Masquerading: Match Legitimate Name or Location",
        Automated,
    ),
    c("T1550", "Use Alternate Authentication Material", Automated),
    c(
        "T1550.001",
        "Use Alternate Authentication Material: Application Access Token",
        Automated,
    ),
    // Credential Access
    c("T1110", "Brute Force", Automated),
    c("T1110.001", "Brute Force: Password Guessing", Automated),
    c("T1110.003", "Brute Force: Password Spraying", Automated),
    c("T1110.004", "Brute Force: Credential Stuffing", Automated),
    c("T1528", "Steal Application Access Token", Automated),
    c("T1552", "Unsecured Credentials", Automated),
    c(
        "T1552.001",
        "Unsecured Credentials: Credentials In Files",
        Automated,
    ),
    c(
        "T1552.005",
        "Unsecured Credentials: Cloud Instance Metadata API",
        Automated,
    ),
    c(
        "T1552.007",
        "Unsecured Credentials: Container API",
        Automated,
    ),
    c("T1040", "Network Sniffing", Automated),
    c("T1557", "Adversary-in-the-Middle", Automated),
    c(
        "T1649",
        "Steal or Forge Authentication Certificates",
        Automated,
    ),
    // Discovery
    c("T1613", "Container and Resource Discovery", Automated),
    c("T1046", "Network Service Discovery", Automated),
    c("T1069", "Permission Groups Discovery", Automated),
    // Lateral Movement
    c("T1021", "Remote Services", Automated),
    c("T1021.004", "Remote Services: SSH", Automated),
    // Exfiltration
    c("T1041", "Exfiltration Over C2 Channel", Automated),
    // Impact
    c("T1485", "Data Destruction", Automated),
    c("T1490", "Inhibit System Recovery", Automated),
    c("T1496", "Resource Hijacking", Automated),
    c("T1498", "Network Denial of Service", Automated),
    c("T1499", "Endpoint Denial of Service", Automated),
];

/// The primary tactic (a `MITRE_SECTIONS` id) of each MITRE technique.
pub static MITRE_TACTIC: &[(&str, &str)] = &[
    ("T1190", "TA0001"),
    ("T1133", "TA0001"),
    ("T1078", "TA0001"),
    ("T1078.001", "TA0001"),
    ("T1078.003", "TA0001"),
    ("T1078.004", "TA0001"),
    ("T1609", "TA0002"),
    ("T1610", "TA0002"),
    ("T1053", "TA0002"),
    ("T1053.007", "TA0002"),
    ("T1204", "TA0002"),
    ("T1204.003", "TA0002"),
    ("T1098", "TA0003"),
    ("T1098.006", "TA0003"),
    ("T1136", "TA0003"),
    ("T1136.001", "TA0003"),
    ("T1543", "TA0003"),
    ("T1543.005", "TA0003"),
    ("T1525", "TA0003"),
    ("T1611", "TA0004"),
    ("T1068", "TA0004"),
    ("T1134", "TA0004"),
    ("T1548", "TA0004"),
    ("T1548.001", "TA0004"),
    ("T1612", "TA0005"),
    ("T1562", "TA0005"),
    ("T1562.001", "TA0005"),
    ("T1070", "TA0005"),
    ("T1036", "TA0005"),
    ("T1036.005", "TA0005"),
    ("T1550", "TA0005"),
    ("T1550.001", "TA0005"),
    ("T1110", "TA0006"),
    ("T1110.001", "TA0006"),
    ("T1110.003", "TA0006"),
    ("T1110.004", "TA0006"),
    ("T1528", "TA0006"),
    ("T1552", "TA0006"),
    ("T1552.001", "TA0006"),
    ("T1552.005", "TA0006"),
    ("T1552.007", "TA0006"),
    ("T1040", "TA0006"),
    ("T1557", "TA0006"),
    ("T1649", "TA0006"),
    ("T1613", "TA0007"),
    ("T1046", "TA0007"),
    ("T1069", "TA0007"),
    ("T1021", "TA0008"),
    ("T1021.004", "TA0008"),
    ("T1041", "TA0010"),
    ("T1485", "TA0040"),
    ("T1490", "TA0040"),
    ("T1496", "TA0040"),
    ("T1498", "TA0040"),
    ("T1499", "TA0040"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The ids of `items` that appear more than once.
    fn duplicates<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let mut seen = HashSet::new();
        items.into_iter().filter(|id| !seen.insert(*id)).collect()
    }

    /// A CIS id as numbers, so benchmark order compares numerically (`1.2.10` after `1.2.9`).
    fn cis_key(id: &str) -> Vec<u32> {
        id.split('.')
            .map(|n| n.parse().unwrap_or_else(|_| panic!("bad CIS id {id:?}")))
            .collect()
    }

    /// A CIS id's section, as the report computes it.
    fn cis_section(id: &str) -> &str {
        id.rsplit_once('.').map_or(id, |(section, _)| section)
    }

    #[test]
    fn ids_are_unique_within_each_framework() {
        for (name, controls) in [("CIS", CIS_V1_10), ("NSA", NSA), ("MITRE", MITRE)] {
            let dup = duplicates(controls.iter().map(|c| c.id));
            assert!(dup.is_empty(), "{name}: duplicate control ids {dup:?}");
        }
        for (name, sections) in [
            ("CIS", CIS_V1_10_SECTIONS),
            ("NSA", NSA_SECTIONS),
            ("MITRE", MITRE_SECTIONS),
        ] {
            let dup = duplicates(sections.iter().map(|s| s.id));
            assert!(dup.is_empty(), "{name}: duplicate section ids {dup:?}");
        }
        let dup = duplicates(NSA_CHAPTER.iter().map(|(id, _)| *id));
        assert!(dup.is_empty(), "NSA_CHAPTER: duplicate ids {dup:?}");
        let dup = duplicates(MITRE_TACTIC.iter().map(|(id, _)| *id));
        assert!(dup.is_empty(), "MITRE_TACTIC: duplicate ids {dup:?}");
    }

    #[test]
    fn titles_are_present_and_short() {
        let all = CIS_V1_10.iter().chain(NSA).chain(MITRE);
        for control in all {
            assert!(!control.id.is_empty(), "{control:?}");
            assert!(!control.title.trim().is_empty(), "{control:?}");
            assert!(control.title.len() <= 70, "{control:?}: title too long");
        }
        let sections = CIS_V1_10_SECTIONS
            .iter()
            .chain(NSA_SECTIONS)
            .chain(MITRE_SECTIONS);
        for section in sections {
            assert!(
                !section.id.is_empty() && !section.title.is_empty(),
                "{section:?}"
            );
        }
    }

    #[test]
    fn every_cis_control_is_in_a_section_and_every_section_has_controls() {
        for control in CIS_V1_10 {
            let section = cis_section(control.id);
            assert!(
                CIS_V1_10_SECTIONS.iter().any(|s| s.id == section),
                "{}: no section {section:?}",
                control.id
            );
        }
        for section in CIS_V1_10_SECTIONS {
            assert!(
                CIS_V1_10.iter().any(|c| cis_section(c.id) == section.id),
                "section {} has no controls",
                section.id
            );
        }
        // Sections are listed in benchmark order too.
        let keys: Vec<Vec<u32>> = CIS_V1_10_SECTIONS.iter().map(|s| cis_key(s.id)).collect();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "sections out of order"
        );
    }

    #[test]
    fn cis_is_in_benchmark_order_and_complete() {
        let keys: Vec<Vec<u32>> = CIS_V1_10.iter().map(|c| cis_key(c.id)).collect();
        for (w, pair) in keys.windows(2).zip(CIS_V1_10.windows(2)) {
            assert!(w[0] < w[1], "{} comes before {}", pair[0].id, pair[1].id);
        }
        // Within a section, recommendations are numbered 1, 2, 3... with no gaps.
        for section in CIS_V1_10_SECTIONS {
            let numbers: Vec<u32> = CIS_V1_10
                .iter()
                .filter(|c| cis_section(c.id) == section.id)
                .map(|c| *cis_key(c.id).last().unwrap())
                .collect();
            let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
            assert_eq!(numbers, expected, "section {}", section.id);
        }
        assert_eq!(CIS_V1_10.len(), 130);
        let manual = CIS_V1_10.iter().filter(|c| c.assessment == Manual).count();
        assert_eq!(manual, 60);
        // A few markings that are easy to get wrong.
        let assessment = |id: &str| CIS_V1_10.iter().find(|c| c.id == id).unwrap().assessment;
        assert_eq!(assessment("1.2.1"), Manual);
        assert_eq!(assessment("1.2.2"), Automated);
        assert_eq!(assessment("4.2.1"), Automated);
        assert_eq!(assessment("4.2.4"), Manual);
        assert_eq!(assessment("5.1.1"), Automated);
        assert_eq!(assessment("5.2.2"), Manual);
    }

    #[test]
    fn every_nsa_control_has_a_chapter_and_every_chapter_has_controls() {
        for control in NSA {
            let chapter = nsa_chapter(control.id);
            assert!(
                NSA_SECTIONS.iter().any(|s| s.id == chapter),
                "{}: no chapter {chapter:?}",
                control.id
            );
        }
        for (id, _) in NSA_CHAPTER {
            assert!(
                NSA.iter().any(|c| c.id == *id),
                "NSA_CHAPTER: unknown control {id:?}"
            );
        }
        for section in NSA_SECTIONS {
            assert!(
                NSA.iter().any(|c| nsa_chapter(c.id) == section.id),
                "chapter {} has no controls",
                section.id
            );
        }
        assert_eq!(nsa_chapter("no such sub-section"), "");
    }

    #[test]
    fn nsa_holds_the_ids_the_checks_use() {
        for id in [
            "Audit logging",
            "Authentication and authorization",
            "Immutable container file systems",
            "Non-root containers and rootless container engines",
            "Pod security",
            "Resource policies",
            "Secrets",
            "Upgrading and application security practices",
            "Control plane hardening",
            "Etcd",
            "Logging",
            "Namespaces",
            "Network separation and hardening",
            "Worker node protection",
        ] {
            assert!(NSA.iter().any(|c| c.id == id), "NSA: {id:?} missing");
        }
    }

    #[test]
    fn every_mitre_technique_has_one_known_tactic() {
        for control in MITRE {
            let tactics: Vec<&str> = MITRE_TACTIC
                .iter()
                .filter(|(id, _)| *id == control.id)
                .map(|(_, tactic)| *tactic)
                .collect();
            assert_eq!(tactics.len(), 1, "{}: tactics {tactics:?}", control.id);
            assert!(
                MITRE_SECTIONS.iter().any(|s| s.id == tactics[0]),
                "{}: unknown tactic {}",
                control.id,
                tactics[0]
            );
            assert_eq!(control.assessment, Automated, "{}", control.id);
        }
        for (id, _) in MITRE_TACTIC {
            assert!(
                MITRE.iter().any(|c| c.id == *id),
                "MITRE_TACTIC: unknown {id:?}"
            );
        }
        for section in MITRE_SECTIONS {
            assert!(
                MITRE_TACTIC.iter().any(|(_, tactic)| *tactic == section.id),
                "tactic {} has no techniques",
                section.id
            );
        }
    }

    #[test]
    fn mitre_holds_the_ids_the_checks_use() {
        let used = "T1021 T1021.004 T1036 T1040 T1041 T1046 T1070 T1078 T1078.001 T1078.004 \
                    T1098 T1133 T1134 T1190 T1485 T1499 T1525 T1528 T1548.001 T1552 T1552.001 \
                    T1552.005 T1552.007 T1557 T1562 T1609 T1610 T1611 T1613 T1649";
        for id in used.split_whitespace() {
            assert!(MITRE.iter().any(|c| c.id == id), "MITRE: {id} missing");
        }
        // Every sub-technique's parent is in the catalogue too.
        for control in MITRE {
            if let Some((parent, _)) = control.id.split_once('.') {
                assert!(
                    MITRE.iter().any(|c| c.id == parent),
                    "{}: no parent",
                    control.id
                );
            }
        }
    }
}
