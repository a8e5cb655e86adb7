//! The cloud link's settings, and the few of them a cloud may change.
//!
//! The original client deep-merged whatever the server sent (`settings_mod`) over its settings,
//! base URL included, which let a server redirect every later request. Gantry applies only the
//! keys in [`CLOUD_CHANGEABLE`]; the base URL is never among them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const DEFAULT_BASE_URL: &str = "https://cli-cloud.3dprinteros.com";
/// The store key holding [`CloudSettings`].
pub const SETTINGS_KEY: &str = "cloud.settings";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CloudSettings {
    pub base_url: String,
    /// Seconds between `command` requests per printer.
    pub printer_loop_period: f64,
    /// Seconds before a request without an answer is given up.
    pub request_timeout: f64,
    /// Keep downloaded cloud files after printing.
    pub keep_print_files: bool,
    /// The page "Forgot your password?" opens; by default the cloud's website (see
    /// [`CloudSettings::password_reset_url`]).
    pub password_reset_url: Option<String>,
    /// Seconds the cloud's organisation list is used before it is asked again.
    pub organisations_refresh_s: u64,
}

impl Default for CloudSettings {
    fn default() -> CloudSettings {
        CloudSettings {
            base_url: DEFAULT_BASE_URL.into(),
            printer_loop_period: 2.0,
            request_timeout: 18.0,
            keep_print_files: false,
            password_reset_url: None,
            organisations_refresh_s: 600,
        }
    }
}

/// `settings_mod` keys a cloud may change, with their bounds.
pub const CLOUD_CHANGEABLE: [&str; 2] = ["printer_loop_period", "keep_print_files"];

impl CloudSettings {
    pub fn loop_period(&self) -> Duration {
        Duration::from_secs_f64(self.printer_loop_period.clamp(0.05, 60.0))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout.clamp(1.0, 120.0))
    }

    /// Where "Forgot your password?" leads: the setting, or the cloud's user website — the
    /// cloud's host without its `cli-` prefix, as the protocol names them (`cli-cloud.…` serves
    /// clients, `cloud.…` people), where the sign-in page offers the reset.
    pub fn password_reset_url(&self) -> String {
        // Only a web page: the link goes into the dashboard as it is.
        let web_page =
            |u: &&str| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
        if let Some(url) = self.password_reset_url.as_deref().filter(web_page) {
            return url.to_owned();
        }
        match url::Url::parse(&self.base_url) {
            Ok(mut url) => {
                if let Some(site) = url.host_str().and_then(|h| h.strip_prefix("cli-")) {
                    let site = site.to_owned();
                    // A host name minus a prefix is still a valid host name.
                    let _ = url.set_host(Some(&site));
                }
                url.set_path("/");
                url.set_query(None);
                url.to_string()
            }
            Err(_) => self.base_url.clone(),
        }
    }

    /// Applies the allowed part of a cloud's `settings_mod`; returns the keys refused, for the log.
    pub fn apply_cloud_changes(&mut self, changes: &Map<String, Value>) -> Vec<String> {
        let mut refused = Vec::new();
        for (key, value) in changes {
            let applied = match key.as_str() {
                "printer_loop_period" => match value.as_f64() {
                    Some(period) if (0.5..=60.0).contains(&period) => {
                        self.printer_loop_period = period;
                        true
                    }
                    _ => false,
                },
                "keep_print_files" => match value.as_bool() {
                    Some(keep) => {
                        self.keep_print_files = keep;
                        true
                    }
                    None => false,
                },
                _ => false,
            };
            if !applied {
                refused.push(key.clone());
            }
        }
        refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cloud_cannot_move_the_base_url() {
        let mut settings = CloudSettings {
            base_url: "https://cloud.example".into(),
            ..CloudSettings::default()
        };
        let changes = json!({
            "URL": "evil.example", "base_url": "https://evil.example",
            "protocol": {"encryption": false}, "printer_loop_period": 5,
            "keep_print_files": true
        });
        let mut refused = settings.apply_cloud_changes(changes.as_object().unwrap());
        refused.sort();
        assert_eq!(refused, ["URL", "base_url", "protocol"]);
        assert_eq!(settings.base_url, "https://cloud.example");
        assert_eq!(settings.printer_loop_period, 5.0);
        assert!(settings.keep_print_files);
    }

    #[test]
    fn the_reset_page_is_the_users_website_unless_set() {
        let mut settings = CloudSettings::default();
        assert_eq!(
            settings.password_reset_url(),
            "https://cloud.3dprinteros.com/"
        );
        settings.base_url = "http://127.0.0.1:4100/api".into();
        assert_eq!(settings.password_reset_url(), "http://127.0.0.1:4100/");
        settings.password_reset_url = Some("https://id.example/reset".into());
        assert_eq!(settings.password_reset_url(), "https://id.example/reset");
        settings.password_reset_url = Some("javascript:alert(1)".into());
        assert_eq!(settings.password_reset_url(), "http://127.0.0.1:4100/");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let mut settings = CloudSettings::default();
        let refused = settings
            .apply_cloud_changes(json!({"printer_loop_period": 0.001}).as_object().unwrap());
        assert_eq!(refused, ["printer_loop_period"]);
        assert_eq!(settings.printer_loop_period, 2.0);
    }
}
