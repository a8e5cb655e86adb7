//! The organisation directory for SSO: a data file the admin can extend
//! (`<data dir>/organisations.json`), merged with the list the cloud provides, and searched by
//! name or e-mail domain.

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
    /// A name, a client id, and an issuer that is a web URL: anything else cannot be signed in
    /// with, and is not listed.
    pub fn is_usable(&self) -> bool {
        !self.name.trim().is_empty()
            && !self.client_id.trim().is_empty()
            && url::Url::parse(&self.issuer).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
    }

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

/// The admin's organisations, then the cloud's that the admin does not list. On a conflict
/// (the same name, in any case) the admin's entry wins; where it names the same issuer, the
/// cloud's entry fills in the optional fields the admin left out.
pub fn merge(admin: Vec<Organisation>, cloud: Vec<Organisation>) -> Vec<Organisation> {
    let mut merged = admin;
    for theirs in cloud {
        match merged
            .iter_mut()
            .find(|ours| ours.name.trim().eq_ignore_ascii_case(theirs.name.trim()))
        {
            Some(ours) => {
                if ours.issuer.trim_end_matches('/') == theirs.issuer.trim_end_matches('/') {
                    ours.login_hint = ours.login_hint.take().or(theirs.login_hint);
                    ours.domain = ours.domain.take().or(theirs.domain);
                }
            }
            None => merged.push(theirs),
        }
    }
    merged
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
    fn the_admins_entries_win_and_the_clouds_fill_in() {
        let mut ours = org("Uni of Examples", None);
        ours.client_id = "admin-client".into();
        let mut theirs = org("UNI OF EXAMPLES", Some("uni.example"));
        theirs.client_id = "cloud-client".into();
        let mut elsewhere = org("Makerspace", Some("maker.example"));
        elsewhere.issuer = "https://idp.maker.example".into();
        let mut moved = org("Makerspace", None);
        moved.issuer = "https://other.example".into();
        let merged = merge(
            vec![ours, moved],
            vec![theirs, elsewhere, org("Cloud College", None)],
        );
        let names: Vec<&str> = merged.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["Uni of Examples", "Makerspace", "Cloud College"]);
        assert_eq!(merged[0].client_id, "admin-client");
        assert_eq!(merged[0].domain.as_deref(), Some("uni.example"));
        // Another issuer: nothing of the cloud's entry is mixed into the admin's.
        assert_eq!(merged[1].issuer, "https://other.example");
        assert_eq!(merged[1].domain, None);
    }

    #[test]
    fn unusable_entries_are_recognised() {
        assert!(org("Uni", None).is_usable());
        let mut bad = org("Uni", None);
        bad.issuer = "javascript:alert(1)".into();
        assert!(!bad.is_usable());
        assert!(!org(" ", None).is_usable());
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
