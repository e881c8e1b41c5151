//! Links the program with the shared user linker script (`user/user.ld`:
//! static, at 4 MiB, one segment per permission set so the loader can map
//! every page W^X). Same approach as the kernel's build script.

/// The linker script, relative to this crate.
const LINKER_SCRIPT: &str = "../user.ld";

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = std::path::Path::new(&dir).join(LINKER_SCRIPT);
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rustc-link-arg-bins=-znoexecstack");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-changed=build.rs");
}
