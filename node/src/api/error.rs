//! [`AppError`]: every failure of the API becomes a status code and a JSON body
//! `{"error": code, "message": text}`. Bad input is a 4xx, never a 500.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::engine::EngineError;
use crate::ingest::pipeline::IngestError;
use crate::store::StoreError;

/// An API failure.
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    code: String,
    message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl AppError {
    /// An error with a status, a stable code and a message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// 400 with this code.
    pub fn bad_request(code: &str, message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 with this code.
    pub fn not_found(code: &str, message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: &self.code,
            message: &self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        IngestError::Store(error).into()
    }
}

impl From<EngineError> for AppError {
    fn from(error: EngineError) -> AppError {
        match error {
            EngineError::Store(store) => store.into(),
            EngineError::Stopped => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the node is shutting down",
            ),
        }
    }
}

impl From<IngestError> for AppError {
    fn from(error: IngestError) -> AppError {
        let class = error.class();
        if error.is_internal() {
            tracing::error!(%error, "storage failed");
        }
        AppError::new(class.status, class.code, error.to_string())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> AppError {
        AppError::new(rejection.status(), "bad_path", rejection.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> AppError {
        AppError::new(rejection.status(), "bad_query", rejection.body_text())
    }
}

/// The answer to an unknown path.
pub async fn not_found() -> AppError {
    AppError::not_found("not_found", "no such endpoint")
}

/// The answer to a known path with a method it does not take (axum adds `Allow`).
pub async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take this method",
    )
}
