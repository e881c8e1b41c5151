// Shared by the build scripts of every native user program (`include!`d):
// links the program with the user linker script (`user/user.ld`: static, at
// 4 MiB, one segment per permission set so the loader can map every page
// W^X). Same approach as the kernel's build script.

/// Passes the linker script at `script` (relative to the crate) to the
/// linker of the crate's binaries.
fn link_with(script: &str) {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = std::path::Path::new(&dir).join(script);
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rustc-link-arg-bins=-znoexecstack");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-changed=build.rs");
}
