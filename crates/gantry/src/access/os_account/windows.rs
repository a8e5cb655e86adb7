//! Windows: a network logon is the cheap credential check (no profile is loaded).

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::Security::{LogonUserW, LOGON32_LOGON_NETWORK, LOGON32_PROVIDER_DEFAULT};

use super::OsAuthError;

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

/// `user`, `DOMAIN\user` or `user@domain`; a bare name is a local account (domain ".").
pub fn logon(user: &str, password: &str) -> Result<(), OsAuthError> {
    let (domain, name) = match user.split_once('\\') {
        Some((domain, name)) => (Some(domain), name),
        None if user.contains('@') => (None, user),
        None => (Some("."), user),
    };
    let name = wide(name);
    let domain = domain.map(wide);
    let password = wide(password);
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: every string is NUL-terminated UTF-16 that outlives the call; `token` is a valid
    // out-pointer.
    let ok = unsafe {
        LogonUserW(
            name.as_ptr(),
            domain.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
            password.as_ptr(),
            LOGON32_LOGON_NETWORK,
            LOGON32_PROVIDER_DEFAULT,
            &mut token,
        )
    };
    if ok == 0 {
        return Err(OsAuthError::Rejected);
    }
    // SAFETY: LogonUserW succeeded, so `token` is a handle we own and close once.
    unsafe { CloseHandle(token) };
    Ok(())
}
