//! Detections in the formats SIEMs read: Elastic Common Schema, OCSF (API Activity,
//! class 6003) and ArcSight CEF in an RFC 5424 syslog line. Falco's own JSON is
//! [`crate::falco_json`].

use serde_json::{json, Value};

use crate::event::AuditEvent;
use crate::{nanos_time, Detection, Priority};

const VENDOR: &str = "Palisade";
const PRODUCT: &str = "palisade";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// MITRE ATT&CK technique ids among a rule's tags (`T1609`, `T1552.007`).
fn techniques<'r>(d: &Detection<'r>) -> Vec<&'r str> {
    d.rule
        .tags
        .iter()
        .map(String::as_str)
        .filter(|t| {
            t.strip_prefix('T')
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect()
}

/// 1 (lowest) to 5, for ECS and OCSF.
fn severity_rank(p: Priority) -> u8 {
    match p {
        Priority::Debug | Priority::Informational => 1,
        Priority::Notice => 2,
        Priority::Warning => 3,
        Priority::Error => 4,
        Priority::Critical | Priority::Alert | Priority::Emergency => 5,
    }
}

fn code(e: &AuditEvent<'_>) -> Option<i64> {
    e.head.response_status.as_ref().and_then(|s| s.code)
}

fn target<'e>(
    e: &'e AuditEvent<'_>,
    f: impl Fn(&'e crate::event::ObjectRef<'_>) -> Option<&'e str>,
) -> Option<&'e str> {
    e.head.object_ref.as_ref().and_then(f)
}

/// Milliseconds since the epoch of the event's time.
fn epoch_millis(e: &AuditEvent<'_>) -> Option<i64> {
    crate::fields::unix_nanos(e.time()).and_then(|n| i64::try_from(n / 1_000_000).ok())
}

/// A detection as an Elastic Common Schema document.
#[must_use]
pub fn ecs(d: &Detection<'_>, e: &AuditEvent<'_>) -> Value {
    let user = e.head.user.as_ref();
    let outcome = match code(e) {
        Some(c) if c < 400 => "success",
        Some(_) => "failure",
        None => "unknown",
    };
    json!({
        "@timestamp": d.time,
        "ecs": {"version": "8.11.0"},
        "message": d.output,
        "tags": d.rule.tags,
        "event": {
            "kind": "alert",
            "category": ["configuration"],
            "type": ["info"],
            "module": PRODUCT,
            "dataset": "kubernetes.audit",
            "provider": "kubernetes",
            "action": e.head.verb,
            "outcome": outcome,
            "severity": severity_rank(d.rule.priority),
            "id": e.head.audit_id,
        },
        "rule": {
            "name": d.rule.name,
            "description": d.rule.desc.trim(),
            "ruleset": d.rule.file,
        },
        "threat": {
            "framework": "MITRE ATT&CK",
            "technique": {"id": techniques(d)},
        },
        "user": {
            "name": user.and_then(|u| u.username.as_deref()),
            "roles": user.and_then(|u| u.groups.as_ref()),
        },
        "source": {"ip": e.head.source_ips.as_ref().and_then(|ips| ips.first())},
        "user_agent": {"original": e.head.user_agent},
        "url": {"original": e.head.request_uri},
        "http": {"response": {"status_code": code(e)}},
        "orchestrator": {
            "type": "kubernetes",
            "namespace": target(e, |o| o.namespace.as_deref()),
            "resource": {
                "type": target(e, |o| o.resource.as_deref()),
                "name": target(e, |o| o.name.as_deref()),
            },
        },
    })
}

/// OCSF API Activity's `activity_id` for a Kubernetes verb.
fn ocsf_activity(verb: &str) -> (u8, &'static str) {
    match verb {
        "create" => (1, "Create"),
        "get" | "list" | "watch" => (2, "Read"),
        "update" | "patch" => (3, "Update"),
        "delete" | "deletecollection" => (4, "Delete"),
        _ => (99, "Other"),
    }
}

/// A detection as an OCSF 1.1 API Activity event (class 6003, category 6).
#[must_use]
pub fn ocsf(d: &Detection<'_>, e: &AuditEvent<'_>) -> Value {
    let verb = e.head.verb.as_deref().unwrap_or("");
    let (activity_id, activity) = ocsf_activity(verb);
    let class_uid = 6003u32;
    let severity_id = severity_rank(d.rule.priority);
    let severity_name = [
        "Unknown",
        "Informational",
        "Low",
        "Medium",
        "High",
        "Critical",
    ][usize::from(severity_id)];
    let (status_id, status) = match code(e) {
        Some(c) if c < 400 => (1, "Success"),
        Some(_) => (2, "Failure"),
        None => (0, "Unknown"),
    };
    let user = e.head.user.as_ref();
    json!({
        "class_uid": class_uid,
        "class_name": "API Activity",
        "category_uid": 6,
        "category_name": "Application Activity",
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": class_uid * 100 + u32::from(activity_id),
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": status_id,
        "status": status,
        "time": epoch_millis(e),
        "message": d.output,
        "metadata": {
            "version": "1.1.0",
            "uid": e.head.audit_id,
            "product": {"name": PRODUCT, "vendor_name": VENDOR, "version": VERSION},
            "labels": d.rule.tags,
        },
        "api": {
            "operation": verb,
            "request": {"uid": e.head.audit_id},
            "response": {"code": code(e)},
        },
        "actor": {
            "user": {
                "name": user.and_then(|u| u.username.as_deref()),
                "groups": user.and_then(|u| u.groups.as_ref()).map(|g| {
                    g.iter().map(|name| json!({"name": name})).collect::<Vec<_>>()
                }),
            },
        },
        "src_endpoint": {"ip": e.head.source_ips.as_ref().and_then(|ips| ips.first())},
        "http_request": {
            "user_agent": e.head.user_agent,
            "url": {"path": e.head.request_uri},
        },
        "resources": [{
            "type": target(e, |o| o.resource.as_deref()),
            "name": target(e, |o| o.name.as_deref()),
            "namespace": target(e, |o| o.namespace.as_deref()),
        }],
        "unmapped": {
            "rule": d.rule.name,
            "priority": d.rule.priority.as_str(),
            "attack_techniques": techniques(d),
        },
    })
}

/// CEF's header escaping: `\` and `|`.
fn cef_header(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|")
}

/// CEF's extension escaping: `\`, `=` and line breaks.
fn cef_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
}

/// A detection as a CEF record in an RFC 5424 syslog line (facility security, 4).
#[must_use]
pub fn syslog_cef(d: &Detection<'_>, e: &AuditEvent<'_>, hostname: &str) -> String {
    let rank = severity_rank(d.rule.priority);
    // CEF severity 0-10; syslog severity 7 (debug) to 2 (critical).
    let cef_severity = [0, 3, 5, 6, 8, 10][usize::from(rank)];
    let syslog_severity = [6, 6, 5, 4, 3, 2][usize::from(rank)];
    let pri = 4 * 8 + syslog_severity;
    let mut ext = Vec::new();
    let mut push = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            ext.push(format!("{k}={}", cef_value(v)));
        }
    };
    let millis = epoch_millis(e).map(|m| m.to_string());
    push("rt", millis.as_deref());
    push(
        "suser",
        e.head.user.as_ref().and_then(|u| u.username.as_deref()),
    );
    push(
        "src",
        e.head
            .source_ips
            .as_ref()
            .and_then(|ips| ips.first())
            .map(|s| &**s),
    );
    push("act", e.head.verb.as_deref());
    push("request", e.head.request_uri.as_deref());
    push("requestClientApplication", e.head.user_agent.as_deref());
    push("externalId", e.head.audit_id.as_deref());
    push("cs1Label", Some("namespace"));
    push("cs1", target(e, |o| o.namespace.as_deref()));
    push("cs2Label", Some("resource"));
    push("cs2", target(e, |o| o.resource.as_deref()));
    push("cs3Label", Some("mitreTechniques"));
    let techniques = techniques(d).join(",");
    push("cs3", Some(techniques.as_str()));
    push("msg", Some(d.output.as_str()));
    format!(
        "<{pri}>1 {} {} {PRODUCT} - - - CEF:0|{VENDOR}|{PRODUCT}|{VERSION}|{}|{}|{cef_severity}|{}",
        nanos_time(&d.time),
        if hostname.is_empty() { "-" } else { hostname },
        cef_header(&d.rule.name.to_lowercase().replace(' ', "-")),
        cef_header(&d.rule.name),
        ext.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{detect, Loader, PALISADE_RULES};

    fn one(text: &str, check: impl Fn(&Detection<'_>, &AuditEvent<'_>)) {
        let mut loader = Loader::default();
        loader.add("p.yaml", PALISADE_RULES).unwrap();
        let rules = loader.compile();
        let e = AuditEvent::parse(text).unwrap();
        let d = detect(&rules, &e);
        assert_eq!(d.len(), 1);
        check(&d[0], &e);
    }

    const SECRET_READ: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a-1","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/prod/secrets/db","user":{"username":"jane","groups":["dev","system:authenticated"]},"sourceIPs":["203.0.113.9"],"userAgent":"kubectl/v1.31","objectRef":{"resource":"secrets","namespace":"prod","name":"db"},"responseStatus":{"code":200},"stageTimestamp":"2026-12-04T10:00:00.250000Z"}"#;

    #[test]
    fn ecs_document() {
        one(SECRET_READ, |d, e| {
            let v = ecs(d, e);
            assert_eq!(v["@timestamp"], "2026-12-04T10:00:00.250000Z");
            assert_eq!(v["event"]["kind"], "alert");
            assert_eq!(v["event"]["outcome"], "success");
            assert_eq!(v["event"]["severity"], 3);
            assert_eq!(v["rule"]["name"], "Palisade Secret Read By A Person");
            assert_eq!(v["threat"]["technique"]["id"], json!(["T1552.007"]));
            assert_eq!(v["user"]["name"], "jane");
            assert_eq!(v["source"]["ip"], "203.0.113.9");
            assert_eq!(v["orchestrator"]["resource"]["type"], "secrets");
        });
    }

    #[test]
    fn ocsf_api_activity_has_its_required_attributes() {
        one(SECRET_READ, |d, e| {
            let v = ocsf(d, e);
            // Required by OCSF 1.1 for API Activity (and the base event).
            for key in [
                "activity_id",
                "category_uid",
                "class_uid",
                "severity_id",
                "time",
                "type_uid",
                "metadata",
                "api",
                "actor",
                "src_endpoint",
            ] {
                assert!(!v[key].is_null(), "{key} missing: {v}");
            }
            assert_eq!(v["class_uid"], 6003);
            assert_eq!(v["activity_id"], 2);
            assert_eq!(v["type_uid"], 600_302);
            assert_eq!(v["time"], 1_796_378_400_250_i64);
            assert_eq!(v["metadata"]["product"]["vendor_name"], "Palisade");
            assert_eq!(v["api"]["operation"], "get");
            assert_eq!(v["actor"]["user"]["groups"][0]["name"], "dev");
        });
    }

    #[test]
    fn cef_in_syslog_escapes_what_it_must() {
        let text = SECRET_READ.replace("\"jane\"", "\"ja=ne|x\\\\y\"");
        one(&text, |d, e| {
            let line = syslog_cef(d, e, "node-1");
            assert!(
                line.starts_with("<36>1 2026-12-04T10:00:00.250000000Z node-1 palisade - - - CEF:0|Palisade|palisade|"),
                "{line}"
            );
            assert!(
                line.contains(
                    "|palisade-secret-read-by-a-person|Palisade Secret Read By A Person|6|"
                ),
                "{line}"
            );
            // `=` and `\` escaped in extension values; `|` needs no escape there.
            assert!(line.contains(r"suser=ja\=ne|x\\y "), "{line}");
            assert!(line.contains("rt=1796378400250 "), "{line}");
            assert!(line.contains("cs3=T1552.007 "), "{line}");
            assert!(!line.contains('\n'));
        });
    }
}
