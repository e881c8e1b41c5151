//! Finding the emulator binaries: an environment override (`BULKHEAD_QEMU`,
//! `BULKHEAD_BOCHS`) or a search of `PATH`, with a friendly message when the
//! program is missing.

use std::env;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// An emulator the runner can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    /// The name looked up on `PATH`.
    pub name: &'static str,
    /// The environment variable that overrides the path.
    pub env_var: &'static str,
    /// The Debian packages that provide it.
    pub packages: &'static str,
}

/// QEMU for x86_64.
pub const QEMU: Program = Program {
    name: "qemu-system-x86_64",
    env_var: "BULKHEAD_QEMU",
    packages: "qemu-system-x86",
};

/// Bochs, with the debugger Debian builds in.
pub const BOCHS: Program = Program {
    name: "bochs",
    env_var: "BULKHEAD_BOCHS",
    packages: "bochs bochsbios vgabios",
};

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn search_path(name: &str, path_var: &OsStr) -> Option<PathBuf> {
    env::split_paths(path_var)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

impl Program {
    /// The message printed when the program cannot be found.
    pub fn missing_message(&self) -> String {
        format!(
            "{} not found: install it with 'sudo apt-get install {}' (or run 'make deps')",
            self.name, self.packages
        )
    }

    /// Finds the program: the override variable if set, else `PATH`.
    pub fn locate(&self) -> Result<PathBuf, String> {
        if let Some(path) = env::var_os(self.env_var).filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            return if is_executable(&path) {
                Ok(path)
            } else {
                Err(format!(
                    "{} not found: {}={} is not an executable file",
                    self.name,
                    self.env_var,
                    path.display()
                ))
            };
        }
        let path_var = env::var_os("PATH").unwrap_or_default();
        search_path(self.name, &path_var).ok_or_else(|| self.missing_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_on_a_path() {
        let found = search_path("sh", OsStr::new("/nonexistent:/bin:/usr/bin"));
        assert!(found.is_some_and(|p| p.ends_with("sh")));
        assert_eq!(search_path("no-such-program-xyz", OsStr::new("/bin")), None);
    }

    #[test]
    fn missing_message_names_the_package() {
        assert_eq!(
            QEMU.missing_message(),
            "qemu-system-x86_64 not found: install it with \
             'sudo apt-get install qemu-system-x86' (or run 'make deps')"
        );
    }
}
