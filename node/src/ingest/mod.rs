//! The ingest pipeline: from wire bytes to stored records. Until the node issue completes
//! it, this holds the parking lot for records whose refs are missing.

pub mod parking;
