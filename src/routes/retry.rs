//! One more try for a read whose database connection was found dead.
//!
//! Pooled connections are not tested before use (`db::Db::connect`), so after PostgreSQL
//! ended its backends (a restart, a fail-over, `pg_terminate_backend`) the first query on
//! each idle connection fails. A GET or HEAD that failed that way is run again, once,
//! after the pool dropped its dead connections: such a request has no body to replay and
//! changes nothing that a second run could do twice. Other methods are never run again.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ConnectionLost;
use crate::state::AppState;

pub async fn reads(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let again = Request::from_parts(parts.clone(), Body::empty());
    let response = next.clone().run(Request::from_parts(parts, body)).await;
    if response.extensions().get::<ConnectionLost>().is_none() {
        return response;
    }
    tracing::warn!("a database connection was lost; running the read once more");
    state.db.discard_broken_idle().await;
    next.run(again).await
}
