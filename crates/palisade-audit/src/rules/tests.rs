use serde_json::json;

use super::*;

const RULES: &str = r#"
- required_engine_version: 15
- required_plugin_versions:
    - name: k8saudit
      version: 0.7.0
- list: sensitive_resources
  items: [secrets, configmaps]
- list: user_known_secret_readers
  items: ["system:serviceaccount:kube-system:generic-garbage-collector"]
- list: user_known_secret_readers
  append: true
  items: [vault]
- macro: kevt
  condition: (jevt.value[/stage] in ("ResponseComplete"))
- macro: secret_read
  condition: ka.target.resource in (sensitive_resources) and ka.verb in (get, list, watch)
- macro: exec
  condition: ka.target.subresource in (exec, attach)
- rule: Read Secret
  desc: a secret or configmap was read
  condition: kevt and secret_read and not ka.user.name in (user_known_secret_readers) and ka.response.code < 400
  output: "%ka.user.name read %ka.target.resource %ka.target.namespace/%ka.target.name (groups=%ka.user.groups)."
  priority: WARNING
  source: k8s_audit
  tags: [k8s, secrets]
- rule: Exec Into Pod
  desc: exec into a pod
  condition: kevt and exec and ka.uri.param[command] exists
  output: exec by %ka.user.name command=%ka.uri.param[command] unknown=%ka.no.such
  priority: NOTICE
  source: k8s_audit
- rule: Exec Into Pod
  append: true
  condition: and not ka.user.name startswith "system:"
- rule: Privileged Pod
  desc: privileged container
  condition: kevt and ka.verb=create and ka.req.pod.containers.privileged intersects (true)
  output: privileged pod by %ka.user.name images=%ka.req.pod.containers.image
  priority: Critical
  source: k8s_audit
  exceptions: []
- rule: Disabled
  desc: off
  condition: kevt
  output: x
  priority: INFO
  source: k8s_audit
  enabled: false
- rule: Uses Unknown Field
  desc: x
  condition: kevt and ka.nonexistent = 1
  output: x
  priority: INFO
  source: k8s_audit
- rule: Syscall Rule
  desc: x
  condition: evt.type = open
  output: x
  priority: INFO
- rule: Bad Syntax
  desc: x
  condition: kevt and (ka.verb = get
  output: x
  priority: INFO
  source: k8s_audit
"#;

fn ruleset() -> RuleSet {
    let mut loader = Loader::default();
    loader.add("rules.yaml", RULES).unwrap();
    loader.compile()
}

fn event(verb: &str, resource: &str, user: &str) -> Value {
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "e1",
        "stage": "ResponseComplete", "verb": verb,
        "requestURI": format!("/api/v1/namespaces/prod/{resource}/db"),
        "user": {"username": user, "groups": ["dev", "system:authenticated"]},
        "objectRef": {"resource": resource, "namespace": "prod", "name": "db"},
        "responseStatus": {"code": 200},
        "stageTimestamp": "2026-12-04T10:00:00.123456Z",
    })
}

/// The detections of `rules` on `e` as the event of a log line.
fn detect_on<'r>(rules: &'r RuleSet, e: &Value) -> Vec<crate::Detection<'r>> {
    let text = e.to_string();
    crate::detect(rules, &crate::AuditEvent::parse(&text).unwrap())
}

fn fired(rules: &RuleSet, e: &Value) -> Vec<String> {
    detect_on(rules, e)
        .iter()
        .map(|d| d.rule.name.clone())
        .collect()
}

#[test]
fn loads_what_it_can_and_reports_the_rest() {
    let rules = ruleset();
    let names: Vec<&str> = rules.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Read Secret", "Exec Into Pod", "Privileged Pod"]);
    assert_eq!(
        rules.required_plugins,
        [("k8saudit".to_owned(), "0.7.0".to_owned())]
    );
    let notices: Vec<String> = rules.notices.iter().map(ToString::to_string).collect();
    let has = |s: &str| notices.iter().any(|n| n.contains(s));
    assert!(has("unknown field ka.nonexistent"), "{notices:?}");
    assert!(
        has("\"Syscall Rule\" is for source \"syscall\""),
        "{notices:?}"
    );
    assert!(
        has("\"Bad Syntax\" left out: condition: expected ')'"),
        "{notices:?}"
    );
    assert!(has("key \"exceptions\" is not read"), "{notices:?}");
    // Each notice names the file and the item's line.
    assert!(
        notices.iter().all(|n| n.starts_with("rules.yaml:")),
        "{notices:?}"
    );
}

#[test]
fn secret_reads_with_lists_appends_and_numbers() {
    let rules = ruleset();
    assert_eq!(
        fired(&rules, &event("get", "secrets", "jane")),
        ["Read Secret"]
    );
    assert_eq!(
        fired(&rules, &event("list", "configmaps", "jane")),
        ["Read Secret"]
    );
    // Negative cases: another verb, another resource, an allowed reader (appended to
    // the list), a failed request, another stage.
    assert!(fired(&rules, &event("delete", "secrets", "jane")).is_empty());
    assert!(fired(&rules, &event("get", "pods", "jane")).is_empty());
    assert!(fired(&rules, &event("get", "secrets", "vault")).is_empty());
    let mut denied = event("get", "secrets", "jane");
    denied["responseStatus"]["code"] = json!(403);
    assert!(fired(&rules, &denied).is_empty());
    let mut started = event("get", "secrets", "jane");
    started["stage"] = json!("RequestReceived");
    assert!(fired(&rules, &started).is_empty());
}

#[test]
fn exec_with_an_appended_condition() {
    let rules = ruleset();
    let mut e = event("create", "pods", "jane");
    e["objectRef"]["subresource"] = json!("exec");
    e["requestURI"] =
        json!("/api/v1/namespaces/prod/pods/db/exec?command=sh&command=-c&stdin=true");
    let d = detect_on(&rules, &e);
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].output,
        "exec by jane command=(sh,-c) unknown=%ka.no.such"
    );
    // The appended `and not ka.user.name startswith "system:"`.
    e["user"]["username"] = json!("system:serviceaccount:ci:runner");
    assert!(fired(&rules, &e).is_empty());
    // No command parameter: `exists` is false.
    e["user"]["username"] = json!("jane");
    e["requestURI"] = json!("/api/v1/namespaces/prod/pods/db/exec");
    assert!(fired(&rules, &e).is_empty());
}

#[test]
fn privileged_pods_and_falco_json() {
    let rules = ruleset();
    let mut e = event("create", "pods", "jane");
    e["requestObject"] = json!({"kind": "Pod", "spec": {"containers": [
        {"name": "a", "image": "nginx:1.27"},
        {"name": "b", "image": "busybox", "securityContext": {"privileged": true}},
    ]}});
    let d = detect_on(&rules, &e);
    assert_eq!(d.len(), 1);
    let line = crate::falco_json(&d[0], "node-1");
    assert_eq!(line["rule"], "Privileged Pod");
    assert_eq!(line["priority"], "Critical");
    assert_eq!(line["source"], "k8s_audit");
    assert_eq!(line["time"], "2026-12-04T10:00:00.123456000Z");
    assert_eq!(
        line["output"],
        "10:00:00.123456000: Critical privileged pod by jane images=(nginx:1.27,busybox)"
    );
    assert_eq!(line["output_fields"]["ka.user.name"], "jane");
    assert_eq!(
        line["output_fields"]["ka.req.pod.containers.image"],
        json!(["nginx:1.27", "busybox"])
    );
    // No container privileged: no detection.
    e["requestObject"]["spec"]["containers"][1]["securityContext"]["privileged"] = json!(false);
    assert!(fired(&rules, &e).is_empty());
}

#[test]
fn field_values_compare_as_falco_compares_them() {
    let v = |xs: &[&'static str]| xs.iter().map(|x| Cow::Borrowed(*x)).collect::<Vec<_>>();
    let s = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    // No value: false for every operator, `!=` included.
    assert!(!compare(&[], Op::Ne, &s(&["x"])));
    assert!(!compare(&[], Op::Exists, &[]));
    // `in`: every value in the set; `intersects`: one.
    assert!(compare(&v(&["a", "b"]), Op::In, &s(&["a", "b", "c"])));
    assert!(!compare(&v(&["a", "z"]), Op::In, &s(&["a", "b"])));
    assert!(compare(&v(&["a", "z"]), Op::Intersects, &s(&["a", "b"])));
    // `pmatch`: path prefixes at a `/` boundary.
    assert!(compare(
        &v(&["/etc/kubernetes/pki"]),
        Op::PMatch,
        &s(&["/etc"])
    ));
    assert!(!compare(&v(&["/etcd"]), Op::PMatch, &s(&["/etc"])));
    // Numbers compare as numbers.
    assert!(compare(&v(&["1000"]), Op::Gt, &s(&["999"])));
    assert!(compare(&v(&["x.y"]), Op::Glob, &s(&["x.*"])));
    assert!(compare(&v(&["Secret"]), Op::IContains, &s(&["secr"])));
}

#[test]
fn macros_that_use_themselves_are_errors() {
    let mut loader = Loader::default();
    loader
        .add(
            "loop.yaml",
            "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: R\n  desc: x\n  condition: a\n  output: x\n  priority: INFO\n  source: k8s_audit\n",
        )
        .unwrap();
    let rules = loader.compile();
    assert!(rules.rules.is_empty());
    assert!(
        rules.notices[0].message.contains("refers to itself"),
        "{:?}",
        rules.notices
    );
    let mut loader = Loader::default();
    let err = loader.add("map.yaml", "rule: x\n").unwrap_err();
    assert_eq!(err.line, 1);
}

/// Constructs Falco's own Kubernetes audit rules file uses: a null item, folded
/// conditions, lists inside lists, empty lists, names of no list read as literals,
/// string comparison of response codes, output fields ended by `/` or `)`.
#[test]
fn falco_file_constructs() {
    let text = r#"
-
- list: inner_users
  items: [alice]
- list: no_users
  items: []
- list: outer_users
  items: [inner_users, "bob", no_users]
- macro: never_true
  condition: (jevt.rawtime=0)
- macro: ok_response
  condition: ka.response.code startswith 2
- rule:  Known User Write
  desc: >
    folded
    description
  condition: >
    ka.verb in (create, update)
    and ka.user.name in (outer_users, carol)
    and ok_response
    and not never_true
    and ka.target.resource in (undefined_list, pods)
  output: user=%ka.user.name target=%ka.target.name/%ka.target.resource (reason=%ka.response.reason))
  source: k8s_audit
  priority: INFO
  tags: [k8s]
"#;
    let mut loader = Loader::default();
    loader.add("falco-like.yaml", text).unwrap();
    let rules = loader.compile();
    assert_eq!(rules.rules.len(), 1, "{:?}", rules.notices);
    for (user, fires) in [
        ("alice", true),
        ("bob", true),
        ("carol", true),
        ("mallory", false),
    ] {
        let mut e = event("create", "pods", user);
        e["responseStatus"]["reason"] = json!("Created");
        assert_eq!(!fired(&rules, &e).is_empty(), fires, "{user}");
    }
    // `startswith 2` on the code as text: a 403 is not a success.
    let mut denied = event("create", "pods", "alice");
    denied["responseStatus"]["code"] = json!(403);
    assert!(fired(&rules, &denied).is_empty());
    let d = detect_on(&rules, &event("create", "pods", "alice"));
    assert_eq!(d[0].output, "user=alice target=db/pods (reason=<NA>))");
    let line = crate::falco_json(&d[0], "h");
    assert_eq!(line["priority"], "Informational");
    assert_eq!(line["output_fields"]["ka.response.reason"], Value::Null);
    // The bare `-` is skipped with a note naming its line.
    let notes: Vec<String> = rules.notices.iter().map(ToString::to_string).collect();
    assert_eq!(
        notes,
        ["falco-like.yaml:2: an empty item (a bare `-`) is skipped"]
    );
}
