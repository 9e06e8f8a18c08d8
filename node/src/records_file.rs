//! Files of records, as `maillon gen` writes them and the benchmarks and tests read them:
//! each record is a 4-byte big-endian length then its wire bytes.

use std::io::{self, BufRead, Write};

use maillon_protocol::record::MAX_RECORD_BYTES;

/// Writes records, each length-prefixed.
pub fn write_records<'a>(
    out: &mut impl Write,
    records: impl IntoIterator<Item = &'a [u8]>,
) -> io::Result<u64> {
    let mut count = 0;
    for wire in records {
        out.write_all(&(wire.len() as u32).to_be_bytes())?;
        out.write_all(wire)?;
        count += 1;
    }
    Ok(count)
}

/// Reads every record of a file written by [`write_records`]. A length above the record
/// limit, or a file that ends inside a record, is an error.
pub fn read_records(input: &mut impl BufRead) -> io::Result<Vec<Vec<u8>>> {
    let mut records = Vec::new();
    loop {
        if input.fill_buf()?.is_empty() {
            return Ok(records);
        }
        let mut length = [0u8; 4];
        input.read_exact(&mut length)?;
        let length = u32::from_be_bytes(length) as usize;
        if length > MAX_RECORD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "record {} claims {length} bytes, more than a record may have",
                    records.len()
                ),
            ));
        }
        let mut wire = vec![0u8; length];
        input.read_exact(&mut wire)?;
        records.push(wire);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_truncation_is_an_error() {
        let records = [b"abc".to_vec(), Vec::new(), vec![7; 300]];
        let mut bytes = Vec::new();
        let written = write_records(&mut bytes, records.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(written, 3);
        assert_eq!(read_records(&mut &bytes[..]).unwrap(), records);
        assert!(read_records(&mut &bytes[..bytes.len() - 1]).is_err());
        let huge = (MAX_RECORD_BYTES as u32 + 1).to_be_bytes();
        assert!(read_records(&mut &huge[..]).is_err());
    }
}
