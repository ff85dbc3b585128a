//! Command lines as the Kubernetes components read them (spf13/pflag): `--name=value`,
//! `--name value`, and a boolean flag alone meaning `true`.

use serde::{Deserialize, Serialize};

/// One flag of a command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub name: String,
    /// The value; `true` for a boolean flag given alone.
    pub value: String,
    /// Index of the flag's own argument in the command line (0 is the program).
    pub index: usize,
    /// The flag as written: `--read-only-port=10255`, `--config /etc/kubelet.yaml`.
    pub written: String,
    /// Set in a file rather than on the command line (k3s's `kubelet-arg:` in its
    /// `config.yaml`): the file and line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<(String, u32)>,
}

/// The flags of `args` (`args[0]` is the program). A flag in `booleans`, or one followed
/// by another flag or by nothing, takes no separate value (pflag reads `--anonymous-auth
/// false` as `--anonymous-auth=true` and a stray `false`). Everything after `--` is an
/// argument, not a flag.
#[must_use]
pub fn parse(args: &[String], booleans: &[&str]) -> Vec<Flag> {
    let mut flags = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            break;
        }
        let Some(body) = arg.strip_prefix("--").filter(|b| !b.is_empty()) else {
            i += 1;
            continue;
        };
        match body.split_once('=') {
            Some((name, value)) => flags.push(Flag {
                name: name.to_owned(),
                value: value.to_owned(),
                index: i,
                written: arg.clone(),
                file: None,
            }),
            None => {
                let next = args.get(i + 1).filter(|n| !n.starts_with("--"));
                match next {
                    Some(value) if !booleans.contains(&body) => {
                        flags.push(Flag {
                            name: body.to_owned(),
                            value: value.clone(),
                            index: i,
                            written: format!("{arg} {value}"),
                            file: None,
                        });
                        i += 1;
                    }
                    _ => flags.push(Flag {
                        name: body.to_owned(),
                        value: "true".to_owned(),
                        index: i,
                        written: arg.clone(),
                        file: None,
                    }),
                }
            }
        }
        i += 1;
    }
    flags
}

/// The last occurrence of flag `name` (a repeated flag's last value wins).
#[must_use]
pub fn last<'f>(flags: &'f [Flag], name: &str) -> Option<&'f Flag> {
    flags.iter().rev().find(|f| f.name == name)
}

/// Go's `strconv.ParseBool`, which pflag uses for boolean flags.
#[must_use]
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn forms_of_flags() {
        let flags = parse(
            &argv("/usr/bin/kubelet --config /var/lib/kubelet/config.yaml --anonymous-auth false --read-only-port=0 --rotate-certificates -- --ignored"),
            &["anonymous-auth", "rotate-certificates"],
        );
        let got: Vec<(&str, &str, usize)> = flags
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str(), f.index))
            .collect();
        assert_eq!(
            got,
            [
                ("config", "/var/lib/kubelet/config.yaml", 1),
                // pflag: a boolean flag never takes the next argument.
                ("anonymous-auth", "true", 3),
                ("read-only-port", "0", 5),
                ("rotate-certificates", "true", 6),
            ]
        );
        assert_eq!(flags[0].written, "--config /var/lib/kubelet/config.yaml");
    }

    #[test]
    fn last_value_wins_and_go_booleans() {
        let flags = parse(
            &argv("kubelet --read-only-port=10255 --read-only-port=0"),
            &[],
        );
        assert_eq!(last(&flags, "read-only-port").unwrap().value, "0");
        assert_eq!(parse_bool("F"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
