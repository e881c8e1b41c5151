//! Identity, time, signals, limits, unknown syscalls and exit.

use super::mock::{err, Harness, MMAP_BASE, MMAP_END};
use crate::{Errno, MemoryLayout, Outcome};

#[test]
fn ids_and_uname() {
    let mut h = Harness::new();
    assert_eq!(h.sys(39, &[]), 1);
    assert_eq!(h.sys(186, &[]), 1);
    assert_eq!(h.sys(110, &[]), 0);
    assert_eq!(h.sys(111, &[]), 1);
    for nr in [102, 104, 107, 108] {
        assert_eq!(h.sys(nr, &[]), 0);
    }
    assert_eq!(h.sys(105, &[0]), 0);
    assert_eq!(h.sys(105, &[1000]), err(Errno::EPERM));
    assert_eq!(h.sys(106, &[5]), err(Errno::EPERM));
    let ids = h.alloc(12);
    assert_eq!(h.sys(118, &[ids, ids + 4, ids + 8]), 0);
    assert_eq!(h.sys(120, &[ids, 0, ids + 8]), err(Errno::EFAULT));
    let buf = h.alloc(390);
    assert_eq!(h.sys(63, &[buf]), 0);
    let uts = h.mem(buf, 390);
    assert_eq!(&uts[..6], b"Linux\0");
    assert_eq!(&uts[65..70], b"test\0");
    assert_eq!(&uts[260..267], b"x86_64\0");
    assert_eq!(h.sys(63, &[0]), err(Errno::EFAULT));
}

#[test]
fn child_process_sees_parent() {
    let mut h = Harness::new();
    let layout = MemoryLayout {
        mmap_base: MMAP_BASE,
        mmap_end: MMAP_END,
    };
    let mut child = h.container.new_process(Some(1), layout);
    assert_eq!(child.pid(), 2);
    let outcome = crate::handle(&mut h.container, &mut child, &mut h.backend, 110, [0; 6]);
    assert_eq!(outcome, Outcome::Return(1));
    assert_eq!(h.sys(62, &[2, 0]), 0, "signal 0 to an existing pid");
    assert_eq!(
        h.sys(62, &[2, 15]),
        err(Errno::EPERM),
        "cannot deliver to others"
    );
    assert_eq!(h.sys(62, &[77, 0]), err(Errno::ESRCH));
    h.container.process_exited(2);
    assert_eq!(h.sys(62, &[2, 0]), err(Errno::ESRCH));
}

#[test]
fn signals_to_self() {
    let mut h = Harness::new();
    assert_eq!(h.sys(62, &[1, 0]), 0);
    assert_eq!(h.sys(62, &[1, 65]), err(Errno::EINVAL));
    assert_eq!(h.sys(62, &[1, 17]), 0, "SIGCHLD is ignored by default");
    // Install a handler for SIGUSR1 and read it back.
    let act = h.bytes(
        &[
            0x11u64.to_le_bytes(),
            4u64.to_le_bytes(),
            0x22u64.to_le_bytes(),
            0u64.to_le_bytes(),
        ]
        .concat(),
    );
    let old = h.alloc(32);
    assert_eq!(h.sys(13, &[10, act, 0, 8]), 0);
    assert_eq!(h.sys(13, &[10, 0, old, 8]), 0);
    assert_eq!(h.u64_at(old), 0x11);
    assert_eq!(h.sys(13, &[10, act, 0, 4]), err(Errno::EINVAL));
    assert_eq!(h.sys(13, &[9, act, 0, 8]), err(Errno::EINVAL));
    assert_eq!(h.sys(13, &[0, 0, old, 8]), err(Errno::EINVAL));
    assert_eq!(h.sys(13, &[10, 0x10, 0, 8]), err(Errno::EFAULT));
    assert_eq!(h.sys(62, &[1, 10]), err(Errno::EPERM), "handler cannot run");
    assert_eq!(h.outcome(62, &[1, 15]), Outcome::Exit(128 + 15));
}

#[test]
fn blocked_signal_pends_until_unblocked() {
    // musl's raise(): block everything, tkill, restore the mask.
    let mut h = Harness::new();
    let all = h.bytes(&u64::MAX.to_le_bytes());
    let saved = h.alloc(8);
    assert_eq!(h.sys(14, &[0, all, saved, 8]), 0);
    assert_eq!(h.u64_at(saved), 0);
    assert_eq!(h.sys(200, &[1, 6]), 0, "SIGABRT blocked: pending");
    assert_eq!(h.outcome(14, &[2, saved, 0, 8]), Outcome::Exit(128 + 6));
    assert_eq!(h.process.files().count(), 0, "files closed on exit");
}

#[test]
fn sigprocmask_rules() {
    let mut h = Harness::new();
    let set = h.bytes(&(1u64 << 8 | 1 << 1).to_le_bytes());
    let old = h.alloc(8);
    assert_eq!(h.sys(14, &[0, set, 0, 8]), 0);
    assert_eq!(h.sys(14, &[2, 0, old, 8]), 0);
    assert_eq!(h.u64_at(old), 1 << 1, "SIGKILL cannot be blocked");
    assert_eq!(h.sys(14, &[1, set, 0, 8]), 0);
    assert_eq!(h.sys(14, &[0, 0, old, 8]), 0);
    assert_eq!(h.u64_at(old), 0);
    assert_eq!(h.sys(14, &[7, set, 0, 8]), err(Errno::EINVAL));
    assert_eq!(h.sys(14, &[0, set, 0, 16]), err(Errno::EINVAL));
    let stack = h.alloc(24);
    assert_eq!(h.sys(131, &[0, stack]), 0);
    assert_eq!(h.u64_at(stack + 8), 2, "SS_DISABLE");
    assert_eq!(h.sys(200, &[0, 0]), err(Errno::EINVAL));
    assert_eq!(h.sys(234, &[1, 2, 0]), err(Errno::ESRCH));
    assert_eq!(h.sys(234, &[1, 1, 0]), 0);
}

#[test]
fn a_kept_caller_serves_calls_in_a_row_like_handle() {
    let mut h = Harness::new();
    let mut caller = crate::Caller::new(&mut h.container, &mut h.process, &mut h.backend);
    assert_eq!(caller.handle(39, [0; 6]), Outcome::Return(1));
    assert_eq!(caller.handle(39, [0; 6]), Outcome::Return(1));
    assert_eq!(
        caller.handle(105, [7, 0, 0, 0, 0, 0]),
        Outcome::Return(err(Errno::EPERM))
    );
    assert_eq!(caller.handle(60, [3, 0, 0, 0, 0, 0]), Outcome::Exit(3));
    assert_eq!(h.process.syscall_counts()[39], 2);
    assert_eq!(h.process.files().count(), 0, "files closed on exit");
}

#[test]
fn exit_status_and_files_closed() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", 0o102, 0o644);
    h.path_call(87, "/tmp/f", &[]);
    let inodes = h.container.fs.inode_count();
    assert_eq!(h.outcome(231, &[0x1234]), Outcome::Exit(0x34));
    assert_eq!(
        h.container.fs.inode_count(),
        inodes - 1,
        "the unlinked file is freed"
    );
    let _ = fd;
    let mut h = Harness::new();
    assert_eq!(h.outcome(60, &[u64::MAX]), Outcome::Exit(255));
}

#[test]
fn clocks_and_sleep() {
    let mut h = Harness::new();
    let ts = h.alloc(16);
    assert_eq!(h.sys(228, &[0, ts]), 0);
    assert!(h.u64_at(ts) > 1_600_000_000);
    assert_eq!(h.sys(228, &[1, ts]), 0);
    let mono = h.u64_at(ts);
    assert!(mono < 100);
    for clock in [2, 3, 4, 5, 6, 7, 9, 11] {
        assert_eq!(h.sys(228, &[clock, ts]), 0, "clock {clock}");
    }
    assert_eq!(h.sys(228, &[10, ts]), err(Errno::EINVAL));
    assert_eq!(h.sys(228, &[(-2i64) as u64, ts]), err(Errno::EINVAL));
    assert_eq!(h.sys(228, &[0, 0]), err(Errno::EFAULT));
    assert_eq!(h.sys(229, &[1, ts]), 0);
    assert_eq!(
        h.mem(ts, 16),
        [&0u64.to_le_bytes()[..], &1u64.to_le_bytes()].concat()
    );
    assert_eq!(h.sys(229, &[6, 0]), 0);
    let request = h.bytes(&[1u64.to_le_bytes(), 500u64.to_le_bytes()].concat());
    assert_eq!(h.sys(35, &[request, 0]), 0);
    assert_eq!(h.backend.slept_ns, 1_000_000_500);
    let bad = h.bytes(&[1u64.to_le_bytes(), 1_000_000_000u64.to_le_bytes()].concat());
    assert_eq!(h.sys(35, &[bad, 0]), err(Errno::EINVAL));
    let negative = h.bytes(&[(-1i64).to_le_bytes(), 0i64.to_le_bytes()].concat());
    assert_eq!(h.sys(35, &[negative, 0]), err(Errno::EINVAL));
    assert_eq!(h.sys(230, &[1, 0, request, 0]), 0);
    assert_eq!(h.sys(230, &[2, 0, request, 0]), err(Errno::EINVAL));
    let past = h.bytes(&[0u64.to_le_bytes(), 0u64.to_le_bytes()].concat());
    let before = h.backend.slept_ns;
    assert_eq!(h.sys(230, &[1, 1, past, 0]), 0, "absolute time in the past");
    assert_eq!(h.backend.slept_ns, before);
    let tv = h.alloc(16);
    assert_eq!(h.sys(96, &[tv, 0]), 0);
    assert!(h.u64_at(tv) > 1_600_000_000);
    assert!(h.u64_at(tv + 8) < 1_000_000);
    let t = h.alloc(8);
    let now = h.sys(201, &[t]);
    assert_eq!(now as u64, h.u64_at(t));
    assert!(h.sys(201, &[0]) > 0);
}

#[test]
fn random_and_limits() {
    let mut h = Harness::new();
    let buf = h.alloc(32);
    assert_eq!(h.sys(318, &[buf, 32, 0]), 32);
    assert_ne!(h.mem(buf, 32), [0; 32]);
    assert_eq!(h.sys(318, &[buf, 32, 8]), err(Errno::EINVAL));
    assert_eq!(h.sys(318, &[0, 32, 0]), err(Errno::EFAULT));
    assert_eq!(h.sys(318, &[buf, 0, 0]), 0);
    let limit = h.alloc(16);
    assert_eq!(h.sys(302, &[0, 3, 0, limit]), 0);
    assert_eq!(h.u64_at(limit), 8 << 20);
    assert_eq!(h.sys(302, &[0, 7, 0, limit]), 0);
    assert_eq!(h.u64_at(limit), 256);
    assert_eq!(h.sys(302, &[0, 99, 0, limit]), err(Errno::EINVAL));
    assert_eq!(h.sys(302, &[55, 7, 0, limit]), err(Errno::ESRCH));
    let lower = h.bytes(&[4u64.to_le_bytes(), 256u64.to_le_bytes()].concat());
    assert_eq!(h.sys(302, &[1, 7, lower, 0]), 0);
    assert_eq!(h.open("/dev/null", 0, 0), 3);
    assert_eq!(
        h.open("/dev/null", 0, 0),
        err(Errno::EMFILE),
        "RLIMIT_NOFILE applies"
    );
    let higher = h.bytes(&[4u64.to_le_bytes(), 1000u64.to_le_bytes()].concat());
    assert_eq!(h.sys(160, &[7, higher]), err(Errno::EPERM));
    let inverted = h.bytes(&[9u64.to_le_bytes(), 5u64.to_le_bytes()].concat());
    assert_eq!(h.sys(160, &[7, inverted]), err(Errno::EINVAL));
    assert_eq!(h.sys(97, &[7, limit]), 0);
    assert_eq!(h.u64_at(limit), 4);
}

#[test]
fn arch_prctl_and_tid_address() {
    let mut h = Harness::new();
    assert_eq!(h.sys(158, &[0x1002, 0x7000_1234]), 0);
    assert_eq!(h.backend.fs_base, 0x7000_1234);
    let out = h.alloc(8);
    assert_eq!(h.sys(158, &[0x1003, out]), 0);
    assert_eq!(h.u64_at(out), 0x7000_1234);
    assert_eq!(
        h.sys(158, &[0x1002, 0xffff_8000_0000_0000]),
        err(Errno::EPERM)
    );
    assert_eq!(h.sys(158, &[0x1001, 0]), err(Errno::EINVAL));
    assert_eq!(h.sys(158, &[0x1003, 0]), err(Errno::EFAULT));
    assert_eq!(h.sys(218, &[0x1234]), 1);
    assert_eq!(h.process.tid_address(), 0x1234);
}

#[test]
fn unknown_syscalls_logged_once() {
    let mut h = Harness::new();
    assert_eq!(h.sys(999, &[]), err(Errno::ENOSYS));
    assert_eq!(h.sys(999, &[]), err(Errno::ENOSYS));
    assert_eq!(h.sys(57, &[]), err(Errno::ENOSYS));
    assert_eq!(h.backend.logs.len(), 2);
    assert!(h.backend.logs[0].contains("999"));
    assert_eq!(
        h.sys(332, &[]),
        err(Errno::ENOSYS),
        "statx is known but unsupported"
    );
    assert_eq!(h.backend.logs.len(), 2);
    for nr in 1000..1200 {
        h.sys(nr, &[]);
    }
    assert_eq!(
        h.backend.logs.len(),
        crate::container::UNKNOWN_LOG_CAP + 1,
        "capped"
    );
    assert_eq!(h.process.syscall_counts()[999 % 512], 0);
    assert_eq!(h.process.syscall_counts()[57], 1);
    assert!(h.process.other_syscall_count() >= 202);
}

#[test]
fn poll_reports_ready() {
    let mut h = Harness::new();
    let fds = h.bytes(
        &[
            1i32.to_le_bytes(),
            [4, 0, 0, 0],
            99i32.to_le_bytes(),
            [1, 0, 0, 0],
            (-1i32).to_le_bytes(),
            [1, 0, 0, 0],
        ]
        .concat(),
    );
    assert_eq!(h.sys(7, &[fds, 3, 0]), 2);
    let out = h.mem(fds, 24);
    assert_eq!(u16::from_le_bytes([out[6], out[7]]), 4);
    assert_eq!(u16::from_le_bytes([out[14], out[15]]), 0x20);
    assert_eq!(u16::from_le_bytes([out[22], out[23]]), 0);
    assert_eq!(h.sys(7, &[fds, 100_000, 0]), err(Errno::EINVAL));
    assert_eq!(h.sys(7, &[fds + 16, 1, 5]), 0);
    assert_eq!(h.backend.slept_ns, 5_000_000);
}
