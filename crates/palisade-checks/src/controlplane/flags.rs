//! Control-plane components found in containers, and their command lines read as the
//! components read them.
//!
//! A container is a component when its `command` starts with the component's binary
//! (`kube-apiserver`, `/usr/local/bin/kube-apiserver`), or, when it has no `command`, when
//! its image is the component's (`registry.k8s.io/kube-apiserver:v1.30.0`, whose
//! entrypoint is the binary). The flags are `command[1..]` then `args`, as the kubelet
//! joins them. A shell wrapper (`command: [sh, -c, "kube-apiserver ..."]`) is not read.
//!
//! The Kubernetes components parse flags with `spf13/pflag`:
//! - `--flag=value`; `--flag value` takes the next element as the value, whatever it
//!   looks like (`--token-auth-file --profiling=false` sets the file to
//!   `--profiling=false`), except for booleans, which only take `--flag=value`: a bare
//!   `--profiling` is `true` and the next element is left alone;
//! - a flag given twice keeps the last value, except lists (`--authorization-mode`,
//!   `--enable-admission-plugins`, `--tls-cipher-suites`), whose occurrences add up, each
//!   read as one CSV record (so `"A,B"` in double quotes is one item `A,B`); map flags
//!   (`--feature-gates`) merge, the last value of a key winning;
//! - `--` ends the flags; other elements that do not start with `--` are positional and
//!   skipped, single-dash shorthands (`-v=2`, `-v 2`) included;
//! - values are never unquoted: `--audit-log-path="/x"` names the file `"/x"`, quotes
//!   included; integers take Go's base prefixes (`0x1e`, and `030` is octal 24).
//!
//! etcd parses its flags with Go's `flag` package: `-flag` and `--flag` are the same,
//! parsing stops at the first element that is not a flag, and an `ETCD_<FLAG>`
//! environment variable sets a flag the command line does not (`ETCD_CLIENT_CERT_AUTH`).
//!
//! A flag this module does not know is taken as a boolean when the next element starts
//! with `-`, and as taking that element otherwise. Values a component would refuse (an
//! invalid boolean, a list that is not valid CSV) read as unknown, and checks do not
//! judge them: the component would not start.

use palisade_inventory::{ContainerKind, ContainerView, PodSpecView};
use palisade_source::Node;

use crate::image::reference::ImageRef;

/// A control-plane component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    ApiServer,
    ControllerManager,
    Scheduler,
    Etcd,
}

/// How a component parses its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// `spf13/pflag`: the Kubernetes components.
    Pflag,
    /// Go's `flag` package: etcd.
    GoFlag,
}

/// Boolean flags of the Kubernetes components (they never take the next element).
const KUBE_BOOLS: &[&str] = &[
    "add-dir-header",
    "allocate-node-cidrs",
    "allow-privileged",
    "alsologtostderr",
    "anonymous-auth",
    "audit-log-compress",
    "audit-log-truncate-enabled",
    "audit-webhook-truncate-enabled",
    "authentication-skip-lookup",
    "authentication-tolerate-lookup-failure",
    "configure-cloud-routes",
    "contention-profiling",
    "disable-attach-detach-reconcile-sync",
    "disable-http2-serving",
    "enable-aggregator-routing",
    "enable-bootstrap-token-auth",
    "enable-dynamic-provisioning",
    "enable-garbage-collector",
    "enable-hostpath-provisioner",
    "enable-logs-handler",
    "enable-priority-and-fairness",
    "enable-taint-manager",
    "help",
    "kubelet-https",
    "leader-elect",
    "logtostderr",
    "one-output",
    "permit-address-sharing",
    "permit-port-sharing",
    "profiling",
    "service-account-extend-token-expiration",
    "service-account-lookup",
    "skip-headers",
    "skip-log-headers",
    "use-service-account-credentials",
    "version",
];

/// Flags of the Kubernetes components that take a value, which may be the next element.
const KUBE_VALUES: &[&str] = &[
    "admission-control",
    "admission-control-config-file",
    "audit-log-maxage",
    "audit-log-maxbackup",
    "audit-log-maxsize",
    "audit-log-path",
    "audit-policy-file",
    "audit-webhook-config-file",
    "authentication-config",
    "authorization-config",
    "authorization-mode",
    "bind-address",
    "client-ca-file",
    "config",
    "disable-admission-plugins",
    "enable-admission-plugins",
    "encryption-provider-config",
    "etcd-cafile",
    "etcd-certfile",
    "etcd-keyfile",
    "feature-gates",
    "insecure-bind-address",
    "insecure-port",
    "kubelet-certificate-authority",
    "kubelet-client-certificate",
    "kubelet-client-key",
    "root-ca-file",
    "service-account-key-file",
    "service-account-private-key-file",
    "terminated-pod-gc-threshold",
    "tls-cert-file",
    "tls-cipher-suites",
    "tls-private-key-file",
    "token-auth-file",
    "v",
];

/// Boolean flags of etcd.
const ETCD_BOOLS: &[&str] = &[
    "auto-tls",
    "client-cert-auth",
    "debug",
    "enable-grpc-gateway",
    "enable-pprof",
    "enable-v2",
    "experimental-initial-corrupt-check",
    "force-new-cluster",
    "help",
    "peer-auto-tls",
    "peer-client-cert-auth",
    "pre-vote",
    "strict-reconfig-check",
    "version",
];

/// Flags of etcd that take a value.
const ETCD_VALUES: &[&str] = &[
    "cert-file",
    "config-file",
    "key-file",
    "peer-cert-file",
    "peer-key-file",
    "peer-trusted-ca-file",
    "trusted-ca-file",
];

impl Component {
    pub const ALL: [Component; 4] = [
        Component::ApiServer,
        Component::ControllerManager,
        Component::Scheduler,
        Component::Etcd,
    ];

    /// The binary's name, which is also how messages name the component.
    #[must_use]
    pub fn binary(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Etcd => "etcd",
        }
    }

    fn from_binary(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.binary() == name)
    }

    fn syntax(self) -> Syntax {
        match self {
            Component::Etcd => Syntax::GoFlag,
            _ => Syntax::Pflag,
        }
    }

    fn flag_kinds(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Component::Etcd => (ETCD_BOOLS, ETCD_VALUES),
            _ => (KUBE_BOOLS, KUBE_VALUES),
        }
    }
}

/// One element of a container's `command` or `args`, with its node and field path.
#[derive(Debug, Clone)]
pub struct Arg<'d> {
    /// The element's text: a scalar's text as written, numbers included (`30`); empty
    /// for null and for collections, which the API server refuses anyway.
    pub text: &'d str,
    pub node: Node<'d>,
    pub path: String,
}

/// The value a flag was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'d> {
    /// `--flag` alone: a boolean set to true.
    Bare,
    /// `--flag=text` or `--flag text`.
    Text(&'d str),
    /// Set, to something that cannot be read: a value flag with nothing after it, an
    /// environment variable from a Secret or ConfigMap.
    Unknown,
}

/// One occurrence of a flag.
#[derive(Debug, Clone)]
pub struct Setting<'d> {
    /// The flag's name, without dashes.
    pub name: &'d str,
    pub value: Value<'d>,
    /// The element naming the flag (or the environment variable's `value`): where
    /// findings about this setting point.
    pub node: Node<'d>,
    pub path: String,
    /// Set by an `ETCD_*` environment variable rather than the command line.
    pub from_env: bool,
}

impl<'d> Setting<'d> {
    /// The text of the value; `None` for a bare flag or an unknown value.
    #[must_use]
    pub fn text(&self) -> Option<&'d str> {
        match self.value {
            Value::Text(t) => Some(t),
            Value::Bare | Value::Unknown => None,
        }
    }

    /// The value as a Go boolean (`strconv.ParseBool`); a bare flag is true.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bare => Some(true),
            Value::Text(t) => parse_go_bool(t),
            Value::Unknown => None,
        }
    }

    /// The value as a Go integer (`strconv.ParseInt(s, 0, 64)`).
    #[must_use]
    pub fn as_int(&self) -> Option<i64> {
        self.text().and_then(parse_go_int)
    }

    /// How the setting was written, for messages: `--profiling=true`, `--profiling`,
    /// `ETCD_AUTO_TLS=true`.
    #[must_use]
    pub fn written(&self) -> String {
        match (self.from_env, self.value) {
            (true, Value::Text(t)) => format!("{}={t}", env_name(self.name)),
            (true, _) => format!("{} (from a reference)", env_name(self.name)),
            (false, Value::Text(t)) => format!("--{}={t}", self.name),
            (false, Value::Bare) => format!("--{}", self.name),
            (false, Value::Unknown) => format!("--{} (no value)", self.name),
        }
    }
}

/// The environment variable etcd reads for `flag`: `ETCD_` and the name in upper case
/// with underscores.
#[must_use]
pub fn env_name(flag: &str) -> String {
    format!("ETCD_{}", flag.to_ascii_uppercase().replace('-', "_"))
}

/// A list flag's value: unset (the default applies), its items in order, or unreadable.
#[derive(Debug, Clone)]
pub enum List<'s, 'd> {
    Unset,
    Items(Vec<(String, &'s Setting<'d>)>),
    Invalid(&'s Setting<'d>),
}

/// The flags of one component's command line.
#[derive(Debug, Clone, Default)]
pub struct Flags<'d> {
    command_line: Vec<Setting<'d>>,
    env: Vec<Setting<'d>>,
}

impl<'d> Flags<'d> {
    /// Every occurrence of `name`, in order: the command line's, or when it has none, the
    /// environment's.
    #[must_use]
    pub fn all(&self, name: &str) -> Vec<&Setting<'d>> {
        let from_args = self.command_line.iter().any(|s| s.name == name);
        let source = if from_args {
            &self.command_line
        } else {
            &self.env
        };
        source.iter().filter(|s| s.name == name).collect()
    }

    /// The occurrence that counts for a scalar flag: the last.
    #[must_use]
    pub fn last(&self, name: &str) -> Option<&Setting<'d>> {
        self.all(name).pop()
    }

    /// The last occurrence when it has a non-empty value (or an unknown one): what
    /// "the flag is set" means for a file or address flag.
    #[must_use]
    pub fn set(&self, name: &str) -> Option<&Setting<'d>> {
        self.last(name)
            .filter(|s| !matches!(s.value, Value::Text("") | Value::Bare))
    }

    /// A boolean flag's value: `Some((value, setting))` when given, `None` when unset
    /// or unreadable (check [`Flags::last`] to tell them apart).
    #[must_use]
    pub fn bool(&self, name: &str) -> Option<(bool, &Setting<'d>)> {
        let s = self.last(name)?;
        s.as_bool().map(|b| (b, s))
    }

    /// A list flag (pflag `StringSlice`): every occurrence's CSV items, in order.
    #[must_use]
    pub fn list(&self, name: &str) -> List<'_, 'd> {
        let mut items = Vec::new();
        let mut any = false;
        for s in self.all(name) {
            any = true;
            let Some(text) = s.text() else {
                return List::Invalid(s);
            };
            let Some(fields) = read_csv_record(text) else {
                return List::Invalid(s);
            };
            items.extend(fields.into_iter().map(|f| (f, s)));
        }
        if any {
            List::Items(items)
        } else {
            List::Unset
        }
    }

    /// The value of `key` in a map flag such as `--feature-gates=A=true,B=false`, merged
    /// across occurrences (the last wins), with the occurrence that set it.
    #[must_use]
    pub fn map_bool(&self, name: &str, key: &str) -> Option<(bool, &Setting<'d>)> {
        let mut found = None;
        for s in self.all(name) {
            let Some(text) = s.text() else { continue };
            for item in text.split(',') {
                let Some((k, v)) = item.split_once('=') else {
                    continue;
                };
                if k.trim() == key {
                    if let Some(b) = parse_go_bool(v.trim()) {
                        found = Some((b, s));
                    }
                }
            }
        }
        found
    }
}

/// A control-plane component found in a container, with its flags.
#[derive(Debug, Clone)]
pub struct Target<'c, 'd> {
    pub component: Component,
    pub container: &'c ContainerView<'d>,
    pub flags: Flags<'d>,
    /// Where findings about a missing flag point: the container's `command` (or `args`)
    /// key, or the container itself.
    pub anchor: Node<'d>,
    pub anchor_path: String,
    /// `(major, minor)` from the image tag (`v1.30.0` is `(1, 30)`), when it has one.
    pub version: Option<(u32, u32)>,
}

impl Target<'_, '_> {
    /// `kube-apiserver (container "apiserver")`, or just the binary when the container
    /// is named after it.
    #[must_use]
    pub fn who(&self) -> String {
        let binary = self.component.binary();
        if self.container.name == binary {
            binary.to_owned()
        } else {
            format!("{binary} (container {:?})", self.container.name)
        }
    }

    /// Whether the image is a Kubernetes release older than `1.minor`; `false` when the
    /// version is unknown.
    #[must_use]
    pub fn older_than(&self, minor: u32) -> bool {
        matches!(self.version, Some((1, m)) if m < minor)
    }

    /// Whether the image is a Kubernetes release at `1.minor` or later.
    #[must_use]
    pub fn at_least(&self, minor: u32) -> bool {
        matches!(self.version, Some((1, m)) if m >= minor)
            || matches!(self.version, Some((major, _)) if major > 1)
    }
}

/// The control-plane components among the regular containers of `pods`.
#[must_use]
pub fn targets<'c, 'd>(pods: &'c [PodSpecView<'d>]) -> Vec<Target<'c, 'd>> {
    component_containers(pods)
        .into_iter()
        .filter_map(|(p, c, _)| target_of(&pods[p].containers()[c]))
        .collect()
}

/// Where `pods` run a control-plane component: (pod, container) indices into `pods` and
/// [`PodSpecView::containers`], with the component.
#[must_use]
pub fn component_containers(pods: &[PodSpecView<'_>]) -> Vec<(usize, usize, Component)> {
    let mut found = Vec::new();
    for (p, pod) in pods.iter().enumerate() {
        for (i, c) in pod.containers().iter().enumerate() {
            if c.kind != ContainerKind::Regular {
                continue;
            }
            if let Some(component) = component_of(c) {
                found.push((p, i, component));
            }
        }
    }
    found
}

/// The component container `c` runs, by its command or else its image.
fn component_of(c: &ContainerView<'_>) -> Option<Component> {
    match c.node.entry("command").filter(|(_, v)| !v.is_empty()) {
        Some((_, list)) => Component::from_binary(basename(list.items().next()?.as_str()?)),
        None => image_component(c.node.get("image")?.as_str()?),
    }
}

/// The component `c` runs, with its flags; `None` for any other container.
#[must_use]
pub fn target_of<'c, 'd>(c: &'c ContainerView<'d>) -> Option<Target<'c, 'd>> {
    let command = c.node.entry("command").filter(|(_, v)| !v.is_empty());
    let args = c.node.entry("args");
    let image = c.node.get("image").and_then(|n| n.as_str());
    let mut elements: Vec<Arg<'d>> = Vec::new();
    let (component, anchor, anchor_path) = if let Some((key, list)) = command {
        // An empty `command` is no command: the image's entrypoint runs.
        let first = list.items().next()?.as_str()?;
        let component = Component::from_binary(basename(first))?;
        elements.extend(items(list, &c.path_of("command")).skip(1));
        (component, key, c.path_of("command"))
    } else {
        let component = image.and_then(image_component)?;
        match args {
            Some((key, _)) => (component, key, c.path_of("args")),
            None => (component, c.node, c.path.clone()),
        }
    };
    if let Some((_, list)) = args {
        elements.extend(items(list, &c.path_of("args")));
    }
    let mut flags = Flags {
        command_line: parse(&elements, component),
        env: Vec::new(),
    };
    if component == Component::Etcd {
        flags.env = etcd_env(c);
    }
    Some(Target {
        component,
        container: c,
        flags,
        anchor,
        anchor_path,
        version: image.and_then(image_version),
    })
}

fn items<'d>(list: Node<'d>, path: &str) -> impl Iterator<Item = Arg<'d>> + 'd {
    let path = path.to_owned();
    list.items().enumerate().map(move |(i, node)| Arg {
        text: node.as_str().unwrap_or(""),
        node,
        path: format!("{path}[{i}]"),
    })
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The component an image is, from the last segment of its repository path, without an
/// architecture suffix (`kube-apiserver-amd64`).
fn image_component(image: &str) -> Option<Component> {
    let reference = ImageRef::parse(image)?;
    let name = basename(reference.path);
    let name = ["-amd64", "-arm64", "-arm", "-ppc64le", "-s390x"]
        .iter()
        .find_map(|arch| name.strip_suffix(arch))
        .unwrap_or(name);
    Component::from_binary(name)
}

/// `(major, minor)` from an image tag such as `v1.30.0`, `v1.19.3-rc.1` or `3.5.12-0`.
fn image_version(image: &str) -> Option<(u32, u32)> {
    let tag = ImageRef::parse(image)?.tag?;
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let mut parts = tag.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Reads a command line as `component` would.
fn parse<'d>(args: &[Arg<'d>], component: Component) -> Vec<Setting<'d>> {
    let syntax = component.syntax();
    let (bools, values) = component.flag_kinds();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        let text = arg.text;
        if text == "--" {
            break;
        }
        let body = match (syntax, text.strip_prefix("--"), text.strip_prefix('-')) {
            (_, Some(body), _) => body,
            // A pflag shorthand: only `-v` takes a value, which may be the next element.
            (Syntax::Pflag, None, Some("v")) => {
                i += 1;
                continue;
            }
            (Syntax::GoFlag, None, Some(body)) if !body.is_empty() => body,
            // A positional argument: pflag goes on, Go's flag package stops.
            (Syntax::Pflag, _, _) => continue,
            (Syntax::GoFlag, _, _) => break,
        };
        if body.is_empty() || body.starts_with(['-', '=']) {
            // Bad syntax: the component refuses the command line.
            if syntax == Syntax::GoFlag {
                break;
            }
            continue;
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let next = args.get(i).map(|a| a.text);
        let value = if let Some(v) = inline {
            Value::Text(v)
        } else if bools.contains(&name) {
            Value::Bare
        } else if values.contains(&name) {
            match next {
                Some(v) => {
                    i += 1;
                    Value::Text(v)
                }
                None => Value::Unknown,
            }
        } else {
            // Unknown: a boolean if the next element is a flag, else it takes that element.
            match next {
                Some(v) if !v.starts_with('-') => {
                    i += 1;
                    Value::Text(v)
                }
                _ => Value::Bare,
            }
        };
        out.push(Setting {
            name,
            value,
            node: arg.node,
            path: arg.path.clone(),
            from_env: false,
        });
    }
    out
}

/// etcd's `ETCD_*` variables among the container's `env`, as settings of their flags.
fn etcd_env<'d>(c: &ContainerView<'d>) -> Vec<Setting<'d>> {
    let Some(env) = c.node.get_present("env") else {
        return Vec::new();
    };
    env.items()
        .enumerate()
        .filter_map(|(i, var)| {
            let name = var.get("name")?.as_str()?.strip_prefix("ETCD_")?;
            let flag = ETCD_BOOLS
                .iter()
                .chain(ETCD_VALUES)
                .find(|f| env_name(f).strip_prefix("ETCD_") == Some(name))?;
            let (node, path, value) = match var.entry("value") {
                Some((_, v)) => (
                    v,
                    c.path_of(&format!("env[{i}].value")),
                    Value::Text(v.as_str().unwrap_or("")),
                ),
                None => (var, c.path_of(&format!("env[{i}]")), Value::Unknown),
            };
            Some(Setting {
                name: flag,
                value,
                node,
                path,
                from_env: true,
            })
        })
        .collect()
}

/// Go's `strconv.ParseBool`.
#[must_use]
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: a sign, then `0x`, `0o`, `0b` or a leading `0`
/// (octal) prefix, and `_` between digits as in Go literals (`1_000`).
#[must_use]
pub fn parse_go_int(s: &str) -> Option<i64> {
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if unsigned.is_empty() {
        return None;
    }
    let prefix = unsigned.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match prefix.as_deref() {
        Some("0x") if unsigned.len() > 2 => (16, unsigned.get(2..)?),
        Some("0o") if unsigned.len() > 2 => (8, unsigned.get(2..)?),
        Some("0b") if unsigned.len() > 2 => (2, unsigned.get(2..)?),
        _ => match unsigned.strip_prefix('0') {
            Some(rest) => (8, rest),
            None => (10, unsigned),
        },
    };
    let mut magnitude: i128 = 0;
    let mut underscores = false;
    for c in digits.chars() {
        if c == '_' {
            underscores = true;
            continue;
        }
        let d = c.to_digit(radix)?;
        magnitude = magnitude.checked_mul(i128::from(radix))? + i128::from(d);
        if magnitude > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    if underscores && !underscores_ok(unsigned) {
        return None;
    }
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Go's `underscoreOK`: every `_` sits between digits, or between a base prefix and a digit.
fn underscores_ok(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let (mut saw_digit, body, hex) = match lower.get(..2) {
        Some("0x") => (true, lower.get(2..).unwrap_or(""), true),
        Some("0b" | "0o") => (true, lower.get(2..).unwrap_or(""), false),
        _ => (false, lower.as_str(), false),
    };
    let mut last_underscore = false;
    for c in body.chars() {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw_digit = true;
            last_underscore = false;
        } else if c == '_' {
            if !saw_digit || last_underscore {
                return false;
            }
            last_underscore = true;
        } else {
            if last_underscore {
                return false;
            }
            saw_digit = false;
        }
    }
    !last_underscore
}

/// One record of Go's `encoding/csv` with default settings, as pflag reads a list flag:
/// fields split at commas, a field in double quotes may hold commas and `""` for a
/// quote, and a quote anywhere else is an error. The empty string is an empty list.
#[must_use]
pub fn read_csv_record(text: &str) -> Option<Vec<String>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    // A record ends at the first line break outside quotes; pflag reads only that one.
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return None,
                }
            }
            match chars.next() {
                Some(',') => fields.push(field),
                None | Some('\n' | '\r') => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    Some(',') => {
                        fields.push(field);
                        break;
                    }
                    None | Some('\n' | '\r') => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_inventory::{find_pod_specs, objects_in};
    use palisade_source::{parse_document, split_documents, Document, Limits};

    fn doc(text: &str) -> Document {
        let chunk = &split_documents(text)[0];
        parse_document(&text[chunk.range.clone()], chunk, &Limits::default()).unwrap()
    }

    /// Runs `f` on the targets of a Pod whose first container is `container` (YAML
    /// lines indented by four spaces, starting with `- `).
    fn with_targets(container: &str, f: impl FnOnce(Vec<Target<'_, '_>>)) {
        let text = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n{container}"
        );
        let d = doc(&text);
        let (objects, _) = objects_in(&d);
        let pods = find_pod_specs(&objects[0]);
        f(targets(&pods));
    }

    /// The settings of a kube-apiserver run with `args` (YAML flow items).
    fn apiserver(args: &str, f: impl FnOnce(&Flags<'_>)) {
        with_targets(
            &format!("  - name: a\n    image: x\n    command: [kube-apiserver, {args}]\n"),
            |t| f(&t[0].flags),
        );
    }

    fn etcd(args: &str, f: impl FnOnce(&Flags<'_>)) {
        with_targets(
            &format!("  - name: e\n    image: x\n    command: [etcd, {args}]\n"),
            |t| f(&t[0].flags),
        );
    }

    fn text<'a>(f: &'a Flags<'_>, name: &str) -> Option<&'a str> {
        f.last(name).and_then(Setting::text)
    }

    #[test]
    fn components_by_command_basename() {
        for (command, component) in [
            ("kube-apiserver", Component::ApiServer),
            (
                "/usr/local/bin/kube-controller-manager",
                Component::ControllerManager,
            ),
            ("kube-scheduler", Component::Scheduler),
            ("/usr/local/bin/etcd", Component::Etcd),
        ] {
            with_targets(
                &format!("  - name: c\n    image: busybox\n    command: [{command}]\n"),
                |t| assert_eq!(t[0].component, component, "{command}"),
            );
        }
        // Other binaries, shells and near misses are not components.
        for command in [
            "kube-apiserver-proxy",
            "sh, -c, kube-apiserver --x",
            "etcdctl",
        ] {
            with_targets(
                &format!("  - name: c\n    image: registry.k8s.io/kube-apiserver:v1.30.0\n    command: [{command}]\n"),
                |t| assert!(t.is_empty(), "{command}"),
            );
        }
    }

    #[test]
    fn args_only_containers_by_image() {
        with_targets(
            "  - name: api\n    image: registry.k8s.io/kube-apiserver:v1.30.0\n    args: [--profiling=false]\n",
            |t| {
                assert_eq!(t[0].component, Component::ApiServer);
                assert_eq!(t[0].version, Some((1, 30)));
                assert_eq!(t[0].anchor_path, "spec.containers[0].args");
                assert_eq!(t[0].flags.bool("profiling").map(|b| b.0), Some(false));
                assert_eq!(t[0].who(), "kube-apiserver (container \"api\")");
            },
        );
        for (image, component) in [
            ("k8s.gcr.io/kube-scheduler-amd64:v1.11.3", Component::Scheduler),
            ("registry.k8s.io/etcd:3.5.12-0", Component::Etcd),
            ("quay.io/coreos/etcd:v3.5.0@sha256:0000000000000000000000000000000000000000000000000000000000000000", Component::Etcd),
            ("kube-controller-manager", Component::ControllerManager),
        ] {
            with_targets(&format!("  - name: c\n    image: {image}\n"), |t| {
                assert_eq!(t[0].component, component, "{image}");
                assert_eq!(t[0].anchor_path, "spec.containers[0]");
            });
        }
        // An empty command is no command: the image decides.
        with_targets(
            "  - name: c\n    image: registry.k8s.io/kube-scheduler:v1.29.1\n    command: []\n",
            |t| assert_eq!(t[0].component, Component::Scheduler),
        );
        with_targets(
            "  - name: c\n    image: nginx:1.25\n    args: [--anonymous-auth=true]\n",
            |t| {
                assert!(t.is_empty());
            },
        );
    }

    #[test]
    fn init_containers_are_not_components() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - {name: i, image: x, command: [kube-apiserver]}\n  containers:\n  - {name: c, image: nginx}\n";
        let d = doc(text);
        let (objects, _) = objects_in(&d);
        let pods = find_pod_specs(&objects[0]);
        assert!(targets(&pods).is_empty());
    }

    #[test]
    fn versions_from_tags() {
        assert_eq!(
            image_version("registry.k8s.io/kube-apiserver:v1.19.3"),
            Some((1, 19))
        );
        assert_eq!(image_version("kube-apiserver:v1.31.0-rc.1"), Some((1, 31)));
        assert_eq!(image_version("kube-apiserver@sha256:abc"), None);
        assert_eq!(image_version("kube-apiserver:latest"), None);
    }

    #[test]
    fn equals_and_next_element() {
        apiserver(
            "--audit-log-path=/var/log/a.log, --tls-cert-file, /etc/x.crt, --client-ca-file=",
            |f| {
                assert_eq!(text(f, "audit-log-path"), Some("/var/log/a.log"));
                assert_eq!(text(f, "tls-cert-file"), Some("/etc/x.crt"));
                // `--x=` is set, to the empty string: not set for file flags.
                assert_eq!(text(f, "client-ca-file"), Some(""));
                assert!(f.set("client-ca-file").is_none());
                assert_eq!(
                    f.last("tls-cert-file").unwrap().path,
                    "spec.containers[0].command[2]"
                );
            },
        );
    }

    #[test]
    fn a_value_flag_takes_the_next_element_whatever_it_is() {
        apiserver("--token-auth-file, --profiling=false", |f| {
            assert_eq!(text(f, "token-auth-file"), Some("--profiling=false"));
            assert!(f.last("profiling").is_none());
        });
        // At the end, a value flag has no value: set, to something unknown.
        apiserver("--token-auth-file", |f| {
            assert_eq!(f.last("token-auth-file").unwrap().value, Value::Unknown);
            assert!(f.set("token-auth-file").is_some());
        });
    }

    #[test]
    fn booleans_take_only_equals() {
        apiserver(
            "--profiling, false, --anonymous-auth=false, --service-account-lookup=f",
            |f| {
                // `false` after a bare boolean is a positional argument, not its value.
                assert_eq!(f.bool("profiling").map(|b| b.0), Some(true));
                assert_eq!(f.bool("anonymous-auth").map(|b| b.0), Some(false));
                assert_eq!(f.bool("service-account-lookup").map(|b| b.0), Some(false));
            },
        );
        apiserver("--profiling=no, --anonymous-auth=", |f| {
            // Not Go booleans: the component refuses them; unknown here.
            assert!(f.bool("profiling").is_none());
            assert!(f.last("profiling").is_some());
            assert!(f.bool("anonymous-auth").is_none());
        });
    }

    #[test]
    fn unknown_flags_guess_from_the_next_element() {
        apiserver(
            "--some-switch, --profiling=false, --some-path, /x, --other",
            |f| {
                assert_eq!(f.last("some-switch").unwrap().value, Value::Bare);
                assert_eq!(f.bool("profiling").map(|b| b.0), Some(false));
                assert_eq!(text(f, "some-path"), Some("/x"));
                assert_eq!(f.last("other").unwrap().value, Value::Bare);
            },
        );
    }

    #[test]
    fn repeated_flags() {
        apiserver(
            "--profiling=true, --profiling=false, --audit-log-path=/a, --audit-log-path=/b",
            |f| {
                assert_eq!(f.bool("profiling").map(|b| b.0), Some(false));
                assert_eq!(text(f, "audit-log-path"), Some("/b"));
            },
        );
        apiserver(
            "--enable-admission-plugins=NodeRestriction, --enable-admission-plugins, 'AlwaysPullImages,EventRateLimit'",
            |f| {
                let List::Items(items) = f.list("enable-admission-plugins") else {
                    panic!("not a list")
                };
                let names: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(names, ["NodeRestriction", "AlwaysPullImages", "EventRateLimit"]);
                assert!(items[2].1.path.ends_with("command[2]"));
            },
        );
        apiserver("'--feature-gates=A=true,RotateKubeletServerCertificate=false', '--feature-gates= RotateKubeletServerCertificate = true '", |f| {
            assert_eq!(f.map_bool("feature-gates", "RotateKubeletServerCertificate").map(|b| b.0), Some(true));
            assert_eq!(f.map_bool("feature-gates", "A").map(|b| b.0), Some(true));
            assert!(f.map_bool("feature-gates", "B").is_none());
        });
    }

    #[test]
    fn values_keep_quotes_and_equals_signs() {
        apiserver(
            r#"'--audit-log-path="/var/log/a.log"', --authentication-config=/x=y, '--authorization-mode="Node,RBAC"'"#,
            |f| {
                assert_eq!(text(f, "audit-log-path"), Some("\"/var/log/a.log\""));
                assert_eq!(text(f, "authentication-config"), Some("/x=y"));
                // A list is CSV: the quoted field is one item, commas included.
                let List::Items(items) = f.list("authorization-mode") else {
                    panic!("not a list")
                };
                assert_eq!(items.len(), 1);
                assert_eq!(items[0].0, "Node,RBAC");
            },
        );
        apiserver(r#"'--authorization-mode=Node,"RBAC'"#, |f| {
            assert!(matches!(f.list("authorization-mode"), List::Invalid(_)));
        });
    }

    #[test]
    fn non_string_elements_read_as_written() {
        apiserver("--audit-log-maxage, 30, --audit-log-maxsize=0x64, --audit-log-maxbackup=010, {a: b}, ~", |f| {
            assert_eq!(f.last("audit-log-maxage").and_then(Setting::as_int), Some(30));
            assert_eq!(f.last("audit-log-maxsize").and_then(Setting::as_int), Some(100));
            assert_eq!(f.last("audit-log-maxbackup").and_then(Setting::as_int), Some(8));
        });
    }

    #[test]
    fn shorthands_positionals_and_the_terminator() {
        apiserver(
            "-v=2, -v, '--profiling=true', stray, --anonymous-auth=false, --, --token-auth-file=/t",
            |f| {
                // `-v` took `--profiling=true` as its value.
                assert!(f.last("profiling").is_none());
                assert_eq!(f.bool("anonymous-auth").map(|b| b.0), Some(false));
                // After `--`, nothing is a flag.
                assert!(f.last("token-auth-file").is_none());
                assert!(f.last("v").is_none());
            },
        );
    }

    #[test]
    fn etcd_reads_go_flags_and_its_environment() {
        etcd("-cert-file=/c, --key-file, /k, -client-cert-auth", |f| {
            assert_eq!(text(f, "cert-file"), Some("/c"));
            assert_eq!(text(f, "key-file"), Some("/k"));
            assert_eq!(f.bool("client-cert-auth").map(|b| b.0), Some(true));
        });
        // Go's flag package stops at the first positional argument.
        etcd("--client-cert-auth, 'true', --auto-tls=true", |f| {
            assert!(f.last("auto-tls").is_none());
        });
        with_targets(
            "  - name: e\n    image: registry.k8s.io/etcd:3.5.12-0\n    args: [--peer-auto-tls=false]\n    env:\n    - {name: ETCD_AUTO_TLS, value: 'true'}\n    - {name: ETCD_PEER_AUTO_TLS, value: 'true'}\n    - name: ETCD_TRUSTED_CA_FILE\n      valueFrom: {configMapKeyRef: {name: x, key: y}}\n",
            |t| {
                let f = &t[0].flags;
                let (value, setting) = f.bool("auto-tls").unwrap();
                assert!(value);
                assert!(setting.from_env);
                assert_eq!(setting.path, "spec.containers[0].env[0].value");
                assert_eq!(setting.written(), "ETCD_AUTO_TLS=true");
                // The command line wins over the environment.
                assert_eq!(f.bool("peer-auto-tls").map(|b| b.0), Some(false));
                assert_eq!(f.last("trusted-ca-file").unwrap().value, Value::Unknown);
            },
        );
    }

    #[test]
    fn go_integers() {
        for (s, v) in [
            ("30", Some(30)),
            ("+7", Some(7)),
            ("-1", Some(-1)),
            ("0", Some(0)),
            ("0x1E", Some(30)),
            ("0o17", Some(15)),
            ("0b101", Some(5)),
            ("030", Some(24)),
            ("1_000", Some(1000)),
            ("0_17", Some(15)),
            ("0x_10", Some(16)),
            ("0x1__0", None),
            ("_1", None),
            ("1_", None),
            ("0x", None),
            ("", None),
            ("12a", None),
            ("99999999999999999999", None),
            ("08", None),
        ] {
            assert_eq!(parse_go_int(s), v, "{s:?}");
        }
    }

    #[test]
    fn csv_records() {
        assert_eq!(read_csv_record(""), Some(vec![]));
        assert_eq!(read_csv_record("a,b"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(
            read_csv_record("a, b,"),
            Some(vec!["a".into(), " b".into(), String::new()])
        );
        assert_eq!(
            read_csv_record(r#""a,b","c""d""#),
            Some(vec!["a,b".into(), "c\"d".into()])
        );
        assert_eq!(read_csv_record("a\nb"), Some(vec!["a".into()]));
        assert_eq!(read_csv_record(r#"a"b"#), None);
        assert_eq!(read_csv_record(r#""a"b"#), None);
        assert_eq!(read_csv_record(r#""a"#), None);
    }
}
