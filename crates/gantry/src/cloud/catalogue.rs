//! The organisations the login screen and `gantry login --sso` search: the admin's file merged
//! with the cloud's list (see [`directory::merge`]). The cloud's list is cached in the store, so
//! SSO can still be chosen while the cloud is unreachable, and in offline mode, which never
//! asks the cloud.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::account::{self, Mode};
use super::api::Cloud;
use super::directory::{self, DirectoryError, Organisation};
use super::settings::CloudSettings;
use crate::store::{Store, StoreError};

/// Store key of the cached list.
pub const CACHE_KEY: &str = "cloud.organisations";
/// A search box waits for this at most; the cached list answers otherwise.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// The last list a cloud gave, and when it was last asked (answered or not), so an unreachable
/// cloud is not asked at every keystroke.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    base_url: String,
    asked_at: u64,
    fetched_at: Option<u64>,
    organisations: Vec<Organisation>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Every organisation to offer: the admin's, then the cloud's.
pub async fn organisations(
    store: &Store,
    data_dir: &Path,
) -> Result<Vec<Organisation>, CatalogueError> {
    let admin = directory::load(data_dir)?;
    let cloud = cloud_list(store).await?;
    Ok(directory::merge(admin, cloud))
}

/// The cloud's list: asked again when the cached one is older than the settings allow, and never
/// in offline mode.
async fn cloud_list(store: &Store) -> Result<Vec<Organisation>, StoreError> {
    let settings = account::settings(store).await?;
    let mut cache: Cache = store.setting(CACHE_KEY).await?.unwrap_or_default();
    if cache.base_url != settings.base_url {
        // Another cloud's organisations do not sign in to this one.
        cache = Cache {
            base_url: settings.base_url.clone(),
            ..Cache::default()
        };
    }
    if account::record(store).await?.mode == Mode::Offline {
        return Ok(cache.organisations);
    }
    let now = unix_now();
    let due = cache.asked_at == 0
        || now.saturating_sub(cache.asked_at) >= settings.organisations_refresh_s;
    if !due {
        return Ok(cache.organisations);
    }
    cache.asked_at = now;
    match ask(store, &settings).await {
        Ok(list) => {
            tracing::debug!(count = list.len(), "the cloud listed its SSO organisations");
            cache.organisations = list;
            cache.fetched_at = Some(now);
        }
        Err(error) => {
            tracing::info!(%error, "the cloud's organisation list is unavailable; using the last one it gave");
        }
    }
    store.set_setting(CACHE_KEY, &cache).await?;
    Ok(cache.organisations)
}

async fn ask(store: &Store, settings: &CloudSettings) -> Result<Vec<Organisation>, String> {
    let cloud = account::backend(store, settings)
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::timeout(ASK_TIMEOUT, cloud.organisations())
        .await
        .map_err(|_| "the cloud did not answer in time".to_owned())?
        .map_err(|e| e.to_string())
}
