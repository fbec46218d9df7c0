#[derive(Debug, thiserror::Error)]
pub enum MlError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("invalid hyperparameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    #[error("not enough data: {0}")]
    NotEnoughData(String),
    #[error("the model has not been fitted")]
    NotFitted,
    #[error("numerical failure: {0}")]
    Numerical(String),
    #[error("training was cancelled")]
    Cancelled,
    /// The training ran past `models.max_train_secs` and was stopped.
    #[error("training {0}")]
    DeadlineExceeded(cryo_core::deadline::Expired),
    /// The model asked for would not fit in the memory allowed.
    #[error(
        "the model would need about {estimated_mb} MB, more than the {limit_mb} MB allowed (models.max_model_mb); use fewer or shallower trees, smaller layers or fewer folds"
    )]
    TooLarge { estimated_mb: u64, limit_mb: u64 },
    /// A stored model whose bytes do not match its recorded checksum.
    #[error("model artefact checksum mismatch: recorded {expected}, computed {actual}")]
    Checksum { expected: String, actual: String },
    /// A stored model that cannot be read (truncated, foreign, or a newer format).
    #[error("unreadable model artefact: {0}")]
    Corrupt(String),
}
