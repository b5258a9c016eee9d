//! The provider's configuration: where the VCH's servers are and what the node reports.
//!
//! The file keeps the 2018 provider's keys (`portlayer-server`, `persona-server`) and the same
//! environment fallbacks (`PORTLAYER_ADDR`, `PERSONA_ADDR`), so a VCH's kubelet-starter setup
//! carries over. Unlike that provider, a file that cannot be read or parsed is an error, not
//! an empty configuration.

use std::path::Path;

use crate::node::{CpuRule, NodeConfig};

/// A configuration that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid configuration.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// What is wrong, with the line and column.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("{file}: {field}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The key.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The configuration file's contents; every key is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProviderConfig {
    /// The VCH's Port Layer API, `host:port` or a URL (`PORTLAYER_ADDR`).
    pub portlayer_server: Option<String>,
    /// The VCH's Docker API (the persona), `host:port` or a URL (`PERSONA_ADDR`).
    pub persona_server: Option<String>,
    /// Pods the node accepts (default 110, the kubelet's).
    pub max_pods: Option<u32>,
    /// `per-core` (MHz over the core clock) or `mhz1000` (the 2018 rule).
    pub cpu_rule: Option<String>,
    /// The hosts' core clock in MHz, for the `per-core` rule (default 2400).
    pub mhz_per_core: Option<u32>,
    /// The node's InternalIP (none by default).
    pub internal_ip: Option<String>,
}

impl ProviderConfig {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    /// Parses YAML text; `file` names it in errors. An empty file is the empty configuration.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let config: Self = serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        config.node(file)?;
        config.servers().map_err(|message| ConfigError::Invalid {
            file: file.to_string(),
            field: "servers",
            message: message.to_string(),
        })?;
        Ok(config)
    }

    /// The servers from `PORTLAYER_ADDR` and `PERSONA_ADDR` (`get` reads a variable), used
    /// when no file is given, as the 2018 provider did.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Self {
        ProviderConfig {
            portlayer_server: get("PORTLAYER_ADDR").filter(|v| !v.is_empty()),
            persona_server: get("PERSONA_ADDR").filter(|v| !v.is_empty()),
            ..Self::default()
        }
    }

    /// The node settings, defaults filled in.
    pub fn node(&self, file: &str) -> Result<NodeConfig, ConfigError> {
        let invalid = |field, message: &str| ConfigError::Invalid {
            file: file.to_string(),
            field,
            message: message.to_string(),
        };
        let mut node = NodeConfig::default();
        if let Some(rule) = &self.cpu_rule {
            node.cpu_rule = match rule.as_str() {
                "per-core" => CpuRule::PerCore,
                "mhz1000" => CpuRule::Mhz1000,
                _ => return Err(invalid("cpu-rule", "expected per-core or mhz1000")),
            };
        }
        if let Some(n) = self.max_pods {
            if n == 0 {
                return Err(invalid("max-pods", "must be at least 1"));
            }
            node.max_pods = n;
        }
        if let Some(mhz) = self.mhz_per_core {
            if mhz == 0 {
                return Err(invalid("mhz-per-core", "must be at least 1"));
            }
            node.mhz_per_core = mhz;
        }
        if let Some(ip) = &self.internal_ip {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(invalid("internal-ip", "not an IP address"));
            }
            node.internal_ip = ip.clone();
        }
        Ok(node)
    }

    /// Both servers as base URLs (`None` when neither is set: run against a world in
    /// process). One without the other is an error naming the missing key.
    pub fn servers(&self) -> Result<Option<(String, String)>, &'static str> {
        match (&self.portlayer_server, &self.persona_server) {
            (Some(pl), Some(persona)) => Ok(Some((base_url(pl), base_url(persona)))),
            (None, None) => Ok(None),
            (Some(_), None) => Err("persona-server (PERSONA_ADDR) is missing"),
            (None, Some(_)) => Err("portlayer-server (PORTLAYER_ADDR) is missing"),
        }
    }
}

/// `host:port` as `http://host:port`; a URL as given.
fn base_url(addr: &str) -> String {
    if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_the_2018_provider_and_node_settings_parse() {
        let c = ProviderConfig::parse(
            "portlayer-server: localhost:2377\npersona-server: http://10.0.0.5:2375\n\
             max-pods: 500\ncpu-rule: mhz1000\ninternal-ip: 10.0.0.5\n",
            "p.yaml",
        )
        .unwrap();
        assert_eq!(
            c.servers(),
            Ok(Some((
                "http://localhost:2377".to_string(),
                "http://10.0.0.5:2375".to_string()
            )))
        );
        let node = c.node("p.yaml").unwrap();
        assert_eq!(node.max_pods, 500);
        assert_eq!(node.cpu_rule, CpuRule::Mhz1000);
        assert_eq!(node.internal_ip, "10.0.0.5");
        assert_eq!(node.mhz_per_core, NodeConfig::default().mhz_per_core);
    }

    #[test]
    fn an_empty_file_is_the_defaults_and_runs_in_process() {
        let c = ProviderConfig::parse("\n", "p.yaml").unwrap();
        assert_eq!(c.servers(), Ok(None));
        assert_eq!(c.node("p.yaml").unwrap(), NodeConfig::default());
    }

    #[test]
    fn bad_files_name_the_file_and_the_problem() {
        let e = ProviderConfig::parse("portlayer-srever: x\n", "p.yaml").unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("p.yaml: "), "{text}");
        assert!(text.contains("portlayer-srever"), "{text}");
        let e = ProviderConfig::parse("max-pods: lots\n", "p.yaml").unwrap_err();
        assert!(e.to_string().contains("max-pods"), "{e}");
        let e = ProviderConfig::parse("max-pods: 0\n", "p.yaml").unwrap_err();
        assert_eq!(e.to_string(), "p.yaml: max-pods: must be at least 1");
        let e = ProviderConfig::parse("cpu-rule: fast\n", "p.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.yaml: cpu-rule: expected per-core or mhz1000"
        );
        let e = ProviderConfig::parse("internal-ip: here\n", "p.yaml").unwrap_err();
        assert_eq!(e.to_string(), "p.yaml: internal-ip: not an IP address");
        let e = ProviderConfig::parse("portlayer-server: h:1\n", "p.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.yaml: servers: persona-server (PERSONA_ADDR) is missing"
        );
        let e = ProviderConfig::load(Path::new("/nonexistent/p.yaml")).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/p.yaml: "), "{e}");
    }

    #[test]
    fn the_environment_gives_the_servers_when_no_file_does() {
        let env = |k: &str| match k {
            "PORTLAYER_ADDR" => Some("127.0.0.1:2377".to_string()),
            "PERSONA_ADDR" => Some("127.0.0.1:2375".to_string()),
            _ => None,
        };
        let c = ProviderConfig::from_env(env);
        assert_eq!(
            c.servers(),
            Ok(Some((
                "http://127.0.0.1:2377".to_string(),
                "http://127.0.0.1:2375".to_string()
            )))
        );
        assert_eq!(ProviderConfig::from_env(|_| None).servers(), Ok(None));
        let half = ProviderConfig::from_env(|k| (k == "PORTLAYER_ADDR").then(|| "h:1".into()));
        assert_eq!(
            half.servers(),
            Err("persona-server (PERSONA_ADDR) is missing")
        );
    }
}
