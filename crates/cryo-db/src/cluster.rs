//! The embedded PostgreSQL cluster: with no `DATABASE_URL`, CryoProtect runs its own PostgreSQL
//! from the system's binaries in a data folder it owns.
//!
//! Layout of `data_dir`:
//! - `pgdata/`            the cluster (initialised into `pgdata.init/` and renamed when complete,
//!   so a killed `initdb` never leaves a half-made cluster that looks usable)
//! - `cluster.lock`       held (flock) by the one cryoprotect process that manages the cluster
//! - `superuser.password` the cluster superuser's password (mode 0600)
//! - `postgres.log`       the server's own log
//!
//! Crash handling: if cryoprotect is killed, its postmaster keeps running as an orphan. The next
//! start takes the lock (so no other cryoprotect owns the cluster), finds the orphan through
//! `postmaster.pid`, stops it with a fast shutdown and starts afresh. A `postmaster.pid` left by a
//! postmaster that died with it is removed if its PID now belongs to an unrelated process.

use crate::DbError;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, User, chown};
use sqlx::postgres::PgConnectOptions;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Name of the cluster superuser and of the application database.
pub const CLUSTER_SUPERUSER: &str = "cryoprotect";
pub const CLUSTER_DATABASE: &str = "cryoprotect";

const INSTALL_HINT: &str = "install PostgreSQL's server binaries (Debian/Ubuntu: `sudo apt-get install postgresql`), \
     point CRYOPROTECT_PG_BINDIR at the folder holding `postgres` and `initdb`, \
     or set DATABASE_URL to use an existing server";

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub data_dir: PathBuf,
    /// 0 picks a free loopback port.
    pub port: u16,
    /// OS user that runs PostgreSQL when we are root (PostgreSQL refuses to run as root).
    pub os_user: String,
    /// Folder with `postgres`, `initdb` and friends; found automatically when None.
    pub bin_dir: Option<PathBuf>,
}

/// A running embedded cluster. Call [`EmbeddedCluster::stop`] for a clean shutdown; dropping it
/// also stops the server, synchronously.
pub struct EmbeddedCluster {
    child: Option<Child>,
    port: u16,
    password: String,
    pgdata: PathBuf,
    _lock: Flock<File>,
}

impl std::fmt::Debug for EmbeddedCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCluster")
            .field("port", &self.port)
            .field("pgdata", &self.pgdata)
            .finish_non_exhaustive()
    }
}

/// Who runs the server processes: ourselves, or (when we are root) a named unprivileged user.
#[derive(Clone, Copy)]
struct RunAs {
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
    switch: bool,
}

impl RunAs {
    fn resolve(os_user: &str) -> Result<Self, DbError> {
        let me = nix::unistd::geteuid();
        if !me.is_root() {
            return Ok(RunAs {
                uid: me,
                gid: nix::unistd::getegid(),
                switch: false,
            });
        }
        let user = User::from_name(os_user)
            .map_err(|e| DbError::Cluster(format!("looking up OS user `{os_user}`: {e}")))?
            .ok_or_else(|| {
                DbError::Cluster(format!(
                    "running as root, and PostgreSQL refuses to run as root; the OS user `{os_user}` \
                     that should run it does not exist (create it, or set CRYOPROTECT_PG_OS_USER)"
                ))
            })?;
        Ok(RunAs {
            uid: user.uid,
            gid: user.gid,
            switch: true,
        })
    }

    fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd).env_remove("PGDATA").env("LC_ALL", "C");
        if self.switch {
            cmd.uid(self.uid.as_raw()).gid(self.gid.as_raw());
        }
        cmd
    }

    fn give(&self, path: &Path) -> Result<(), DbError> {
        if self.switch {
            chown(path, Some(self.uid), Some(self.gid))
                .map_err(|e| DbError::Cluster(format!("chown {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// Find the folder holding `postgres` and `initdb`: the configured one, else the newest
/// `/usr/lib/postgresql/<major>/bin` (Debian's layout), else `PATH`.
pub fn find_bin_dir(configured: Option<&Path>) -> Result<PathBuf, DbError> {
    let has_tools = |d: &Path| d.join("postgres").is_file() && d.join("initdb").is_file();
    if let Some(d) = configured {
        return if has_tools(d) {
            Ok(d.to_path_buf())
        } else {
            Err(DbError::MissingBinaries(format!(
                "{} does not contain `postgres` and `initdb`; {INSTALL_HINT}",
                d.display()
            )))
        };
    }
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, d)| has_tools(d))
        .collect();
    debian.sort();
    if let Some((_, d)) = debian.pop() {
        return Ok(d);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|d| has_tools(d))
        .ok_or_else(|| {
            DbError::MissingBinaries(format!(
                "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin or PATH; {INSTALL_HINT}"
            ))
        })
}

impl EmbeddedCluster {
    /// Initialise the cluster if needed, recover from a previous crash, start it and wait until it
    /// accepts connections. Blocking: call from `spawn_blocking`.
    pub fn start(cfg: &ClusterConfig) -> Result<Self, DbError> {
        let bin = find_bin_dir(cfg.bin_dir.as_deref())?;
        let run_as = RunAs::resolve(&cfg.os_user)?;
        fs::create_dir_all(&cfg.data_dir).map_err(|e| io_err("create", &cfg.data_dir, e))?;
        let data_dir =
            fs::canonicalize(&cfg.data_dir).map_err(|e| io_err("resolve", &cfg.data_dir, e))?;
        if run_as.switch {
            check_traversable(&data_dir, &cfg.os_user)?;
        }

        let lock = take_lock(&data_dir)?;
        let pgdata = data_dir.join("pgdata");
        let password = read_or_create_password(&data_dir)?;
        if !pgdata.join("PG_VERSION").is_file() {
            init_cluster(&bin, &data_dir, &pgdata, &password, run_as)?;
        }
        check_major_version(&bin, &pgdata)?;
        stop_orphan(&pgdata)?;

        let port = match cfg.port {
            0 => free_loopback_port()?,
            p => p,
        };
        let log_path = data_dir.join("postgres.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| io_err("open", &log_path, e))?;
        let log_err = log.try_clone().map_err(|e| io_err("open", &log_path, e))?;
        let port_arg = port.to_string();
        let child = run_as
            .command(&bin.join("postgres"), &pgdata)
            .arg("-D")
            .arg(&pgdata)
            .args(["-p", &port_arg])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args(["-c", "logging_collector=off"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Our own process group: a Ctrl-C in the terminal reaches us, and we stop PostgreSQL
            // in order (requests first, then the database), not both at once.
            .process_group(0)
            .spawn()
            .map_err(|e| DbError::Cluster(format!("starting postgres: {e}")))?;
        tracing::info!(port, pgdata = %pgdata.display(), pid = child.id(), "embedded PostgreSQL starting");

        let mut cluster = EmbeddedCluster {
            child: Some(child),
            port,
            password,
            pgdata,
            _lock: lock,
        };
        cluster.wait_until_accepting(&log_path)?;
        Ok(cluster)
    }

    /// The API login role's password, created on first use and kept beside the cluster.
    pub fn api_password(&self) -> Result<String, DbError> {
        let dir = self.pgdata.parent().unwrap_or(Path::new("."));
        read_or_create_secret(&dir.join("api.password"))
    }

    pub fn superuser_password(&self) -> &str {
        &self.password
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Connection options for the cluster superuser on the application database.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username(CLUSTER_SUPERUSER)
            .password(&self.password)
            .database(CLUSTER_DATABASE)
    }

    fn wait_until_accepting(&mut self, log_path: &Path) -> Result<(), DbError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(DbError::Cluster(format!(
                    "postgres exited during start-up ({status}); last lines of {}:\n{}",
                    log_path.display(),
                    tail(log_path, 15)
                )));
            }
            // postmaster.pid's 8th line becomes "ready" once the server accepts connections.
            let ready = fs::read_to_string(self.pgdata.join("postmaster.pid"))
                .map(|s| s.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
                .unwrap_or(false);
            if ready && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(DbError::Cluster(format!(
                    "postgres did not become ready within 60 s; see {}",
                    log_path.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fast shutdown (SIGINT): active sessions are rolled back, the server checkpoints and exits.
    /// Blocking: call from `spawn_blocking`.
    pub fn stop(mut self) -> Result<(), DbError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), DbError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => {
                    tracing::info!("embedded PostgreSQL stopped");
                    return Ok(());
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    // Immediate shutdown: crash recovery replays WAL on the next start.
                    let _ = kill(pid, Signal::SIGQUIT);
                    let _ = child.wait();
                    return Err(DbError::Cluster(
                        "postgres did not stop within 30 s; sent SIGQUIT".into(),
                    ));
                }
            }
        }
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop_inner() {
            tracing::warn!(error = %e, "stopping embedded PostgreSQL");
        }
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> DbError {
    DbError::Cluster(format!("cannot {what} {}: {e}", path.display()))
}

/// As root, PostgreSQL runs as another user, who must be able to reach the data folder.
fn check_traversable(dir: &Path, os_user: &str) -> Result<(), DbError> {
    for ancestor in dir.ancestors().skip(1) {
        let mode = fs::metadata(ancestor)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o755);
        if mode & 0o001 == 0 {
            return Err(DbError::Cluster(format!(
                "the data folder {} is inside {}, which the OS user `{os_user}` cannot enter \
                 (mode {:o}); choose another folder with CRYOPROTECT_DATA_DIR or --data-dir",
                dir.display(),
                ancestor.display(),
                mode & 0o777
            )));
        }
    }
    Ok(())
}

fn take_lock(data_dir: &Path) -> Result<Flock<File>, DbError> {
    let path = data_dir.join("cluster.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_err("open", &path, e))?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
        DbError::Cluster(format!(
            "another cryoprotect process is using the embedded cluster in {} ({e}); \
             stop it first, or use another data folder",
            data_dir.display()
        ))
    })
}

fn read_or_create_password(data_dir: &Path) -> Result<String, DbError> {
    read_or_create_secret(&data_dir.join("superuser.password"))
}

fn read_or_create_secret(path: &Path) -> Result<String, DbError> {
    let path = path.to_path_buf();
    if let Ok(p) = fs::read_to_string(&path) {
        let p = p.trim().to_string();
        if !p.is_empty() {
            return Ok(p);
        }
    }
    let password = crate::bootstrap::random_password();
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io_err("create", &path, e))?;
    f.write_all(password.as_bytes())
        .map_err(|e| io_err("write", &path, e))?;
    Ok(password)
}

fn init_cluster(
    bin: &Path,
    data_dir: &Path,
    pgdata: &Path,
    password: &str,
    run_as: RunAs,
) -> Result<(), DbError> {
    if pgdata.exists() {
        let non_empty = fs::read_dir(pgdata)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true);
        if non_empty {
            return Err(DbError::Cluster(format!(
                "{} exists but holds no PostgreSQL cluster (no PG_VERSION); move it away or choose another data folder",
                pgdata.display()
            )));
        }
        fs::remove_dir(pgdata).map_err(|e| io_err("remove", pgdata, e))?;
    }
    let staging = data_dir.join("pgdata.init");
    if staging.exists() {
        // Left by an initdb that was interrupted: it never became the cluster, so it holds nothing.
        fs::remove_dir_all(&staging).map_err(|e| io_err("remove", &staging, e))?;
    }
    // initdb runs as the server's user and must read the password file.
    let pwfile = data_dir.join("initdb.pw");
    fs::write(&pwfile, password).map_err(|e| io_err("write", &pwfile, e))?;
    fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err("chmod", &pwfile, e))?;
    run_as.give(&pwfile)?;
    fs::create_dir(&staging).map_err(|e| io_err("create", &staging, e))?;
    fs::set_permissions(&staging, fs::Permissions::from_mode(0o700))
        .map_err(|e| io_err("chmod", &staging, e))?;
    run_as.give(&staging)?;

    tracing::info!(pgdata = %pgdata.display(), "initialising embedded PostgreSQL cluster");
    let out = run_as
        .command(&bin.join("initdb"), data_dir)
        .arg("-D")
        .arg(&staging)
        .args([
            "-U",
            CLUSTER_SUPERUSER,
            "-E",
            "UTF8",
            "--no-locale",
            "--auth=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .map_err(|e| DbError::Cluster(format!("running initdb: {e}")));
    let _ = fs::remove_file(&pwfile);
    let out = out?;
    if !out.status.success() {
        return Err(DbError::Cluster(format!(
            "initdb failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    fs::rename(&staging, pgdata).map_err(|e| io_err("rename", &staging, e))?;
    create_app_database(bin, pgdata, run_as)
}

/// `CREATE DATABASE` in single-user mode: no port or socket is needed before the first start.
fn create_app_database(bin: &Path, pgdata: &Path, run_as: RunAs) -> Result<(), DbError> {
    let mut child = run_as
        .command(&bin.join("postgres"), pgdata)
        .args(["--single", "-D"])
        .arg(pgdata)
        .arg("postgres")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| DbError::Cluster(format!("starting postgres --single: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A constant: the database name is ours, never user input.
        stdin
            .write_all(b"CREATE DATABASE cryoprotect;\n")
            .map_err(|e| DbError::Cluster(format!("creating database: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| DbError::Cluster(format!("creating database: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("ERROR") {
        return Err(DbError::Cluster(format!(
            "creating the application database failed: {stderr}"
        )));
    }
    Ok(())
}

fn check_major_version(bin: &Path, pgdata: &Path) -> Result<(), DbError> {
    let cluster = fs::read_to_string(pgdata.join("PG_VERSION")).unwrap_or_default();
    let out = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .map_err(|e| DbError::Cluster(format!("running postgres --version: {e}")))?;
    // "postgres (PostgreSQL) 15.20 (Debian ...)"
    let text = String::from_utf8_lossy(&out.stdout);
    let binary_major = text
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.split('.').next())
        .unwrap_or_default();
    if cluster.trim() != binary_major {
        return Err(DbError::Cluster(format!(
            "the cluster in {} was made by PostgreSQL {} but the binaries in {} are {}; \
             install PostgreSQL {} or upgrade the cluster with pg_upgrade",
            pgdata.display(),
            cluster.trim(),
            bin.display(),
            binary_major,
            cluster.trim()
        )));
    }
    Ok(())
}

/// Called with the lock held, so any live postmaster on this data folder is an orphan of a
/// cryoprotect process that died: stop it. A stale pid file whose PID was reused is removed.
fn stop_orphan(pgdata: &Path) -> Result<(), DbError> {
    let pid_file = pgdata.join("postmaster.pid");
    let Ok(content) = fs::read_to_string(&pid_file) else {
        return Ok(());
    };
    let Some(pid) = content
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        let _ = fs::remove_file(&pid_file);
        return Ok(());
    };
    let is_postgres = fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim() == "postgres")
        .unwrap_or(false);
    let pid = Pid::from_raw(pid);
    // A killed postmaster whose new parent has not reaped it is a zombie: dead, but its PID
    // still exists, which would make PostgreSQL refuse to start.
    if !is_postgres || is_zombie(pid) {
        tracing::warn!(%pid, "removing stale postmaster.pid left by a crash");
        let _ = fs::remove_file(&pid_file);
        return Ok(());
    }
    tracing::warn!(%pid, "stopping an orphaned embedded PostgreSQL left by a crashed cryoprotect");
    let _ = kill(pid, Signal::SIGINT);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) {
        if Instant::now() > deadline {
            let _ = kill(pid, Signal::SIGQUIT);
            std::thread::sleep(Duration::from_secs(1));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) {
        // Never start a second postmaster on a data folder that a live one still uses.
        return Err(DbError::Cluster(format!(
            "an orphaned postgres (PID {pid}) on {} did not stop; stop it by hand",
            pgdata.display()
        )));
    }
    // A clean shutdown removes the file itself; a zombie may not have.
    if pid_file.exists() {
        let _ = fs::remove_file(&pid_file);
    }
    Ok(())
}

fn is_zombie(pid: Pid) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn free_loopback_port() -> Result<u16, DbError> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| DbError::Cluster(format!("finding a free port: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| DbError::Cluster(format!("finding a free port: {e}")))
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
