//! The RBAC authorizer's decision, rule by rule as Kubernetes evaluates it.

use crate::model::{Model, RoleId};
use crate::record::{PolicyRule, SubjectDef, SubjectKind};

/// Members of this group are allowed everything before RBAC is consulted.
pub const PRIVILEGED_GROUP: &str = "system:masters";

/// One request to authorize. A resource request has `resource` set; a non-resource
/// request has `path` set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub verb: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    /// Empty: no particular object (list, create without a name, ...).
    pub name: String,
    /// Empty: cluster-wide (cluster-scoped resources, `-A`, non-resource URLs).
    pub namespace: String,
    pub path: Option<String>,
}

impl Request {
    #[must_use]
    pub fn resource(verb: &str, api_group: &str, resource: &str, namespace: &str) -> Self {
        Self {
            verb: verb.into(),
            api_group: api_group.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn non_resource(verb: &str, path: &str) -> Self {
        Self {
            verb: verb.into(),
            path: Some(path.into()),
            ..Self::default()
        }
    }

    /// Does one policy rule allow this request? (The authorizer's `RuleAllows`.)
    #[must_use]
    pub fn allowed_by(&self, rule: &PolicyRule) -> bool {
        if !has_or_star(&rule.verbs, &self.verb) {
            return false;
        }
        match &self.path {
            Some(path) => rule.non_resource_urls.iter().any(|u| url_matches(u, path)),
            None => {
                has_or_star(&rule.api_groups, &self.api_group)
                    && resource_matches(&rule.resources, &self.resource, &self.subresource)
                    && (rule.resource_names.is_empty() || rule.resource_names.contains(&self.name))
            }
        }
    }

    /// `get pods/log "web" in default`-style description.
    #[must_use]
    pub fn describe(&self) -> String {
        if let Some(p) = &self.path {
            return format!("{} {p}", self.verb);
        }
        let mut s = format!("{} {}", self.verb, self.resource);
        if !self.api_group.is_empty() {
            s.push('.');
            s.push_str(&self.api_group);
        }
        if !self.subresource.is_empty() {
            s.push('/');
            s.push_str(&self.subresource);
        }
        if !self.name.is_empty() {
            s.push_str(&format!(" {:?}", self.name));
        }
        if self.namespace.is_empty() {
            s.push_str(" cluster-wide");
        } else {
            s.push_str(&format!(" in namespace {}", self.namespace));
        }
        s
    }
}

pub(crate) fn has_or_star(list: &[String], wanted: &str) -> bool {
    list.iter().any(|v| v == "*" || v == wanted)
}

/// `resources` matching: `*`, `resource`, `resource/subresource`, and `*/subresource`
/// for a subresource of any resource. A rule for `pods` does not cover `pods/log`.
pub(crate) fn resource_matches<S: AsRef<str>>(
    rules: &[S],
    resource: &str,
    subresource: &str,
) -> bool {
    rules.iter().any(|r| {
        let r = r.as_ref();
        if r == "*" {
            return true;
        }
        if subresource.is_empty() {
            return r == resource;
        }
        match r.split_once('/') {
            Some((res, sub)) => sub == subresource && (res == "*" || res == resource),
            None => false,
        }
    })
}

/// `nonResourceURLs` matching: `*`, an exact path, or a prefix ending in `*` (every
/// trailing `*` is trimmed, as upstream's `strings.TrimRight` does).
fn url_matches(rule: &str, path: &str) -> bool {
    rule == "*"
        || rule == path
        || (rule.ends_with('*') && path.starts_with(rule.trim_end_matches('*')))
}

/// Who makes a request: a user name and groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

impl User {
    /// The identity the API server builds for `--as NAME --as-group G...`: a service
    /// account name (`system:serviceaccount:NS:NAME`) brings that account's groups when
    /// no group is given; everyone but `system:anonymous` is in `system:authenticated`
    /// unless `system:unauthenticated` is given, and `system:anonymous` is in
    /// `system:unauthenticated`.
    #[must_use]
    pub fn impersonated(name: &str, groups: &[String]) -> Self {
        let mut all: Vec<String> = groups.to_vec();
        if all.is_empty() {
            if let Some((ns, _)) = service_account_of(name) {
                all.push("system:serviceaccounts".into());
                all.push(format!("system:serviceaccounts:{ns}"));
            }
        }
        // As the impersonation filter does: a named `system:unauthenticated` (or
        // `system:authenticated`) group stands instead of the implicit one.
        let implicit = if name == "system:anonymous" {
            "system:unauthenticated"
        } else {
            "system:authenticated"
        };
        let explicit = all.iter().any(|g| {
            g == implicit || (implicit == "system:authenticated" && g == "system:unauthenticated")
        });
        if !explicit {
            all.push(implicit.into());
        }
        Self {
            name: name.into(),
            groups: all,
        }
    }

    /// The identity a service account's token carries.
    #[must_use]
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self::impersonated(&format!("system:serviceaccount:{namespace}:{name}"), &[])
    }

    /// Does a binding subject name this user (appliesToUser)?
    #[must_use]
    pub fn is(&self, subject: &SubjectDef) -> bool {
        match subject.kind {
            SubjectKind::User => subject.name == self.name,
            SubjectKind::Group => self.groups.contains(&subject.name),
            SubjectKind::ServiceAccount => {
                !subject.namespace.is_empty()
                    && service_account_of(&self.name)
                        == Some((subject.namespace.as_str(), subject.name.as_str()))
            }
        }
    }
}

/// `system:serviceaccount:NS:NAME` split into (NS, NAME).
#[must_use]
pub fn service_account_of(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains(':')).then_some((ns, name))
}

/// The binding, role and rule that allow a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub binding: usize,
    /// The role the binding names.
    pub role: RoleId,
    /// The role that holds the rule (another ClusterRole when `role` aggregates it).
    pub rule_role: RoleId,
    pub rule: usize,
}

/// Why a request is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// In `system:masters`: allowed before RBAC runs.
    PrivilegedGroup,
    Rbac(Grant),
}

/// The answer to can-i.
pub type Decision = Option<Reason>;

impl Model {
    /// The first rule of `role` that allows `req`, if any.
    #[must_use]
    pub fn role_allows(&self, role: RoleId, req: &Request) -> Option<(RoleId, usize)> {
        self.rules_of(role)
            .find(|(_, rule)| req.allowed_by(rule))
            .map(|(ri, rule)| (ri, rule.index))
    }

    /// Authorizes `req` for `user` as the API server would with `--authorization-mode`
    /// including RBAC: `system:masters` first, then ClusterRoleBindings, then the
    /// RoleBindings of the request's namespace. `None` is a denial.
    #[must_use]
    pub fn authorize(&self, user: &User, req: &Request) -> Decision {
        if user.groups.iter().any(|g| g == PRIVILEGED_GROUP) {
            return Some(Reason::PrivilegedGroup);
        }
        for b in self.bindings_in(&req.namespace) {
            let binding = &self.bindings[b];
            if !binding.subjects.iter().any(|s| user.is(s)) {
                continue;
            }
            let Some(role) = self.binding_role[b] else {
                continue;
            };
            if let Some((rule_role, rule)) = self.role_allows(role, req) {
                return Some(Reason::Rbac(Grant {
                    binding: b,
                    role,
                    rule_role,
                    rule,
                }));
            }
        }
        None
    }

    /// Every subject some binding allows `req`, with the grant; for an empty namespace
    /// only ClusterRoleBindings count, and with `all_namespaces` RoleBindings of every
    /// namespace count too. Each role is evaluated once.
    #[must_use]
    pub fn who_can(&self, req: &Request, all_namespaces: bool) -> Vec<(&SubjectDef, Grant)> {
        let verdicts = self.role_verdicts(req);
        let mut out = Vec::new();
        let candidates: Box<dyn Iterator<Item = usize>> = if all_namespaces {
            Box::new(0..self.bindings.len())
        } else {
            Box::new(self.bindings_in(&req.namespace))
        };
        for b in candidates {
            let Some(role) = self.binding_role[b] else {
                continue;
            };
            if let Some((rule_role, rule)) = verdicts[role] {
                let grant = Grant {
                    binding: b,
                    role,
                    rule_role,
                    rule,
                };
                out.extend(self.bindings[b].subjects.iter().map(|s| (s, grant)));
            }
        }
        out
    }
}
