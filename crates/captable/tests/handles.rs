//! Handle encoding, rights algebra, error display.

use bulkhead_captable::{CapError, CapRef, Capability, Rights, TableId};

#[test]
fn capref_packs_index_low_and_generation_high() {
    let r = CapRef::new(7, 3);
    assert_eq!(r.index(), 7);
    assert_eq!(r.generation(), 3);
    assert_eq!(r.0, (3u64 << 32) | 7);
    assert_eq!(CapRef(r.0), r);
    assert!(!r.is_null());
    let max = CapRef::new(u32::MAX - 1, u32::MAX);
    assert_eq!((max.index(), max.generation()), (u32::MAX - 1, u32::MAX));
}

#[test]
fn capref_null_is_all_ones() {
    assert_eq!(CapRef::NULL.0, u64::MAX);
    assert!(CapRef::NULL.is_null());
    assert_eq!(CapRef::NULL.index(), u32::MAX);
    assert_eq!(CapRef::new(u32::MAX, u32::MAX), CapRef::NULL);
}

#[test]
fn table_id_packs_like_capref() {
    let t = TableId::new(9, 4);
    assert_eq!((t.index(), t.generation()), (9, 4));
    assert_eq!(TableId::from_raw(t.raw()), t);
    assert_eq!(format!("{t:?}"), "TableId(9@4)");
}

#[test]
fn rights_set_operations() {
    let rw = Rights::READ | Rights::WRITE;
    assert!(rw.contains(Rights::READ));
    assert!(!rw.contains(Rights::EXECUTE));
    assert!(Rights::ALL.contains(rw));
    assert!(!rw.contains(Rights::ALL));
    assert_eq!(rw & Rights::WRITE, Rights::WRITE);
    assert_eq!(rw - Rights::READ, Rights::WRITE);
    assert_eq!(!rw, Rights::EXECUTE | Rights::GRANT | Rights::COPY);
    assert_eq!(!Rights::ALL, Rights::empty());
    assert!(Rights::empty().is_empty());
    let mut r = Rights::READ;
    r |= Rights::COPY;
    r &= Rights::COPY | Rights::GRANT;
    assert_eq!(r, Rights::COPY);
}

#[test]
fn rights_all_is_the_five_rights() {
    let each = [
        Rights::READ,
        Rights::WRITE,
        Rights::EXECUTE,
        Rights::GRANT,
        Rights::COPY,
    ];
    let union = each.iter().fold(Rights::empty(), |acc, r| acc | *r);
    assert_eq!(union, Rights::ALL);
    assert_eq!(each.iter().map(|r| r.bits().count_ones()).sum::<u32>(), 5);
}

#[test]
fn rights_from_bits_rejects_unknown_bits() {
    assert_eq!(Rights::from_bits(0b11), Some(Rights::READ | Rights::WRITE));
    assert_eq!(Rights::from_bits(1 << 5), None);
    assert_eq!(Rights::from_bits_truncate(u32::MAX), Rights::ALL);
}

#[test]
fn rights_never_exceed_all() {
    // `!` and `from_bits_truncate` stay within the five known rights.
    assert_eq!(!Rights::empty(), Rights::ALL);
    assert_eq!(Rights::from_bits_truncate(1 << 5), Rights::empty());
    assert_eq!(Rights::ALL.bits(), 0x1f);
}

#[test]
fn capability_new_is_unbadged() {
    let cap = Capability::new(1u32, Rights::READ);
    assert_eq!(cap.badge, 0);
    assert!(!cap.is_badged());
    assert!(Capability { badge: 5, ..cap }.is_badged());
}

#[test]
fn errors_display_distinct_messages() {
    let all = [
        CapError::InvalidTable,
        CapError::InvalidIndex,
        CapError::Stale,
        CapError::Empty,
        CapError::InsufficientRights,
        CapError::TableFull,
        CapError::BadgeAlreadySet,
        CapError::InvalidBadge,
        CapError::BadCapacity,
        CapError::SlotOccupied,
        CapError::TooManyTables,
        CapError::OutOfMemory,
    ];
    let messages: std::collections::HashSet<String> = all.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), all.len());
    assert_eq!(CapError::Stale.to_string(), "stale capability handle");
}
