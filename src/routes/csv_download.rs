//! CSV downloads streamed as the database yields their rows (the audit log, the member
//! list): the server holds a few rows at a time, whatever the size of the export, and a
//! read that stops midway cuts the download rather than ending it like a whole file.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;

/// A cell as spreadsheets will not run it: text that starts like a formula gets a
/// leading apostrophe.
pub fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// One CSV line.
fn line(fields: &[String]) -> Bytes {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail, and an unwritable row is better left out than
    // ending the download.
    let _ = writer.write_record(fields);
    Bytes::from(writer.into_inner().unwrap_or_default())
}

/// Nothing when the export's query ended well; otherwise an error, which makes the
/// server cut the response (no last chunk), so the client sees a failed download rather
/// than a file that looks complete.
fn end_of_export(
    outcome: tokio::sync::oneshot::Receiver<bool>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::once(async move {
        // A task that ended without saying (it panicked) failed as surely.
        if outcome.await.unwrap_or(false) {
            None
        } else {
            tracing::error!("export cut short; the download ends with an error");
            Some(Err(std::io::Error::other("the export stopped midway")))
        }
    })
    .filter_map(std::future::ready)
}

/// The download `name`: the `header` line, then a line per row as `rows` yields them
/// (`fields` writes one), then the end `finished` says.
pub fn download<T: Send + 'static>(
    name: &str,
    header: &[&str],
    rows: tokio::sync::mpsc::Receiver<T>,
    finished: tokio::sync::oneshot::Receiver<bool>,
    fields: impl Fn(T) -> Vec<String> + Send + 'static,
) -> Response {
    let header = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    let lines = futures_util::stream::unfold((rows, fields), |(mut rows, fields)| async move {
        let row = rows.recv().await?;
        let line = line(&fields(row));
        Some((Ok::<_, std::io::Error>(line), (rows, fields)))
    });
    let body = futures_util::stream::once(async move { Ok(header) })
        .chain(lines)
        .chain(end_of_export(finished));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn end_after(outcome: Option<bool>) -> Vec<std::io::Result<Bytes>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        match outcome {
            Some(ok) => tx.send(ok).unwrap(),
            None => drop(tx),
        }
        end_of_export(rx).collect().await
    }

    #[tokio::test]
    async fn an_export_whose_query_failed_or_vanished_ends_with_an_error() {
        let failed = end_after(Some(false)).await;
        assert_eq!(failed.len(), 1);
        assert!(failed[0].is_err());

        let vanished = end_after(None).await;
        assert_eq!(vanished.len(), 1);
        assert!(vanished[0].is_err());
    }

    #[tokio::test]
    async fn an_export_whose_query_ended_well_ends_cleanly() {
        assert!(end_after(Some(true)).await.is_empty());
    }

    #[test]
    fn formula_looking_cells_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("ada@example.com"), "ada@example.com");
    }
}
