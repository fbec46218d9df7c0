//! Two users in two teams: for every resource endpoint, B cannot read, list, update or delete
//! A's rows (404, so existence does not leak), and team roles decide who may edit.

use crate::helpers::{Anon, Client};
use crate::helpers::{User, app, call, id_of, join_team, register};
use axum::http::StatusCode;
use cryo_testkit::TestDb;
use serde_json::{Value, json};

struct World {
    app: axum::Router,
    a: User,
    b: User,
    editor: User,
    viewer: User,
    team_a: String,
    project: String,
    _db: TestDb,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let (a, b, editor, viewer) = (
        register(&app, "alice").await,
        register(&app, "bob").await,
        register(&app, "erin").await,
        register(&app, "victor").await,
    );
    let team_a = app
        .post(&a, "/api/v1/teams", json!({"name": "Team A"}))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let team_b = app
        .post(&b, "/api/v1/teams", json!({"name": "Team B"}))
        .await;
    assert_eq!(team_b.status, StatusCode::CREATED);
    for (user, role) in [(&editor, "editor"), (&viewer, "viewer")] {
        join_team(&app, &a, &team_a, user, role).await;
    }
    let project = app
        .post(
            &a,
            "/api/v1/projects",
            json!({"name": "Organ banking", "team_id": team_a}),
        )
        .await;
    assert_eq!(project.status, StatusCode::CREATED, "{}", project.text);
    let project = project.json()["id"].as_str().unwrap().to_string();
    World {
        app,
        a,
        b,
        editor,
        viewer,
        team_a,
        project,
        _db: db,
    }
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn another_tenant_cannot_read_list_update_or_delete_teams_and_projects() {
    let w = world().await;
    let (app, b) = (&w.app, &w.b);
    for (uri, patch) in [
        (
            format!("/api/v1/teams/{}", w.team_a),
            json!({"name": "pwned"}),
        ),
        (
            format!("/api/v1/projects/{}", w.project),
            json!({"name": "pwned"}),
        ),
    ] {
        assert_eq!(
            app.get(&b, &uri).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
        let r = app.patch(&b, &uri, patch).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.text);
        assert_eq!(
            app.delete(&b, &uri).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let teams = app.get(&b, "/api/v1/teams").await.json();
    assert!(!ids(&teams).contains(&w.team_a));
    let projects = app.get(&b, "/api/v1/projects").await.json();
    assert!(!ids(&projects).contains(&w.project));
    for sub in ["members", "resources", "activity"] {
        let r = app
            .get(&b, &format!("/api/v1/teams/{}/{sub}", w.team_a))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{sub}");
    }
    // B cannot add themself to A's team, nor create a project inside it.
    let r = app
        .put(
            &b,
            &format!("/api/v1/teams/{}/members/{}", w.team_a, b.id),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .post(
            &b,
            "/api/v1/projects",
            json!({"name": "sneaky", "team_id": w.team_a}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // And A's data is intact.
    let p = app
        .get(&w.a, &format!("/api/v1/projects/{}", w.project))
        .await;
    assert_eq!(p.json()["name"], "Organ banking");
}

#[tokio::test]
async fn a_team_editor_can_edit_the_project_and_a_viewer_cannot() {
    let w = world().await;
    let uri = format!("/api/v1/projects/{}", w.project);
    let r = w
        .app
        .patch(
            &w.editor,
            &uri,
            json!({"description": "edited by the editor"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["description"], "edited by the editor");

    // The viewer sees the project but may not change it: 403, since its existence is no secret to them.
    assert_eq!(w.app.get(&w.viewer, &uri).await.status, StatusCode::OK);
    let r = w
        .app
        .patch(&w.viewer, &uri, json!({"description": "viewer"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(
        w.app.delete(&w.viewer, &uri).await.status,
        StatusCode::FORBIDDEN
    );
    // Nor manage the team.
    let r = w
        .app
        .put(
            &w.viewer,
            &format!("/api/v1/teams/{}/members/{}", w.team_a, w.b.id),
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let after = w.app.get(&w.a, &uri).await.json();
    assert_eq!(after["description"], "edited by the editor");
}

#[tokio::test]
async fn comments_follow_their_resource_and_notifications_reach_only_their_recipient() {
    let w = world().await;
    let uri = format!("/api/v1/comments/project/{}", w.project);
    let c = w
        .app
        .post(&w.viewer, &uri, json!({"body": "Tg looks low"}))
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let comment = c.json()["id"].as_str().unwrap().to_string();

    // B neither sees the thread nor can post to it, nor edit the comment.
    let listed = w.app.get(&w.b, &uri).await;
    assert_eq!(listed.json().as_array().unwrap().len(), 0);
    assert_eq!(
        w.app.post(&w.b, &uri, json!({"body": "hi"})).await.status,
        StatusCode::NOT_FOUND
    );
    let r = w
        .app
        .patch(
            &w.b,
            &format!("/api/v1/comments/{comment}"),
            json!({"body": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        w.app
            .get(&w.editor, &uri)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Sharing into the team notifies its other members, not outsiders.
    let share = w
        .app
        .post(
            &w.a,
            &format!("/api/v1/teams/{}/resources", w.team_a),
            json!({"resource_type": "project", "resource_id": w.project}),
        )
        .await;
    assert_eq!(share.status, StatusCode::CREATED, "{}", share.text);
    let editor_inbox = w
        .app
        .get(&w.editor, "/api/v1/notifications?unread=true")
        .await
        .json();
    // Beside the invitation they accepted.
    let shared: Vec<_> = editor_inbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["title"] == "Resource shared")
        .collect();
    assert_eq!(shared.len(), 1, "{editor_inbox}");
    let note = shared[0]["id"].as_str().unwrap().to_string();
    assert!(
        w.app
            .get(&w.b, "/api/v1/notifications")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        w.app
            .get(&w.a, "/api/v1/notifications")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The viewer cannot delete the editor's notification.
    let r = w
        .app
        .delete(&w.viewer, &format!("/api/v1/notifications/{note}"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // B cannot share A's project into B's own team.
    let b_team = w.app.get(&w.b, "/api/v1/teams").await.json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = w
        .app
        .post(
            &w.b,
            &format!("/api/v1/teams/{b_team}/resources"),
            json!({"resource_type": "project", "resource_id": w.project}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn anonymous_callers_see_nothing_private() {
    let w = world().await;
    for uri in ["/api/v1/teams", "/api/v1/projects", "/api/v1/notifications"] {
        assert_eq!(
            w.app.get(Anon, uri).await.status,
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
    }
}

/// Only the owner (or an admin of the project's team) changes visibility: an editor once
/// published the owner's private rows with `is_public: true`.
#[tokio::test]
async fn only_the_owner_or_a_team_admin_changes_a_projects_visibility() {
    let w = world().await;
    let uri = format!("/api/v1/projects/{}", w.project);
    for user in [&w.editor, &w.viewer] {
        let r = w.app.patch(&user, &uri, json!({"is_public": true})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let r = w.app.get(&w.a, &uri).await;
    assert_eq!(r.json()["is_public"], false, "{}", r.text);
    // Nobody outside sees it.
    assert_eq!(w.app.get(&w.b, &uri).await.status, StatusCode::NOT_FOUND);
    // The editor still edits content; the owner publishes.
    let r = w
        .app
        .patch(&w.editor, &uri, json!({"description": "ok"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = w.app.patch(&w.a, &uri, json!({"is_public": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(w.app.get(&w.b, &uri).await.status, StatusCode::OK);
}

/// Reading a row is not enough to pin it: a viewer's mixture, experiment or prediction on the
/// owner's molecule used to block the owner's delete with a 409 the owner could not resolve.
/// Write access is (and then the owner's delete waits for the editor's rows: both directions).
#[tokio::test]
async fn referencing_a_row_needs_the_right_to_write_it() {
    let w = world().await;
    cryo_app::molecules::seed_reference_data(&w._db.pool)
        .await
        .unwrap();
    let app = &w.app;
    let molecule = |smiles: &'static str| {
        let project = w.project.clone();
        let token = w.a.token.clone();
        async move {
            let r = app
                .post(
                    &token,
                    "/api/v1/molecules",
                    json!({"smiles": smiles, "project_id": project}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.json()["molecule"]["id"].as_str().unwrap().to_string()
        }
    };
    let (glycerol, ethanediol) = (molecule("OCC(O)CO").await, molecule("OCCO").await);
    let mixture = app.post(&w.a, "/api/v1/mixtures", json!({"name": "A's", "project_id": w.project, "components": [{"molecule_id": glycerol, "concentration": 1, "unit": "M"}]}))
    .await;
    assert_eq!(mixture.status, StatusCode::CREATED, "{}", mixture.text);
    let mixture = mixture.json()["mixture"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The viewer can read both …
    let r = app
        .get(&w.viewer, &format!("/api/v1/molecules/{glycerol}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // … but references neither.
    let v = &w.viewer.token;
    for (uri, body) in [
        (
            "/api/v1/mixtures",
            json!({"name": "mine", "components": [{"molecule_id": glycerol, "concentration": 1, "unit": "M"}]}),
        ),
        (
            "/api/v1/experiments",
            json!({"molecule_id": glycerol, "property": "Glass Transition Temperature", "value": -93.0}),
        ),
        (
            "/api/v1/experiments",
            json!({"mixture_id": mixture, "property": "Glass Transition Temperature", "value": -93.0}),
        ),
        (
            "/api/v1/predictions",
            json!({"molecule_id": glycerol, "property": "Glass Transition Temperature", "value": -90.0}),
        ),
    ] {
        let r = app.post(v, uri, body.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri} {body}: {}", r.text);
    }
    // Reference molecules are everyone's to use.
    let dmso = app
        .get(v, "/api/v1/molecules?q=Dimethyl%20sulfoxide")
        .await
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.post(v, "/api/v1/mixtures", json!({"name": "viewer's DMSO", "components": [{"molecule_id": dmso, "concentration": 10, "unit": "percent_v_v"}]}))
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The editor may build on the owner's rows (write access through the team project) …
    let r = app.post(&w.editor, "/api/v1/experiments", json!({"molecule_id": ethanediol, "property": "Glass Transition Temperature", "value": -128.0}))
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // … and then the owner's delete waits for the editor's row; nothing pins glycerol.
    let r = app
        .delete(&w.a, &format!("/api/v1/molecules/{ethanediol}"))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = app
        .delete(&w.a, &format!("/api/v1/mixtures/{mixture}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app
        .delete(&w.a, &format!("/api/v1/molecules/{glycerol}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn membership_is_an_invitation_the_invitee_accepts_and_reveals_no_accounts() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let (a, b, c) = (
        register(&app, "alice").await,
        register(&app, "bob").await,
        register(&app, "carol").await,
    );
    let team = id_of(
        &app.post(&a, "/api/v1/teams", json!({"name": "T"}))
            .await
            .json(),
    );
    let invite = async |user: &str, role: &str| {
        app.put(
            &a,
            &format!("/api/v1/teams/{team}/members/{user}"),
            json!({ "role": role }),
        )
        .await
    };
    // An unknown id and a real account are answered alike.
    let ghost = invite(&uuid::Uuid::new_v4().to_string(), "admin").await;
    let real = invite(&b.id, "admin").await;
    assert_eq!(
        (ghost.status, ghost.text.as_str()),
        (StatusCode::ACCEPTED, "")
    );
    assert_eq!(
        (real.status, real.text.as_str()),
        (StatusCode::ACCEPTED, "")
    );
    // Invited is not joined.
    let path = format!("/api/v1/teams/{team}");
    assert_eq!(app.get(&b, &path).await.status, StatusCode::NOT_FOUND);
    let mine = app.get(&b, "/api/v1/invitations").await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["role"], "admin");
    let notes = app.get(&b, "/api/v1/notifications").await.json();
    assert!(notes.to_string().contains("Team invitation"), "{notes}");
    // Nobody else sees or accepts it.
    let theirs = app.get(&c, "/api/v1/invitations").await.json();
    assert_eq!(theirs, json!([]));
    let accept = format!("/api/v1/invitations/{}/accept", id_of(&mine[0]));
    assert_eq!(
        call(&app, "POST", &accept, Some(&c.token), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The admin sees what the team has sent; the invitee accepts and is a member.
    let sent = app
        .get(&a, &format!("/api/v1/invitations?team_id={team}"))
        .await
        .json();
    assert_eq!(
        sent.as_array().unwrap().len(),
        1,
        "the ghost invitation was never stored: {sent}"
    );
    assert_eq!(
        call(&app, "POST", &accept, Some(&b.token), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&app, "POST", &accept, Some(&b.token), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&b, &path).await.status, StatusCode::OK);
    // A member's role changes at once.
    assert_eq!(invite(&b.id, "viewer").await.status, StatusCode::NO_CONTENT);
    let members = app.get(&a, &format!("{path}/members")).await.json();
    assert!(members.to_string().contains("\"viewer\""), "{members}");
    // A viewer cannot invite; an invitee can decline.
    let r = app
        .put(
            &b,
            &format!("/api/v1/teams/{team}/members/{}", c.id),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(invite(&c.id, "editor").await.status, StatusCode::ACCEPTED);
    let mine = app.get(&c, "/api/v1/invitations").await.json();
    let decline = format!("/api/v1/invitations/{}", id_of(&mine[0]));
    assert_eq!(
        app.delete(&c, &decline).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&c, &path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn scaffold_frequencies_count_only_what_the_caller_can_read() {
    let (_db, app) = crate::helpers::seeded().await;
    let alice = register(&app, "alice").await;
    let bob = register(&app, "bob").await;
    for smiles in ["c1ccccc1", "Cc1ccccc1", "Oc1ccccc1", "OC1CCCCC1", "CCO"] {
        let r = app
            .post(&alice, "/api/v1/molecules", json!({ "smiles": smiles }))
            .await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    let r = app
        .post(&bob, "/api/v1/molecules", json!({ "smiles": "c1ccncc1" }))
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    // Scaffold → molecules, as `who` (a token, or anonymous) sees them.
    let counts = |token: Option<String>| {
        let app = app.clone();
        async move {
            let uri = "/api/v1/molecules/scaffolds?limit=500";
            let r = match &token {
                Some(t) => app.get(t, uri).await,
                None => app.get(Anon, uri).await,
            };
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json()
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["scaffold"].as_str().unwrap().to_string(),
                        s["molecules"].as_i64().unwrap(),
                    )
                })
                .collect::<std::collections::BTreeMap<String, i64>>()
        }
    };
    let mine = counts(Some(alice.token.clone())).await;
    let theirs = counts(Some(bob.token.clone())).await;
    let nobody = counts(None).await;
    // Everyone sees the reference molecules; beyond them, each sees only their own.
    let beyond = |a: &std::collections::BTreeMap<String, i64>, s: &str| {
        a.get(s).copied().unwrap_or(0) - nobody.get(s).copied().unwrap_or(0)
    };
    assert_eq!(beyond(&mine, "c1ccccc1"), 3, "{mine:?}");
    assert_eq!(beyond(&mine, "C1CCCCC1"), 1, "{mine:?}");
    assert_eq!(beyond(&mine, ""), 1, "ethanol is acyclic: {mine:?}");
    assert_eq!(beyond(&mine, "c1ccncc1"), 0, "Bob's pyridine: {mine:?}");
    assert_eq!(beyond(&theirs, "c1ccncc1"), 1, "{theirs:?}");
    assert_eq!(beyond(&theirs, "c1ccccc1"), 0, "{theirs:?}");
    // Most frequent first.
    let r = app.get(&alice, "/api/v1/molecules/scaffolds").await.json();
    let sizes: Vec<i64> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["molecules"].as_i64().unwrap())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    assert!(r[0]["best_score"].is_number(), "{}", r[0]);
}
