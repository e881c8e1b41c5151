//! Links with the shared user linker script (see `user/link.rs`).

include!("../link.rs");

fn main() {
    println!("cargo:rerun-if-changed=../link.rs");
    link_with("../user.ld");
}
