//! The fields rules read from an audit event (`audit.k8s.io/v1` `Event`): Falco's
//! `ka.*` fields of the Kubernetes audit source, and `jevt.*` over the event's JSON.
//!
//! A field gives zero or more string values. No value (a missing key) makes every
//! comparison on it false, as in Falco; a field over a list (`ka.user.groups`,
//! `ka.req.pod.containers.image`) gives one value per element.

use std::borrow::Cow;

use serde_json::Value;

use crate::event::{AuditEvent, ObjectRef};

/// Field `name`'s argument kind and extraction, found once when a rule is compiled.
#[must_use]
pub fn lookup(name: &str) -> Option<(Arg, Extract)> {
    FIELDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, arg, f)| (*arg, *f))
}

/// Whether a field takes an argument in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    None,
    Required,
}

/// How a field's values are read from an event.
pub type Extract = for<'e, 'a> fn(&'e AuditEvent<'a>, Option<&str>) -> Vec<Cow<'e, str>>;

/// Every field: name, argument, extraction.
static FIELDS: &[(&str, Arg, Extract)] = &[
    ("ka.auditid", Arg::None, |e, _| one(&e.head.audit_id)),
    ("ka.stage", Arg::None, |e, _| one(&e.head.stage)),
    ("ka.auth.decision", Arg::None, |e, _| {
        annotation(e, "authorization.k8s.io/decision")
    }),
    ("ka.auth.reason", Arg::None, |e, _| {
        annotation(e, "authorization.k8s.io/reason")
    }),
    ("ka.user.name", Arg::None, |e, _| {
        e.head
            .user
            .as_ref()
            .map(|u| one(&u.username))
            .unwrap_or_default()
    }),
    ("ka.user.groups", Arg::None, |e, _| {
        e.head
            .user
            .as_ref()
            .map(|u| many(&u.groups))
            .unwrap_or_default()
    }),
    ("ka.impuser.name", Arg::None, |e, _| {
        e.head
            .impersonated_user
            .as_ref()
            .map(|u| one(&u.username))
            .unwrap_or_default()
    }),
    ("ka.verb", Arg::None, |e, _| one(&e.head.verb)),
    ("ka.uri", Arg::None, |e, _| one(&e.head.request_uri)),
    ("ka.uri.param", Arg::Required, |e, arg| {
        query_params(
            e.head.request_uri.as_deref().unwrap_or(""),
            arg.unwrap_or(""),
        )
    }),
    ("ka.target.name", Arg::None, |e, _| target(e, |o| &o.name)),
    ("ka.target.namespace", Arg::None, |e, _| {
        target(e, |o| &o.namespace)
    }),
    ("ka.target.resource", Arg::None, |e, _| {
        target(e, |o| &o.resource)
    }),
    ("ka.target.subresource", Arg::None, |e, _| {
        target(e, |o| &o.subresource)
    }),
    ("ka.req.binding.subjects", Arg::None, |e, _| {
        items(req(e, "/subjects"))
            .filter_map(|s| s.get("name").and_then(Value::as_str).map(Cow::Borrowed))
            .collect()
    }),
    (
        "ka.req.binding.subject.has_name",
        Arg::Required,
        |e, arg| {
            let subjects = req(e, "/subjects");
            if subjects.is_none() {
                return Vec::new();
            }
            let has = items(subjects).any(|s| s.get("name").and_then(Value::as_str) == arg);
            vec![Cow::Borrowed(if has { "true" } else { "false" })]
        },
    ),
    ("ka.req.binding.role", Arg::None, |e, _| {
        text(req(e, "/roleRef/name"))
    }),
    ("ka.req.configmap.name", Arg::None, |e, _| {
        target(e, |o| &o.name)
    }),
    ("ka.req.configmap.obj", Arg::None, |e, _| {
        req(e, "/data")
            .map(|d| vec![Cow::Owned(d.to_string())])
            .unwrap_or_default()
    }),
    ("ka.req.pod.containers.image", Arg::None, |e, _| {
        containers(e)
            .filter_map(|c| c.get("image").and_then(Value::as_str).map(Cow::Borrowed))
            .collect()
    }),
    ("ka.req.container.image", Arg::None, |e, _| {
        containers(e)
            .take(1)
            .filter_map(|c| c.get("image").and_then(Value::as_str).map(Cow::Borrowed))
            .collect()
    }),
    (
        "ka.req.pod.containers.image.repository",
        Arg::None,
        |e, _| {
            containers(e)
                .filter_map(|c| c.get("image").and_then(Value::as_str).map(repository))
                .collect()
        },
    ),
    ("ka.req.container.image.repository", Arg::None, |e, _| {
        containers(e)
            .take(1)
            .filter_map(|c| c.get("image").and_then(Value::as_str).map(repository))
            .collect()
    }),
    ("ka.req.pod.host_ipc", Arg::None, |e, _| flag(e, "hostIPC")),
    ("ka.req.pod.host_network", Arg::None, |e, _| {
        flag(e, "hostNetwork")
    }),
    ("ka.req.container.host_network", Arg::None, |e, _| {
        flag(e, "hostNetwork")
    }),
    ("ka.req.pod.host_pid", Arg::None, |e, _| flag(e, "hostPID")),
    // On the host network a containerPort is the host's port (Falco's plugin reads
    // containerPort whenever hostPort is absent; Palisade only then).
    ("ka.req.pod.containers.host_port", Arg::None, |e, _| {
        let host_network = flag(e, "hostNetwork").first().is_some_and(|v| v == "true");
        containers(e)
            .flat_map(|c| items(c.get("ports")))
            .filter_map(|p| {
                p.get("hostPort")
                    .or_else(|| p.get("containerPort").filter(|_| host_network))
                    .map(scalar)
            })
            .collect()
    }),
    ("ka.req.pod.containers.privileged", Arg::None, |e, _| {
        per_container(containers(e), "privileged", "false")
    }),
    // Deprecated in Falco; "true" when any container is privileged.
    ("ka.req.container.privileged", Arg::None, |e, _| {
        if pod_spec(e).and_then(|s| s.get("containers")).is_none() {
            return Vec::new();
        }
        let any = per_container(containers(e), "privileged", "false")
            .iter()
            .any(|v| v == "true");
        vec![Cow::Borrowed(if any { "true" } else { "false" })]
    }),
    (
        "palisade.req.pod.all_containers.privileged",
        Arg::None,
        |e, _| per_container(all_containers(e), "privileged", "false"),
    ),
    (
        "palisade.req.pod.all_containers.image",
        Arg::None,
        |e, _| {
            all_containers(e)
                .filter_map(|c| c.get("image").and_then(Value::as_str).map(Cow::Borrowed))
                .collect()
        },
    ),
    (
        "ka.req.pod.containers.allow_privilege_escalation",
        Arg::None,
        |e, _| per_container(containers(e), "allowPrivilegeEscalation", "true"),
    ),
    ("ka.req.pod.containers.read_only_fs", Arg::None, |e, _| {
        per_container(containers(e), "readOnlyRootFilesystem", "false")
    }),
    ("ka.req.pod.containers.proc_mount", Arg::None, |e, _| {
        per_container(containers(e), "procMount", "Default")
    }),
    (
        "ka.req.pod.containers.add_capabilities",
        Arg::None,
        |e, _| {
            containers(e)
                .flat_map(|c| items(json_pointer(c, "/securityContext/capabilities/add")))
                .map(scalar)
                .collect()
        },
    ),
    ("ka.req.pod.run_as_user", Arg::None, |e, _| {
        pod_security(e, "runAsUser")
    }),
    ("ka.req.pod.run_as_group", Arg::None, |e, _| {
        pod_security(e, "runAsGroup")
    }),
    ("ka.req.pod.fs_group", Arg::None, |e, _| {
        pod_security(e, "fsGroup")
    }),
    ("ka.req.pod.supplemental_groups", Arg::None, |e, _| {
        items(pod_spec(e).and_then(|s| json_pointer(s, "/securityContext/supplementalGroups")))
            .map(scalar)
            .collect()
    }),
    ("ka.req.pod.containers.run_as_user", Arg::None, |e, _| {
        containers(e)
            .filter_map(|c| json_pointer(c, "/securityContext/runAsUser").map(scalar))
            .collect()
    }),
    (
        "ka.req.pod.containers.eff_run_as_user",
        Arg::None,
        |e, _| effective(e, "runAsUser"),
    ),
    ("ka.req.pod.containers.run_as_group", Arg::None, |e, _| {
        containers(e)
            .filter_map(|c| json_pointer(c, "/securityContext/runAsGroup").map(scalar))
            .collect()
    }),
    (
        "ka.req.pod.containers.eff_run_as_group",
        Arg::None,
        |e, _| effective(e, "runAsGroup"),
    ),
    ("ka.req.pod.volumes.hostpath", Arg::None, |e, _| {
        volumes(e)
            .filter_map(|v| json_pointer(v, "/hostPath/path").map(scalar))
            .collect()
    }),
    ("ka.req.volume.hostpath", Arg::Required, |e, arg| {
        let pattern = glob::Pattern::new(arg.unwrap_or(""));
        let matched = volumes(e)
            .filter_map(|v| json_pointer(v, "/hostPath/path").and_then(Value::as_str))
            .any(|p| pattern.as_ref().is_ok_and(|g| g.matches(p)));
        vec![Cow::Borrowed(if matched { "true" } else { "false" })]
    }),
    ("ka.req.pod.volumes.flexvolume_driver", Arg::None, |e, _| {
        volumes(e)
            .filter_map(|v| json_pointer(v, "/flexVolume/driver").map(scalar))
            .collect()
    }),
    ("ka.req.pod.volumes.volume_type", Arg::None, |e, _| {
        volumes(e)
            .flat_map(|v| {
                v.as_object()
                    .into_iter()
                    .flat_map(|m| m.keys())
                    .filter(|k| *k != "name")
                    .map(|k| Cow::Borrowed(k.as_str()))
            })
            .collect()
    }),
    ("ka.req.role.rules", Arg::None, |e, _| {
        items(req(e, "/rules"))
            .map(|r| Cow::Owned(r.to_string()))
            .collect()
    }),
    ("ka.req.role.rules.verbs", Arg::None, |e, _| {
        rule_lists(e, "verbs")
    }),
    ("ka.req.role.rules.resources", Arg::None, |e, _| {
        rule_lists(e, "resources")
    }),
    ("ka.req.role.rules.apiGroups", Arg::None, |e, _| {
        rule_lists(e, "apiGroups")
    }),
    ("ka.req.service.type", Arg::None, |e, _| {
        text(req(e, "/spec/type"))
    }),
    ("ka.req.service.ports", Arg::None, |e, _| {
        items(req(e, "/spec/ports"))
            .filter_map(|p| p.get("port").map(scalar))
            .collect()
    }),
    ("ka.resp.name", Arg::None, |e, _| {
        text(e.response().and_then(|r| json_pointer(r, "/metadata/name")))
    }),
    ("ka.response.code", Arg::None, |e, _| {
        e.head
            .response_status
            .as_ref()
            .and_then(|s| s.code)
            .map(|c| vec![Cow::Owned(c.to_string())])
            .unwrap_or_default()
    }),
    ("ka.response.reason", Arg::None, |e, _| {
        e.head
            .response_status
            .as_ref()
            .map(|s| one(&s.reason))
            .unwrap_or_default()
    }),
    ("ka.useragent", Arg::None, |e, _| one(&e.head.user_agent)),
    ("ka.sourceips", Arg::None, |e, _| many(&e.head.source_ips)),
    ("jevt.value", Arg::Required, |e, arg| {
        let pointer = arg.unwrap_or("");
        // The fixed fields most rules read, without parsing the whole event.
        match pointer {
            "/stage" => one(&e.head.stage),
            "/verb" => one(&e.head.verb),
            "/auditID" => one(&e.head.audit_id),
            _ => text(at(e.whole(), pointer)),
        }
    }),
    ("jevt.obj", Arg::None, |e, _| {
        vec![Cow::Borrowed(e.text.trim())]
    }),
    ("jevt.time", Arg::None, |e, _| one(&e.head.stage_timestamp)),
    ("jevt.time.iso8601", Arg::None, |e, _| {
        one(&e.head.stage_timestamp)
    }),
    ("jevt.rawtime", Arg::None, |e, _| {
        e.head
            .stage_timestamp
            .as_deref()
            .and_then(unix_nanos)
            .map(|n| vec![Cow::Owned(n.to_string())])
            .unwrap_or_default()
    }),
];

/// Nanoseconds since the Unix epoch of an RFC 3339 UTC timestamp
/// (`2026-12-04T10:00:00.123456Z`).
pub(crate) fn unix_nanos(t: &str) -> Option<i128> {
    let t = t.strip_suffix('Z')?;
    let (date, clock) = t.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut c = hms.splitn(3, ':').map(|x| x.parse::<i64>().ok());
    let (h, min, s) = (c.next()??, c.next()??, c.next()??);
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: i64 = format!("{fraction:0<9}").parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + min * 60 + s;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

/// The values of field `name` (with argument `arg`) in `event`.
#[must_use]
pub fn extract<'e>(event: &'e AuditEvent<'_>, name: &str, arg: Option<&str>) -> Vec<Cow<'e, str>> {
    lookup(name).map(|(_, f)| f(event, arg)).unwrap_or_default()
}

fn one<'e>(v: &'e Option<Cow<'_, str>>) -> Vec<Cow<'e, str>> {
    v.as_deref().map(Cow::Borrowed).into_iter().collect()
}

fn many<'e>(v: &'e Option<Vec<Cow<'_, str>>>) -> Vec<Cow<'e, str>> {
    v.iter().flatten().map(|s| Cow::Borrowed(&**s)).collect()
}

fn annotation<'e>(e: &'e AuditEvent<'_>, key: &str) -> Vec<Cow<'e, str>> {
    e.head
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(|v| Cow::Borrowed(&**v))
        .into_iter()
        .collect()
}

fn target<'e, 'a>(
    e: &'e AuditEvent<'a>,
    field: impl Fn(&'e ObjectRef<'a>) -> &'e Option<Cow<'a, str>>,
) -> Vec<Cow<'e, str>> {
    e.head
        .object_ref
        .as_ref()
        .map(|o| one(field(o)))
        .unwrap_or_default()
}

/// The value at `pointer` in the request body.
fn req<'e>(e: &'e AuditEvent<'_>, pointer: &str) -> Option<&'e Value> {
    e.request().and_then(|r| at(r, pointer))
}

fn at<'e>(e: &'e Value, pointer: &str) -> Option<&'e Value> {
    json_pointer(e, pointer).filter(|v| !v.is_null())
}

/// RFC 6901: `serde_json`'s `pointer` without its allocation per token (only a token
/// with `~` escapes is unescaped).
fn json_pointer<'e>(e: &'e Value, pointer: &str) -> Option<&'e Value> {
    if pointer.is_empty() {
        return Some(e);
    }
    let rest = pointer.strip_prefix('/')?;
    let mut at = e;
    for token in rest.split('/') {
        let unescaped;
        let token = if token.contains('~') {
            unescaped = token.replace("~1", "/").replace("~0", "~");
            unescaped.as_str()
        } else {
            token
        };
        at = match at {
            Value::Object(map) => map.get(token)?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// A scalar as Falco writes it: strings as they are, numbers and booleans as text.
fn scalar(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

fn text(v: Option<&Value>) -> Vec<Cow<'_, str>> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => vec![scalar(v)],
    }
}

/// `true` or `false` for a pod spec's boolean; no value when the request has no pod.
fn flag<'e>(e: &'e AuditEvent<'_>, field: &str) -> Vec<Cow<'e, str>> {
    if e.request().is_none() {
        return Vec::new();
    }
    let on = pod_spec(e)
        .and_then(|s| s.get(field))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    vec![Cow::Borrowed(if on { "true" } else { "false" })]
}

fn items(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

/// The request's pod spec: a Pod's, or a workload's template's.
fn pod_spec<'e>(e: &'e AuditEvent<'_>) -> Option<&'e Value> {
    let object = e.request()?;
    json_pointer(object, "/spec/template/spec")
        .or_else(|| json_pointer(object, "/spec/jobTemplate/spec/template/spec"))
        .or_else(|| object.get("spec"))
}

fn pod_security<'e>(e: &'e AuditEvent<'_>, field: &str) -> Vec<Cow<'e, str>> {
    text(
        pod_spec(e)
            .and_then(|s| s.get("securityContext"))
            .and_then(|s| s.get(field))
            .filter(|v| !v.is_null()),
    )
}

/// The pod's `spec.containers`, as Falco's k8saudit plugin reads them for every
/// `ka.req.pod.containers.*` field: init and ephemeral containers are not included
/// (`palisade.req.pod.all_containers.*` reads those too).
fn containers<'e>(e: &'e AuditEvent<'_>) -> impl Iterator<Item = &'e Value> {
    items(pod_spec(e).and_then(|s| s.get("containers")))
}

/// Every container the pod runs: init, regular and ephemeral.
fn all_containers<'e>(e: &'e AuditEvent<'_>) -> impl Iterator<Item = &'e Value> {
    let spec = pod_spec(e);
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |k| items(spec.and_then(|s| s.get(k))))
}

fn volumes<'e>(e: &'e AuditEvent<'_>) -> impl Iterator<Item = &'e Value> {
    items(pod_spec(e).and_then(|s| s.get("volumes")))
}

/// One value per container: its `securityContext.<field>`, else `default`.
fn per_container<'e>(
    containers: impl Iterator<Item = &'e Value>,
    field: &str,
    default: &'static str,
) -> Vec<Cow<'e, str>> {
    containers
        .map(|c| {
            c.get("securityContext")
                .and_then(|s| s.get(field))
                .filter(|v| !v.is_null())
                .map_or(Cow::Borrowed(default), scalar)
        })
        .collect()
}

/// One value per container: its own `securityContext.<field>`, else the pod's, else
/// nothing for that container.
fn effective<'e>(e: &'e AuditEvent<'_>, field: &str) -> Vec<Cow<'e, str>> {
    let pod = pod_spec(e)
        .and_then(|s| s.get("securityContext"))
        .and_then(|s| s.get(field))
        .filter(|v| !v.is_null());
    containers(e)
        .filter_map(|c| {
            c.get("securityContext")
                .and_then(|s| s.get(field))
                .filter(|v| !v.is_null())
                .or(pod)
                .map(scalar)
        })
        .collect()
}

fn rule_lists<'e>(e: &'e AuditEvent<'_>, key: &str) -> Vec<Cow<'e, str>> {
    items(req(e, "/rules"))
        .flat_map(|r| items(r.get(key)))
        .map(scalar)
        .collect()
}

/// An image reference without its tag and digest.
fn repository(image: &str) -> Cow<'_, str> {
    let no_digest = image.split('@').next().unwrap_or(image);
    // A `:` after the last `/` starts the tag; before it, it is a registry's port.
    Cow::Borrowed(match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    })
}

/// The values of query parameter `name` in `uri`, percent-decoded.
/// The values of query parameter `name` in `uri`, decoded (`%XX`, `+`).
fn query_params<'u>(uri: &'u str, name: &str) -> Vec<Cow<'u, str>> {
    let Some((_, query)) = uri.split_once('?') else {
        return Vec::new();
    };
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `extract` on `v` as the event of a log line.
    fn x(v: &Value, name: &str, arg: Option<&str>) -> Vec<String> {
        let text = v.to_string();
        let e = AuditEvent::parse(&text).unwrap();
        extract(&e, name, arg)
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    #[test]
    fn event_fields() {
        let e = json!({
            "auditID": "a1", "stage": "ResponseComplete", "verb": "create",
            "requestURI": "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&container=app&stdin=true",
            "user": {"username": "jane", "groups": ["dev", "system:authenticated"]},
            "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "default", "name": "web"},
            "annotations": {"authorization.k8s.io/decision": "allow"},
            "responseStatus": {"code": 101},
        });
        assert_eq!(x(&e, "ka.verb", None), ["create"]);
        assert_eq!(
            x(&e, "ka.user.groups", None),
            ["dev", "system:authenticated"]
        );
        assert_eq!(x(&e, "ka.uri.param", Some("command")), ["sh", "-c"]);
        assert_eq!(x(&e, "ka.target.subresource", None), ["exec"]);
        assert_eq!(x(&e, "ka.auth.decision", None), ["allow"]);
        assert_eq!(x(&e, "ka.response.code", None), ["101"]);
        assert_eq!(x(&e, "jevt.value", Some("/objectRef/name")), ["web"]);
        assert!(x(&e, "ka.impuser.name", None).is_empty());
    }

    #[test]
    fn pod_fields_per_container() {
        let e = json!({"requestObject": {"kind": "Deployment", "spec": {"template": {"spec": {
            "securityContext": {"runAsUser": 1000},
            "containers": [
                {"name": "a", "image": "registry:5000/app:1.2@sha256:ab", "securityContext": {"privileged": true, "runAsUser": 0}},
                {"name": "b", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}]}
            ],
            "volumes": [{"name": "v", "hostPath": {"path": "/var/run/docker.sock"}}]
        }}}}});
        assert_eq!(
            x(&e, "ka.req.pod.containers.image.repository", None),
            ["registry:5000/app", "nginx"]
        );
        assert_eq!(
            x(&e, "ka.req.pod.containers.privileged", None),
            ["true", "false"]
        );
        assert_eq!(
            x(&e, "ka.req.pod.containers.eff_run_as_user", None),
            ["0", "1000"]
        );
        assert_eq!(x(&e, "ka.req.pod.containers.host_port", None), ["8080"]);
        assert_eq!(x(&e, "ka.req.container.privileged", None), ["true"]);
        assert_eq!(
            x(&e, "ka.req.volume.hostpath", Some("/var/run/docker.sock")),
            ["true"]
        );
        assert_eq!(x(&e, "ka.req.volume.hostpath", Some("/proc*")), ["false"]);
        assert_eq!(x(&e, "ka.req.pod.host_network", None), ["false"]);
    }

    #[test]
    fn falco_container_fields_skip_init_and_ephemeral_containers() {
        let e = json!({"requestObject": {"kind": "Pod", "spec": {
            "hostNetwork": true,
            "initContainers": [{"name": "i", "image": "busybox", "securityContext": {"privileged": true}}],
            "containers": [
                {"name": "b", "image": "nginx", "ports": [{"containerPort": 80}]},
                {"name": "c", "image": "redis", "securityContext": {"privileged": false}}
            ],
            "ephemeralContainers": [{"name": "e", "image": "debug", "securityContext": {"privileged": true}}]
        }}});
        assert_eq!(
            x(&e, "ka.req.pod.containers.privileged", None),
            ["false", "false"]
        );
        assert_eq!(x(&e, "ka.req.container.privileged", None), ["false"]);
        assert_eq!(
            x(&e, "ka.req.pod.containers.image", None),
            ["nginx", "redis"]
        );
        assert_eq!(x(&e, "ka.req.container.image", None), ["nginx"]);
        // On the host network the container port is the host's.
        assert_eq!(x(&e, "ka.req.pod.containers.host_port", None), ["80"]);
        assert_eq!(
            x(&e, "palisade.req.pod.all_containers.privileged", None),
            ["true", "false", "false", "true"]
        );
        assert_eq!(
            x(&e, "palisade.req.pod.all_containers.image", None),
            ["busybox", "nginx", "redis", "debug"]
        );
    }

    #[test]
    fn raw_time() {
        let e = json!({"stageTimestamp": "2026-12-04T10:00:00.123456Z"});
        // date -u -d 2026-12-04T10:00:00Z +%s
        assert_eq!(x(&e, "jevt.rawtime", None), ["1796378400123456000"]);
        assert_eq!(unix_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_nanos("2000-03-01T00:00:01.5Z"),
            Some(951_868_801_500_000_000)
        );
        assert_eq!(unix_nanos("garbage"), None);
    }

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(
            query_params("/x?command=a%20b+c&command=%zz&c=1", "command"),
            ["a b c", "%zz"]
        );
        assert!(query_params("/x", "command").is_empty());
    }
}
