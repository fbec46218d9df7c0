//! `cryoprotect users`: account administration an operator needs before anyone is an admin
//! (the API can only be used by an admin to make another).

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use cryo_db::identity::Identity;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Give an account a global role (admin: the System pages and admin endpoints).
    Role {
        /// The account's e-mail.
        email: String,
        role: GlobalRole,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GlobalRole {
    Admin,
    Curator,
    User,
    Viewer,
}

impl GlobalRole {
    fn as_str(self) -> &'static str {
        match self {
            GlobalRole::Admin => "admin",
            GlobalRole::Curator => "curator",
            GlobalRole::User => "user",
            GlobalRole::Viewer => "viewer",
        }
    }
}

pub async fn run(config: Option<PathBuf>, cmd: UsersCommand) -> anyhow::Result<ExitCode> {
    let UsersCommand::Role { email, role } = cmd;
    let (settings, _) = super::load_settings(config)?;
    let db = super::prepare_database(&settings).await?;
    let result = async {
        let mut tx = cryo_db::identity::begin(&db.pool, &Identity::service()).await?;
        let (id, previous) = cryo_db::repo::auth::set_global_role(&mut tx, &email, role.as_str())
            .await?
            .with_context(|| format!("no account with e-mail {email}"))?;
        cryo_db::repo::auth::audit(
            &mut tx,
            None,
            "service_role",
            "user.role_changed",
            Some("users"),
            Some(id),
            serde_json::json!({ "from": previous, "to": role.as_str(), "by": "cryoprotect users role" }),
        )
        .await?;
        tx.commit().await?;
        println!("{email} is now {} (was {previous}); it applies from their next sign-in", role.as_str());
        anyhow::Ok(())
    }
    .await;
    db.shutdown().await?;
    result?;
    Ok(ExitCode::SUCCESS)
}
