//! Repositories: the SQL for each capability, as functions over a connection. Callers open the
//! connection with [`crate::identity::begin`], so the caller's identity decides, through row-level
//! security, which rows every statement here can see or change.

pub mod alerts;
pub mod auth;
pub mod collab;
pub mod models;
pub mod protocols;
pub mod ranking;
pub mod science;
pub mod screening;
pub mod stats;
pub mod toxicity;

use sqlx::PgConnection;

pub type Conn = PgConnection;

/// Rows per page, bounded.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub const MAX_LIMIT: i64 = 500;

    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Page {
        Page {
            limit: limit.unwrap_or(100).clamp(1, Self::MAX_LIMIT),
            offset: offset.unwrap_or(0).max(0),
        }
    }
}

/// The rows callers delete by id. Row-level security decides whose: a delete that touches
/// nothing is "not yours" when the row is still [`visible`], else "not there for you".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Molecule,
    Mixture,
    Experiment,
    Team,
    Invitation,
    Project,
    Comment,
    Notification,
    Model,
    ModelVersion,
    Protocol,
}

impl Entity {
    /// What the caller would call it (in "… not found").
    pub fn noun(self) -> &'static str {
        match self {
            Entity::Molecule => "molecule",
            Entity::Mixture => "mixture",
            Entity::Experiment => "experiment",
            Entity::Team => "team",
            Entity::Invitation => "invitation",
            Entity::Project => "project",
            Entity::Comment => "comment",
            Entity::Notification => "notification",
            Entity::Model => "model",
            Entity::ModelVersion => "model version",
            Entity::Protocol => "protocol",
        }
    }

    /// (delete, visible) statements, literals each.
    fn statements(self) -> (&'static str, &'static str) {
        macro_rules! by_id {
            ($table:literal) => {
                (
                    concat!("DELETE FROM ", $table, " WHERE id = $1"),
                    concat!("SELECT EXISTS (SELECT 1 FROM ", $table, " WHERE id = $1)"),
                )
            };
        }
        match self {
            Entity::Molecule => by_id!("molecules"),
            Entity::Mixture => by_id!("mixtures"),
            Entity::Experiment => by_id!("experiments"),
            Entity::Team => by_id!("teams"),
            Entity::Invitation => by_id!("team_invitations"),
            Entity::Project => by_id!("projects"),
            Entity::Comment => by_id!("comments"),
            Entity::Notification => by_id!("notifications"),
            Entity::Model => by_id!("models"),
            Entity::ModelVersion => by_id!("model_versions"),
            Entity::Protocol => by_id!("protocols"),
        }
    }
}

/// Deletes `what` with `id`; whether a row went.
pub async fn delete(conn: &mut Conn, what: Entity, id: uuid::Uuid) -> Result<bool, crate::DbError> {
    Ok(sqlx::query(what.statements().0)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected()
        > 0)
}

/// Whether the caller can see `what` with `id`.
pub async fn visible(
    conn: &mut Conn,
    what: Entity,
    id: uuid::Uuid,
) -> Result<bool, crate::DbError> {
    Ok(sqlx::query_scalar(what.statements().1)
        .bind(id)
        .fetch_one(conn)
        .await?)
}
