//! Links with the shared user linker script (see `user/link.rs`).

include!("../../user/link.rs");

fn main() {
    println!("cargo:rerun-if-changed=../../user/link.rs");
    link_with("../../user/user.ld");
}
