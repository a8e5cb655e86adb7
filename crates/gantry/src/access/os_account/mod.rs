//! Checks a user name and password against this computer's accounts: PAM on Linux and macOS,
//! `LogonUserW` on Windows. The calls block (PAM's failure delay is about two seconds by
//! design), so callers run them on a blocking thread.

#[cfg(unix)]
mod pam;
#[cfg(windows)]
mod windows;

/// The PAM service Gantry's packages install as `/etc/pam.d/gantry`.
pub const PAM_SERVICE: &str = "gantry";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OsAuthError {
    /// Wrong password, unknown user, locked or expired account: deliberately one case, so
    /// that nothing downstream can tell the visitor which.
    #[error("the user name or password is not right")]
    Rejected,
    /// The check itself could not run (no PAM library, no permission to read the password
    /// database, no such PAM service). The visitor still sees the generic message; the log
    /// says why.
    #[error("this computer's accounts cannot be checked: {0}")]
    Unavailable(String),
}

/// True when `user` could be a login name at all; anything else is refused before PAM sees it.
fn plausible(user: &str, password: &str) -> bool {
    !user.is_empty()
        && user.len() <= 256
        && !user.chars().any(char::is_control)
        && !password.is_empty()
        && password.len() <= 1024
        && !password.contains('\0')
}

/// Checks `user`/`password` with the PAM service `service` (ignored on Windows).
pub fn verify(service: &str, user: &str, password: &str) -> Result<(), OsAuthError> {
    if !plausible(user, password) {
        return Err(OsAuthError::Rejected);
    }
    #[cfg(unix)]
    {
        pam::authenticate(service, user, password)
    }
    #[cfg(windows)]
    {
        let _ = service;
        windows::logon(user, password)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = service;
        Err(OsAuthError::Unavailable(
            "no account check on this platform".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implausible_credentials_never_reach_the_system() {
        assert_eq!(verify(PAM_SERVICE, "", "x"), Err(OsAuthError::Rejected));
        assert_eq!(verify(PAM_SERVICE, "root", ""), Err(OsAuthError::Rejected));
        assert_eq!(
            verify(PAM_SERVICE, "ro\not", "x"),
            Err(OsAuthError::Rejected)
        );
        assert_eq!(
            verify(PAM_SERVICE, "root", "a\0b"),
            Err(OsAuthError::Rejected)
        );
    }
}
