//! The DRS service, always through the real `aws-sdk-drs` client; the emulator is just
//! another endpoint.

use std::fmt;

/// Access key credentials typed by the operator. Debug never shows the secret or the token;
/// both are zeroed when dropped (every copy: the form's, the client's, the plan's). Serialized
/// only onto the worker's pipe and socket (`worker::protocol`).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Drop for StaticCredentials {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.secret_access_key.zeroize();
        self.session_token.zeroize();
    }
}

mod client;
mod convert;
pub mod errors;

pub use client::{Auth, ClockSkew, DrsClient, DrsTarget};
pub use errors::{DrsError, DrsErrorKind};
