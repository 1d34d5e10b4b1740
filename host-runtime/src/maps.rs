//! Where a device finds its offline map files: the basemap's tiles (MBTiles)
//! and the road extract (OSM PBF) routing reads.
//!
//! In order: the environment (`RUTA_TILES`, `RUTA_OSM_PBF`: tests, headless
//! devices, a wrong path is reported rather than replaced), then
//! `maps/<file>` in each directory the shell names (the app's data directory —
//! where files fetched for the tenant's own area are cached — and the
//! directory of the executable, where a bundle ships them), and only in debug
//! builds the development checkout's files. A release build never looks in
//! the workspace it was compiled in.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One of the map files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapFile {
    /// The basemap's vector tiles.
    Basemap,
    /// The road network routing uses.
    Roads,
}

impl MapFile {
    pub fn env(self) -> &'static str {
        match self {
            MapFile::Basemap => crate::tiles::TILES_ENV,
            MapFile::Roads => "RUTA_OSM_PBF",
        }
    }

    /// Its name under a `maps/` directory.
    pub fn file_name(self) -> &'static str {
        match self {
            MapFile::Basemap => "basemap.mbtiles",
            MapFile::Roads => "roads.osm.pbf",
        }
    }

    /// Where the project's scripts write it in a checkout.
    fn dev_path(self) -> &'static str {
        match self {
            MapFile::Basemap => crate::tiles::DEFAULT_TILES,
            MapFile::Roads => "data/osm/Helsinki.osm.pbf",
        }
    }
}

/// The directory of the running executable, if known.
pub fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_owned))
}

/// Where `file` is for a shell that looks in `dirs` (see the module docs).
pub fn locate(file: MapFile, dirs: &[PathBuf]) -> Option<PathBuf> {
    let dev = cfg!(debug_assertions)
        .then(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(Path::to_owned)
        })
        .flatten();
    locate_in(file, std::env::var_os(file.env()), dirs, dev.as_deref())
}

fn locate_in(
    file: MapFile,
    env: Option<OsString>,
    dirs: &[PathBuf],
    dev_workspace: Option<&Path>,
) -> Option<PathBuf> {
    if let Some(path) = env.filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    dirs.iter()
        .map(|d| d.join("maps").join(file.file_name()))
        .chain(dev_workspace.map(|w| w.join(file.dev_path())))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_then_the_shells_directories_then_a_checkout() {
        let data = tempfile::tempdir().unwrap();
        let exe = tempfile::tempdir().unwrap();
        let checkout = tempfile::tempdir().unwrap();
        let dirs = [data.path().to_owned(), exe.path().to_owned()];
        let put = |dir: &Path, rel: &str| {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
            p
        };
        assert_eq!(
            locate_in(MapFile::Roads, None, &dirs, Some(checkout.path())),
            None
        );
        let dev = put(checkout.path(), "data/osm/Helsinki.osm.pbf");
        assert_eq!(
            locate_in(MapFile::Roads, None, &dirs, Some(checkout.path())),
            Some(dev)
        );
        // A release build has no checkout to fall back on.
        assert_eq!(locate_in(MapFile::Roads, None, &dirs, None), None);
        let bundled = put(exe.path(), "maps/roads.osm.pbf");
        assert_eq!(
            locate_in(MapFile::Roads, None, &dirs, Some(checkout.path())),
            Some(bundled)
        );
        let cached = put(data.path(), "maps/roads.osm.pbf");
        assert_eq!(locate_in(MapFile::Roads, None, &dirs, None), Some(cached));
        // The environment wins, even naming a file that is not there.
        let named = OsString::from("/nowhere/roads.pbf");
        assert_eq!(
            locate_in(MapFile::Roads, Some(named), &dirs, None),
            Some(PathBuf::from("/nowhere/roads.pbf"))
        );
        assert_eq!(locate_in(MapFile::Basemap, None, &dirs, None), None);
        put(exe.path(), "maps/basemap.mbtiles");
        assert!(locate_in(MapFile::Basemap, None, &dirs, None).is_some());
    }
}
