//! Projects, comments on any resource and the caller's notifications. Every handler runs as
//! the caller; row-level security decides what exists for them.

use super::Paging;
use crate::error::{ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use cryo_app::projects::{self, ProjectSpec};
use cryo_app::rows;
use cryo_core::ident::ResourceKind;
use cryo_db::repo::collab::{Comment, Notification, Project};
use cryo_db::repo::{Entity, Page};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project, delete_project))
        .routes(routes!(list_comments, add_comment))
        .routes(routes!(update_comment, delete_comment))
        .routes(routes!(list_notifications))
        .routes(routes!(read_all_notifications))
        .routes(routes!(read_notification))
        .routes(routes!(delete_notification))
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

/// Projects the caller can see: their own, their teams', public ones and shared ones.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<Project>)))]
pub async fn list_projects(db: UserDb, Query(p): Query<Paging>) -> ApiResult<Json<Vec<Project>>> {
    Ok(Json(projects::list(&db.actor(), p.page()).await?))
}

/// Create a project, optionally in a team where the caller is an editor or admin.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = ProjectInput, security(("bearer" = [])),
    responses((status = 201, body = Project), (status = 403), (status = 422)))]
pub async fn create_project(
    db: UserDb,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    let spec = ProjectSpec {
        name: &input.name,
        description: input.description.as_deref(),
        team_id: input.team_id,
        is_public: input.is_public,
    };
    Ok((
        StatusCode::CREATED,
        Json(projects::create(&db.actor(), spec).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = Project), (status = 404)))]
pub async fn get_project(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Project>> {
    Ok(Json(projects::get(&db.actor(), id).await?))
}

/// Edit a project: its owner, or editors and admins of its team.
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", request_body = ProjectPatch, security(("bearer" = [])),
    responses((status = 200, body = Project), (status = 403), (status = 404)))]
pub async fn update_project(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<ProjectPatch>,
) -> ApiResult<Json<Project>> {
    let (name, description) = (p.name.as_deref(), p.description.as_deref());
    let project = projects::update(&db.actor(), id, name, description, p.is_public).await?;
    Ok(Json(project))
}

#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_project(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    rows::delete(&db.actor(), Entity::Project, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Comments on a resource the caller can see.
#[utoipa::path(get, path = "/api/v1/comments/{resource_type}/{resource_id}", tag = "comments", params(Paging),
    security(("bearer" = [])), responses((status = 200, body = Vec<Comment>)))]
pub async fn list_comments(
    db: UserDb,
    Path((kind, rid)): Path<(ResourceKind, Uuid)>,
    Query(p): Query<Paging>,
) -> ApiResult<Json<Vec<Comment>>> {
    Ok(Json(
        projects::comments(&db.actor(), kind, rid, p.page()).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/comments/{resource_type}/{resource_id}", tag = "comments", request_body = CommentInput,
    security(("bearer" = [])), responses((status = 201, body = Comment), (status = 404)))]
pub async fn add_comment(
    db: UserDb,
    Path((kind, rid)): Path<(ResourceKind, Uuid)>,
    ApiJson(input): ApiJson<CommentInput>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    let c = projects::comment(&db.actor(), kind, rid, input.parent_id, &input.body).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(patch, path = "/api/v1/comments/{id}", tag = "comments", request_body = CommentInput,
    security(("bearer" = [])), responses((status = 200, body = Comment), (status = 404)))]
pub async fn update_comment(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<CommentInput>,
) -> ApiResult<Json<Comment>> {
    Ok(Json(
        projects::edit_comment(&db.actor(), id, &input.body).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "comments", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete_comment(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    rows::delete(&db.actor(), Entity::Comment, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationFilter),
    security(("bearer" = [])), responses((status = 200, body = Vec<Notification>)))]
pub async fn list_notifications(
    db: UserDb,
    Query(f): Query<NotificationFilter>,
) -> ApiResult<Json<Vec<Notification>>> {
    let page = Page::new(f.limit, f.offset);
    Ok(Json(
        projects::notifications(&db.actor(), f.unread, page).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", security(("bearer" = [])),
    responses((status = 204)))]
pub async fn read_all_notifications(db: UserDb) -> ApiResult<StatusCode> {
    projects::mark_read(&db.actor(), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn read_notification(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    projects::mark_read(&db.actor(), Some(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/notifications/{id}", tag = "notifications", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete_notification(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    rows::delete(&db.actor(), Entity::Notification, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
