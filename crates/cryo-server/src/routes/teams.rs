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
use cryo_app::rows;
use cryo_app::teams::{self, MemberChange};
use cryo_core::ident::{ResourceKind, SharePermission, TeamRole};
use cryo_db::repo::Entity;
use cryo_db::repo::collab::{Activity, Invitation, Member, Share, Team};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

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
    Ok(Json(teams::list(&db.actor(), p.page()).await?))
}

/// Create a team; the creator becomes its admin.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = TeamInput, security(("bearer" = [])),
    responses((status = 201, body = Team), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_team(
    db: UserDb,
    ApiJson(input): ApiJson<TeamInput>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let team = teams::create(&db.actor(), &input.name, input.description.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Team), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_team(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Team>> {
    Ok(Json(teams::get(&db.actor(), id).await?))
}

/// Rename or describe a team (team admins).
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", request_body = TeamPatch, security(("bearer" = [])),
    responses((status = 200, body = Team), (status = 403), (status = 404)))]
pub async fn update_team(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<TeamPatch>,
) -> ApiResult<Json<Team>> {
    let team = teams::update(&db.actor(), id, p.name.as_deref(), p.description.as_deref()).await?;
    Ok(Json(team))
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
    Ok(Json(teams::members(&db.actor(), id).await?))
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
    Ok(
        match teams::set_member(&db.actor(), id, user, input.role).await? {
            MemberChange::RoleChanged => StatusCode::NO_CONTENT,
            MemberChange::Invited => StatusCode::ACCEPTED,
        },
    )
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
    Ok(Json(teams::invitations(&db.actor(), f.team_id).await?))
}

/// Accept an invitation addressed to you: you join the team with the offered role.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/accept", tag = "teams", security(("bearer" = [])),
    responses((status = 204, description = "Joined"), (status = 404)))]
pub async fn accept_invitation(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    teams::accept_invitation(&db.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
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
    teams::remove_member(&db.actor(), id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/resources", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<Share>), (status = 404)))]
pub async fn list_shares(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Vec<Share>>> {
    Ok(Json(teams::shares(&db.actor(), id).await?))
}

/// Share one of your rows with a team you belong to; members are notified.
#[utoipa::path(post, path = "/api/v1/teams/{id}/resources", tag = "teams", request_body = ShareInput,
    security(("bearer" = [])), responses((status = 201, body = Share), (status = 404)))]
pub async fn share(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<ShareInput>,
) -> ApiResult<(StatusCode, Json<Share>)> {
    let share = teams::share(
        &db.actor(),
        id,
        input.resource_type,
        input.resource_id,
        input.permission,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(share)))
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}/resources/{resource_type}/{resource_id}", tag = "teams",
    security(("bearer" = [])), responses((status = 204), (status = 404)))]
pub async fn unshare(
    db: UserDb,
    Path((id, kind, rid)): Path<(Uuid, ResourceKind, Uuid)>,
) -> ApiResult<StatusCode> {
    teams::unshare(&db.actor(), id, kind, rid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/activity", tag = "teams", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<Activity>), (status = 404)))]
pub async fn team_activity(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(p): Query<Paging>,
) -> ApiResult<Json<Vec<Activity>>> {
    Ok(Json(teams::activity(&db.actor(), id, p.page()).await?))
}
