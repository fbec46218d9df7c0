//! What a use case can fail with. The HTTP layer maps each variant to a status and an error
//! code (`cryo-server`'s `From<AppError> for ApiError`); nothing here names one.

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A value the caller sent is not acceptable; `field` names it as the caller spelt it.
    #[error("invalid value for `{field}`: {message}")]
    Validation { field: String, message: String },
    /// The input could not be read at all (a file, an envelope).
    #[error("malformed input: {0}")]
    Malformed(String),
    #[error("not permitted")]
    Forbidden,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Every compute slot is taken: try again shortly.
    #[error("the server is busy computing; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// A bug: logged with its message by whoever reports it.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("{0}")]
    Chem(#[from] cryo_chem::ChemError),
    #[error("{0}")]
    Model(#[from] cryo_ml::MlError),
    /// A computation ran past the deadline its request had.
    #[error(transparent)]
    Deadline(#[from] cryo_core::deadline::Expired),
    #[error(transparent)]
    Db(#[from] cryo_db::DbError),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a write by id changed nothing: the row is there but not the caller's to change (it is
/// visible), or it is not there for them at all.
pub fn refused(visible: bool, what: &'static str) -> AppError {
    if visible {
        AppError::Forbidden
    } else {
        AppError::NotFound { what }
    }
}

impl From<cryo_core::ident::InvalidValue> for AppError {
    fn from(e: cryo_core::ident::InvalidValue) -> Self {
        AppError::Validation {
            field: e.field.to_string(),
            message: e.reason,
        }
    }
}

impl From<cryo_physics::PhysicsError> for AppError {
    fn from(e: cryo_physics::PhysicsError) -> Self {
        use cryo_physics::PhysicsError as P;
        match e {
            P::Invalid { field, reason } => AppError::Validation {
                field,
                message: reason,
            },
            P::Expired(e) => AppError::Deadline(e),
            // The protocol cannot be integrated as given (a cell that loses all its water, a
            // tolerance the integrator cannot meet): the steps are what to change.
            e @ (P::StepTooSmall { .. } | P::TooManySteps(_) | P::Unphysical { .. }) => {
                AppError::validation("steps", e.to_string())
            }
        }
    }
}
