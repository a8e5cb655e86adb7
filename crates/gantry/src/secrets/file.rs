//! The fallback token store: one JSON file, mode 0600, replaced atomically.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::SecretError;

pub struct FileStore {
    path: PathBuf,
    reason: String,
}

impl FileStore {
    pub fn new(path: PathBuf, reason: String) -> FileStore {
        FileStore { path, reason }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    fn io(&self, source: std::io::Error) -> SecretError {
        SecretError::File {
            path: self.path.clone(),
            source,
        }
    }

    fn load(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| SecretError::Damaged {
                path: self.path.clone(),
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Written to a 0600 temporary file and renamed, so the secrets are never readable by
    /// others, not even for a moment, and never half-written.
    fn save(&self, secrets: &BTreeMap<String, String>) -> Result<(), SecretError> {
        if secrets.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.io(e)),
            };
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        let tmp = dir.join(".secrets.json.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(|e| self.io(e))?;
        let text = serde_json::to_vec(secrets).map_err(|e| self.io(std::io::Error::other(e)))?;
        file.write_all(&text).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))
    }

    pub fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        Ok(self.load()?.remove(name))
    }

    pub fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        let mut secrets = self.load()?;
        secrets.insert(name.to_owned(), value.to_owned());
        self.save(&secrets)
    }

    pub fn delete(&self, name: &str) -> Result<(), SecretError> {
        let mut secrets = self.load()?;
        if secrets.remove(name).is_some() {
            self.save(&secrets)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_private_and_emptied_on_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("secrets.json"), "test".into());
        assert_eq!(store.get("user_token").unwrap(), None);
        store.set("user_token", "t-1").unwrap();
        store.set("refresh", "r-1").unwrap();
        assert_eq!(store.get("user_token").unwrap().as_deref(), Some("t-1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.delete("user_token").unwrap();
        store.delete("refresh").unwrap();
        assert!(!store.path().exists());
    }
}
