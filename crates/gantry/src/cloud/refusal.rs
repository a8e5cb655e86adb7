//! A cloud's refusals, each with the advice a user can act on.
//!
//! The protocol's error numbers for sign-in refusals are not public, so the kind is read from the
//! code where it is known (3: credentials no longer valid) and otherwise from the message.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalKind {
    WrongCredentials,
    EmailUnverified,
    NotInWorkgroup,
    SsoUserNotFound,
    /// `printer_login` error 8: the user must pick the printer type on the website.
    PickPrinterType,
    Other,
}

/// An `error{code, message}` from the cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i64,
    pub message: String,
}

impl Refusal {
    pub fn kind(&self) -> RefusalKind {
        let text = self.message.to_ascii_lowercase();
        if self.code == 8 || text.contains("printer type") {
            RefusalKind::PickPrinterType
        } else if text.contains("verif") {
            RefusalKind::EmailUnverified
        } else if text.contains("workgroup") || text.contains("access denied") {
            RefusalKind::NotInWorkgroup
        } else if text.contains("sso") && text.contains("not found") {
            RefusalKind::SsoUserNotFound
        } else if self.code == 3
            || text.contains("password")
            || text.contains("credential")
            || text.contains("login")
        {
            RefusalKind::WrongCredentials
        } else {
            RefusalKind::Other
        }
    }

    /// What the user can do about it.
    pub fn advice(&self) -> &'static str {
        match self.kind() {
            RefusalKind::WrongCredentials => {
                "check the e-mail address and password, or use \"Forgot your password?\""
            }
            RefusalKind::EmailUnverified => {
                "check your inbox and spam folder for the verification link"
            }
            RefusalKind::NotInWorkgroup => "ask your lab administrator to add you",
            RefusalKind::SsoUserNotFound => {
                "complete your institution's registration or safety training first; it can take up to 24 hours"
            }
            RefusalKind::PickPrinterType => {
                "pick this printer's type on the cloud's website; Gantry keeps asking meanwhile"
            }
            RefusalKind::Other => "try again later; if it persists, contact the cloud's support",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the cloud refused: {} (error {}) — {}",
            self.message,
            self.code,
            self.advice()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(code: i64, message: &str) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }

    #[test]
    fn each_refusal_gets_its_advice() {
        assert_eq!(
            refusal(3, "Wrong login or password").kind(),
            RefusalKind::WrongCredentials
        );
        assert!(refusal(4, "Email is not verified")
            .to_string()
            .contains("check your inbox and spam folder for the verification link"));
        assert!(
            refusal(6, "Access denied: user is not a member of any workgroup")
                .to_string()
                .contains("ask your lab administrator to add you")
        );
        assert!(refusal(5, "SSO user not found")
            .to_string()
            .contains("it can take up to 24 hours"));
        assert_eq!(refusal(8, "anything").kind(), RefusalKind::PickPrinterType);
        assert_eq!(refusal(77, "strange").kind(), RefusalKind::Other);
    }
}
