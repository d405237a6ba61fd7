/// What a store operation can fail with. The HTTP layer maps each variant to one status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Absent, or outside the caller's scope: the two are not told apart.
    #[error("{what} {id} was not found")]
    NotFound { what: &'static str, id: String },
    /// A reference to a record that is absent or outside the caller's scope; `field` names it.
    #[error("{message}")]
    MissingRef { field: &'static str, code: &'static str, message: String },
    /// Input that breaks a rule; `field` names the input at fault.
    #[error("{message}")]
    Invalid { field: &'static str, code: &'static str, message: String },
    /// Input that is well formed but clashes with what is stored.
    #[error("{message}")]
    Conflict { field: Option<&'static str>, code: &'static str, message: String },
    /// The caller's post does not allow the action.
    #[error("{message}")]
    Forbidden { message: String },
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Invalid { field, code, message: message.into() }
    }

    pub fn missing_ref(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        StoreError::MissingRef { field, code, message: message.into() }
    }

    pub fn conflict(field: Option<&'static str>, code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Conflict { field, code, message: message.into() }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound { what, id: id.to_string() }
    }
}
