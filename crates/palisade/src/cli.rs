//! Command-line arguments. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use palisade_engine::Profile;
use palisade_model::Severity;

/// Finds, explains and blocks the Kubernetes misconfigurations that get clusters breached.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about, max_term_width = 100)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan manifests (files, directories, kustomize directories, Helm charts, or `-` for stdin).
    Scan(ScanArgs),
    /// List and explain the checks.
    Checks {
        #[command(subcommand)]
        command: ChecksCommand,
    },
    /// Ask RBAC questions of the Roles and bindings in manifests or a cluster snapshot.
    Rbac {
        #[command(subcommand)]
        command: RbacCommand,
    },
    /// Ask which workloads can reach which under the NetworkPolicies of manifests or a
    /// cluster snapshot.
    Netpol {
        #[command(subcommand)]
        command: NetpolCommand,
    },
    /// Write every object of a live cluster to one `kind: List` file (Secret values
    /// removed), for `scan`, `rbac` and `netpol` to analyse offline.
    Snapshot(SnapshotArgs),
    /// Enforce the checks at deploy time: the validating admission webhook.
    Admission {
        #[command(subcommand)]
        command: AdmissionCommand,
    },
    /// Detect threats in Kubernetes audit logs with Falco rules.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Judge a node: the kubelet's effective configuration (defaults, `--config`, drop-ins,
    /// flags) and its Kubernetes files' permissions and owners (CIS 1.1, 4.1, 4.2). Run on
    /// the node (with hostPID and the host's root mounted read-only), or on a captured tree.
    Node(NodeArgs),
    /// Show what appeared and what was fixed, and when, from the evaluations `scan
    /// --database` recorded: per evaluation, per check and namespace, and across a fleet.
    History(HistoryArgs),
    /// Run in the cluster: watch every resource, judge what changes, and keep
    /// PolicyReports (one set per namespace, and the cluster's) current; `/metrics` for
    /// Prometheus; each evaluation recorded with `--database`.
    Operator(OperatorArgs),
    /// Images: known vulnerabilities of their OS packages, from an offline OSV database.
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// The offline vulnerability database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Match an image's installed OS packages (dpkg, apk, rpm) against the OSV database;
    /// exit 1 when a vulnerability is at least `--fail-on`.
    Scan(ImageScanArgs),
    /// Verify an image's cosign signatures offline: with a public key, or keyless
    /// (Fulcio certificate identity and issuer, Rekor inclusion proof), or as a policy
    /// file says; exit 1 when no signature satisfies it.
    Verify(ImageVerifyArgs),
    /// Print the digest each image reference names now (`IMAGE@sha256:…`), for pinning.
    Resolve {
        /// Image references (`ghcr.io/acme/app:1.4`).
        #[arg(required = true, value_name = "IMAGE")]
        images: Vec<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct ImageVerifyArgs {
    /// An image reference (`ghcr.io/acme/app:1.4`, best by digest) or an OCI image
    /// layout directory holding the image and its signatures.
    pub image: String,
    /// The signature policy (which images need which signers); the image must be
    /// covered by one of its rules.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key", "certificate_identity", "certificate_identity_regexp"])]
    pub policy: Option<PathBuf>,
    /// A public key (PEM) the image must be signed with (`cosign.pub`); several: any.
    #[arg(long, value_name = "FILE")]
    pub key: Vec<PathBuf>,
    /// Keyless: the certificate's identity (an email or URI), exactly.
    #[arg(long, value_name = "IDENTITY", requires = "issuer")]
    pub certificate_identity: Option<String>,
    /// Keyless: a regular expression the whole identity must match.
    #[arg(
        long,
        value_name = "REGEX",
        conflicts_with = "certificate_identity",
        requires = "issuer"
    )]
    pub certificate_identity_regexp: Option<String>,
    /// Keyless: the OIDC issuer, exactly.
    #[arg(long, value_name = "URL", group = "issuer")]
    pub certificate_oidc_issuer: Option<String>,
    /// Keyless: a regular expression the whole issuer must match.
    #[arg(long, value_name = "REGEX", group = "issuer")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// The Sigstore trust root (`trusted_root.json`: Fulcio CAs, Rekor keys) keyless
    /// signatures and log entries are checked against; overrides the policy's.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Keep verified digests in this file, so verifying them again asks no registry.
    /// [default: ~/.cache/palisade/signatures.json]
    #[arg(long, value_name = "FILE")]
    pub signature_cache: Option<PathBuf>,
    /// Verify afresh, without the cache.
    #[arg(long)]
    pub no_cache: bool,
    #[arg(long, short = 'f', value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// What the admission webhook asks registries.
#[derive(Debug, Clone, clap::Args)]
pub struct AdmissionImageArgs {
    /// Deny (or warn, as the admission mode of `image-signature` says) pods whose
    /// images are not signed as this signature policy requires.
    #[arg(long, value_name = "FILE")]
    pub image_policy: Option<PathBuf>,
    /// Keep verified digests in this file across restarts. [default: in memory]
    #[arg(long, value_name = "FILE", requires = "image_policy")]
    pub signature_cache: Option<PathBuf>,
    /// Images verified at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub image_concurrency: usize,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// What `scan` asks registries about the images it sees.
#[derive(Debug, Clone, clap::Args)]
pub struct ScanImageArgs {
    /// Pull each image (by the digest it runs, for a live Pod) and match its OS
    /// packages against --vuln-db: check `image-vulnerable`.
    #[arg(long, requires = "vuln_db")]
    pub scan_images: bool,
    /// Verify each image's cosign signatures against this policy (which images need
    /// which signer): check `image-signature`.
    #[arg(long, value_name = "FILE")]
    pub image_policy: Option<PathBuf>,
    /// Keep verified digests in this file (JSON), so a later run verifies them without
    /// asking the registry. [default: in memory]
    #[arg(long, value_name = "FILE", requires = "image_policy")]
    pub signature_cache: Option<PathBuf>,
    /// Resolve each unpinned image's tag to the digest it names now, so
    /// `image-not-pinned` says what to pin.
    #[arg(long)]
    pub resolve_digests: bool,
    /// Where pulled images are kept. [default: ~/.cache/palisade/images]
    #[arg(long, value_name = "DIR")]
    pub image_cache: Option<PathBuf>,
    /// Images fetched or verified at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub image_concurrency: usize,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// How to reach image registries.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// A docker config.json with registry credentials (`auths`, `credHelpers`,
    /// `credsStore`). [default: $DOCKER_CONFIG/config.json, ~/.docker/config.json]
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
    /// Trust this CA (PEM) for registries' certificates, besides the system's.
    #[arg(long = "registry-ca", value_name = "FILE")]
    pub registry_ca: Vec<PathBuf>,
    /// Reach this registry (`host:port`) over plain HTTP. Only for registries on a
    /// network you trust: nothing is encrypted or authenticated.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Give up on a registry request after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub registry_timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct ImageScanArgs {
    /// An image reference (`ghcr.io/acme/app:1.4`, pulled into `--cache`) or an OCI
    /// image layout directory (`skopeo copy docker://IMAGE oci:DIR`).
    pub image: String,
    /// Where pulled images are kept (an OCI layout; blobs already there are not pulled
    /// again). [default: ~/.cache/palisade/images]
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// The database directory (`palisade db update`). [default: ~/.cache/palisade/db]
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,
    /// Exit 1 at this severity or above (`unknown` ranks as medium; `none`: never).
    /// [default: high]
    #[arg(long, value_name = "SEVERITY", value_parser = parse_fail_on)]
    pub fail_on: Option<FailOn>,
    #[arg(long, short = 'f', value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import OSV records: OSV's zip exports (`Debian/all.zip`), JSON files (one record,
    /// or an array) and directories of them, replacing records already there.
    Update {
        /// Zip exports, JSON files, or directories of them.
        #[arg(long = "from", required = true, value_name = "PATH")]
        from: Vec<PathBuf>,
        /// The database directory. [default: ~/.cache/palisade/db]
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct OperatorArgs {
    /// The kubeconfig file (default: the pod's service account inside a cluster, else
    /// $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of the current one.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Give up on a request to the API server after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub request_timeout: u64,
    /// The report types: `wgpolicy` (wgpolicyk8s.io/v1alpha2 PolicyReport and
    /// ClusterPolicyReport) or `openreports` (openreports.io/v1alpha1 Report and
    /// ClusterReport).
    #[arg(long, value_enum, default_value_t = ReportApiArg::Wgpolicy)]
    pub report_api: ReportApiArg,
    /// Largest report object in bytes; a namespace with more results gets several.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024)]
    pub max_report_bytes: usize,
    /// Seconds to gather changes before judging them together: a change is judged at
    /// most this long after it is seen.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub debounce: f64,
    /// Serve Prometheus metrics on this address (`0.0.0.0:8080`), plain HTTP.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Only these resources (plural names, `pods`, `roles.rbac.authorization.k8s.io`).
    #[arg(long, value_delimiter = ',', value_name = "RESOURCE")]
    pub only: Vec<String>,
    /// Record each evaluation in this history database (SQLite file or `postgres://`).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// The cluster's name in the history database. [default: the kube context]
    #[arg(long, value_name = "NAME", requires = "database")]
    pub cluster_name: Option<String>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportApiArg {
    Wgpolicy,
    Openreports,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The history database: a SQLite file, or a `postgres://` URL.
    #[arg(long, value_name = "URL")]
    pub database: String,

    /// Only this cluster's evaluations (the name `scan --cluster-name` gave).
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,

    /// Only this check's changes.
    #[arg(long, value_name = "ID")]
    pub check: Option<String>,

    /// Only this namespace's changes (`""` for cluster-scoped objects).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,

    /// Only changes since then: a duration back from now (`90m`, `24h`, `7d`) or a date
    /// (`2026-12-01`, UTC).
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<i64>,

    /// Compare the clusters: each one's latest evaluation and its open findings by check.
    #[arg(long, conflicts_with_all = ["check", "namespace", "since"])]
    pub fleet: bool,

    /// Evaluations to list, and changes to print before saying how many more there are.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    #[arg(long, short = 'f', value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Text,
    Json,
}

/// Unix seconds for `--since`.
fn parse_since(s: &str) -> Result<i64, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let unit = |c: char| match c {
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        _ => None,
    };
    if let Some(last) = s.chars().last().filter(|c| unit(*c).is_some()) {
        if let Ok(n) = s[..s.len() - 1].parse::<i64>() {
            return Ok(now - n * unit(last).unwrap_or(1));
        }
    }
    let parts: Vec<&str> = s.split('-').collect();
    if let [y, m, d] = parts[..] {
        if let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) {
            if let Ok(month) = time::Month::try_from(m) {
                if let Ok(date) = time::Date::from_calendar_date(y, month, d) {
                    return Ok(date.midnight().assume_utc().unix_timestamp());
                }
            }
        }
    }
    Err(format!(
        "{s:?} is neither a duration (90m, 24h, 7d) nor a date (2026-12-01)"
    ))
}

#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// The node's root directory: `/` on the node itself, the host's root mounted into a
    /// pod (`/host`), or a captured tree with `proc/<pid>/cmdline` files.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Judge a capture written by `--collect` (on another machine, later).
    #[arg(long, value_name = "FILE", conflicts_with = "collect")]
    pub from: Option<PathBuf>,

    /// Write what the checks need to `-o FILE` as JSON instead of judging: command lines,
    /// configuration files, and each file's type, mode and owner (key files are never read).
    #[arg(long, requires = "output")]
    pub collect: bool,

    /// Print the kubelet's effective configuration, each value with where it came from,
    /// instead of judging.
    #[arg(long, conflicts_with = "collect")]
    pub show_config: bool,

    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Write the report (or the capture) to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit 1 when a finding is at least this severity (`none`: never). [default: high]
    #[arg(long, value_name = "SEVERITY", value_parser = parse_fail_on)]
    pub fail_on: Option<FailOn>,

    /// Run only these checks (ids, or the categories `node` and `control-plane`; the
    /// control-plane flag checks judge the components found on the node).
    #[arg(long, value_delimiter = ',', value_name = "ID|CATEGORY")]
    pub select: Vec<String>,

    /// Skip these checks or categories.
    #[arg(long, value_delimiter = ',', value_name = "ID|CATEGORY")]
    pub ignore: Vec<String>,

    /// Score frameworks on this node (`cis` for sections 1.1 and 4; `all`): every
    /// control passed, failed, not applicable or not evaluated, and why.
    #[arg(long, value_delimiter = ',', value_name = "FRAMEWORK", value_parser = parse_framework)]
    pub framework: Vec<Frameworks>,

    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Read audit log files once (JSON lines, `.gz` too) and print a detection per rule
    /// an event matches; exit 1 if there is any.
    Scan(AuditScanArgs),
    /// Follow audit log files as they grow and rotate, writing each detection exactly
    /// once to an output file across restarts (checkpoints in SQLite).
    Watch(AuditWatchArgs),
    /// Receive the API server's audit webhook backend (an EventList per POST, HTTPS,
    /// optional client certificates); each batch is durable in a spool before it is
    /// acknowledged, then matched like a log, each detection written once.
    Serve(AuditServeArgs),
    /// Print the audit policy Palisade recommends for kube-apiserver's
    /// --audit-policy-file: Secrets at Metadata, workload and RBAC changes with bodies,
    /// control-plane noise dropped.
    Policy,
}

#[derive(Debug, clap::Args)]
pub struct AuditScanArgs {
    /// Audit log files (the API server's log backend: one JSON Event per line).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: AuditRulesArgs,
    /// `text`: one readable line per detection; `falco-json`: Falco's JSON output
    /// format; `ecs`: Elastic Common Schema; `ocsf`: OCSF API Activity; `cef`: CEF in
    /// RFC 5424 syslog lines. One detection per line.
    #[arg(long, short = 'f', value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
}

/// The rules and the hostname of `audit scan` and `audit watch`.
#[derive(Debug, clap::Args)]
pub struct AuditRulesArgs {
    /// Falco rule files (e.g. Falco's k8s_audit_rules.yaml), read in order; later files
    /// append to or replace earlier ones' lists, macros and rules. `palisade` names
    /// Palisade's own rules, which are the default.
    #[arg(long = "rules", short = 'r', value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// The hostname written in `falco-json` and `cef` detections.
    #[arg(long, default_value = "palisade")]
    pub hostname: String,
}

#[derive(Debug, clap::Args)]
pub struct AuditWatchArgs {
    /// Audit log files to follow (rotated copies are found by inode; a `.gz` file is an
    /// old rotation, read once).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub follow: AuditFollowArgs,
}

/// What `audit watch` and `audit serve` share: rules, output and checkpoints.
#[derive(Debug, clap::Args)]
pub struct AuditFollowArgs {
    #[command(flatten)]
    pub rules: AuditRulesArgs,
    #[arg(long, short = 'f', value_enum, default_value_t = AuditFormat::FalcoJson)]
    pub format: AuditFormat,
    /// Where detections go: a file they are appended to (exactly once across
    /// restarts), `-` for stdout, or an https:// URL each is POSTed to (Falco's HTTP
    /// output; delivery blocks until accepted, at least once, with a stable
    /// X-Palisade-Detection-Id).
    #[arg(long, short = 'o', value_name = "FILE|-|URL")]
    pub output: String,
    /// The CA (PEM) that signed an https output's certificate (default: system roots).
    #[arg(long, value_name = "FILE")]
    pub output_ca: Option<PathBuf>,
    /// The SQLite database of checkpoints.
    #[arg(long, value_name = "FILE", default_value = "palisade-audit.db")]
    pub state: PathBuf,
    /// Milliseconds between looks at the files.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub poll_ms: u64,
    /// Stop after this many milliseconds with nothing new (0: never).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub exit_when_idle_ms: u64,
    /// How many events with detections are remembered (by auditID and stage) so that
    /// one delivered again is reported once.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub dedup_window: usize,
}

#[derive(Debug, clap::Args)]
pub struct AuditServeArgs {
    /// Address and port to listen on (the webhook kubeconfig's server is
    /// https://HOST:PORT/audit).
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: std::net::SocketAddr,
    /// The serving certificate (PEM); reloaded when it changes.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// The serving certificate's private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    /// Accept batches only from clients with a certificate signed by this CA (PEM):
    /// the API server's client-certificate in the webhook kubeconfig.
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
    /// The spool directory: batches are durable here before they are acknowledged.
    #[arg(long, value_name = "DIR", default_value = "palisade-audit-spool")]
    pub spool: PathBuf,
    /// Most unread spool, in MiB, before --when-full applies.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub max_spool_mb: u64,
    /// A full spool: `reject` answers 429 (the API server retries, then drops the
    /// batch), `drop` acknowledges and drops it here. Both are counted in /metrics.
    #[arg(long, value_enum, default_value_t = WhenFullArg::Reject)]
    pub when_full: WhenFullArg,
    /// Largest batch, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    pub max_batch_mb: usize,
    /// Audit log files to follow as well (one de-duplication across all inputs).
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub follow: AuditFollowArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhenFullArg {
    Reject,
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Text,
    FalcoJson,
    Ecs,
    Ocsf,
    Cef,
}

#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Serve the validating admission webhook over HTTPS (POST /validate; /healthz,
    /// /readyz, /metrics).
    Serve(AdmissionServeArgs),
    /// Answer AdmissionReviews (JSON files) as the webhook would, or manifests, each
    /// object sent as a CREATE review in file order; exit 1 if any is denied.
    Review(AdmissionReviewArgs),
    /// Write a self-signed CA and a serving certificate for the webhook's Service
    /// (ca.crt, tls.crt, tls.key), for clusters without cert-manager.
    Certs(AdmissionCertsArgs),
    /// Write the checks CEL can express as ValidatingAdmissionPolicy and binding objects
    /// (Kubernetes 1.30+), to enforce them with no webhook.
    ExportVap(AdmissionExportVapArgs),
}

#[derive(Debug, clap::Args)]
pub struct AdmissionServeArgs {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:8443")]
    pub listen: std::net::SocketAddr,
    /// The serving certificate (PEM, the chain first to last); reloaded when it changes.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// The serving certificate's private key (PEM); reloaded when it changes.
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub images: AdmissionImageArgs,
    /// Largest request body in bytes; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_body: usize,
    /// Most reviews in flight; more get 429 at once, so the API server applies the
    /// webhook's failurePolicy instead of waiting out its timeout.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_in_flight: usize,
    /// Seconds a client has to send a request's headers and body.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub read_timeout: u64,
    /// Seconds between looks at the certificate files.
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub reload_interval: u64,
    /// Read every namespace's labels from the cluster (in-cluster service account, or
    /// the kubeconfig) at start and every N seconds, so that Pod Security and mode labels
    /// apply from the first review after a restart; /readyz fails until the first read.
    /// 0 reads nothing: namespaces are known from their own reviews only.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub namespace_refresh: u64,
    /// The kubeconfig file for `--namespace-refresh` (default: in-cluster, then
    /// $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Log format: json (one object per line, for log pipelines) or text.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, clap::Args)]
pub struct AdmissionReviewArgs {
    /// AdmissionReview JSON files, or manifests.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub images: AdmissionImageArgs,
    /// Print each answer as the AdmissionReview JSON the webhook sends (one per line).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct AdmissionExportVapArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Names of the policies and bindings start with this.
    #[arg(long, default_value = "palisade")]
    pub name_prefix: String,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// YAML documents, or one JSON `v1` List.
    #[arg(long, short = 'f', value_enum, default_value_t = VapFormat::Yaml)]
    pub format: VapFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VapFormat {
    Yaml,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct AdmissionCertsArgs {
    /// The webhook's Service name.
    #[arg(long, default_value = "palisade-admission")]
    pub service: String,
    /// The Service's namespace.
    #[arg(long, default_value = "palisade-system")]
    pub namespace: String,
    /// More DNS names or IP addresses for the certificate.
    #[arg(long, value_name = "NAME")]
    pub extra_name: Vec<String>,
    /// Days the certificates are valid.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Directory to write ca.crt, tls.crt and tls.key into (created if missing; the key
    /// is written readable by its owner only).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// The file to write (`-` for stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Only namespaced objects of this namespace (cluster-scoped objects are kept).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of the current one.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Give up on a request to the API server after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub request_timeout: u64,
}

/// Where a live cluster is: with `--cluster`, the command reads the cluster instead of
/// files, read-only (see `deploy/` for the ClusterRole it needs).
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Read the live cluster of the current kubeconfig context (or the pod's service
    /// account inside a cluster) instead of files.
    #[arg(long)]
    pub cluster: bool,
    /// The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of the current one.
    #[arg(long, value_name = "NAME", requires = "cluster")]
    pub context: Option<String>,
    /// Give up on a request to the API server after this many seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "cluster"
    )]
    pub request_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum NetpolCommand {
    /// List every allowed connection between the workloads and external address ranges,
    /// one `src => dst : conns` line each, as np-guard's netpol-analyzer does.
    Connections(ConnectionsArgs),
    /// Say whether SRC may connect to DST, and which policies and rules decide it
    /// (exit 0 allowed, 1 denied).
    Explain(ExplainArgs),
}

#[derive(Debug, clap::Args)]
pub struct ConnectionsArgs {
    /// Manifests, directories or snapshots holding the policies and workloads (`-` for stdin).
    #[arg(
        required_unless_present = "cluster",
        conflicts_with = "cluster",
        value_name = "PATH"
    )]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[arg(long, short = 'f', value_enum, default_value_t = ConnectionsFormat::Txt)]
    pub format: ConnectionsFormat,
    /// Only the connections of this workload (`namespace/name`).
    #[arg(long, value_name = "NS/NAME")]
    pub focus: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConnectionsFormat {
    Txt,
    Json,
    /// Graphviz DOT.
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The source: a workload (`namespace/name`) or an external IP address.
    pub src: String,
    /// The destination: a workload (`namespace/name`) or an external IP address.
    pub dst: String,
    /// Manifests, directories or snapshots holding the policies and workloads (`-` for stdin).
    #[arg(
        required_unless_present = "cluster",
        conflicts_with = "cluster",
        value_name = "PATH"
    )]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// One port: `443`, `53/UDP`, `9000/SCTP` (TCP when no protocol is given).
    #[arg(long, value_name = "PORT[/PROTO]")]
    pub port: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RbacCommand {
    /// Answer `yes` (exit 0) or `no` (exit 1), as `kubectl auth can-i` would against a
    /// cluster holding these objects and Kubernetes' default roles and bindings.
    ///
    /// Examples: `can-i get pods --as jane -n dev PATH`, `can-i create deployments.apps
    /// --as system:serviceaccount:ci:deployer PATH`, `can-i get /healthz --as bob PATH`.
    CanI(CanIArgs),
    /// List every subject that may make a request, with the binding and role that grant it.
    WhoCan(WhoCanArgs),
    /// List chains of permissions that lead a subject to cluster-admin power, shortest
    /// first (exit 1 when there are any).
    Escalations(EscalationArgs),
}

#[derive(Debug, clap::Args)]
pub struct CanIArgs {
    /// The verb: get, list, watch, create, update, patch, delete, deletecollection, use,
    /// bind, escalate, impersonate, approve, `*`, ...
    pub verb: String,
    /// TYPE[/NAME] (`pods`, `deploy/web`, `jobs.batch`, `*`), or a non-resource URL
    /// starting with `/`.
    #[arg(value_name = "RESOURCE[/NAME]|URL")]
    pub resource: String,
    /// Manifests, directories or snapshots holding the RBAC objects (`-` for stdin).
    #[arg(
        required_unless_present = "cluster",
        conflicts_with = "cluster",
        value_name = "PATH"
    )]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The subresource (`log`, `exec`, `status`, `scale`, ...).
    #[arg(long, value_name = "SUBRESOURCE")]
    pub subresource: Option<String>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// The user to ask for (`alice`, `system:serviceaccount:NS:NAME`, `system:anonymous`).
    #[arg(long = "as", value_name = "USER")]
    pub as_user: String,
    /// A group the user is in (repeatable). A service account brings its own groups only
    /// when no group is given, as the API server's impersonation does.
    #[arg(long = "as-group", value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// Name the binding, role and rule that grant the request (or say that none does).
    #[arg(long)]
    pub explain: bool,
    /// Print nothing; the exit code is the answer.
    #[arg(long, short = 'q', conflicts_with = "explain")]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct ScopeArgs {
    /// The namespace of the request [default: default].
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// Every namespace at once: can-i asks cluster-wide; who-can lists grants in any
    /// namespace, each with the namespace it holds in.
    #[arg(long, short = 'A', conflicts_with = "namespace")]
    pub all_namespaces: bool,
}

impl ScopeArgs {
    /// The request's namespace: empty with `-A`, else the one given or `default`, as
    /// kubectl assumes.
    #[must_use]
    pub fn request_namespace(&self) -> String {
        if self.all_namespaces {
            String::new()
        } else {
            self.namespace.clone().unwrap_or_else(|| "default".into())
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct WhoCanArgs {
    /// The verb.
    pub verb: String,
    /// TYPE (`pods`, `secrets`, `deployments.apps`, `*`) or a non-resource URL.
    #[arg(value_name = "RESOURCE|URL")]
    pub resource: String,
    /// Manifests, directories or snapshots holding the RBAC objects (`-` for stdin).
    #[arg(
        required_unless_present = "cluster",
        conflicts_with = "cluster",
        value_name = "PATH"
    )]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Only grants that cover this object name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The subresource (`log`, `exec`, `status`, `scale`, ...).
    #[arg(long, value_name = "SUBRESOURCE")]
    pub subresource: Option<String>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Json,
    /// Graphviz DOT.
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct EscalationArgs {
    /// Manifests, directories or snapshots holding the RBAC objects (`-` for stdin).
    #[arg(
        required_unless_present = "cluster",
        conflicts_with = "cluster",
        value_name = "PATH"
    )]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[arg(long, short = 'f', value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
    /// Also list Kubernetes' own principals (system:* users and groups, kube-system
    /// service accounts), which hold such power by design.
    #[arg(long)]
    pub include_system: bool,
}

#[derive(Debug, Subcommand)]
pub enum ChecksCommand {
    /// List every check: id, severity, category, title.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Explain one check: what it flags, why it matters, how to fix it, mappings, peers.
    Explain {
        /// The check id (e.g. `privileged`).
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Findings grouped by object, for people.
    Table,
    /// The JSON report (a stable contract).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
    /// One self-contained HTML page: summary, charts, findings by namespace and check
    /// with their lines and fixes, RBAC escalation paths and network reachability drawn.
    Html,
    /// Markdown for a pull-request comment.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The lowest severity that fails the run, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Severity(Severity),
    Never,
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("never") {
        return Ok(FailOn::Never);
    }
    Severity::parse(s)
        .map(FailOn::Severity)
        .ok_or_else(|| format!("{s:?} is not a severity (critical, high, medium, low, info, none)"))
}

/// The frameworks one `--framework` value names (`all` names every one).
#[derive(Debug, Clone)]
pub struct Frameworks(pub Vec<palisade_model::Framework>);

fn parse_framework(s: &str) -> Result<Frameworks, String> {
    if s == "all" {
        return Ok(Frameworks(palisade_compliance::FRAMEWORKS.to_vec()));
    }
    palisade_compliance::framework(s)
        .map(|f| Frameworks(vec![f]))
        .ok_or_else(|| format!("{s:?} is not a framework (cis, nsa, mitre, pss, all)"))
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan (`-` reads stdin). Directories are searched
    /// recursively for .yaml, .yml and .json; a directory with kustomization.yaml is
    /// rendered with `kubectl kustomize`, one with Chart.yaml with `helm template`.
    #[arg(
        required_unless_present = "cluster",
        conflicts_with = "cluster",
        value_name = "PATH"
    )]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// With --cluster: only namespaced objects of this namespace (cluster-scoped objects
    /// are still read; RBAC and network analyses need them).
    #[arg(long, short = 'n', value_name = "NS", requires = "cluster")]
    pub namespace: Option<String>,

    /// The OSV database in DIR (`palisade db update`): with --cluster the API server's
    /// Kubernetes version is matched against it (`kubernetes-version-vulnerable`); with
    /// --scan-images each image's packages are (`image-vulnerable`).
    #[arg(long, value_name = "DIR")]
    pub vuln_db: Option<PathBuf>,

    #[command(flatten)]
    pub images: ScanImageArgs,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit 1 when a finding is at or above this severity (`none` never fails).
    /// [default: high, or `fail-on:` in the config file]
    #[arg(long, value_name = "SEVERITY", value_parser = parse_fail_on)]
    pub fail_on: Option<FailOn>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Judge against frameworks (`cis`, `nsa`, `mitre`, `pss`, or `all`): run only the
    /// checks mapped to them and report each framework's score with every control passed,
    /// failed, not applicable or not evaluated (and why).
    #[arg(long, value_delimiter = ',', value_name = "FRAMEWORK", value_parser = parse_framework)]
    pub framework: Vec<Frameworks>,

    /// Record this evaluation in a history database (a SQLite file, or a `postgres://`
    /// URL shared by a fleet): what appeared and what was fixed since the last one.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,

    /// The name history keeps this evaluation under: the cluster's, or the manifests'.
    /// [default: the kube context with --cluster, else the paths scanned]
    #[arg(long, value_name = "NAME", requires = "database")]
    pub cluster_name: Option<String>,

    /// Accept the findings recorded in this baseline file: only new findings are
    /// reported as findings and can fail the run.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record the current findings (after exceptions) in FILE as a baseline, and exit 0
    /// unless inputs could not be read.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,

    /// Colour the table: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// How objects are judged: the config file and what the command line changes of it.
/// `scan` and `admission` share these, so both judge an object alike.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// Pod Security Standards level and version: LEVEL[:VERSION], LEVEL one of privileged,
    /// baseline, restricted; VERSION `latest` or v1.0 to v1.37. Objects in a Namespace of
    /// the input labelled pod-security.kubernetes.io/enforce[-version] use those labels.
    /// [default: restricted:latest, or `pss:` in the config file]
    #[arg(long, value_name = "LEVEL[:VERSION]", value_parser = |s: &str| s.parse::<Profile>())]
    pub pss: Option<Profile>,

    /// Run only these checks or categories (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "ID|CATEGORY")]
    pub select: Vec<String>,

    /// Skip these checks or categories (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "ID|CATEGORY")]
    pub ignore: Vec<String>,

    /// Read this config file instead of the nearest `.palisade.yaml` (or `.palisade.yml`)
    /// in the working directory or a directory above it.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Read no config file.
    #[arg(long)]
    pub no_config: bool,

    /// Ignore inline exceptions (`palisade.dev/ignore` annotations); config-file
    /// exceptions still apply.
    #[arg(long)]
    pub strict: bool,

    /// Image registry (`ghcr.io`) or repository prefix (`ghcr.io/acme/`) images may come
    /// from; adds to `registries.allowed` in the config. Repeat or comma-separate.
    #[arg(long, value_delimiter = ',', value_name = "REGISTRY")]
    pub allowed_registry: Vec<String>,
}
