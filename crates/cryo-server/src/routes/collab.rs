//! Teams, members, projects, sharing, comments, notifications and activity. Every handler runs
//! as the caller; row-level security decides what exists for them, so another tenant's row is a
//! 404, indistinguishable from a missing one.

use crate::error::{ApiError, ApiJson, ApiResult, refused};
use crate::extract::UserDb;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use cryo_core::ident::{ResourceKind, SharePermission, TeamRole, parse_name};
use cryo_db::repo::Page;
use cryo_db::repo::collab::{
    self as repo, Activity, Comment, Invitation, Member, NewProject, Notification, Project, Share,
    Team,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, IntoParams)]
pub struct Paging {
    /// Rows per page (1–500, default 100).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Paging {
    pub fn page(&self) -> Page {
        Page::new(self.limit, self.offset)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamInput {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberInput {
    pub role: TeamRole,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProjectInput {
    pub name: String,
    pub description: Option<String>,
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub is_public: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_public: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ShareInput {
    pub resource_type: ResourceKind,
    pub resource_id: Uuid,
    #[serde(default = "read_permission")]
    pub permission: SharePermission,
}

fn read_permission() -> SharePermission {
    SharePermission::Read
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentInput {
    pub body: String,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct NotificationFilter {
    /// Only unread notifications.
    #[serde(default)]
    pub unread: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn not_found(what: &'static str) -> ApiError {
    ApiError::NotFound { what }
}

/// Row-level security refused the write: the row is not the caller's to use, or does not exist
/// for them. Answered as not found, so neither case tells which.
fn hidden_if_refused(e: cryo_db::DbError, what: &'static str) -> ApiError {
    match e {
        cryo_db::DbError::Sqlx(e)
            if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("42501") =>
        {
            not_found(what)
        }
        e => e.into(),
    }
}

/// Teams the caller belongs to.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<Team>)))]
pub async fn list_teams(db: UserDb, Query(p): Query<Paging>) -> ApiResult<Json<Vec<Team>>> {
    db.run(async |tx| {
        let teams = repo::list_teams(tx, p.page()).await?;
        Ok(Json(teams))
    })
    .await
}

/// Create a team; the creator becomes its admin.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = TeamInput, security(("bearer" = [])),
    responses((status = 201, body = Team), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_team(
    db: UserDb,
    ApiJson(input): ApiJson<TeamInput>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let me = db.user;
    let name = parse_name("name", &input.name, 200)?;
    db.run(async |tx| {
        let team = repo::create_team(tx, me, &name, input.description.as_deref()).await?;
        repo::log_activity(
            tx,
            me,
            Some(team.id),
            "team.create",
            None,
            None,
            serde_json::json!({"name": name}),
        )
        .await?;
        Ok((StatusCode::CREATED, Json(team)))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Team), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_team(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Team>> {
    db.run(async |tx| {
        let team = repo::get_team(tx, id).await?.ok_or(not_found("team"))?;
        Ok(Json(team))
    })
    .await
}

/// Rename or describe a team (team admins).
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", request_body = TeamPatch, security(("bearer" = [])),
    responses((status = 200, body = Team), (status = 403), (status = 404)))]
pub async fn update_team(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<TeamPatch>,
) -> ApiResult<Json<Team>> {
    let name = p
        .name
        .as_deref()
        .map(|n| parse_name("name", n, 200))
        .transpose()?;
    db.run(async |tx| {
        match repo::update_team(tx, id, name.as_deref(), p.description.as_deref()).await? {
            Some(team) => Ok(Json(team)),
            None => Err(refused(repo::get_team(tx, id).await?.is_some(), "team")),
        }
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_team(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        if repo::delete_team(tx, id).await? {
            return Ok(StatusCode::NO_CONTENT);
        }
        Err(refused(repo::get_team(tx, id).await?.is_some(), "team"))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/members", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<Member>), (status = 404)))]
pub async fn list_members(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Vec<Member>>> {
    db.run(async |tx| {
        repo::get_team(tx, id).await?.ok_or(not_found("team"))?;
        let members = repo::list_members(tx, id).await?;
        Ok(Json(members))
    })
    .await
}

/// Change a member's role, or invite a user who is not a member yet (team admins). An
/// invitation is answered 202 whether or not the id names an account; the user joins by
/// accepting it (`POST /api/v1/invitations/{id}/accept`).
#[utoipa::path(put, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams", request_body = MemberInput,
    security(("bearer" = [])), responses((status = 204, description = "Role changed"),
        (status = 202, description = "Invitation sent (or renewed)"), (status = 403), (status = 404)))]
pub async fn put_member(
    db: UserDb,
    Path((id, user)): Path<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<MemberInput>,
) -> ApiResult<StatusCode> {
    let me = db.user;
    let role = input.role.as_str();
    let (status, notify) = db
        .run(async |tx| {
            repo::get_team(tx, id).await?.ok_or(not_found("team"))?;
            let action = if repo::set_member_role(tx, id, user, role).await? {
                "team.member.set"
            } else {
                match repo::invite_member(tx, id, user, role, me).await? {
                    repo::Invited::Refused => return Err(ApiError::Forbidden),
                    // No such account: the same answer, and nothing to log or notify.
                    repo::Invited::Sent { exists: false } => {
                        return Ok((StatusCode::ACCEPTED, false));
                    }
                    repo::Invited::Sent { exists: true } => "team.member.invited",
                }
            };
            repo::log_activity(
                tx,
                me,
                Some(id),
                action,
                None,
                None,
                serde_json::json!({"user_id": user, "role": input.role}),
            )
            .await?;
            Ok(match action {
                "team.member.invited" => (StatusCode::ACCEPTED, true),
                _ => (StatusCode::NO_CONTENT, false),
            })
        })
        .await?;
    if notify {
        db.state()
            .as_service(async |tx| {
                repo::notify_user(
                    tx,
                    user,
                    Some(id),
                    "Team invitation",
                    &format!("You are invited to join a team as {role}; accept or decline it under invitations"),
                )
                .await
            })
            .await?;
    }
    Ok(status)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InvitationFilter {
    /// A team you administer: its standing invitations. Without: the invitations addressed to you.
    pub team_id: Option<Uuid>,
}

/// Standing invitations: yours, or (with `team_id`) those a team you administer has sent.
#[utoipa::path(get, path = "/api/v1/invitations", tag = "teams", params(InvitationFilter), security(("bearer" = [])),
    responses((status = 200, body = Vec<Invitation>)))]
pub async fn list_invitations(
    db: UserDb,
    Query(f): Query<InvitationFilter>,
) -> ApiResult<Json<Vec<Invitation>>> {
    db.run(async |tx| {
        let rows = repo::list_invitations(tx, f.team_id).await?;
        Ok(Json(rows))
    })
    .await
}

/// Accept an invitation addressed to you: you join the team with the offered role.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/accept", tag = "teams", security(("bearer" = [])),
    responses((status = 204, description = "Joined"), (status = 404)))]
pub async fn accept_invitation(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    let me = db.user;
    db.run(async |tx| {
        let inv = repo::accept_invitation(tx, id)
            .await?
            .ok_or(not_found("invitation"))?;
        repo::log_activity(
            tx,
            me,
            Some(inv.team_id),
            "team.member.joined",
            None,
            None,
            serde_json::json!({"role": inv.role}),
        )
        .await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Decline an invitation (the invitee) or withdraw it (an admin of its team).
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "teams", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete_invitation(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        if !repo::delete_invitation(tx, id).await? {
            return Err(not_found("invitation"));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Remove a member (team admins), or leave (yourself).
#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_member(
    db: UserDb,
    Path((id, user)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        repo::get_team(tx, id).await?.ok_or(not_found("team"))?;
        if !repo::remove_member(tx, id, user).await? {
            return Err(ApiError::Forbidden);
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/resources", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<Share>), (status = 404)))]
pub async fn list_shares(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Vec<Share>>> {
    db.run(async |tx| {
        repo::get_team(tx, id).await?.ok_or(not_found("team"))?;
        let shares = repo::list_shares(tx, id).await?;
        Ok(Json(shares))
    })
    .await
}

/// Share one of your rows with a team you belong to; members are notified.
#[utoipa::path(post, path = "/api/v1/teams/{id}/resources", tag = "teams", request_body = ShareInput,
    security(("bearer" = [])), responses((status = 201, body = Share), (status = 404)))]
pub async fn share(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<ShareInput>,
) -> ApiResult<(StatusCode, Json<Share>)> {
    let me = db.user;
    let kind = input.resource_type.as_str();
    let share = db
        .run(async |tx| {
            repo::get_team(tx, id).await?.ok_or(not_found("team"))?;
            let share = repo::share(
                tx,
                me,
                id,
                kind,
                input.resource_id,
                input.permission.as_str(),
            )
            .await
            .map_err(|e| hidden_if_refused(e, "resource"))?;
            repo::log_activity(
                tx,
                me,
                Some(id),
                "share",
                Some(kind),
                Some(input.resource_id),
                serde_json::json!({}),
            )
            .await?;
            Ok(share)
        })
        .await?;
    // Notifications are the service's to send, after the share itself is committed.
    db.state()
        .as_service(async |tx| {
            repo::notify_team(
                tx,
                id,
                me,
                "Resource shared",
                &format!("A {kind} was shared with your team"),
                Some(kind),
                Some(input.resource_id),
            )
            .await
        })
        .await?;
    Ok((StatusCode::CREATED, Json(share)))
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}/resources/{resource_type}/{resource_id}", tag = "teams",
    security(("bearer" = [])), responses((status = 204), (status = 404)))]
pub async fn unshare(
    db: UserDb,
    Path((id, kind, rid)): Path<(Uuid, ResourceKind, Uuid)>,
) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        if !repo::unshare(tx, id, kind.as_str(), rid).await? {
            return Err(not_found("share"));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/activity", tag = "teams", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<Activity>), (status = 404)))]
pub async fn team_activity(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(p): Query<Paging>,
) -> ApiResult<Json<Vec<Activity>>> {
    db.run(async |tx| {
        repo::get_team(tx, id).await?.ok_or(not_found("team"))?;
        let rows = repo::team_activity(tx, id, p.page()).await?;
        Ok(Json(rows))
    })
    .await
}

/// Projects the caller can see: their own, their teams', public ones and shared ones.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<Project>)))]
pub async fn list_projects(db: UserDb, Query(p): Query<Paging>) -> ApiResult<Json<Vec<Project>>> {
    db.run(async |tx| {
        let rows = repo::list_projects(tx, p.page()).await?;
        Ok(Json(rows))
    })
    .await
}

/// Create a project, optionally in a team where the caller is an editor or admin.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = ProjectInput, security(("bearer" = [])),
    responses((status = 201, body = Project), (status = 403), (status = 422)))]
pub async fn create_project(
    db: UserDb,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    let me = db.user;
    let name = parse_name("name", &input.name, 200)?;
    db.run(async |tx| {
        let project = repo::create_project(
            tx,
            me,
            NewProject {
                name: &name,
                description: input.description.as_deref(),
                team_id: input.team_id,
                is_public: input.is_public,
            },
        )
        .await?;
        repo::log_activity(
            tx,
            me,
            project.team_id,
            "project.create",
            Some("project"),
            Some(project.id),
            serde_json::json!({}),
        )
        .await?;
        Ok((StatusCode::CREATED, Json(project)))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = Project), (status = 404)))]
pub async fn get_project(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Project>> {
    db.run(async |tx| {
        let p = repo::get_project(tx, id)
            .await?
            .ok_or(not_found("project"))?;
        Ok(Json(p))
    })
    .await
}

/// Edit a project: its owner, or editors and admins of its team.
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", request_body = ProjectPatch, security(("bearer" = [])),
    responses((status = 200, body = Project), (status = 403), (status = 404)))]
pub async fn update_project(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<ProjectPatch>,
) -> ApiResult<Json<Project>> {
    let me = db.user;
    let name = p
        .name
        .as_deref()
        .map(|n| parse_name("name", n, 200))
        .transpose()?;
    db.run(async |tx| {
        match repo::update_project(
            tx,
            id,
            name.as_deref(),
            p.description.as_deref(),
            p.is_public,
        )
        .await?
        {
            Some(project) => {
                repo::log_activity(
                    tx,
                    me,
                    project.team_id,
                    "project.update",
                    Some("project"),
                    Some(id),
                    serde_json::json!({}),
                )
                .await?;
                Ok(Json(project))
            }
            None => Err(refused(
                repo::get_project(tx, id).await?.is_some(),
                "project",
            )),
        }
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_project(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        if repo::delete_project(tx, id).await? {
            return Ok(StatusCode::NO_CONTENT);
        }
        Err(refused(
            repo::get_project(tx, id).await?.is_some(),
            "project",
        ))
    })
    .await
}

/// Comments on a resource the caller can see.
#[utoipa::path(get, path = "/api/v1/comments/{resource_type}/{resource_id}", tag = "comments", params(Paging),
    security(("bearer" = [])), responses((status = 200, body = Vec<Comment>)))]
pub async fn list_comments(
    db: UserDb,
    Path((kind, rid)): Path<(ResourceKind, Uuid)>,
    Query(p): Query<Paging>,
) -> ApiResult<Json<Vec<Comment>>> {
    db.run(async |tx| {
        let rows = repo::list_comments(tx, kind.as_str(), rid, p.page()).await?;
        Ok(Json(rows))
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/comments/{resource_type}/{resource_id}", tag = "comments", request_body = CommentInput,
    security(("bearer" = [])), responses((status = 201, body = Comment), (status = 404)))]
pub async fn add_comment(
    db: UserDb,
    Path((kind, rid)): Path<(ResourceKind, Uuid)>,
    ApiJson(input): ApiJson<CommentInput>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    let body = parse_name("body", &input.body, 10_000)?;
    db.run(async |tx| {
        let c = repo::add_comment(tx, db.user, kind.as_str(), rid, input.parent_id, &body)
            .await
            .map_err(|e| hidden_if_refused(e, "resource"))?;
        Ok((StatusCode::CREATED, Json(c)))
    })
    .await
}

#[utoipa::path(patch, path = "/api/v1/comments/{id}", tag = "comments", request_body = CommentInput,
    security(("bearer" = [])), responses((status = 200, body = Comment), (status = 404)))]
pub async fn update_comment(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<CommentInput>,
) -> ApiResult<Json<Comment>> {
    let body = parse_name("body", &input.body, 10_000)?;
    db.run(async |tx| {
        let c = repo::update_comment(tx, id, &body)
            .await?
            .ok_or(not_found("comment"))?;
        Ok(Json(c))
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "comments", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete_comment(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        if !repo::delete_comment(tx, id).await? {
            return Err(not_found("comment"));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationFilter),
    security(("bearer" = [])), responses((status = 200, body = Vec<Notification>)))]
pub async fn list_notifications(
    db: UserDb,
    Query(f): Query<NotificationFilter>,
) -> ApiResult<Json<Vec<Notification>>> {
    db.run(async |tx| {
        let rows = repo::list_notifications(tx, f.unread, Page::new(f.limit, f.offset)).await?;
        Ok(Json(rows))
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", security(("bearer" = [])),
    responses((status = 204)))]
pub async fn read_all_notifications(db: UserDb) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        repo::mark_read(tx, None).await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn read_notification(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        repo::mark_read(tx, Some(id)).await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/notifications/{id}", tag = "notifications", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete_notification(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        if !repo::delete_notification(tx, id).await? {
            return Err(not_found("notification"));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
