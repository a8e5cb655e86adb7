//! A small binding to PAM, loaded at run time with `dlopen` so that building Gantry needs no
//! PAM headers and a machine without PAM still runs everything but this check.
//!
//! One transaction: `pam_start` → `pam_authenticate` → `pam_acct_mgmt` → `pam_end`. The
//! conversation answers the password prompt (and a user-name prompt, should a module ask).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

use super::OsAuthError;

const PAM_SUCCESS: c_int = 0;
const PAM_BUF_ERR: c_int = 5;
const PAM_AUTHINFO_UNAVAIL: c_int = 9;
const PAM_CONV_ERR: c_int = 19;
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
const PAM_DISALLOW_NULL_AUTHTOK: c_int = 1;

#[repr(C)]
struct Message {
    style: c_int,
    text: *const c_char,
}

#[repr(C)]
struct Response {
    text: *mut c_char,
    code: c_int,
}

type ConvFn =
    unsafe extern "C" fn(c_int, *mut *const Message, *mut *mut Response, *mut c_void) -> c_int;

#[repr(C)]
struct Conversation {
    conv: ConvFn,
    data: *mut c_void,
}

type StartFn = unsafe extern "C" fn(
    *const c_char,
    *const c_char,
    *const Conversation,
    *mut *mut c_void,
) -> c_int;
type StepFn = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type StrErrorFn = unsafe extern "C" fn(*mut c_void, c_int) -> *const c_char;

struct Library {
    start: StartFn,
    authenticate: StepFn,
    acct_mgmt: StepFn,
    end: StepFn,
    strerror: StrErrorFn,
}

#[cfg(target_os = "macos")]
const LIBRARIES: &[&CStr] = &[c"/usr/lib/libpam.2.dylib", c"libpam.dylib"];
#[cfg(not(target_os = "macos"))]
const LIBRARIES: &[&CStr] = &[c"libpam.so.0", c"libpam.so"];

fn library() -> Result<&'static Library, OsAuthError> {
    static LIBRARY: OnceLock<Result<Library, String>> = OnceLock::new();
    LIBRARY
        .get_or_init(load)
        .as_ref()
        .map_err(|e| OsAuthError::Unavailable(e.clone()))
}

fn load() -> Result<Library, String> {
    // SAFETY: dlopen with a NUL-terminated name; the handle is kept for the life of the
    // process (never dlclosed), so the symbols below stay valid.
    let handle = LIBRARIES
        .iter()
        .map(|name| unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) })
        .find(|h| !h.is_null())
        .ok_or_else(|| "the PAM library (libpam) is not installed".to_owned())?;
    let symbol = |name: &CStr| {
        // SAFETY: `handle` is a live dlopen handle and `name` is NUL-terminated.
        let ptr = unsafe { libc::dlsym(handle, name.as_ptr()) };
        if ptr.is_null() {
            Err(format!("libpam has no {}", name.to_string_lossy()))
        } else {
            Ok(ptr)
        }
    };
    // SAFETY: each symbol is the PAM function of that name, whose C signature the type states.
    unsafe {
        Ok(Library {
            start: std::mem::transmute::<*mut c_void, StartFn>(symbol(c"pam_start")?),
            authenticate: std::mem::transmute::<*mut c_void, StepFn>(symbol(c"pam_authenticate")?),
            acct_mgmt: std::mem::transmute::<*mut c_void, StepFn>(symbol(c"pam_acct_mgmt")?),
            end: std::mem::transmute::<*mut c_void, StepFn>(symbol(c"pam_end")?),
            strerror: std::mem::transmute::<*mut c_void, StrErrorFn>(symbol(c"pam_strerror")?),
        })
    }
}

/// What the conversation hands to PAM's prompts.
struct Credentials {
    user: CString,
    password: CString,
}

/// Answers every prompt of one `pam_*` call. PAM frees the answers, so they are `malloc`ed.
unsafe extern "C" fn converse(
    count: c_int,
    messages: *mut *const Message,
    responses: *mut *mut Response,
    data: *mut c_void,
) -> c_int {
    let Ok(n) = usize::try_from(count) else {
        return PAM_CONV_ERR;
    };
    if n == 0 || messages.is_null() || responses.is_null() || data.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: `data` is the `Credentials` that `authenticate` passed and keeps alive.
    let credentials = unsafe { &*(data as *const Credentials) };
    // SAFETY: calloc of n zeroed responses; handed to PAM, which frees it.
    let answers = unsafe { libc::calloc(n, std::mem::size_of::<Response>()) } as *mut Response;
    if answers.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..n {
        // SAFETY: Linux-PAM and OpenPAM both pass an array of `n` message pointers.
        let message = unsafe { &**messages.add(i) };
        let text = match message.style {
            PAM_PROMPT_ECHO_OFF => Some(&credentials.password),
            PAM_PROMPT_ECHO_ON => Some(&credentials.user),
            _ => None,
        };
        if let Some(text) = text {
            // SAFETY: strdup of a NUL-terminated string; PAM frees the copy.
            let copy = unsafe { libc::strdup(text.as_ptr()) };
            if copy.is_null() {
                // SAFETY: free what was handed out so far, then the array itself.
                unsafe { free_answers(answers, i) };
                return PAM_BUF_ERR;
            }
            // SAFETY: `i < n`, inside the calloc'ed array.
            unsafe { (*answers.add(i)).text = copy };
        }
    }
    // SAFETY: `responses` is PAM's out-pointer.
    unsafe { *responses = answers };
    PAM_SUCCESS
}

/// Frees the first `filled` answers and the array.
unsafe fn free_answers(answers: *mut Response, filled: usize) {
    for j in 0..filled {
        // SAFETY: the caller guarantees `filled` entries lie inside the array.
        let text = unsafe { (*answers.add(j)).text };
        if !text.is_null() {
            // SAFETY: the text came from strdup; wipe the copy of a password before freeing.
            unsafe {
                std::ptr::write_bytes(text, 0, libc::strlen(text));
                libc::free(text.cast());
            }
        }
    }
    // SAFETY: `answers` came from calloc.
    unsafe { libc::free(answers.cast()) };
}

pub fn authenticate(service: &str, user: &str, password: &str) -> Result<(), OsAuthError> {
    let lib = library()?;
    let service = CString::new(service)
        .map_err(|_| OsAuthError::Unavailable("bad PAM service name".into()))?;
    let credentials = Credentials {
        user: CString::new(user).map_err(|_| OsAuthError::Rejected)?,
        password: CString::new(password).map_err(|_| OsAuthError::Rejected)?,
    };
    let conversation = Conversation {
        conv: converse,
        data: &credentials as *const Credentials as *mut c_void,
    };
    let mut handle: *mut c_void = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the transaction: `service`,
    // `credentials` and `conversation` outlive `pam_end` below.
    let started = unsafe {
        (lib.start)(
            service.as_ptr(),
            credentials.user.as_ptr(),
            &conversation,
            &mut handle,
        )
    };
    if started != PAM_SUCCESS || handle.is_null() {
        return Err(OsAuthError::Unavailable(format!(
            "pam_start failed ({started})"
        )));
    }
    // SAFETY: `handle` is the live transaction pam_start created.
    let mut status = unsafe { (lib.authenticate)(handle, PAM_DISALLOW_NULL_AUTHTOK) };
    if status == PAM_SUCCESS {
        // SAFETY: as above. Expired or locked accounts fail here.
        status = unsafe { (lib.acct_mgmt)(handle, 0) };
    }
    let reason = if status == PAM_SUCCESS {
        String::new()
    } else {
        // SAFETY: pam_strerror returns a static string for any status (or NULL).
        let text = unsafe { (lib.strerror)(handle, status) };
        if text.is_null() {
            format!("PAM error {status}")
        } else {
            // SAFETY: a NUL-terminated static string from libpam.
            unsafe { CStr::from_ptr(text) }
                .to_string_lossy()
                .into_owned()
        }
    };
    // SAFETY: ends the transaction exactly once; `handle` is not used afterwards.
    unsafe { (lib.end)(handle, status) };
    match status {
        PAM_SUCCESS => Ok(()),
        PAM_AUTHINFO_UNAVAIL => Err(OsAuthError::Unavailable(format!(
            "{reason} (on Linux the daemon must run as root or in group `shadow` to check other accounts)"
        ))),
        _ => {
            tracing::debug!(%reason, "PAM refused a sign-in");
            Err(OsAuthError::Rejected)
        }
    }
}
