//! Teams: members and their roles, invitations (nobody joins without accepting), sharing rows
//! with a team, and the team's activity. Row-level security decides what exists for the caller,
//! so another team's row is not found, indistinguishable from a missing one.

use crate::{Actor, AppError, AppResult};
use cryo_core::ident::{ResourceKind, SharePermission, TeamRole, parse_name, parse_optional_name};
use cryo_db::repo::collab::{self as repo, Activity, Invitation, Member, Share, Team};
use cryo_db::repo::{Conn, Entity, Page};
use uuid::Uuid;

/// Longest team name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The team with `id`, if the caller belongs to it.
pub async fn visible(tx: &mut Conn, id: Uuid) -> AppResult<Team> {
    repo::get_team(tx, id)
        .await?
        .ok_or(AppError::NotFound { what: "team" })
}

pub async fn list(actor: &Actor<'_>, page: Page) -> AppResult<Vec<Team>> {
    actor
        .read(async |tx| repo::list_teams(tx, page).await)
        .await
}

/// Create a team; the creator becomes its admin.
pub async fn create(actor: &Actor<'_>, name: &str, description: Option<&str>) -> AppResult<Team> {
    let me = actor.me()?;
    let name = parse_name("name", name, MAX_NAME_CHARS)?;
    actor
        .run(async |tx| {
            let team = repo::create_team(tx, me, &name, description).await?;
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
            Ok(team)
        })
        .await
}

pub async fn get(actor: &Actor<'_>, id: Uuid) -> AppResult<Team> {
    actor.run(async |tx| visible(tx, id).await).await
}

/// Rename or describe a team (team admins).
pub async fn update(
    actor: &Actor<'_>,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
) -> AppResult<Team> {
    let name = parse_optional_name("name", name, MAX_NAME_CHARS)?;
    actor
        .run(
            async |tx| match repo::update_team(tx, id, name.as_deref(), description).await? {
                Some(team) => Ok(team),
                None => Err(crate::rows::why_unchanged(tx, Entity::Team, id).await),
            },
        )
        .await
}

pub async fn members(actor: &Actor<'_>, id: Uuid) -> AppResult<Vec<Member>> {
    actor
        .run(async |tx| {
            visible(tx, id).await?;
            Ok(repo::list_members(tx, id).await?)
        })
        .await
}

/// What setting a user's role in a team did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// They were a member: their role changed.
    RoleChanged,
    /// They were not: an invitation went out, or (no such account) would have; the caller
    /// cannot tell which.
    Invited,
}

/// Change a member's role, or invite a user who is not a member yet (team admins). The invitee
/// is notified; they join by accepting.
pub async fn set_member(
    actor: &Actor<'_>,
    id: Uuid,
    user: Uuid,
    role: TeamRole,
) -> AppResult<MemberChange> {
    let me = actor.me()?;
    let (change, notify) = actor
        .run(async |tx| {
            visible(tx, id).await?;
            let action = if repo::set_member_role(tx, id, user, role.as_str()).await? {
                "team.member.set"
            } else {
                match repo::invite_member(tx, id, user, role.as_str(), me).await? {
                    repo::Invited::Refused => return Err(AppError::Forbidden),
                    // No such account: the same answer, and nothing to log or notify.
                    repo::Invited::Sent { exists: false } => {
                        return Ok((MemberChange::Invited, false));
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
                serde_json::json!({"user_id": user, "role": role}),
            )
            .await?;
            Ok(match action {
                "team.member.invited" => (MemberChange::Invited, true),
                _ => (MemberChange::RoleChanged, false),
            })
        })
        .await?;
    if notify {
        let text = format!(
            "You are invited to join a team as {}; accept or decline it under invitations",
            role.as_str()
        );
        actor
            .app
            .as_service(async |tx| {
                repo::notify_user(tx, user, Some(id), "Team invitation", &text).await
            })
            .await?;
    }
    Ok(change)
}

/// Remove a member (team admins), or leave (yourself).
pub async fn remove_member(actor: &Actor<'_>, id: Uuid, user: Uuid) -> AppResult<()> {
    actor
        .run(async |tx| {
            visible(tx, id).await?;
            if repo::remove_member(tx, id, user).await? {
                Ok(())
            } else {
                Err(AppError::Forbidden)
            }
        })
        .await
}

/// Standing invitations: the caller's, or (with `team`) those a team they administer has sent.
pub async fn invitations(actor: &Actor<'_>, team: Option<Uuid>) -> AppResult<Vec<Invitation>> {
    actor
        .read(async |tx| repo::list_invitations(tx, team).await)
        .await
}

/// Accept an invitation addressed to the caller: they join with the offered role.
pub async fn accept_invitation(actor: &Actor<'_>, id: Uuid) -> AppResult<()> {
    let me = actor.me()?;
    actor
        .run(async |tx| {
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
            Ok(())
        })
        .await
}

pub async fn shares(actor: &Actor<'_>, id: Uuid) -> AppResult<Vec<Share>> {
    actor
        .run(async |tx| {
            visible(tx, id).await?;
            Ok(repo::list_shares(tx, id).await?)
        })
        .await
}

/// Share one of the caller's rows with a team they belong to; members are notified once the
/// share is committed (notifications are the service's to send).
pub async fn share(
    actor: &Actor<'_>,
    id: Uuid,
    kind: ResourceKind,
    resource: Uuid,
    permission: SharePermission,
) -> AppResult<Share> {
    let me = actor.me()?;
    let kind = kind.as_str();
    let share = actor
        .run(async |tx| {
            visible(tx, id).await?;
            let share = repo::share(tx, me, id, kind, resource, permission.as_str())
                .await
                .map_err(|e| crate::rows::hidden_if_refused(e, "resource"))?;
            repo::log_activity(
                tx,
                me,
                Some(id),
                "share",
                Some(kind),
                Some(resource),
                serde_json::json!({}),
            )
            .await?;
            AppResult::Ok(share)
        })
        .await?;
    let text = format!("A {kind} was shared with your team");
    actor
        .app
        .as_service(async |tx| {
            repo::notify_team(
                tx,
                id,
                me,
                "Resource shared",
                &text,
                Some(kind),
                Some(resource),
            )
            .await
        })
        .await?;
    Ok(share)
}

pub async fn unshare(
    actor: &Actor<'_>,
    id: Uuid,
    kind: ResourceKind,
    resource: Uuid,
) -> AppResult<()> {
    if actor
        .read(async |tx| repo::unshare(tx, id, kind.as_str(), resource).await)
        .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound { what: "share" })
    }
}

pub async fn activity(actor: &Actor<'_>, id: Uuid, page: Page) -> AppResult<Vec<Activity>> {
    actor
        .run(async |tx| {
            visible(tx, id).await?;
            Ok(repo::team_activity(tx, id, page).await?)
        })
        .await
}
