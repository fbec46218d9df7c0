use crate::helpers::{Anon, Client};
use crate::helpers::{
    Reply, app, assert_error_shape, call_from, register, settings, settings_with,
};
use axum::http::StatusCode;
use cryo_testkit::TestDb;
use serde_json::json;

fn sign(claims: serde_json::Value, secret: &[u8]) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    // Unpadded base64url, enough for hand-made tokens.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn register_login_me_refresh_and_logout() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let alice = register(&app, "alice").await;

    let me = app.get(&alice, "/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["id"], alice.id.as_str());
    assert!(!me.text.contains("password"), "no hash leaks: {}", me.text);

    let email = me.json()["email"].as_str().unwrap().to_string();
    let login = app
        .post(
            Anon,
            "/api/v1/auth/login",
            json!({"email": email.to_uppercase(), "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);

    // Refresh rotates: the old token works once.
    let r1 = app
        .post(
            Anon,
            "/api/v1/auth/refresh",
            json!({"refresh_token": alice.refresh}),
        )
        .await;
    assert_eq!(r1.status, StatusCode::OK, "{}", r1.text);
    let new_refresh = r1.json()["refresh_token"].as_str().unwrap().to_string();
    // Reusing the old one is treated as theft: it fails and revokes the new one too.
    let reuse = app
        .post(
            Anon,
            "/api/v1/auth/refresh",
            json!({"refresh_token": alice.refresh}),
        )
        .await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    let after_theft = app
        .post(
            Anon,
            "/api/v1/auth/refresh",
            json!({"refresh_token": new_refresh}),
        )
        .await;
    assert_eq!(after_theft.status, StatusCode::UNAUTHORIZED);

    let fresh = app
        .post(
            Anon,
            "/api/v1/auth/login",
            json!({"email": email, "password": "correct horse battery"}),
        )
        .await
        .json();
    let refresh = fresh["refresh_token"].as_str().unwrap();
    let out = app
        .post(
            Anon,
            "/api/v1/auth/logout",
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after_logout = app
        .post(
            Anon,
            "/api/v1/auth/refresh",
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(after_logout.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registration_validates_fields_and_refuses_duplicates() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let cases = [
        (
            json!({"email": "not-an-email", "password": "correct horse battery", "display_name": "X"}),
            "email",
        ),
        (
            json!({"email": "x@lab.example", "password": "short", "display_name": "X"}),
            "password",
        ),
        (
            json!({"email": "x@lab.example", "password": "correct horse battery", "display_name": "  "}),
            "display_name",
        ),
        (
            json!({"password": "correct horse battery", "display_name": "X"}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(Anon, "/api/v1/auth/register", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.json()["error"]["details"]["field"], field, "{}", r.text);
    }
    let body = json!({"email": "dup@lab.example", "password": "correct horse battery", "display_name": "D"});
    assert_eq!(
        app.post(Anon, "/api/v1/auth/register", body.clone())
            .await
            .status,
        StatusCode::CREATED
    );
    let again = app.post(Anon, "/api/v1/auth/register", json!({"email": "DUP@lab.example", "password": "correct horse battery", "display_name": "D"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

async fn login_from(app: &axum::Router, client: &str, email: &str, password: &str) -> Reply {
    call_from(
        app,
        Some(client),
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

const RIGHT: &str = "correct horse battery";

#[tokio::test]
async fn guessing_slows_the_guesser_not_the_owner_and_unknown_emails_look_the_same() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let body = json!({"email": "lock@lab.example", "password": RIGHT, "display_name": "L"});
    app.post(Anon, "/api/v1/auth/register", body).await;
    let attacker = "203.0.113.9";
    for email in ["lock@lab.example", "nobody@lab.example"] {
        for _ in 0..5 {
            let r = login_from(&app, attacker, email, "wrong password!!").await;
            assert_error_shape(&r, StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        // The sixth waits, right password or not, account or not: the answers are the same.
        let r = login_from(&app, attacker, email, RIGHT).await;
        let e = assert_error_shape(&r, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("this address"),
            "{e}"
        );
    }
    // The owner, from an address that has not failed, is not held up.
    let r = login_from(&app, "198.51.100.7", "lock@lab.example", RIGHT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A success from a clean address does not reset the attacker's count.
    let r = login_from(&app, attacker, "lock@lab.example", RIGHT).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // A header from a client that is not the trusted proxy changes nothing: the same app
    // driven without a socket is the loopback, which is trusted; the forged hop before the
    // real one is never reached.
    let r = login_from(
        &app,
        &format!("198.51.100.7, {attacker}"),
        "lock@lab.example",
        RIGHT,
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn concurrent_guesses_are_counted_one_by_one() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let body = json!({"email": "race@lab.example", "password": RIGHT, "display_name": "R"});
    app.post(Anon, "/api/v1/auth/register", body).await;
    let guesses: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                login_from(&app, "192.0.2.50", "race@lab.example", "wrong password!!")
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let heard = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let held = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((heard, held), (5, 15), "{statuses:?}");
}

#[tokio::test]
async fn an_address_spraying_many_accounts_is_slowed_across_all_of_them() {
    let db = TestDb::new().await;
    let app = cryo_server::router(
        cryo_server::AppState::new(
            db.api_pool().await,
            settings_with(&[("CRYOPROTECT_ADDRESS_LOCKOUT_AFTER", "8")]),
        )
        .unwrap(),
    );
    let sprayer = "203.0.113.77";
    for n in 0..8 {
        let r = login_from(
            &app,
            sprayer,
            &format!("user{n}@lab.example"),
            "Winter2026!!",
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "attempt {n}: {}",
            r.text
        );
    }
    let r = login_from(&app, sprayer, "user99@lab.example", "Winter2026!!").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // Another address is unaffected.
    let r = login_from(&app, "203.0.113.78", "user99@lab.example", "Winter2026!!").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_tokens_are_rejected_with_401() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let alice = register(&app, "alice").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let wrong_key = sign(
        json!({"sub": alice.id, "role": "authenticated", "exp": now + 600}),
        b"some-other-secret-some-other-secret!",
    );
    let none_alg = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(
            json!({"sub": alice.id, "role": "authenticated", "exp": now + 600})
                .to_string()
                .as_bytes()
        )
    );
    for (token, why) in [
        (wrong_key.as_str(), "wrong signature"),
        (none_alg.as_str(), "alg none"),
        ("not.a.jwt", "garbage"),
    ] {
        let r = app.get(token, "/api/v1/auth/me").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{why}: {}", r.text);
        assert_eq!(r.json()["error"]["code"], "invalid_token", "{why}");
    }
    let no_auth = app.get(Anon, "/api/v1/auth/me").await;
    assert_eq!(no_auth.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_and_incomplete_tokens_signed_with_the_right_key_are_rejected() {
    let db = TestDb::new().await;
    let mut s = settings();
    s.auth.jwt_secret = cryo_config::Secret::new("a-known-test-secret-a-known-test-secret");
    let app = cryo_server::router(cryo_server::AppState::new(db.api_pool().await, s).unwrap());
    let alice = register(&app, "alice").await;
    let key = b"a-known-test-secret-a-known-test-secret";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let good = sign(
        json!({"sub": alice.id, "role": "authenticated", "exp": now + 600, "iss": "cryoprotect"}),
        key,
    );
    assert_eq!(
        app.get(&good, "/api/v1/auth/me").await.status,
        StatusCode::OK
    );

    let cases = [
        (
            json!({"sub": alice.id, "role": "authenticated", "exp": now - 3600}),
            "expired",
        ),
        (json!({"sub": alice.id, "role": "authenticated"}), "no exp"),
        (json!({"role": "authenticated", "exp": now + 600}), "no sub"),
        (json!({"sub": alice.id, "exp": now + 600}), "no role"),
        (
            json!({"sub": alice.id, "role": "superuser", "exp": now + 600}),
            "unknown role",
        ),
        (
            json!({"sub": "not-a-uuid", "role": "authenticated", "exp": now + 600}),
            "sub not a uuid",
        ),
    ];
    for (claims, why) in cases {
        let r = app.get(&sign(claims, key), "/api/v1/auth/me").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{why}: {}", r.text);
    }
}

#[tokio::test]
async fn supabase_style_tokens_are_accepted_and_get_an_account() {
    let db = TestDb::new().await;
    let mut s = settings();
    s.auth.jwt_secret = cryo_config::Secret::new("supabase-jwt-secret-supabase-jwt-secret");
    let app = cryo_server::router(cryo_server::AppState::new(db.api_pool().await, s).unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let id = uuid::Uuid::new_v4();
    let token = sign(
        json!({"sub": id, "role": "authenticated", "exp": now + 600, "aud": "authenticated", "email": "sb@lab.example"}),
        b"supabase-jwt-secret-supabase-jwt-secret",
    );
    let me = app.get(&token, "/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json()["email"], "sb@lab.example");
    let team = app
        .post(&token, "/api/v1/teams", json!({"name": "Supabase lab"}))
        .await;
    assert_eq!(team.status, StatusCode::CREATED, "{}", team.text);
}

/// An access token no longer outlives what ended it: a demotion, a deactivation, a sign-out or a
/// reused refresh token applies to the next request, not when the token expires.
#[tokio::test]
async fn demotion_deactivation_logout_and_refresh_reuse_apply_at_once() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let set = |sql: &'static str, id: String| {
        let pool = db.pool.clone();
        async move {
            let mut tx = cryo_testkit::service_tx(&pool).await;
            sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let alice = register(&app, "alice").await;
    let alerts = "/api/v1/system/alerts";
    assert_eq!(app.get(&alice, alerts).await.status, StatusCode::FORBIDDEN);
    // Promoted: the same token is an administrator's at once; demoted: no longer.
    set(
        "UPDATE users SET global_role = 'admin' WHERE id = $1::uuid",
        alice.id.clone(),
    )
    .await;
    assert_eq!(app.get(&alice, alerts).await.status, StatusCode::OK);
    set(
        "UPDATE users SET global_role = 'user' WHERE id = $1::uuid",
        alice.id.clone(),
    )
    .await;
    assert_eq!(app.get(&alice, alerts).await.status, StatusCode::FORBIDDEN);
    // Deactivated: refused.
    set(
        "UPDATE users SET is_active = false WHERE id = $1::uuid",
        alice.id.clone(),
    )
    .await;
    let r = app.get(&alice, "/api/v1/auth/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    set(
        "UPDATE users SET is_active = true WHERE id = $1::uuid",
        alice.id.clone(),
    )
    .await;

    // Signing out ends the access token too (tokens carry whole seconds: wait past this one).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        app.get(&alice, "/api/v1/auth/me").await.status,
        StatusCode::OK
    );
    let out = app
        .post(
            Anon,
            "/api/v1/auth/logout",
            json!({"refresh_token": alice.refresh}),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    let r = app.get(&alice, "/api/v1/auth/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.text.contains("session ended"), "{}", r.text);

    // A reused refresh token ends the sessions its rotation produced.
    let bob = register(&app, "bob").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fresh = app
        .post(
            Anon,
            "/api/v1/auth/refresh",
            json!({"refresh_token": bob.refresh}),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text);
    let access = fresh.json()["access_token"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let reused = app
        .post(
            Anon,
            "/api/v1/auth/refresh",
            json!({"refresh_token": bob.refresh}),
        )
        .await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED, "{}", reused.text);
    let r = app.get(&access, "/api/v1/auth/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}
