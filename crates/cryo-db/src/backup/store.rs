//! Where backups live: a private folder of dumps and their manifests.

use super::*;

/// The folder backups live in.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
    /// Folder with pg_dump and pg_restore.
    pub bin_dir: PathBuf,
    /// When set, new backups are encrypted at rest to this key (age, X25519), and encrypted
    /// backups are decrypted with it.
    pub key: Option<EncryptionKey>,
}

impl Store {
    /// The store for a configuration: its folder, the PostgreSQL tools, and the encryption key
    /// when one is configured.
    pub fn from_settings(settings: &cryo_config::BackupSettings) -> Result<Store, BackupError> {
        let bin_dir = crate::cluster::find_bin_dir(
            std::env::var_os("CRYOPROTECT_PG_BINDIR")
                .map(PathBuf::from)
                .as_deref(),
        )
        .unwrap_or_else(|_| PathBuf::from("/usr/bin"));
        let key = settings
            .encryption_key_file
            .as_deref()
            .map(EncryptionKey::from_file)
            .transpose()?;
        Ok(Store {
            dir: settings.dir.clone(),
            bin_dir,
            key,
        })
    }

    pub(super) fn manifest_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.manifest.json"))
    }

    /// Valid backups (a manifest with outcome ok and its dump present), newest first.
    pub fn list(&self) -> Result<Vec<Manifest>, BackupError> {
        let mut out = Vec::new();
        if !self.dir.exists() {
            return Ok(out);
        }
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".manifest.json") {
                continue;
            }
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            let Ok(m) = serde_json::from_str::<Manifest>(&text) else {
                continue;
            };
            if m.outcome == "ok" && self.dir.join(&m.dump_file).is_file() {
                out.push(m);
            }
        }
        out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// The backup folder and the files in it that others than the owner may read (from before
    /// backups were written private, or changed by hand).
    pub fn exposed(&self) -> Result<Vec<PathBuf>, BackupError> {
        if !self.dir.exists() {
            return Ok(Vec::new());
        }
        let open = |p: &Path| fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
        let mut out: Vec<PathBuf> = std::iter::once(self.dir.clone())
            .chain(fs::read_dir(&self.dir)?.filter_map(|e| e.ok().map(|e| e.path())))
            .filter(|p| open(p))
            .collect();
        out.sort();
        Ok(out)
    }

    /// What interrupted backups left behind: `*.partial` dumps (killed while dumping) and
    /// dumps no manifest names (killed between the dump's rename and its manifest), nothing
    /// `list` shows, counts or prunes. Only files last written more than `min_age` ago: a
    /// backup running now (here or on another replica) is never touched.
    pub fn leftovers(&self, min_age: std::time::Duration) -> Result<Vec<PathBuf>, BackupError> {
        if !self.dir.exists() {
            return Ok(Vec::new());
        }
        let mut named = std::collections::HashSet::new();
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(".manifest.json") {
                // Failed backups' manifests too: their dump (if any) is theirs to delete.
                if let Some(m) = fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
                {
                    named.insert(m.dump_file);
                }
            } else if name.ends_with(".partial")
                || name.ends_with(".dump.zst")
                || name.ends_with(".dump.zst.age")
            {
                files.push((name.to_string(), path));
            }
        }
        let now = std::time::SystemTime::now();
        let old_enough = |p: &Path| {
            fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() >= min_age)
        };
        let mut out: Vec<PathBuf> = files
            .into_iter()
            .filter(|(name, path)| {
                (name.ends_with(".partial") || !named.contains(name)) && old_enough(path)
            })
            .map(|(_, path)| path)
            .collect();
        out.sort();
        Ok(out)
    }

    /// How old a leftover must be before it is swept: twice the longest backup kept here took,
    /// and at least an hour, so no running backup's files qualify.
    pub fn sweep_age(list: &[Manifest]) -> std::time::Duration {
        let longest = list
            .iter()
            .map(|m| (m.finished_at - m.started_at).whole_seconds().max(0) as u64)
            .max()
            .unwrap_or(0);
        std::time::Duration::from_secs((2 * longest).max(3600))
    }

    /// Deletes [`Store::leftovers`] older than [`Store::sweep_age`]; returns what went.
    pub fn sweep(&self) -> Result<Vec<PathBuf>, BackupError> {
        let leftovers = self.leftovers(Self::sweep_age(&self.list()?))?;
        for path in &leftovers {
            fs::remove_file(path)?;
        }
        Ok(leftovers)
    }

    pub fn get(&self, id: &str) -> Result<Manifest, BackupError> {
        let list = self.list()?;
        let found = if id == "latest" {
            list.into_iter().next()
        } else {
            list.into_iter().find(|m| m.id == id)
        };
        found.ok_or_else(|| BackupError::NotFound(id.to_string()))
    }

    pub(super) fn tool(&self, name: &str) -> PathBuf {
        let in_bin = self.bin_dir.join(name);
        if in_bin.is_file() {
            in_bin
        } else {
            PathBuf::from(name)
        }
    }

    /// Pins (or unpins) a backup: pinned backups are never pruned. The manifest is rewritten
    /// atomically; the dump is untouched.
    pub fn set_pinned(&self, id: &str, pinned: bool) -> Result<Manifest, BackupError> {
        let mut m = self.get(id)?;
        m.pinned = pinned;
        write_atomically(
            &self.manifest_path(&m.id),
            serde_json::to_string_pretty(&m)
                .unwrap_or_default()
                .as_bytes(),
        )?;
        Ok(m)
    }

    pub fn delete(&self, m: &Manifest) -> Result<(), BackupError> {
        // Manifest first: a half-deleted backup must not look valid.
        fs::remove_file(self.manifest_path(&m.id))?;
        let _ = fs::remove_file(self.dir.join(&m.dump_file));
        Ok(())
    }
}
