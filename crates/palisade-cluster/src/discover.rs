//! Which resources to list: every listable resource of every group's preferred version,
//! custom resources included, as `kubectl api-resources --verbs=list` shows them.

use kube::Client;
use serde::Deserialize;

use crate::{NotEvaluated, Resource};

#[derive(Deserialize, Default)]
#[serde(default)]
struct GroupList {
    groups: Vec<Group>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Group {
    name: String,
    versions: Vec<GroupVersion>,
    #[serde(rename = "preferredVersion")]
    preferred: Option<GroupVersion>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct GroupVersion {
    #[serde(rename = "groupVersion")]
    group_version: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResourceList {
    resources: Vec<ApiResource>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApiResource {
    name: String,
    kind: String,
    namespaced: bool,
    verbs: Vec<String>,
}

/// Lists that carry no configuration and are the largest in a busy cluster; no check
/// reads them.
const SKIPPED: &[(&str, &str)] = &[("", "events"), ("events.k8s.io", "events")];

async fn get_json<T: for<'de> Deserialize<'de>>(
    client: &Client,
    limit: std::time::Duration,
    path: &str,
) -> Result<T, kube::Error> {
    let request = http::Request::get(path)
        .header("Accept", "application/json")
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    let text = crate::within(limit, client.request_text(request)).await?;
    serde_json::from_str(&text).map_err(kube::Error::SerdeError)
}

/// The resources to list, core first then groups in discovery order; and the group
/// versions whose discovery failed (an aggregated API that is down answers 503), which
/// are reported, not fatal.
///
/// # Errors
/// The core discovery itself failing: nothing can be listed then.
pub async fn discover(
    client: &Client,
    limit: std::time::Duration,
) -> Result<(Vec<Resource>, Vec<NotEvaluated>), kube::Error> {
    let mut resources = Vec::new();
    let mut failed = Vec::new();
    let core: ResourceList = get_json(client, limit, "/api/v1").await?;
    add(&mut resources, "", "v1", core);
    let groups: GroupList = get_json(client, limit, "/apis").await?;
    for group in groups.groups {
        // The preferred version first; other versions add only the resources it lacks
        // (a custom resource served in v1alpha1 alone), as `kubectl api-resources` has them.
        let mut versions: Vec<String> = group
            .preferred
            .iter()
            .map(|p| p.group_version.clone())
            .collect();
        for v in &group.versions {
            if !versions.contains(&v.group_version) {
                versions.push(v.group_version.clone());
            }
        }
        let mut served: Vec<Resource> = Vec::new();
        for gv in versions {
            let version = gv.rsplit('/').next().unwrap_or_default().to_owned();
            match get_json::<ResourceList>(client, limit, &format!("/apis/{gv}")).await {
                Ok(list) => {
                    let mut found = Vec::new();
                    add(&mut found, &group.name, &version, list);
                    found.retain(|r| !served.iter().any(|s| s.name == r.name));
                    served.extend(found);
                }
                Err(e) => failed.push(NotEvaluated {
                    resource: gv.clone(),
                    reason: format!("discovery failed: {}", crate::describe(&e)),
                }),
            }
        }
        resources.extend(served);
    }
    Ok((resources, failed))
}

fn add(out: &mut Vec<Resource>, group: &str, version: &str, list: ResourceList) {
    for r in list.resources {
        let listable = r.verbs.iter().any(|v| v == "list");
        if !listable || r.name.contains('/') || SKIPPED.contains(&(group, r.name.as_str())) {
            continue;
        }
        out.push(Resource {
            group: group.to_owned(),
            version: version.to_owned(),
            name: r.name,
            kind: r.kind,
            namespaced: r.namespaced,
        });
    }
}
