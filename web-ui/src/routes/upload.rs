//! Reading a listing form with photos without trusting it. The handler checks the session
//! before this runs; then the form's first part, which must be the CSRF token, is read on
//! its own (a few KiB at most) and checked before any other byte of the body is read. Only
//! then does multer read the rest, within the route's total limit, keeping each photo up
//! to its size limit and reading past the rest of an oversized one without keeping it.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::check_csrf;
use crate::error::AppError;
use crate::photos::PhotoError;
use crate::session::{Lang, Visitor};

/// The most read while looking for the end of the first part (the CSRF token).
pub const MAX_FIRST_PART_BYTES: usize = 4 * 1024;

/// The largest text field kept (a description is 4,000 characters at most).
pub const MAX_TEXT_FIELD_BYTES: usize = 32 * 1024;

/// What the reader allows.
#[derive(Clone, Copy, Debug)]
pub struct UploadLimits {
    /// The name of the file fields.
    pub photo_field: &'static str,
    /// Photos kept at most; more are read and counted.
    pub max_photos: usize,
    /// Bytes kept per photo.
    pub max_photo_bytes: usize,
    /// Bytes read in all.
    pub max_total_bytes: usize,
}

/// A multipart form as read.
#[derive(Debug, Default)]
pub struct UploadForm {
    /// Text fields in order, the CSRF token excluded.
    pub texts: Vec<(String, String)>,
    /// Each photo sent (empty file inputs left out): its bytes, or why it was not kept.
    pub photos: Vec<Result<Vec<u8>, PhotoError>>,
    /// Photos sent beyond the limit, read and dropped.
    pub extra_photos: usize,
}

fn unreadable(l: Lang) -> AppError {
    AppError::BadRequest(
        l,
        l.pick(
            "Le formulaire n'a pas pu être lu. Réessayez.",
            "The form could not be read. Try again.",
        ),
    )
}

fn multer_error(error: multer::Error, l: Lang) -> AppError {
    match error {
        multer::Error::StreamSizeExceeded { .. } => AppError::TooLarge(l),
        _ => unreadable(l),
    }
}

/// Reads a `multipart/form-data` body whose first part must be `csrf` with the visitor's
/// token.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    visitor: &Visitor,
    limits: UploadLimits,
) -> Result<UploadForm, AppError> {
    let l = visitor.lang;
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| unreadable(l))?;
    let mut stream = body.into_data_stream();
    let prefix = first_part(&mut stream, &boundary, l).await?;
    check_csrf(visitor, &csrf_token(prefix.clone(), &boundary).await)?;
    let whole =
        futures::stream::once(async move { Ok::<Bytes, axum::Error>(prefix) }).chain(stream);
    let size = multer::SizeLimit::new().whole_stream(limits.max_total_bytes as u64);
    let mut multipart = multer::Multipart::with_constraints(
        whole,
        boundary,
        multer::Constraints::new().size_limit(size),
    );
    // The first part, the token, is already checked.
    drop(
        multipart
            .next_field()
            .await
            .map_err(|e| multer_error(e, l))?,
    );
    let mut form = UploadForm::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multer_error(e, l))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == limits.photo_field {
            add_photo(&mut form, field, &limits, l).await?;
        } else {
            let value = text(field, l).await?;
            form.texts.push((name, value));
        }
    }
    Ok(form)
}

/// The body up to the end of its first part (and what came with the last piece read).
async fn first_part(
    stream: &mut axum::body::BodyDataStream,
    boundary: &str,
    l: Lang,
) -> Result<Bytes, AppError> {
    let second_boundary = format!("\r\n--{boundary}");
    let mut prefix = BytesMut::new();
    while !contains(&prefix, second_boundary.as_bytes()) {
        if prefix.len() > MAX_FIRST_PART_BYTES {
            // No short first part: not a form of this site, whose token comes first.
            return Err(AppError::Csrf(l));
        }
        match stream.next().await {
            Some(Ok(piece)) => prefix.extend_from_slice(&piece),
            Some(Err(_)) => return Err(unreadable(l)),
            None => break,
        }
    }
    Ok(prefix.freeze())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The value of the first part if it is named `csrf`, else an empty token.
async fn csrf_token(prefix: Bytes, boundary: &str) -> String {
    let alone = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(prefix) });
    let mut first = multer::Multipart::new(alone, boundary);
    match first.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => field.text().await.unwrap_or_default(),
        _ => String::new(),
    }
}

/// A text field, refused past [`MAX_TEXT_FIELD_BYTES`].
async fn text(mut field: multer::Field<'_>, l: Lang) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multer_error(e, l))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_TEXT_FIELD_BYTES {
            return Err(AppError::TooLarge(l));
        }
    }
    String::from_utf8(bytes).map_err(|_| unreadable(l))
}

/// A file field: kept up to the photo limit (none past the photo count), else read to its
/// end and dropped.
async fn add_photo(
    form: &mut UploadForm,
    mut field: multer::Field<'_>,
    limits: &UploadLimits,
    l: Lang,
) -> Result<(), AppError> {
    let keep = form.photos.len() < limits.max_photos;
    let limit = if keep { limits.max_photo_bytes } else { 0 };
    let mut bytes = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = field.chunk().await.map_err(|e| multer_error(e, l))? {
        total += chunk.len();
        if total <= limit {
            bytes.extend_from_slice(&chunk);
        } else if !bytes.is_empty() {
            bytes = Vec::new();
        }
    }
    match (total, keep) {
        (0, _) => {}
        (_, false) => form.extra_photos += 1,
        (total, true) if total <= limit => form.photos.push(Ok(bytes)),
        (total, true) => form.photos.push(Err(PhotoError::TooLarge {
            bytes: total,
            max: limits.max_photo_bytes,
        })),
    }
    Ok(())
}
