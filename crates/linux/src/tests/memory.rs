//! Memory calls: mmap, munmap, mprotect, brk, file-backed mappings.

use super::mock::{err, Harness, IMAGE_END, MMAP_BASE};
use crate::{Errno, Prot, PAGE_SIZE};

const PROT_READ: u64 = 1;
const PROT_WRITE: u64 = 2;
const MAP_PRIVATE: u64 = 2;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
const RW: u64 = PROT_READ | PROT_WRITE;

fn mmap(h: &mut Harness, addr: u64, len: u64, prot: u64, flags: u64, fd: i64, offset: u64) -> i64 {
    h.sys(9, &[addr, len, prot, flags, fd as u64, offset])
}

/// Checks that the process's area map and the mock's pages agree.
fn assert_consistent(h: &Harness) {
    let mut pages_in_areas = 0u64;
    for (start, area) in h.process.address_space().areas() {
        assert!(start < area.end);
        assert_eq!(start % PAGE_SIZE, 0);
        assert_eq!(area.end % PAGE_SIZE, 0);
        for page in (start..area.end).step_by(PAGE_SIZE as usize) {
            assert_eq!(h.backend.prot_at(page), Some(area.prot), "page {page:#x}");
        }
        pages_in_areas += (area.end - start) / PAGE_SIZE;
    }
    assert_eq!(pages_in_areas as usize, h.backend.pages.len());
    let mut last_end = 0;
    for (start, area) in h.process.address_space().areas() {
        assert!(start >= last_end, "areas overlap");
        last_end = area.end;
    }
}

#[test]
fn anonymous_mmap_first_fit() {
    let mut h = Harness::new();
    let a = mmap(&mut h, 0, 5000, RW, ANON, -1, 0);
    assert_eq!(a as u64, MMAP_BASE);
    let b = mmap(&mut h, 0, 4096, RW, ANON, -1, 0);
    assert_eq!(b as u64, MMAP_BASE + 2 * PAGE_SIZE);
    let data = h.bytes(b"xyz");
    assert_eq!(h.sys(1, &[1, data, 3]), 3);
    assert_eq!(h.backend.peek(a as u64, 8).unwrap(), [0; 8], "zero filled");
    assert_eq!(h.sys(11, &[a as u64, 2 * PAGE_SIZE]), 0);
    let c = mmap(&mut h, 0, 4096, RW, ANON, -1, 0);
    assert_eq!(c as u64, MMAP_BASE, "hole reused");
    assert_consistent(&h);
}

#[test]
fn mmap_argument_errors() {
    let mut h = Harness::new();
    assert_eq!(mmap(&mut h, 0, 0, RW, ANON, -1, 0), err(Errno::EINVAL));
    assert_eq!(
        mmap(&mut h, 0, 4096, RW, MAP_ANONYMOUS, -1, 0),
        err(Errno::EINVAL)
    );
    assert_eq!(mmap(&mut h, 0, 4096, 0x80, ANON, -1, 0), err(Errno::EINVAL));
    assert_eq!(
        mmap(&mut h, 0x1234, 4096, RW, ANON | MAP_FIXED, -1, 0),
        err(Errno::EINVAL)
    );
    assert_eq!(
        mmap(&mut h, 0, u64::MAX, RW, ANON, -1, 0),
        err(Errno::ENOMEM)
    );
    assert_eq!(
        mmap(&mut h, 0, 1 << 46, RW, ANON, -1, 0),
        err(Errno::ENOMEM),
        "backend out of pages"
    );
    assert_eq!(
        mmap(&mut h, 0, 4096, PROT_READ, MAP_PRIVATE, 99, 0),
        err(Errno::EBADF)
    );
    assert_eq!(
        mmap(&mut h, 0, 4096, PROT_READ, MAP_PRIVATE, 1, 0),
        err(Errno::ENODEV)
    );
    assert_eq!(
        mmap(
            &mut h,
            0x7fff_ffff_f000,
            2 * PAGE_SIZE,
            RW,
            ANON | MAP_FIXED,
            -1,
            0
        ),
        err(Errno::ENOMEM)
    );
    assert_eq!(
        mmap(&mut h, 0, 4096, RW, ANON | MAP_FIXED, -1, 0),
        err(Errno::EPERM)
    );
    assert_consistent(&h);
}

#[test]
fn hint_is_used_when_free() {
    let mut h = Harness::new();
    let hint = 0x5000_0000;
    assert_eq!(mmap(&mut h, hint + 12, 4096, RW, ANON, -1, 0), hint as i64);
    assert_eq!(
        mmap(&mut h, hint, 4096, RW, ANON, -1, 0),
        MMAP_BASE as i64,
        "taken hint ignored"
    );
    assert_consistent(&h);
}

#[test]
fn map_fixed_replaces() {
    let mut h = Harness::new();
    let a = mmap(&mut h, 0, 4 * PAGE_SIZE, RW, ANON, -1, 0) as u64;
    let data = h.bytes(&[7; 16]);
    let buf = h.alloc(16);
    let _ = buf;
    h.backend_write(a + PAGE_SIZE, &[9; 16]);
    let _ = data;
    let b = mmap(
        &mut h,
        a + PAGE_SIZE,
        2 * PAGE_SIZE,
        PROT_READ,
        ANON | MAP_FIXED,
        -1,
        0,
    );
    assert_eq!(b as u64, a + PAGE_SIZE);
    assert_eq!(
        h.backend.peek(a + PAGE_SIZE, 16).unwrap(),
        [0; 16],
        "fresh zero pages"
    );
    assert_eq!(
        h.backend.prot_at(a + PAGE_SIZE).unwrap(),
        Prot {
            read: true,
            write: false,
            exec: false
        }
    );
    assert_eq!(
        h.process.address_space().areas().count(),
        1 + 3,
        "scratch + three pieces"
    );
    assert_eq!(
        mmap(&mut h, a, PAGE_SIZE, RW, ANON | 0x10_0000, -1, 0),
        err(Errno::EEXIST)
    );
    assert_consistent(&h);
}

#[test]
fn munmap_splits_and_errors() {
    let mut h = Harness::new();
    let a = mmap(&mut h, 0, 5 * PAGE_SIZE, RW, ANON, -1, 0) as u64;
    assert_eq!(h.sys(11, &[a + 2 * PAGE_SIZE, PAGE_SIZE]), 0);
    assert_eq!(h.process.address_space().areas().count(), 1 + 2);
    assert!(h.backend.prot_at(a + 2 * PAGE_SIZE).is_none());
    assert!(h.backend.prot_at(a + 3 * PAGE_SIZE).is_some());
    assert_eq!(h.sys(11, &[a + 1, PAGE_SIZE]), err(Errno::EINVAL));
    assert_eq!(h.sys(11, &[a, 0]), err(Errno::EINVAL));
    assert_eq!(h.sys(11, &[!0xfff, PAGE_SIZE]), err(Errno::EINVAL));
    assert_eq!(
        h.sys(11, &[0x9000_0000, PAGE_SIZE]),
        0,
        "unmapping nothing is fine"
    );
    assert_eq!(
        h.sys(11, &[a, 1 << 47]),
        err(Errno::EINVAL),
        "beyond user space"
    );
    assert_eq!(
        h.sys(11, &[a, 1 << 39]),
        0,
        "a huge range only touches what is mapped"
    );
    assert_consistent(&h);
}

#[test]
fn mprotect_splits() {
    let mut h = Harness::new();
    let a = mmap(&mut h, 0, 4 * PAGE_SIZE, RW, ANON, -1, 0) as u64;
    assert_eq!(h.sys(10, &[a + PAGE_SIZE, PAGE_SIZE * 2, PROT_READ]), 0);
    assert_consistent(&h);
    assert_eq!(h.process.address_space().areas().count(), 1 + 3);
    let buf = h.bytes(b"x");
    let fd = h.open("/tmp/f", 0o102, 0o644) as u64;
    h.sys(1, &[fd, buf, 1]);
    h.sys(8, &[fd, 0, 0]);
    assert_eq!(
        h.sys(0, &[fd, a + PAGE_SIZE, 1]),
        err(Errno::EFAULT),
        "read-only page"
    );
    assert_eq!(h.sys(0, &[fd, a, 1]), 1);
    assert_eq!(
        h.sys(10, &[a + 1, PAGE_SIZE, PROT_READ]),
        err(Errno::EINVAL)
    );
    assert_eq!(h.sys(10, &[a, PAGE_SIZE, 0x40]), err(Errno::EINVAL));
    assert_eq!(
        h.sys(10, &[a, 8 * PAGE_SIZE, PROT_READ]),
        err(Errno::ENOMEM),
        "runs past the area"
    );
    assert_eq!(h.sys(10, &[a, 0, PROT_READ]), 0);
    assert_eq!(h.sys(10, &[a, 4 * PAGE_SIZE, 0]), 0);
    assert_consistent(&h);
}

#[test]
fn file_backed_private_mapping() {
    let mut h = Harness::new();
    let mut contents = std::vec::Vec::new();
    for index in 0..5000u32 {
        contents.push(index as u8);
    }
    h.container
        .fs
        .install_file("/data", &contents, 0o644)
        .unwrap();
    let fd = h.open("/data", 0, 0);
    let a = mmap(&mut h, 0, 3 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0) as u64;
    assert!(a >= MMAP_BASE);
    assert_eq!(h.backend.peek(a, 5000).unwrap(), contents);
    assert_eq!(
        h.backend.peek(a + 5000, 100).unwrap(),
        [0; 100],
        "past EOF stays zero"
    );
    assert_eq!(
        h.backend.prot_at(a).unwrap(),
        Prot {
            read: true,
            write: false,
            exec: false
        }
    );
    let b = mmap(&mut h, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, fd, PAGE_SIZE) as u64;
    assert_eq!(h.backend.peek(b, 4).unwrap(), contents[4096..4100]);
    assert_eq!(
        mmap(&mut h, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, fd, 100),
        err(Errno::EINVAL)
    );
    assert_eq!(
        mmap(&mut h, 0, PAGE_SIZE, RW, 1, fd, 0),
        err(Errno::ENODEV),
        "shared writable"
    );
    let writer = h.open("/data", 1, 0);
    assert_eq!(
        mmap(&mut h, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, writer, 0),
        err(Errno::EACCES)
    );
    let dir = h.open("/tmp", 0, 0);
    assert_eq!(
        mmap(&mut h, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, dir, 0),
        err(Errno::ENODEV)
    );
    assert_consistent(&h);
}

#[test]
fn brk_grows_and_shrinks() {
    let mut h = Harness::new();
    let start = IMAGE_END.next_multiple_of(PAGE_SIZE);
    assert_eq!(h.sys(12, &[0]) as u64, start);
    assert_eq!(h.sys(12, &[start + 10]) as u64, start + 10);
    assert!(h.backend.prot_at(start).is_some());
    assert!(h.backend.prot_at(start + PAGE_SIZE).is_none());
    assert_eq!(
        h.sys(12, &[start + 3 * PAGE_SIZE + 1]) as u64,
        start + 3 * PAGE_SIZE + 1
    );
    h.backend_write(start + 3 * PAGE_SIZE, &[5]);
    assert!(h.backend.prot_at(start + 3 * PAGE_SIZE).is_some());
    assert_consistent(&h);
    assert_eq!(h.sys(12, &[start + PAGE_SIZE]) as u64, start + PAGE_SIZE);
    assert!(h.backend.prot_at(start + PAGE_SIZE).is_none());
    assert!(h.backend.prot_at(start).is_some());
    assert_eq!(
        h.sys(12, &[start - 1]) as u64,
        start + PAGE_SIZE,
        "below the start is refused"
    );
    assert_eq!(h.sys(12, &[u64::MAX]) as u64, start + PAGE_SIZE);
    assert_eq!(
        h.sys(12, &[start + (1 << 40)]) as u64,
        start + PAGE_SIZE,
        "out of memory"
    );
    // A mapping in the way stops growth.
    let blocker = start + 8 * PAGE_SIZE;
    assert_eq!(
        mmap(&mut h, blocker, PAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0) as u64,
        blocker
    );
    assert_eq!(h.sys(12, &[blocker + 1]) as u64, start + PAGE_SIZE);
    assert_eq!(h.sys(12, &[blocker]) as u64, blocker);
    assert_eq!(h.sys(12, &[start]) as u64, start);
    assert!(
        h.backend.prot_at(blocker).is_some(),
        "shrinking leaves other mappings alone"
    );
    assert_consistent(&h);
}

#[test]
fn madvise_and_mremap() {
    let mut h = Harness::new();
    let a = mmap(&mut h, 0, PAGE_SIZE, RW, ANON, -1, 0) as u64;
    assert_eq!(h.sys(28, &[a, PAGE_SIZE, 4]), 0);
    assert_eq!(h.sys(28, &[a + 1, PAGE_SIZE, 4]), err(Errno::EINVAL));
    assert_eq!(
        h.sys(25, &[a, PAGE_SIZE, 2 * PAGE_SIZE, 1]),
        err(Errno::ENOMEM)
    );
}
