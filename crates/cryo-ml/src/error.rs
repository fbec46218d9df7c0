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
}
