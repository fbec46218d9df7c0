//! Local accounts: register, login, refresh (rotating), logout, me.

use crate::client::ClientAddr;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use crate::tokens::{self, access_claims, new_refresh_token, refresh_hash};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cryo_app::AppError;
use cryo_core::ident::{Email, Password, parse_name};
use cryo_db::Identity;
use cryo_db::repo::auth as repo;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub global_role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: UserInfo,
}

impl From<repo::UserRow> for UserInfo {
    fn from(u: repo::UserRow) -> Self {
        UserInfo {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            global_role: u.global_role,
        }
    }
}

async fn tokens_for(
    state: &AppState,
    tx: &mut cryo_db::repo::Conn,
    user: repo::UserRow,
) -> ApiResult<TokenResponse> {
    let ttl = state.settings.auth.access_ttl;
    let access = state
        .jwt
        .issue(&access_claims(user.id, &user.email, &user.global_role, ttl))?;
    let (refresh, hash) = new_refresh_token();
    let expires = OffsetDateTime::now_utc() + state.settings.auth.refresh_ttl;
    repo::store_refresh_token(tx, user.id, &hash, expires).await?;
    Ok(TokenResponse {
        access_token: access,
        refresh_token: refresh,
        token_type: "bearer",
        expires_in: ttl.as_secs(),
        user: user.into(),
    })
}

/// Create a local account and sign in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = TokenResponse), (status = 409, description = "E-mail already registered"),
              (status = 422, description = "Invalid field", body = crate::error::ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let email = Email::parse(&req.email)?;
    let password = Password::parse(&req.password)?;
    let name = parse_name("display_name", &req.display_name, 200)?;
    let hash = tokens::hash_password(password.expose().to_string()).await?;
    let tokens = as_service(&state, async |tx| {
        let user = repo::create_user(tx, email.as_str(), &name, &hash)
            .await?
            .ok_or_else(|| AppError::Conflict("an account with this e-mail exists".into()))?;
        repo::audit(
            tx,
            Some(user.id),
            "authenticated",
            "register",
            Some("users"),
            Some(user.id),
            serde_json::json!({}),
        )
        .await?;
        tokens_for(&state, tx, user).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(tokens)))
}

/// Runs `f` as service_role (accounts are the service's to keep) and commits on `Ok`.
async fn as_service<T>(
    state: &AppState,
    f: impl AsyncFnOnce(&mut cryo_db::repo::Conn) -> ApiResult<T>,
) -> ApiResult<T> {
    state.app.run(&Identity::service(), f).await
}

/// The key sign-in attempts for this e-mail are counted under, whether or not it has an account
/// (so throttling answers alike for both).
fn account_key(email: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(email.trim().to_lowercase().as_bytes()))
}

/// Sign in with e-mail and password. Attempts are counted per (account, client address) and per
/// address: past `auth.lockout_after` (or `auth.address_lockout_after`) each further attempt from
/// that address waits, doubling from a minute; the right password from another address is
/// never held up. Known and unknown e-mails are answered alike.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::ErrorBody),
              (status = 429, description = "Too many attempts from this address", body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let key = account_key(&req.email);
    let client = client.to_string();
    let auth = &state.settings.auth;
    let (free_pair, free_client) = (
        i64::from(auth.lockout_after),
        i64::from(auth.address_lockout_after),
    );
    // Committed before the password is checked, so concurrent guesses are counted one by one.
    let admitted = state
        .as_service(async |tx| repo::admit_login(tx, &key, &client, free_pair, free_client).await)
        .await?;
    if let Err(wait) = admitted {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait.whole_seconds().max(1) as u64,
        });
    }
    // A failed attempt is recorded (committed) and then answered 401: the inner result.
    let outcome = as_service(&state, async |tx| {
        // Counters idle for a day are worth nothing; forget them now and then.
        if rand::random::<u8>() == 0 {
            repo::prune_login_throttle(tx).await?;
        }
        let record = repo::find_for_login(tx, req.email.trim()).await?;
        let ok = tokens::verify_password(
            req.password,
            record.as_ref().and_then(|r| r.password_hash.clone()),
        )
        .await;
        let Some(record) = record.clone().filter(|r| r.is_active && ok) else {
            if let Some(r) = &record {
                repo::audit(
                    tx,
                    Some(r.id),
                    "anon",
                    "login_failed",
                    Some("users"),
                    Some(r.id),
                    serde_json::json!({ "client": client }),
                )
                .await?;
            }
            return Ok(Err(ApiError::InvalidCredentials));
        };
        repo::login_succeeded(tx, &key, &client).await?;
        let user = repo::find_user(tx, record.id)
            .await?
            .ok_or(ApiError::InvalidCredentials)?;
        Ok(Ok(tokens_for(&state, tx, user).await?))
    })
    .await?;
    Ok(Json(outcome?))
}

/// Exchange a refresh token for new tokens. Each refresh token works once; reusing one revokes
/// every session of that account (it was stolen, or the client is broken).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    // A reused token revokes every session (committed) and is then answered 401.
    let outcome = as_service(&state, async |tx| {
        let token = repo::take_refresh_token(tx, &refresh_hash(&req.refresh_token))
            .await?
            .ok_or(ApiError::InvalidToken("unknown refresh token"))?;
        if token.revoked_at.is_some() {
            repo::revoke_all_refresh_tokens(tx, token.user_id).await?;
            repo::end_sessions(tx, token.user_id).await?;
            repo::audit(
                tx,
                Some(token.user_id),
                "anon",
                "refresh_token_reused",
                Some("refresh_tokens"),
                Some(token.id),
                serde_json::json!({}),
            )
            .await?;
            return Ok(Err(ApiError::InvalidToken("refresh token already used")));
        }
        if token.expires_at < OffsetDateTime::now_utc() {
            return Err(ApiError::InvalidToken("refresh token expired"));
        }
        let user = repo::find_user(tx, token.user_id)
            .await?
            .ok_or(ApiError::InvalidToken("account inactive"))?;
        let tokens = tokens_for(&state, tx, user).await?;
        let new_id = repo::take_refresh_token(tx, &refresh_hash(&tokens.refresh_token))
            .await?
            .map(|t| t.id);
        repo::revoke_refresh_token(tx, token.id, new_id).await?;
        Ok(Ok(tokens))
    })
    .await?;
    Ok(Json(outcome?))
}

/// Sign out: revokes the refresh token and ends the account's sessions (access tokens issued
/// until now stop working at once, on every device).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Signed out")))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<StatusCode> {
    as_service(&state, async |tx| {
        if let Some(token) = repo::take_refresh_token(tx, &refresh_hash(&req.refresh_token)).await?
        {
            repo::revoke_refresh_token(tx, token.id, None).await?;
            // Access tokens carry no session id: signing out ends every session of the account.
            repo::end_sessions(tx, token.user_id).await?;
        }
        ApiResult::Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserInfo), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(db: UserDb) -> ApiResult<Json<UserInfo>> {
    let id = db.user;
    let user = db
        .actor()
        .read(async |tx| repo::find_user(tx, id).await)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(user.into()))
}
