//! Great-circle distances (haversine) and the latitude/longitude box around a circle, in
//! the microdegrees positions are stored in.

use maillon_protocol::kinds::Position;

/// The Earth's mean radius in kilometres (IUGG).
pub const EARTH_RADIUS_KM: f64 = 6_371.008_8;

/// Kilometres per degree of latitude.
pub const KM_PER_DEGREE: f64 = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;

/// Degrees of a microdegree value.
fn degrees(microdeg: i64) -> f64 {
    microdeg as f64 / 1e6
}

/// The great-circle distance between two positions in kilometres.
pub fn haversine_km(a: Position, b: Position) -> f64 {
    haversine_raw(
        degrees(a.lat_microdeg).to_radians(),
        degrees(a.lon_microdeg).to_radians(),
        b.lat_microdeg,
        b.lon_microdeg,
    )
}

/// The distance from a point given in radians to one in microdegrees, in kilometres.
pub fn haversine_raw(lat_rad: f64, lon_rad: f64, lat_micro: i64, lon_micro: i64) -> f64 {
    let lat2 = degrees(lat_micro).to_radians();
    let lon2 = degrees(lon_micro).to_radians();
    let dlat = (lat2 - lat_rad) / 2.0;
    let dlon = (lon2 - lon_rad) / 2.0;
    let h = dlat.sin().powi(2) + lat_rad.cos() * lat2.cos() * dlon.sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// A circle's bounding box in microdegrees, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundingBox {
    /// Southmost latitude.
    pub lat_min: i64,
    /// Northmost latitude.
    pub lat_max: i64,
    /// Westmost and eastmost longitude, or `None` when the circle spans every longitude
    /// or crosses the antimeridian (the exact distance check then does all the work).
    pub lon: Option<(i64, i64)>,
}

/// The box that contains every point within `radius_km` of `centre`, a little larger
/// than needed (one microdegree of margin on each side).
pub fn bounding_box(centre: Position, radius_km: f64) -> BoundingBox {
    let radius_km = radius_km.max(0.0);
    let dlat = radius_km / KM_PER_DEGREE;
    let lat = degrees(centre.lat_microdeg);
    let lat_min = lat - dlat;
    let lat_max = lat + dlat;
    let micro = |deg: f64| (deg * 1e6) as i64;
    let lon = if lat_min <= -90.0 || lat_max >= 90.0 {
        None
    } else {
        // The widest longitude span is at the latitude farthest from the equator.
        let widest = lat_min.abs().max(lat_max.abs()).to_radians().cos();
        let dlon = radius_km / (KM_PER_DEGREE * widest);
        let lon = degrees(centre.lon_microdeg);
        if dlon >= 180.0 || lon - dlon < -180.0 || lon + dlon > 180.0 {
            None
        } else {
            Some((micro(lon - dlon) - 1, micro(lon + dlon) + 1))
        }
    };
    BoundingBox {
        lat_min: micro(lat_min.max(-90.0)) - 1,
        lat_max: micro(lat_max.min(90.0)) + 1,
        lon,
    }
}
