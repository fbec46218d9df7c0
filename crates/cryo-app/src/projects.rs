//! Projects, comments on any resource the caller can see, and the caller's notifications.

use crate::{Actor, AppError, AppResult};
use cryo_core::ident::{ResourceKind, parse_name, parse_optional_name};
use cryo_db::repo::collab::{self as repo, Comment, NewProject, Notification, Project};
use cryo_db::repo::{Entity, Page};
use uuid::Uuid;

/// Longest project name, and longest comment, in characters.
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_COMMENT_CHARS: usize = 10_000;

pub async fn list(actor: &Actor<'_>, page: Page) -> AppResult<Vec<Project>> {
    actor
        .read(async |tx| repo::list_projects(tx, page).await)
        .await
}

/// A project with the given name, description, team (where the caller edits or administers)
/// and visibility.
pub struct ProjectSpec<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub team_id: Option<Uuid>,
    pub is_public: bool,
}

/// Create a project, optionally in a team where the caller is an editor or admin.
pub async fn create(actor: &Actor<'_>, p: ProjectSpec<'_>) -> AppResult<Project> {
    let me = actor.me()?;
    let name = parse_name("name", p.name, MAX_NAME_CHARS)?;
    actor
        .run(async |tx| {
            let project = repo::create_project(
                tx,
                me,
                NewProject {
                    name: &name,
                    description: p.description,
                    team_id: p.team_id,
                    is_public: p.is_public,
                },
            )
            .await?;
            log(tx, me, &project, "project.create").await?;
            Ok(project)
        })
        .await
}

async fn log(
    tx: &mut cryo_db::repo::Conn,
    me: Uuid,
    project: &Project,
    action: &str,
) -> AppResult<()> {
    Ok(repo::log_activity(
        tx,
        me,
        project.team_id,
        action,
        Some("project"),
        Some(project.id),
        serde_json::json!({}),
    )
    .await?)
}

pub async fn get(actor: &Actor<'_>, id: Uuid) -> AppResult<Project> {
    actor
        .read(async |tx| repo::get_project(tx, id).await)
        .await?
        .ok_or(AppError::NotFound { what: "project" })
}

/// Edit a project: its owner, or editors and admins of its team.
pub async fn update(
    actor: &Actor<'_>,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
    is_public: Option<bool>,
) -> AppResult<Project> {
    let me = actor.me()?;
    let name = parse_optional_name("name", name, MAX_NAME_CHARS)?;
    actor
        .run(async |tx| {
            match repo::update_project(tx, id, name.as_deref(), description, is_public).await? {
                Some(project) => {
                    log(tx, me, &project, "project.update").await?;
                    Ok(project)
                }
                None => Err(crate::rows::why_unchanged(tx, Entity::Project, id).await),
            }
        })
        .await
}

pub async fn comments(
    actor: &Actor<'_>,
    kind: ResourceKind,
    resource: Uuid,
    page: Page,
) -> AppResult<Vec<Comment>> {
    actor
        .read(async |tx| repo::list_comments(tx, kind.as_str(), resource, page).await)
        .await
}

/// Comment on a resource the caller can see (a reply names its parent).
pub async fn comment(
    actor: &Actor<'_>,
    kind: ResourceKind,
    resource: Uuid,
    parent: Option<Uuid>,
    body: &str,
) -> AppResult<Comment> {
    let me = actor.me()?;
    let body = parse_name("body", body, MAX_COMMENT_CHARS)?;
    actor
        .run(async |tx| {
            repo::add_comment(tx, me, kind.as_str(), resource, parent, &body)
                .await
                .map_err(|e| crate::rows::hidden_if_refused(e, "resource"))
        })
        .await
}

/// Edit one's own comment.
pub async fn edit_comment(actor: &Actor<'_>, id: Uuid, body: &str) -> AppResult<Comment> {
    let body = parse_name("body", body, MAX_COMMENT_CHARS)?;
    actor
        .read(async |tx| repo::update_comment(tx, id, &body).await)
        .await?
        .ok_or(AppError::NotFound { what: "comment" })
}

pub async fn notifications(
    actor: &Actor<'_>,
    unread: bool,
    page: Page,
) -> AppResult<Vec<Notification>> {
    actor
        .read(async |tx| repo::list_notifications(tx, unread, page).await)
        .await
}

/// Mark one notification (or, with `None`, all of them) read.
pub async fn mark_read(actor: &Actor<'_>, id: Option<Uuid>) -> AppResult<()> {
    actor.read(async |tx| repo::mark_read(tx, id).await).await?;
    Ok(())
}
