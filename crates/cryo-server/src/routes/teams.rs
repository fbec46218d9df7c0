//! Teams, members, invitations, sharing and activity. Every handler runs as the caller;
//! row-level security decides what exists for them, so another tenant's row is a 404,
//! indistinguishable from a missing one.

use super::Paging;
use crate::error::{ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use cryo_app::AppError;
use cryo_app::rows;
use cryo_core::ident::{ResourceKind, SharePermission, TeamRole, parse_name, parse_optional_name};
use cryo_db::repo::Entity;
use cryo_db::repo::collab::{self as repo, Activity, Invitation, Member, Share, Team};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// The team with `id`, if the caller belongs to it.
async fn visible_team(tx: &mut cryo_db::repo::Conn, id: Uuid) -> ApiResult<Team> {
    Ok(repo::get_team(tx, id)
        .await?
        .ok_or(AppError::NotFound { what: "team" })?)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, update_team, delete_team))
        .routes(routes!(list_members))
        .routes(routes!(put_member, delete_member))
        .routes(routes!(list_invitations))
        .routes(routes!(accept_invitation))
        .routes(routes!(delete_invitation))
        .routes(routes!(list_shares, share))
        .routes(routes!(unshare))
        .routes(routes!(team_activity))
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
pub struct ShareInput {
    pub resource_type: ResourceKind,
    pub resource_id: Uuid,
    #[serde(default = "read_permission")]
    pub permission: SharePermission,
}

fn read_permission() -> SharePermission {
    SharePermission::Read
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
        let team = visible_team(tx, id).await?;
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
    let name = parse_optional_name("name", p.name.as_deref(), 200)?;
    db.run(async |tx| {
        match repo::update_team(tx, id, name.as_deref(), p.description.as_deref()).await? {
            Some(team) => Ok(Json(team)),
            None => Err(rows::why_unchanged(tx, Entity::Team, id).await.into()),
        }
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_team(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    rows::delete(&db.actor(), Entity::Team, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/members", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<Member>), (status = 404)))]
pub async fn list_members(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Vec<Member>>> {
    db.run(async |tx| {
        visible_team(tx, id).await?;
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
            visible_team(tx, id).await?;
            let action = if repo::set_member_role(tx, id, user, role).await? {
                "team.member.set"
            } else {
                match repo::invite_member(tx, id, user, role, me).await? {
                    repo::Invited::Refused => return Err(AppError::Forbidden.into()),
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
            .ok_or(AppError::NotFound { what: "invitation" })?;
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
    rows::delete(&db.actor(), Entity::Invitation, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member (team admins), or leave (yourself).
#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_member(
    db: UserDb,
    Path((id, user)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        visible_team(tx, id).await?;
        if !repo::remove_member(tx, id, user).await? {
            return Err(AppError::Forbidden.into());
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/resources", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<Share>), (status = 404)))]
pub async fn list_shares(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Vec<Share>>> {
    db.run(async |tx| {
        visible_team(tx, id).await?;
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
            visible_team(tx, id).await?;
            let share = repo::share(
                tx,
                me,
                id,
                kind,
                input.resource_id,
                input.permission.as_str(),
            )
            .await
            .map_err(|e| rows::hidden_if_refused(e, "resource"))?;
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
            return Err(AppError::NotFound { what: "share" }.into());
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
        visible_team(tx, id).await?;
        let rows = repo::team_activity(tx, id, p.page()).await?;
        Ok(Json(rows))
    })
    .await
}
