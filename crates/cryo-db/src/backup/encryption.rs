//! Backups encrypted at rest with age (X25519): the key is the operator's, never the database's.

use super::*;

/// An age X25519 identity read from a key file (`AGE-SECRET-KEY-1…`, as `age-keygen` writes).
#[derive(Clone)]
pub struct EncryptionKey(pub(super) std::sync::Arc<age::x25519::Identity>);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKey({})", self.recipient())
    }
}

impl EncryptionKey {
    pub fn generate() -> EncryptionKey {
        EncryptionKey(std::sync::Arc::new(age::x25519::Identity::generate()))
    }

    /// Reads the first identity line of an age key file (comments allowed).
    pub fn from_file(path: &Path) -> Result<EncryptionKey, BackupError> {
        let text = fs::read_to_string(path).map_err(|e| {
            BackupError::Refused(format!(
                "cannot read the backup key file {}: {e}",
                path.display()
            ))
        })?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .ok_or_else(|| {
                BackupError::Refused(format!("{} holds no AGE-SECRET-KEY line", path.display()))
            })?;
        let identity = line.parse::<age::x25519::Identity>().map_err(|e| {
            BackupError::Refused(format!("{}: not an age key: {e}", path.display()))
        })?;
        Ok(EncryptionKey(std::sync::Arc::new(identity)))
    }

    /// The key file's text (secret: write it with mode 0600).
    pub fn to_file_contents(&self) -> String {
        use age::secrecy::ExposeSecret;
        format!(
            "# public key: {}\n{}\n",
            self.recipient(),
            self.0.to_string().expose_secret()
        )
    }

    /// The public half, recorded in manifests so an operator can tell which key a backup needs.
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }
}
