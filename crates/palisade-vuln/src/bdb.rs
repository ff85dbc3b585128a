//! The values of a Berkeley DB hash database (rpm's `Packages`), read from its pages
//! without the library: the metadata page gives the page size, the last page and the
//! byte order; each hash page lists its items as key/value pairs, a value stored
//! inline or in a chain of overflow pages. The layout is Berkeley DB's on-disk format
//! (hash versions 8 to 10), which rpm's own read-only backend also reads.

/// Hash database magic, in the file's byte order.
const HASH_MAGIC: u32 = 0x0006_1561;
/// Page types.
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;
/// Item types on a hash page.
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
/// The page header's size; item offsets follow it.
const PAGE_HEADER: usize = 26;

struct Db<'a> {
    bytes: &'a [u8],
    page_size: usize,
    last_page: u32,
    /// Written on a machine of the other byte order.
    swapped: bool,
}

impl Db<'_> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.bytes.get(at..at + 2)?.try_into().ok()?;
        Some(if self.swapped {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if self.swapped {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// The byte offset of page `n`, checked: the page must be in the file and say it
    /// is page `n`.
    fn page(&self, n: u32) -> Result<usize, String> {
        if n == 0 || n > self.last_page {
            return Err(format!("page {n} is outside the database"));
        }
        let start = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(self.page_size))
            .filter(|s| s + self.page_size <= self.bytes.len())
            .ok_or_else(|| format!("page {n} is past the end of the file"))?;
        if self.u32_at(start + 8) != Some(n) {
            return Err(format!("page {n} does not say it is page {n}"));
        }
        Ok(start)
    }

    /// A value stored in overflow pages from `first`, `len` bytes long.
    fn overflow(&self, first: u32, len: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(len.min(self.bytes.len()));
        let mut next = first;
        // A chain longer than the file has pages is a loop.
        for _ in 0..=self.last_page {
            if out.len() == len {
                return Ok(out);
            }
            if next == 0 {
                break;
            }
            let at = self.page(next)?;
            if self.bytes[at + 25] != P_OVERFLOW {
                return Err(format!("page {next} is not an overflow page"));
            }
            let used = usize::from(self.u16_at(at + 22).unwrap_or(0));
            if used + PAGE_HEADER > self.page_size || out.len() + used > len {
                return Err(format!("overflow page {next} holds more than its value"));
            }
            out.extend_from_slice(&self.bytes[at + PAGE_HEADER..at + PAGE_HEADER + used]);
            next = self.u32_at(at + 16).unwrap_or(0);
        }
        if out.len() == len {
            Ok(out)
        } else {
            Err(format!(
                "overflow chain from page {first} ends short of its value"
            ))
        }
    }

    /// The item at `at`, `len` bytes long on its page.
    fn item(&self, page: u32, at: usize, len: usize) -> Result<Vec<u8>, String> {
        let bad = || format!("page {page}: an item that does not parse");
        match self.bytes.get(at).copied() {
            Some(H_KEYDATA) if len >= 1 => {
                Ok(self.bytes.get(at + 1..at + len).ok_or_else(bad)?.to_vec())
            }
            Some(H_OFFPAGE) if len == 12 => {
                let first = self.u32_at(at + 4).ok_or_else(bad)?;
                let total =
                    usize::try_from(self.u32_at(at + 8).ok_or_else(bad)?).map_err(|_| bad())?;
                self.overflow(first, total)
            }
            _ => Err(bad()),
        }
    }
}

/// Every value of the hash database `bytes`, in page order.
///
/// # Errors
/// Not a Berkeley DB hash database, or a page that does not parse.
pub fn hash_values(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let magic = bytes
        .get(12..16)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
        .ok_or("too short for a Berkeley DB database")?;
    let swapped = match magic {
        HASH_MAGIC => false,
        m if m.swap_bytes() == HASH_MAGIC => true,
        _ => return Err("not a Berkeley DB hash database".into()),
    };
    let mut db = Db {
        bytes,
        page_size: 0,
        last_page: 0,
        swapped,
    };
    let version = db.u32_at(16).unwrap_or(0);
    if !(8..=10).contains(&version) {
        return Err(format!("hash version {version} is not one of 8 to 10"));
    }
    db.page_size = usize::try_from(db.u32_at(20).unwrap_or(0)).unwrap_or(0);
    if !(512..=65536).contains(&db.page_size) || !db.page_size.is_power_of_two() {
        return Err(format!("page size {} is not Berkeley DB's", db.page_size));
    }
    db.last_page = db.u32_at(32).unwrap_or(0);
    let mut values = Vec::new();
    for n in 1..=db.last_page {
        if (n as usize + 1).saturating_mul(db.page_size) > bytes.len() {
            // A file cut short: the pages it has are read.
            break;
        }
        let at = db.page(n)?;
        let kind = bytes[at + 25];
        if kind != P_HASH && kind != P_HASH_UNSORTED {
            continue;
        }
        let entries = usize::from(db.u16_at(at + 20).unwrap_or(0));
        if PAGE_HEADER + entries * 2 > db.page_size {
            return Err(format!("page {n} lists more items than it can hold"));
        }
        let offset = |i: usize| usize::from(db.u16_at(at + PAGE_HEADER + 2 * i).unwrap_or(0));
        // Items are written from the page's end backwards: an item ends where the one
        // before it begins (the first, at the page's end).
        for i in (0..entries.saturating_sub(1)).step_by(2) {
            let key = offset(i);
            let value = offset(i + 1);
            let key_end = if i == 0 { db.page_size } else { offset(i - 1) };
            if value >= key || key > key_end || key_end > db.page_size {
                return Err(format!("page {n}: item {i} is out of place"));
            }
            values.push(db.item(n, at + value, key - value)?);
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::hash_values;

    #[test]
    fn what_is_not_a_hash_database_is_an_error_not_a_panic() {
        assert!(hash_values(b"").is_err());
        assert!(hash_values(&[0u8; 100]).is_err());
        // A metadata page that claims pages the file does not have.
        let mut meta = vec![0u8; 4096];
        meta[12..16].copy_from_slice(&0x0006_1561u32.to_le_bytes());
        meta[16..20].copy_from_slice(&9u32.to_le_bytes());
        meta[20..24].copy_from_slice(&4096u32.to_le_bytes());
        meta[32..36].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(hash_values(&meta).unwrap(), Vec::<Vec<u8>>::new());
        meta[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert!(hash_values(&meta).is_err());
    }
}
