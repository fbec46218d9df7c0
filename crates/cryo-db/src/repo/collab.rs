//! Teams, members, projects, sharing, comments, notifications and the activity log.

use super::{Conn, Page};
use crate::DbError;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub async fn create_team(
    conn: &mut Conn,
    creator: Uuid,
    name: &str,
    description: Option<&str>,
) -> Result<Team, DbError> {
    Ok(sqlx::query_as(
        "INSERT INTO teams (name, description, created_by) VALUES ($1, $2, $3)
         RETURNING id, name, description, created_by, created_at, updated_at",
    )
    .bind(name)
    .bind(description)
    .bind(creator)
    .fetch_one(conn)
    .await?)
}

pub async fn list_teams(conn: &mut Conn, page: Page) -> Result<Vec<Team>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, name, description, created_by, created_at, updated_at FROM teams ORDER BY created_at, id LIMIT $1 OFFSET $2",
    )
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await?)
}

pub async fn get_team(conn: &mut Conn, id: Uuid) -> Result<Option<Team>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, name, description, created_by, created_at, updated_at FROM teams WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn update_team(
    conn: &mut Conn,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<Option<Team>, DbError> {
    Ok(sqlx::query_as(
        "UPDATE teams SET name = coalesce($2, name), description = coalesce($3, description) WHERE id = $1
         RETURNING id, name, description, created_by, created_at, updated_at",
    )
    .bind(id)
    .bind(name)
    .bind(description)
    .fetch_optional(conn)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub user_id: Uuid,
    pub display_name: Option<String>,
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub async fn list_members(conn: &mut Conn, team: Uuid) -> Result<Vec<Member>, DbError> {
    Ok(sqlx::query_as(
        "SELECT m.user_id, u.display_name, m.role, m.created_at
         FROM team_members m LEFT JOIN users u ON u.id = m.user_id
         WHERE m.team_id = $1 ORDER BY m.created_at, m.user_id",
    )
    .bind(team)
    .fetch_all(conn)
    .await?)
}

/// Add or change a member's role. `Ok(false)` when the caller may not manage the team.
/// Change a member's role (team admins); false when `user` is not a member the caller may manage.
pub async fn set_member_role(
    conn: &mut Conn,
    team: Uuid,
    user: Uuid,
    role: &str,
) -> Result<bool, DbError> {
    Ok(
        sqlx::query("UPDATE team_members SET role = $3 WHERE team_id = $1 AND user_id = $2")
            .bind(team)
            .bind(user)
            .bind(role)
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// What inviting someone did. The caller learns the same thing whether the user exists or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invited {
    /// An invitation stands (new or renewed), or the id names no account: nothing to tell apart.
    Sent { exists: bool },
    /// The caller may not invite to this team.
    Refused,
}

/// Invite `user` into `team` as `role` (team admins), renewing a standing invitation.
pub async fn invite_member(
    conn: &mut Conn,
    team: Uuid,
    user: Uuid,
    role: &str,
    by: Uuid,
) -> Result<Invited, DbError> {
    use sqlx::Connection;
    // In a savepoint: an unknown user id fails the foreign key, which must not end the request.
    let mut sp = conn.begin().await?;
    let done = sqlx::query(
        "INSERT INTO team_invitations (team_id, user_id, role, invited_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id, user_id) DO UPDATE
         SET role = excluded.role, invited_by = excluded.invited_by, expires_at = now() + interval '14 days'",
    )
    .bind(team)
    .bind(user)
    .bind(role)
    .bind(by)
    .execute(&mut *sp)
    .await;
    match done {
        Ok(_) => {
            sp.commit().await?;
            Ok(Invited::Sent { exists: true })
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
            sp.rollback().await?;
            Ok(Invited::Sent { exists: false })
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
            sp.rollback().await?;
            Ok(Invited::Refused)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub id: Uuid,
    pub team_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub invited_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Standing invitations the caller may see: their own, and those of teams they administer.
pub async fn list_invitations(
    conn: &mut Conn,
    team: Option<Uuid>,
) -> Result<Vec<Invitation>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, team_id, user_id, role, invited_by, expires_at, created_at FROM team_invitations
         WHERE expires_at > now() AND ($1::uuid IS NULL OR team_id = $1)
           AND (team_id = $1 OR user_id = auth.uid())
         ORDER BY created_at DESC",
    )
    .bind(team)
    .fetch_all(conn)
    .await?)
}

/// Accept an invitation addressed to the caller: they become a member with the offered role.
/// `None` when there is no such standing invitation for them.
pub async fn accept_invitation(conn: &mut Conn, id: Uuid) -> Result<Option<Invitation>, DbError> {
    let inv: Option<Invitation> = sqlx::query_as(
        "SELECT id, team_id, user_id, role, invited_by, expires_at, created_at FROM team_invitations
         WHERE id = $1 AND user_id = auth.uid() AND expires_at > now()",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(inv) = inv else {
        return Ok(None);
    };
    sqlx::query(
        // Not ON CONFLICT: that judges the row by the SELECT policy too, which a newcomer fails.
        "INSERT INTO team_members (team_id, user_id, role)
         SELECT $1, $2, $3 WHERE app.team_role($1) IS NULL",
    )
    .bind(inv.team_id)
    .bind(inv.user_id)
    .bind(&inv.role)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM team_invitations WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(Some(inv))
}

/// Tell one user something (the service's to send).
pub async fn notify_user(
    conn: &mut Conn,
    user: Uuid,
    team: Option<Uuid>,
    title: &str,
    message: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO notifications (user_id, team_id, title, message) VALUES ($1, $2, $3, $4)",
    )
    .bind(user)
    .bind(team)
    .bind(title)
    .bind(message)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remove_member(conn: &mut Conn, team: Uuid, user: Uuid) -> Result<bool, DbError> {
    Ok(
        sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team)
            .bind(user)
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub team_id: Option<Uuid>,
    pub is_public: bool,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub struct NewProject<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub team_id: Option<Uuid>,
    pub is_public: bool,
}

pub async fn create_project(
    conn: &mut Conn,
    creator: Uuid,
    p: NewProject<'_>,
) -> Result<Project, DbError> {
    Ok(sqlx::query_as(
        "INSERT INTO projects (name, description, team_id, is_public, created_by) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, name, description, team_id, is_public, created_by, created_at, updated_at",
    )
    .bind(p.name)
    .bind(p.description)
    .bind(p.team_id)
    .bind(p.is_public)
    .bind(creator)
    .fetch_one(conn)
    .await?)
}

pub async fn list_projects(conn: &mut Conn, page: Page) -> Result<Vec<Project>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, name, description, team_id, is_public, created_by, created_at, updated_at
         FROM projects ORDER BY created_at, id LIMIT $1 OFFSET $2",
    )
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await?)
}

pub async fn get_project(conn: &mut Conn, id: Uuid) -> Result<Option<Project>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, name, description, team_id, is_public, created_by, created_at, updated_at FROM projects WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn update_project(
    conn: &mut Conn,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
    is_public: Option<bool>,
) -> Result<Option<Project>, DbError> {
    Ok(sqlx::query_as(
        "UPDATE projects SET name = coalesce($2, name), description = coalesce($3, description),
                             is_public = coalesce($4, is_public)
         WHERE id = $1
         RETURNING id, name, description, team_id, is_public, created_by, created_at, updated_at",
    )
    .bind(id)
    .bind(name)
    .bind(description)
    .bind(is_public)
    .fetch_optional(conn)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Share {
    pub id: Uuid,
    pub team_id: Uuid,
    pub resource_type: String,
    pub resource_id: Uuid,
    pub permission: String,
    pub shared_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub async fn share(
    conn: &mut Conn,
    by: Uuid,
    team: Uuid,
    kind: &str,
    id: Uuid,
    permission: &str,
) -> Result<Share, DbError> {
    Ok(sqlx::query_as(
        "INSERT INTO shared_resources (team_id, resource_type, resource_id, permission, shared_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (team_id, resource_type, resource_id) DO UPDATE SET permission = excluded.permission
         RETURNING id, team_id, resource_type::text, resource_id, permission, shared_by, created_at",
    )
    .bind(team)
    .bind(kind)
    .bind(id)
    .bind(permission)
    .bind(by)
    .fetch_one(conn)
    .await?)
}

pub async fn list_shares(conn: &mut Conn, team: Uuid) -> Result<Vec<Share>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, team_id, resource_type::text, resource_id, permission, shared_by, created_at
         FROM shared_resources WHERE team_id = $1 ORDER BY created_at, id",
    )
    .bind(team)
    .fetch_all(conn)
    .await?)
}

pub async fn unshare(conn: &mut Conn, team: Uuid, kind: &str, id: Uuid) -> Result<bool, DbError> {
    Ok(sqlx::query("DELETE FROM shared_resources WHERE team_id = $1 AND resource_type = $2 AND resource_id = $3")
        .bind(team)
        .bind(kind)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: Uuid,
    pub resource_type: String,
    pub resource_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub body: String,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub async fn add_comment(
    conn: &mut Conn,
    by: Uuid,
    kind: &str,
    id: Uuid,
    parent: Option<Uuid>,
    body: &str,
) -> Result<Comment, DbError> {
    Ok(sqlx::query_as(
        "INSERT INTO comments (resource_type, resource_id, parent_id, body, created_by) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, resource_type::text, resource_id, parent_id, body, created_by, created_at, updated_at",
    )
    .bind(kind)
    .bind(id)
    .bind(parent)
    .bind(body)
    .bind(by)
    .fetch_one(conn)
    .await?)
}

pub async fn list_comments(
    conn: &mut Conn,
    kind: &str,
    id: Uuid,
    page: Page,
) -> Result<Vec<Comment>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, resource_type::text, resource_id, parent_id, body, created_by, created_at, updated_at
         FROM comments WHERE resource_type = $1 AND resource_id = $2 ORDER BY created_at, id LIMIT $3 OFFSET $4",
    )
    .bind(kind)
    .bind(id)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await?)
}

pub async fn update_comment(
    conn: &mut Conn,
    id: Uuid,
    body: &str,
) -> Result<Option<Comment>, DbError> {
    Ok(sqlx::query_as(
        "UPDATE comments SET body = $2 WHERE id = $1
         RETURNING id, resource_type::text, resource_id, parent_id, body, created_by, created_at, updated_at",
    )
    .bind(id)
    .bind(body)
    .fetch_optional(conn)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: Uuid,
    pub team_id: Option<Uuid>,
    pub title: String,
    pub message: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    pub is_read: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Notify every member of a team except `actor` (runs as service_role: notifications are the
/// service's to send).
pub async fn notify_team(
    conn: &mut Conn,
    team: Uuid,
    actor: Uuid,
    title: &str,
    message: &str,
    kind: Option<&str>,
    id: Option<Uuid>,
) -> Result<u64, DbError> {
    Ok(sqlx::query(
        "INSERT INTO notifications (user_id, team_id, title, message, resource_type, resource_id)
         SELECT m.user_id, $1, $3, $4, $5, $6 FROM team_members m WHERE m.team_id = $1 AND m.user_id <> $2",
    )
    .bind(team)
    .bind(actor)
    .bind(title)
    .bind(message)
    .bind(kind)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected())
}

pub async fn list_notifications(
    conn: &mut Conn,
    unread_only: bool,
    page: Page,
) -> Result<Vec<Notification>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, team_id, title, message, resource_type::text, resource_id, is_read, created_at
         FROM notifications WHERE ($1 = false OR NOT is_read) ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
    )
    .bind(unread_only)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await?)
}

/// Mark one (or, with `None`, every) notification of the caller read.
pub async fn mark_read(conn: &mut Conn, id: Option<Uuid>) -> Result<u64, DbError> {
    Ok(sqlx::query("UPDATE notifications SET is_read = true, read_at = now() WHERE NOT is_read AND ($1::uuid IS NULL OR id = $1)")
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub id: Uuid,
    pub team_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    pub details: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub async fn log_activity(
    conn: &mut Conn,
    user: Uuid,
    team: Option<Uuid>,
    action: &str,
    kind: Option<&str>,
    id: Option<Uuid>,
    details: serde_json::Value,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO activity_log (team_id, user_id, action, resource_type, resource_id, details) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(team)
    .bind(user)
    .bind(action)
    .bind(kind)
    .bind(id)
    .bind(details)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn team_activity(
    conn: &mut Conn,
    team: Uuid,
    page: Page,
) -> Result<Vec<Activity>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, team_id, user_id, action, resource_type::text, resource_id, details, created_at
         FROM activity_log WHERE team_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
    )
    .bind(team)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await?)
}
