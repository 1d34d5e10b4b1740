//! Server configuration: command line over environment over a TOML file over
//! defaults.
//!
//! ```toml
//! listen = "0.0.0.0:3030"
//! data = "/var/lib/ruta-sync"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3030";

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("config file {0}: {1}")]
    Parse(String, toml::de::Error),
    #[error(
        "no data directory: pass --data, set RUTA_SYNC_DATA or put data = \"...\" in the config file"
    )]
    NoData,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read(path.display().to_string(), e))?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse(path.display().to_string(), e))
    }
}

/// Resolves listen address and data directory (`cli` already includes the
/// environment, which clap reads).
pub fn resolve(
    cli_listen: Option<SocketAddr>,
    cli_data: Option<PathBuf>,
    file: Option<&Path>,
) -> Result<(SocketAddr, PathBuf), ConfigError> {
    let file = match file {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    let listen = cli_listen
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("static address"));
    let data = cli_data.or(file.data).ok_or(ConfigError::NoData)?;
    Ok((listen, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_wins_over_file_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:4000\"\ndata = \"/srv/a\"\n").unwrap();
        let (l, d) = resolve(None, None, Some(&path)).unwrap();
        assert_eq!((l.port(), d), (4000, PathBuf::from("/srv/a")));
        let (l, d) = resolve(
            Some("127.0.0.1:5000".parse().unwrap()),
            Some("/x".into()),
            Some(&path),
        )
        .unwrap();
        assert_eq!((l.port(), d), (5000, PathBuf::from("/x")));
        std::fs::write(&path, "listen = 3\n").unwrap();
        let e = resolve(None, None, Some(&path)).unwrap_err().to_string();
        assert!(e.contains("sync.toml"), "{e}");
        std::fs::write(&path, "lisen = \"1.2.3.4:1\"\n").unwrap();
        assert!(
            resolve(None, Some("/x".into()), Some(&path)).is_err(),
            "unknown keys are refused"
        );
        assert!(matches!(
            resolve(None, None, None),
            Err(ConfigError::NoData)
        ));
    }
}
