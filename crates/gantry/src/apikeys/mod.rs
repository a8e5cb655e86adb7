//! API keys for the OctoPrint-compatible API.
//!
//! A key is a long random secret shown once, when it is made; the store keeps only its SHA-256,
//! so a copy of the database hands out no keys. Each key drives one printer (the OctoPrint API
//! has one printer), chosen when the key is made. The keys live in memory too, because a key
//! is checked on every request, synchronously, by [`crate::web::auth`].

mod requests;
mod store;

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use serde::Serialize;

use crate::access::{secret, ApiKeyVerifier};
use crate::store::{Store, StoreError};

pub use requests::{AppRequest, Poll, RequestError, Requests, PENDING_LIMIT, POLL_TIMEOUT};

/// Keys start with this, so that a leaked one is recognisable in logs and code searches.
pub const KEY_PREFIX: &str = "gantry_";
/// Longest key name kept, in characters.
pub const MAX_NAME: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a key needs a name of 1 to {MAX_NAME} characters")]
    BadName,
    #[error("there is no API key with id {0}")]
    NotFound(i64),
    #[error(transparent)]
    Random(#[from] secret::RandomError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A key as the dashboard lists it: never the secret.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    pub printer_id: i64,
    pub created_at: String,
}

/// A key just made: the only time its secret is seen.
#[derive(Debug, Clone, Serialize)]
pub struct NewKey {
    #[serde(flatten)]
    pub info: KeyInfo,
    pub key: String,
}

/// What the in-memory table holds per key.
#[derive(Debug, Clone)]
struct Entry {
    info: KeyInfo,
    hash: String,
}

/// The keys, the pending app-key requests, and which file each client has selected.
pub struct ApiKeys {
    store: Store,
    keys: RwLock<Vec<Entry>>,
    /// Selected library file per client: a key id, or `None` for keyless local visitors.
    selected: RwLock<HashMap<Option<i64>, i64>>,
    pub requests: Requests,
}

impl ApiKeys {
    /// Loads the stored keys.
    pub async fn load(store: Store) -> Result<ApiKeys, StoreError> {
        let rows = store::all(&store).await?;
        let keys = rows
            .into_iter()
            .map(|(info, hash)| Entry { info, hash })
            .collect();
        Ok(ApiKeys {
            store,
            keys: RwLock::new(keys),
            selected: RwLock::new(HashMap::new()),
            requests: Requests::default(),
        })
    }

    /// Makes a key for `printer_id`; the caller checks that the printer exists.
    pub async fn create(&self, name: &str, printer_id: i64) -> Result<NewKey, KeyError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(KeyError::BadName);
        }
        let key = format!("{KEY_PREFIX}{}", secret::token()?);
        let hash = secret::digest(&key);
        let info = store::insert(&self.store, name, &hash, printer_id).await?;
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Entry {
                info: info.clone(),
                hash,
            });
        tracing::info!(id = info.id, name = %info.name, printer = printer_id, "API key created");
        Ok(NewKey { info, key })
    }

    pub fn list(&self) -> Vec<KeyInfo> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|e| e.info.clone())
            .collect()
    }

    /// Revokes a key at once: the next request that carries it is refused.
    pub async fn revoke(&self, id: i64) -> Result<KeyInfo, KeyError> {
        let info = self
            .list()
            .into_iter()
            .find(|k| k.id == id)
            .ok_or(KeyError::NotFound(id))?;
        store::delete(&self.store, id).await?;
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|e| e.info.id != id);
        self.selected
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&Some(id));
        tracing::info!(id, name = %info.name, "API key revoked");
        Ok(info)
    }

    /// The key whose secret is `key`. Every stored digest is compared in full and in constant
    /// time, so the answer's timing says nothing about which or how much matched.
    pub fn find(&self, key: &str) -> Option<KeyInfo> {
        if key.is_empty() {
            return None;
        }
        let hash = secret::digest(key);
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let mut found = None;
        for entry in keys.iter() {
            if secret::same(&entry.hash, &hash) {
                found = Some(entry.info.clone());
            }
        }
        found
    }

    /// The library file `client` selected, if any.
    pub fn selected(&self, client: Option<i64>) -> Option<i64> {
        self.selected
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&client)
            .copied()
    }

    pub fn select(&self, client: Option<i64>, file_id: Option<i64>) {
        let mut selected = self
            .selected
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match file_id {
            Some(file) => selected.insert(client, file),
            None => selected.remove(&client),
        };
    }
}

impl ApiKeyVerifier for ApiKeys {
    fn verify(&self, key: &str) -> Option<String> {
        self.find(key).map(|k| k.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn keys() -> (tempfile::TempDir, ApiKeys, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.db")).await.unwrap();
        let printer = store
            .upsert_printer(&crate::store::NewPrinter {
                identity: "port:/dev/x",
                default_name: "X",
                port: "/dev/x",
                baud: Some(115200),
                profile: None,
            })
            .await
            .unwrap()
            .id;
        (dir, ApiKeys::load(store).await.unwrap(), printer)
    }

    #[tokio::test]
    async fn keys_are_shown_once_stored_hashed_and_revocable() {
        let (_dir, keys, printer) = keys().await;
        let made = keys.create("PrusaSlicer", printer).await.unwrap();
        assert!(made.key.starts_with(KEY_PREFIX));
        assert_eq!(keys.find(&made.key).unwrap().id, made.info.id);
        assert_eq!(keys.verify(&made.key).as_deref(), Some("PrusaSlicer"));
        assert!(keys.find("gantry_wrong").is_none());
        assert!(keys.find("").is_none());
        let stored: Vec<String> = sqlx::query_scalar("SELECT key_hash FROM api_keys")
            .fetch_all(keys.store.pool())
            .await
            .unwrap();
        assert_eq!(stored, vec![secret::digest(&made.key)]);

        // Reloading finds the same key; revoking removes it everywhere.
        let again = ApiKeys::load(keys.store.clone()).await.unwrap();
        assert_eq!(again.find(&made.key).unwrap().name, "PrusaSlicer");
        keys.select(Some(made.info.id), Some(7));
        keys.revoke(made.info.id).await.unwrap();
        assert!(keys.find(&made.key).is_none());
        assert_eq!(keys.selected(Some(made.info.id)), None);
        assert!(matches!(
            keys.revoke(made.info.id).await,
            Err(KeyError::NotFound(_))
        ));
        let reloaded = ApiKeys::load(keys.store.clone()).await.unwrap();
        assert!(reloaded.list().is_empty());
    }

    #[tokio::test]
    async fn names_must_be_reasonable() {
        let (_dir, keys, printer) = keys().await;
        for bad in ["", "   ", "a\nb", &"x".repeat(MAX_NAME + 1)] {
            assert!(
                matches!(keys.create(bad, printer).await, Err(KeyError::BadName)),
                "{bad:?}"
            );
        }
        assert!(keys.create("  Orca  ", printer).await.is_ok());
        assert_eq!(keys.list()[0].name, "Orca");
    }
}
