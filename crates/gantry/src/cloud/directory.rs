//! The organisation directory for SSO: a data file the admin can extend
//! (`<data dir>/organisations.json`), searched by name or e-mail domain.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::oidc::Provider;

pub const FILE: &str = "organisations.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub login_hint: Option<String>,
    /// The e-mail domain of its members, so "ada@uni.example" finds "Uni".
    #[serde(default)]
    pub domain: Option<String>,
}

impl Organisation {
    pub fn provider(&self) -> Provider {
        Provider {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            login_hint: self.login_hint.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read the organisation directory {path}: {detail}")]
    Read { path: String, detail: String },
}

/// Every organisation in the data file; none when there is no file.
pub fn load(data_dir: &Path) -> Result<Vec<Organisation>, DirectoryError> {
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| DirectoryError::Read {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(DirectoryError::Read {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
    }
}

/// Organisations whose name contains `query`, or whose domain matches an e-mail's.
pub fn search<'a>(all: &'a [Organisation], query: &str) -> Vec<&'a Organisation> {
    let query = query.trim().to_lowercase();
    let domain = query.rsplit('@').next().unwrap_or("");
    all.iter()
        .filter(|org| {
            query.is_empty()
                || org.name.to_lowercase().contains(&query)
                || org
                    .domain
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(domain))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(name: &str, domain: Option<&str>) -> Organisation {
        Organisation {
            name: name.into(),
            issuer: "http://127.0.0.1:1".into(),
            client_id: "gantry".into(),
            login_hint: None,
            domain: domain.map(str::to_owned),
        }
    }

    #[test]
    fn search_by_name_or_domain() {
        let all = [
            org("Uni of Examples", Some("uni.example")),
            org("Makerspace", None),
        ];
        assert_eq!(search(&all, "exam").len(), 1);
        assert_eq!(search(&all, "ada@UNI.example")[0].name, "Uni of Examples");
        assert_eq!(search(&all, "").len(), 2);
        assert!(search(&all, "nothing").is_empty());
    }
}
