//! Pod Security Standards levels, versions and the profile an object is held to.

use std::fmt;
use std::str::FromStr;

/// The namespace label that sets the enforced level.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// The namespace label that pins the enforced version.
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";

/// A Pod Security Standards level. Ordered: each level includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(format!(
                "unknown Pod Security level {s:?} (expected privileged, baseline or restricted)"
            )),
        }
    }
}

/// A version of the standard: `v1.<minor>`. `latest` is [`Version::LATEST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub minor: u32,
}

impl Version {
    /// The newest version whose checks Palisade knows: what `latest` means.
    pub const LATEST: Version = Version { minor: 37 };

    #[must_use]
    pub const fn v1(minor: u32) -> Version {
        Version { minor }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v1.{}", self.minor)
    }
}

impl FromStr for Version {
    type Err = String;
    /// `latest` or `v1.<minor>` (as the admission labels take it; a leading `v` is
    /// required there, optional here). Versions newer than [`Version::LATEST`] evaluate
    /// like it, as the admission controller does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "latest" {
            return Ok(Version::LATEST);
        }
        let bad = || {
            format!(
                "invalid Pod Security version {s:?} (expected latest or v1.<minor>, e.g. v1.25)"
            )
        };
        let rest = s.strip_prefix('v').unwrap_or(s);
        let minor = rest.strip_prefix("1.").ok_or_else(bad)?;
        if minor.is_empty()
            || !minor.bytes().all(|b| b.is_ascii_digit())
            || (minor.len() > 1 && minor.starts_with('0'))
        {
            return Err(bad());
        }
        let minor: u32 = minor.parse().map_err(|_| bad())?;
        Ok(Version { minor })
    }
}

/// The level and version an object is evaluated at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Profile {
    pub level: Level,
    pub version: Version,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            level: Level::Restricted,
            version: Version::LATEST,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level.as_str(), self.version)
    }
}

impl FromStr for Profile {
    type Err = String;
    /// `LEVEL[:VERSION]`, the version defaulting to `latest`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (level, version) = s.split_once(':').unwrap_or((s, "latest"));
        Ok(Profile {
            level: level.parse()?,
            version: version.parse()?,
        })
    }
}

impl Profile {
    /// The profile Pod Security Admission enforces in a namespace with these labels,
    /// `default` standing for the admission configuration's defaults. As upstream: an
    /// invalid level means `restricted`, an invalid version `latest`, and a level set
    /// without a version means `latest`.
    #[must_use]
    pub fn from_namespace_labels<'a>(
        labels: impl Iterator<Item = (&'a str, &'a str)>,
        default: Profile,
    ) -> Option<Profile> {
        let mut level = None;
        let mut version = None;
        for (k, v) in labels {
            if k == ENFORCE_LABEL {
                level = Some(v.parse::<Level>().map_err(|_| ()));
            } else if k == ENFORCE_VERSION_LABEL {
                // Labels need the `v` prefix (`v1.25`), unlike `--pss`.
                let valid = v == "latest" || v.starts_with('v');
                version = Some(v.parse::<Version>().ok().filter(|_| valid).ok_or(()));
            }
        }
        if level.is_none() && version.is_none() {
            return None;
        }
        let mut p = default;
        if let Some(l) = level {
            p.level = l.unwrap_or(Level::Restricted);
            if version.is_none() && l.is_ok() {
                p.version = Version::LATEST;
            }
        }
        if let Some(v) = version {
            p.version = v.unwrap_or(Version::LATEST);
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profiles() {
        assert_eq!(
            "baseline:v1.25".parse::<Profile>().unwrap(),
            Profile {
                level: Level::Baseline,
                version: Version::v1(25)
            }
        );
        assert_eq!("restricted".parse::<Profile>().unwrap(), Profile::default());
        assert_eq!(
            "baseline:1.0".parse::<Profile>().unwrap().version,
            Version::v1(0)
        );
        assert!("strict".parse::<Profile>().is_err());
        assert!("baseline:v2.1".parse::<Profile>().is_err());
        assert!("baseline:v1.01".parse::<Profile>().is_err());
        assert!("baseline:v1.".parse::<Profile>().is_err());
        assert_eq!(Version::v1(5).to_string(), "v1.5");
    }

    #[test]
    fn namespace_labels_follow_admission_rules() {
        let d = Profile {
            level: Level::Baseline,
            version: Version::v1(20),
        };
        let p = |labels: &[(&'static str, &'static str)]| {
            Profile::from_namespace_labels(labels.iter().copied(), d)
        };
        assert_eq!(p(&[]), None);
        assert_eq!(p(&[("team", "a")]), None);
        assert_eq!(
            p(&[(ENFORCE_LABEL, "restricted")]),
            Some(Profile {
                level: Level::Restricted,
                version: Version::LATEST
            })
        );
        assert_eq!(
            p(&[
                (ENFORCE_LABEL, "privileged"),
                (ENFORCE_VERSION_LABEL, "v1.24")
            ]),
            Some(Profile {
                level: Level::Privileged,
                version: Version::v1(24)
            })
        );
        assert_eq!(
            p(&[(ENFORCE_LABEL, "bogus")]),
            Some(Profile {
                level: Level::Restricted,
                version: Version::v1(20)
            })
        );
        assert_eq!(
            p(&[(ENFORCE_VERSION_LABEL, "v1.22")]),
            Some(Profile {
                level: Level::Baseline,
                version: Version::v1(22)
            })
        );
        assert_eq!(
            p(&[(ENFORCE_LABEL, "baseline"), (ENFORCE_VERSION_LABEL, "1.22")]),
            Some(Profile {
                level: Level::Baseline,
                version: Version::LATEST
            })
        );
        assert_eq!(
            p(&[(ENFORCE_LABEL, "baseline"), (ENFORCE_VERSION_LABEL, "nope")]),
            Some(Profile {
                level: Level::Baseline,
                version: Version::LATEST
            })
        );
    }
}
