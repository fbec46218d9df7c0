use super::load_settings;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on (overrides server.port; 0 picks a free port).
    #[arg(long)]
    port: Option<u16>,
    /// Folder of the embedded PostgreSQL cluster (overrides database.data_dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub async fn run(config: Option<PathBuf>, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (mut settings, _) = load_settings(config)?;
    if let Some(p) = args.port {
        settings.server.port = p;
    }
    if let Some(d) = args.data_dir {
        settings.database.data_dir = d;
    }
    let _log = crate::telemetry::init(&settings.log)?;
    if settings.auth.jwt_secret_is_ephemeral {
        tracing::warn!(
            "auth.jwt_secret is not set: using a random per-process secret (tokens end at restart)"
        );
    }

    // Checked before anything starts: a typo in the schedule must not mean silently no backups.
    let schedule = match settings.backup.schedule.as_deref() {
        Some(expr) => Some(cryo_app::system::parse_schedule(expr).map_err(|e| anyhow::anyhow!(e))?),
        None => None,
    };
    let db = super::prepare_database(&settings).await?;
    let api_pool = match db.api_pool() {
        Ok(p) => p,
        Err(e) => {
            db.shutdown().await?;
            return Err(e.into());
        }
    };

    let addr = SocketAddr::new(settings.server.host, settings.server.port);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            db.shutdown().await?;
            anyhow::bail!("cannot listen on {addr}: {e}");
        }
    };
    let local = listener.local_addr()?;
    tracing::info!(address = %local, embedded_db = db.cluster.is_some(), "CryoProtect listening");
    // A plain line on stdout for people and scripts (the port may have been chosen by the OS).
    println!("listening on http://{local}");

    let grace = settings.server.shutdown_grace;
    let backups = std::sync::Arc::new(
        cryo_app::system::AdminService::new(db.pool.clone(), db.spec.clone(), &settings.backup)?
            .with_health(&settings),
    );
    let state = cryo_server::AppState::new(api_pool, settings)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_admin(backups);
    // What a killed backup, verify or restore left behind goes now, not at the next backup.
    if let Some(admin) = state.app.admin.clone() {
        tokio::spawn(async move { admin.sweep().await });
    }
    let scheduler = schedule.map(|cron| {
        tokio::spawn(cryo_app::backup_schedule::run_schedule(
            state.app.clone(),
            cron,
        ))
    });
    let sender = cryo_app::alerts::spawn_sender(state.app.clone());
    let health_watch = cryo_app::alerts::spawn_health_watch(state.app.clone());
    let workers = cryo_app::jobs::spawn_workers(&state, state.settings.models.workers);
    let sampler = cryo_server::metrics::spawn_sampler(
        state.app.clone(),
        state.metrics.clone(),
        std::time::Duration::from_secs(30),
    );
    let metrics_listener = match state.settings.server.metrics_addr {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for metrics: {e}"))?;
            tracing::info!(address = %l.local_addr()?, "metrics listening");
            Some(tokio::spawn(cryo_server::serve_metrics(l, state.clone())))
        }
        None => None,
    };
    let app = cryo_server::router(state);
    let served = cryo_server::serve(listener, app, shutdown_signal(), grace).await;
    if let Some(task) = scheduler {
        task.abort();
    }
    // Running trainings stop at their next tree or epoch and their jobs go back to the queue.
    workers.stop(grace).await;
    sampler.abort();
    if let Some(m) = metrics_listener {
        m.abort();
    }
    health_watch.abort();
    if let Some(sender) = sender {
        sender.abort();
    }
    tracing::info!("HTTP server stopped; shutting down the database");
    db.shutdown().await?;
    served?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received"),
        _ = term.recv() => tracing::info!("SIGTERM received"),
    }
}
