//! Publishing: creating, editing and withdrawing a listing, with up to eight photos that are
//! checked, re-encoded without their metadata, and stored by hash.

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{Category, Intent, Listing, ListingTombstone, MAX_PHOTOS};
use maillon_protocol::{BlobHash, PublicKey, RecordId, Timestamp};

use super::extract::{CheckedForm, Member};
use super::thumbnails::PhotoSize;
use super::view::{category_choices, Choice};
use super::CsrfOnly;
use super::{blocking, render, require_user, sign_and_submit, upload, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::form_text;
use crate::page::{self, Page};
use crate::photos::{self, PhotoError, PhotoLimits};
use crate::session::{Lang, Visitor};
use crate::Shared;

/// A listing stays up for 60 days unless edited.
pub const LISTING_VALID_MS: u64 = 60 * Timestamp::DAY_MS;

/// The listing form as typed.
#[derive(Clone, Debug, Default)]
pub struct ListingFields {
    title: String,
    description: String,
    category: String,
    sens: String,
    price: String,
    place: String,
    keep: Vec<String>,
    uploads: Vec<Result<Vec<u8>, PhotoError>>,
}

/// Errors next to the listing form's fields.
#[derive(Clone, Debug, Default)]
pub struct ListingErrors {
    title: Option<String>,
    description: Option<String>,
    category: Option<String>,
    price: Option<String>,
    place: Option<String>,
    photos: Option<String>,
    general: Option<String>,
}

impl ListingErrors {
    fn any(&self) -> bool {
        self.title.is_some()
            || self.description.is_some()
            || self.category.is_some()
            || self.price.is_some()
            || self.place.is_some()
            || self.photos.is_some()
            || self.general.is_some()
    }
}

#[derive(Template)]
#[template(path = "publish.html")]
struct PublishPage {
    p: Page,
    action: String,
    editing: bool,
    f: ListingFields,
    e: ListingErrors,
    categories: Vec<Choice>,
    kept: Vec<(String, bool)>,
    max_photos: usize,
}

fn publish_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    action: String,
    existing: &[BlobHash],
    f: ListingFields,
    e: ListingErrors,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let status = if e.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let kept = existing
        .iter()
        .map(|h| {
            (
                h.to_hex(),
                f.keep.is_empty() || f.keep.contains(&h.to_hex()),
            )
        })
        .collect();
    let html = render(PublishPage {
        p: state.page(visitor),
        editing: !existing.is_empty() || action.ends_with("/modifier"),
        action,
        categories: category_choices(&f.category, l),
        f: ListingFields {
            uploads: Vec::new(),
            ..f
        },
        e,
        kept,
        max_photos: MAX_PHOTOS,
    })?;
    Ok((status, html).into_response())
}

fn require_member<B: Backend>(state: &Shared<B>, visitor: &Visitor) -> Result<PublicKey, AppError> {
    let user = require_user(visitor)?;
    if !state.backend.member(&user.key).status.is_in_good_standing() {
        let l = visitor.lang;
        return Err(AppError::Forbidden(l, l.pick("Seuls les membres peuvent publier. Votre candidature doit d'abord recevoir ses parrainages.", "Only members can publish. Your application needs its sponsorships first.")));
    }
    Ok(user.key)
}

/// `GET /publier`.
pub async fn new_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    let key = require_member(&state, &visitor)?;
    let place = state
        .backend
        .member(&key)
        .profile
        .map(|p| format!("{} {}", p.postcode, p.town))
        .unwrap_or_default();
    let fields = ListingFields {
        place,
        sens: "offre".into(),
        ..ListingFields::default()
    };
    publish_page(
        &state,
        &visitor,
        "/publier".into(),
        &[],
        fields,
        ListingErrors::default(),
    )
}

async fn read_form<B: Backend>(
    state: &Shared<B>,
    request: Request,
    visitor: &Visitor,
) -> Result<(ListingFields, Option<String>), AppError> {
    let l = visitor.lang;
    let limits = upload::UploadLimits {
        photo_field: "photos",
        max_photos: MAX_PHOTOS,
        max_photo_bytes: PhotoLimits::default().max_upload_bytes,
        max_total_bytes: state.config.max_upload_bytes,
    };
    let (parts, body) = request.into_parts();
    let form = upload::read(&parts.headers, body, visitor, limits).await?;
    let mut f = ListingFields {
        uploads: form.photos,
        ..ListingFields::default()
    };
    for (name, text) in form.texts {
        match name.as_str() {
            "title" => f.title = text,
            "description" => f.description = text,
            "category" => f.category = text,
            "sens" => f.sens = text,
            "price" => f.price = text,
            "place" => f.place = text,
            "keep" => f.keep.push(text),
            _ => {}
        }
    }
    let too_many = (form.extra_photos > 0).then(|| {
        l.pick_string(
            format!("{MAX_PHOTOS} photos au plus."),
            format!("{MAX_PHOTOS} photos at most."),
        )
    });
    Ok((f, too_many))
}

fn photo_error_text(error: &PhotoError, index: usize, l: Lang) -> String {
    let why = match error {
        PhotoError::Empty => l.pick("le fichier est vide", "the file is empty"),
        PhotoError::TooLarge { .. } => l.pick(
            "le fichier est trop lourd (12 Mo au plus)",
            "the file is too large (12 MB at most)",
        ),
        PhotoError::UnsupportedType { .. } => l.pick(
            "ce n'est pas une photo JPEG, PNG ou WebP",
            "it is not a JPEG, PNG or WebP photo",
        ),
        PhotoError::TooManyPixels { .. } => l.pick(
            "l'image est trop grande (40 millions de pixels au plus)",
            "the image is too big (40 megapixels at most)",
        ),
        _ => l.pick(
            "l'image est abîmée ou illisible",
            "the image is damaged or unreadable",
        ),
    };
    l.pick_string(
        format!("Photo {index} : {why}."),
        format!("Photo {index}: {why}."),
    )
}

struct Checked {
    listing: Listing,
}

fn check_fields(
    f: &ListingFields,
    series: Option<RecordId>,
    kept: Vec<BlobHash>,
    l: Lang,
    e: &mut ListingErrors,
) -> Option<Checked> {
    let title = form_text::title(&f.title, l)
        .map_err(|m| e.title = Some(m))
        .ok();
    let description = f.description.trim().to_string();
    if description.len() > 4000 {
        e.description = Some(
            l.pick(
                "La description est trop longue (4 000 caractères au plus).",
                "The description is too long (4,000 characters at most).",
            )
            .into(),
        );
    }
    let category = f.category.parse::<u64>().ok().and_then(Category::from_code);
    if category.is_none() {
        e.category = Some(
            l.pick("Choisissez une catégorie.", "Choose a category.")
                .into(),
        );
    }
    let price = form_text::price(&f.price, l)
        .map_err(|m| e.price = Some(m))
        .ok();
    let place = form_text::place(&f.place, l)
        .map_err(|m| e.place = Some(m))
        .ok();
    let (Some(title), Some(category), Some(price), Some(place)) = (title, category, price, place)
    else {
        return None;
    };
    if e.any() {
        return None;
    }
    Some(Checked {
        listing: Listing {
            series,
            intent: if f.sens == "demande" {
                Intent::Request
            } else {
                Intent::Offer
            },
            category,
            title,
            description,
            price_cents: (price > 0).then_some(price),
            town: place.name.to_string(),
            postcode: place.postcode.to_string(),
            position: place.position,
            photos: kept,
        },
    })
}

async fn store_photos<B: Backend>(
    state: &Shared<B>,
    uploads: Vec<Result<Vec<u8>, PhotoError>>,
    offset: usize,
    l: Lang,
    e: &mut ListingErrors,
) -> Result<Vec<BlobHash>, AppError> {
    // Check every photo first: nothing is stored if one is refused.
    let limits = PhotoLimits::default();
    let processed = blocking(move || {
        uploads
            .into_iter()
            .map(|upload| upload.and_then(|bytes| photos::process(&bytes, &limits)))
            .collect::<Vec<_>>()
    })
    .await?;
    let mut good = Vec::new();
    for (index, result) in processed.into_iter().enumerate() {
        match result {
            Ok(photo) => good.push(photo),
            Err(error) => {
                e.photos = Some(photo_error_text(&error, offset + index + 1, l));
                return Ok(Vec::new());
            }
        }
    }
    let mut hashes = Vec::new();
    for photo in good {
        let hash = state.backend.put_blob(photo.full).await?;
        state
            .thumbnails
            .insert((hash, PhotoSize::Thumbnail), photo.thumbnail);
        hashes.push(hash);
    }
    Ok(hashes)
}

async fn save<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    request: Request,
    existing: Option<(RecordId, Listing)>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let user = require_user(visitor)?.clone();
    let (f, too_many) = read_form(state, request, visitor).await?;
    let action = match &existing {
        Some((series, _)) => format!("/annonce/{}/modifier", series.to_hex()),
        None => "/publier".into(),
    };
    let old_photos = existing
        .as_ref()
        .map(|(_, l)| l.photos.clone())
        .unwrap_or_default();
    let kept: Vec<BlobHash> = old_photos
        .iter()
        .filter(|h| f.keep.contains(&h.to_hex()))
        .copied()
        .collect();
    let mut e = ListingErrors {
        photos: too_many,
        ..ListingErrors::default()
    };
    if kept.len() + f.uploads.len() > MAX_PHOTOS {
        e.photos = Some(l.pick_string(
            format!("{MAX_PHOTOS} photos au plus par annonce."),
            format!("{MAX_PHOTOS} photos at most per listing."),
        ));
    }
    let series = existing.as_ref().map(|(s, _)| *s);
    let checked = check_fields(&f, series, kept.clone(), l, &mut e);
    let Some(mut checked) = checked else {
        return publish_page(state, visitor, action, &old_photos, f, e);
    };
    let uploads = f.uploads.clone();
    let added = store_photos(state, uploads, kept.len(), l, &mut e).await?;
    if e.any() {
        return publish_page(state, visitor, action, &old_photos, f, e);
    }
    checked.listing.photos.extend(added);
    let expires = state.backend.now().plus_ms(LISTING_VALID_MS);
    match sign_and_submit(
        &state.backend,
        &user,
        checked.listing.into(),
        Some(expires),
        l,
    )
    .await?
    {
        Ok(id) => Ok(Redirect::to(&format!(
            "/annonce/{}/publiee{}",
            series.unwrap_or(id).to_hex(),
            if series.is_some() { "?modifiee=1" } else { "" }
        ))
        .into_response()),
        Err(message) => {
            e.general = Some(message);
            publish_page(state, visitor, action, &old_photos, f, e)
        }
    }
}

/// `POST /publier`.
pub async fn create<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    request: Request,
) -> Result<Response, AppError> {
    require_member(&state, &visitor)?;
    save(&state, &visitor, request, None).await
}

fn own_listing<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    series: &str,
) -> Result<(RecordId, Listing), AppError> {
    let l = visitor.lang;
    let key = require_member(state, visitor)?;
    let series = page::parse_id(series).ok_or(AppError::NotFound(l))?;
    let view = state
        .backend
        .listing(&series)
        .ok_or(AppError::NotFound(l))?;
    if view.author != key {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Seul l'auteur peut modifier ou retirer cette annonce.",
                "Only the author can edit or withdraw this listing.",
            ),
        ));
    }
    if view.withdrawn {
        return Err(AppError::NotFound(l));
    }
    Ok((series, view.listing))
}

/// `GET /annonce/{series}/modifier`.
pub async fn edit_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(series): Path<String>,
) -> Result<Response, AppError> {
    let (series, listing) = own_listing(&state, &visitor, &series)?;
    let fields = ListingFields {
        title: listing.title.clone(),
        description: listing.description.clone(),
        category: (listing.category as u64).to_string(),
        sens: if listing.intent == Intent::Request {
            "demande"
        } else {
            "offre"
        }
        .into(),
        price: listing
            .price_cents
            .map(|c| {
                page::price(Some(c), Lang::Fr)
                    .replace(['€', '\u{202f}'], "")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default(),
        place: format!("{} {}", listing.postcode, listing.town),
        ..ListingFields::default()
    };
    publish_page(
        &state,
        &visitor,
        format!("/annonce/{}/modifier", series.to_hex()),
        &listing.photos,
        fields,
        ListingErrors::default(),
    )
}

/// `POST /annonce/{series}/modifier`: signs a new version of the series.
pub async fn update<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(series): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let existing = own_listing(&state, &visitor, &series)?;
    save(&state, &visitor, request, Some(existing)).await
}

/// `POST /annonce/{series}/retirer`: signs a tombstone.
pub async fn withdraw<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Path(series): Path<String>,
    CheckedForm(_f): CheckedForm<CsrfOnly>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let (series, _) = own_listing(&state, &visitor, &series)?;
    let body = ListingTombstone {
        series,
        reason: String::new(),
    };
    match sign_and_submit(&state.backend, &user, body.into(), None, l).await? {
        Ok(_) => Ok(Redirect::to(&format!("/membre/{}", user.key.to_hex())).into_response()),
        Err(message) => Err(AppError::Refused(l, message)),
    }
}
