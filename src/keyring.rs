//! A secret kept for this boot in root's kernel keyring (the user keyring of uid 0): shared by
//! every console's wizard, held in kernel memory only (no file, gone at power-off), readable
//! only by processes of this user.

use zeroize::Zeroizing;

/// The longest secret kept (a key's payload is read into a buffer of this size).
const MAX: usize = 4096;

/// A named secret in this user's keyring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootSecret {
    /// The key's description: `drs-failback:<what>`.
    name: std::ffi::CString,
}

impl BootSecret {
    pub fn new(what: &str) -> BootSecret {
        // A name of our own making: never holds a NUL.
        BootSecret {
            name: std::ffi::CString::new(format!("drs-failback:{what}"))
                .expect("a name without NUL"),
        }
    }

    fn id(&self) -> Option<libc::c_long> {
        // SAFETY: keyctl(SEARCH) reads two NUL-terminated strings for the call's duration.
        let id = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                libc::KEYCTL_SEARCH as libc::c_long,
                libc::KEY_SPEC_USER_KEYRING as libc::c_long,
                c"user".as_ptr(),
                self.name.as_ptr(),
                0 as libc::c_long,
            )
        };
        (id >= 0).then_some(id)
    }

    /// The secret kept, if there is one (None also where keyrings are not available).
    pub fn read(&self) -> Option<Zeroizing<String>> {
        let id = self.id()?;
        let mut buf = Zeroizing::new(vec![0u8; MAX]);
        // SAFETY: keyctl(READ) writes at most `MAX` bytes into the buffer.
        let n = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                libc::KEYCTL_READ as libc::c_long,
                id,
                buf.as_mut_ptr(),
                MAX,
            )
        };
        let n = usize::try_from(n).ok().filter(|n| *n <= MAX)?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        Some(Zeroizing::new(text.to_owned()))
    }

    /// Keeps `secret`, replacing what was kept under this name.
    pub fn keep(&self, secret: &str) -> Result<(), String> {
        // SAFETY: add_key reads the type, the description and `len` payload bytes.
        let id = unsafe {
            libc::syscall(
                libc::SYS_add_key,
                c"user".as_ptr(),
                self.name.as_ptr(),
                secret.as_ptr(),
                secret.len(),
                libc::KEY_SPEC_USER_KEYRING as libc::c_long,
            )
        };
        if id < 0 {
            return Err(format!(
                "the kernel keyring did not keep it: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// Removes what is kept under this name, if anything.
    pub fn forget(&self) {
        if let Some(id) = self.id() {
            // SAFETY: keyctl(INVALIDATE) takes a key id only.
            unsafe {
                libc::syscall(
                    libc::SYS_keyctl,
                    libc::KEYCTL_INVALIDATE as libc::c_long,
                    id,
                )
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_secret_is_read_back_replaced_and_forgotten() {
        let secret = BootSecret::new(&format!("test-{}", std::process::id()));
        secret.forget();
        assert_eq!(secret.read(), None);
        if let Err(e) = secret.keep("first") {
            println!("SKIPPED (no kernel keyring here): {e}");
            return;
        }
        assert_eq!(secret.read().as_deref().map(String::as_str), Some("first"));
        secret.keep("second").unwrap();
        assert_eq!(secret.read().as_deref().map(String::as_str), Some("second"));
        secret.forget();
        assert_eq!(secret.read(), None);
    }
}
