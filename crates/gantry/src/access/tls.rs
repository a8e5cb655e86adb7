//! HTTPS for visitors from other machines: a self-signed certificate made on first use and kept
//! in the data directory (so its fingerprint stays the same across restarts), or the user's own.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use tokio_rustls::TlsAcceptor;

use super::settings::TlsSettings;
use super::{hosts, secret};

const DIR: &str = "tls";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{} holds no certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not make a usable TLS setup: {0}")]
    Config(#[from] rustls::Error),
}

/// What the dashboard and tray show about the certificate in use.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CertificateInfo {
    /// SHA-256 of the certificate, as colon-separated hex (what browsers show).
    pub fingerprint: String,
    pub self_signed: bool,
    pub path: PathBuf,
}

pub struct Identity {
    pub acceptor: TlsAcceptor,
    pub info: CertificateInfo,
}

/// Loads the configured certificate, or the self-signed one (making it on first use).
pub fn load(data_dir: &Path, settings: &TlsSettings) -> Result<Identity, TlsError> {
    let (cert_path, key_path, self_signed) = match (&settings.cert_path, &settings.key_path) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone(), false),
        _ => {
            let dir = data_dir.join(DIR);
            let cert = dir.join("cert.pem");
            let key = dir.join("key.pem");
            if !cert.exists() || !key.exists() {
                generate(&dir, &cert, &key)?;
            }
            (cert, key, true)
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|iter| iter.collect::<Result<_, _>>())
        .map_err(|source| TlsError::Read {
            path: cert_path.clone(),
            source,
        })?;
    let first = chain.first().ok_or_else(|| TlsError::NoCertificate {
        path: cert_path.clone(),
    })?;
    let fingerprint = fingerprint(first);
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|source| TlsError::Read {
        path: key_path.clone(),
        source,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        info: CertificateInfo {
            fingerprint,
            self_signed,
            path: cert_path,
        },
    })
}

pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let hex = secret::hex(ring::digest::digest(&ring::digest::SHA256, cert.as_ref()).as_ref())
        .to_uppercase();
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// A certificate for every name and address this machine has now, plus `localhost`.
fn generate(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    names.extend(hosts::own_names());
    names.extend(
        hosts::own_addresses()
            .into_iter()
            .filter(|ip| !ip.is_loopback())
            .map(|ip| ip.to_string()),
    );
    names.sort();
    names.dedup();
    let certified = rcgen::generate_simple_self_signed(names)?;
    fn write_err(path: &Path) -> impl FnOnce(io::Error) -> TlsError + '_ {
        move |source| TlsError::Write {
            path: path.to_owned(),
            source,
        }
    }
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    write_secret_file(key_path, certified.signing_key.serialize_pem().as_bytes())
        .map_err(write_err(key_path))?;
    std::fs::write(cert_path, certified.cert.pem()).map_err(write_err(cert_path))?;
    tracing::info!(path = %cert_path.display(), "made a self-signed certificate for HTTPS");
    Ok(())
}

/// Written readable by the owner only, from the first byte.
pub(crate) fn write_secret_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load(dir.path(), &TlsSettings::default()).unwrap();
        let again = load(dir.path(), &TlsSettings::default()).unwrap();
        assert!(first.info.self_signed);
        assert_eq!(first.info.fingerprint, again.info.fingerprint);
        assert_eq!(first.info.fingerprint.len(), 32 * 3 - 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is private");
        }
        // The same files, given as the user's own, load too.
        let own = TlsSettings {
            enabled: true,
            cert_path: Some(dir.path().join("tls/cert.pem")),
            key_path: Some(dir.path().join("tls/key.pem")),
        };
        let loaded = load(Path::new("/nonexistent"), &own).unwrap();
        assert!(!loaded.info.self_signed);
        assert_eq!(loaded.info.fingerprint, first.info.fingerprint);
    }

    #[test]
    fn a_missing_user_certificate_is_an_error() {
        let own = TlsSettings {
            enabled: true,
            cert_path: Some("/nonexistent/cert.pem".into()),
            key_path: Some("/nonexistent/key.pem".into()),
        };
        assert!(matches!(
            load(Path::new("/nonexistent"), &own),
            Err(TlsError::Read { .. })
        ));
    }
}
