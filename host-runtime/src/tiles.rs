//! The offline basemap's tiles: a read-only reader of one MBTiles file (SQLite), as
//! `scripts/make-tiles.sh` writes it for the map view, shared by both shells (the device
//! host serves `GET /tiles/{z}/{x}/{y}.pbf`, the Tauri shell a custom URI scheme).
//!
//! MBTiles stores rows in the TMS scheme (row 0 at the south); callers ask in the XYZ
//! scheme web maps use, so the row is flipped here. Tile data is vector tiles (MVT)
//! as tilemaker writes them, gzip-compressed: [`Tile::gzip`] says so, and
//! [`Tile::into_plain`] decompresses for a client that cannot take `Content-Encoding`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

/// The environment variable naming the MBTiles file.
pub const TILES_ENV: &str = "RUTA_TILES";

/// Where `scripts/make-tiles.sh` writes the basemap, relative to the workspace.
pub const DEFAULT_TILES: &str = "data/tiles/helsinki.mbtiles";

/// The MBTiles file to serve for a shell that looks in `dirs` (see [`crate::maps`]).
pub fn path_for(dirs: &[PathBuf]) -> Option<PathBuf> {
    crate::maps::locate(crate::maps::MapFile::Basemap, dirs)
}

/// Why a tile file could not be read.
#[derive(Debug)]
pub struct TilesError(String);

impl std::fmt::Display for TilesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TilesError {}

/// One tile's bytes as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub data: Vec<u8>,
    /// The bytes are gzip (the magic number says so; tilemaker's default).
    pub gzip: bool,
}

impl Tile {
    /// The tile decompressed when it was gzip, as it is otherwise.
    pub fn into_plain(self) -> Result<Vec<u8>, TilesError> {
        if !self.gzip {
            return Ok(self.data);
        }
        let mut out = Vec::with_capacity(self.data.len() * 4);
        flate2::read::GzDecoder::new(self.data.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| TilesError(format!("tile is not valid gzip: {e}")))?;
        Ok(out)
    }
}

/// An open MBTiles file, read-only. Cheap to share behind an `Arc`; reads take a short lock.
#[derive(Debug)]
pub struct MbTiles {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl MbTiles {
    /// Opens `path` read-only and checks it has a `tiles` table.
    pub fn open(path: &Path) -> Result<Self, TilesError> {
        let err = |e: rusqlite::Error| TilesError(format!("{}: {e}", path.display()));
        if !path.is_file() {
            return Err(TilesError(format!("{}: no such file", path.display())));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        // MBTiles defines `tiles` as a table or a view; either answers this.
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'tiles'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map_err(err)
        .and_then(|n| match n {
            0 => Err(TilesError(format!(
                "{}: not an MBTiles file (no tiles table)",
                path.display()
            ))),
            _ => Ok(()),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The file this reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tile at zoom `z`, column `x`, row `y` counted from the north (XYZ), or `None`
    /// when the file has none there or the address is outside the zoom's grid.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Tile>, TilesError> {
        if z > 30 {
            return Ok(None);
        }
        let n = 1u32 << z;
        if x >= n || y >= n {
            return Ok(None);
        }
        let tms_row = n - 1 - y;
        let conn = self
            .conn
            .lock()
            .map_err(|_| TilesError("tile reader lock poisoned".into()))?;
        let data: Option<Vec<u8>> = conn
            .prepare_cached(
                "SELECT tile_data FROM tiles \
                 WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
            )
            .and_then(|mut stmt| stmt.query_row((z, x, tms_row), |row| row.get(0)).optional())
            .map_err(|e| TilesError(format!("{}: {e}", self.path.display())))?;
        Ok(data.map(|data| Tile {
            gzip: data.starts_with(&[0x1f, 0x8b]),
            data,
        }))
    }

    /// A metadata value (`name`, `minzoom`, `maxzoom`, `attribution`, ...), if present.
    pub fn metadata(&self, name: &str) -> Result<Option<String>, TilesError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| TilesError("tile reader lock poisoned".into()))?;
        conn.query_row(
            "SELECT value FROM metadata WHERE name = ?1",
            [name],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| TilesError(format!("{}: {e}", self.path.display())))
    }
}

/// Parses a `{z}/{x}/{y}.pbf` tile path (leading `/` allowed) into its numbers.
pub fn parse_tile_path(path: &str) -> Option<(u8, u32, u32)> {
    let mut parts = path.trim_start_matches('/').split('/');
    let z = parts.next()?.parse().ok()?;
    let x = parts.next()?.parse().ok()?;
    let y = parts.next()?.strip_suffix(".pbf")?.parse().ok()?;
    parts.next().is_none().then_some((z, x, y))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// An MBTiles file with one gzip tile at XYZ 14/9326/4741 (central Helsinki), stored
    /// in TMS as row 2^14 - 1 - 4741 = 11642, and one plain tile at 0/0/0.
    fn fixture(dir: &Path) -> PathBuf {
        let path = dir.join("t.mbtiles");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,
                                 tile_data BLOB);
             INSERT INTO metadata VALUES ('attribution', '© OpenStreetMap contributors');",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO tiles VALUES (14, 9326, 11642, ?1)",
            [gzip(b"helsinki tile")],
        )
        .unwrap();
        conn.execute("INSERT INTO tiles VALUES (0, 0, 0, x'1a00')", [])
            .unwrap();
        path
    }

    #[test]
    fn tiles_are_addressed_in_xyz_with_the_tms_row_flipped() {
        let dir = tempfile::tempdir().unwrap();
        let tiles = MbTiles::open(&fixture(dir.path())).unwrap();
        let tile = tiles.tile(14, 9326, 4741).unwrap().expect("tile present");
        assert!(tile.gzip);
        assert_eq!(tile.into_plain().unwrap(), b"helsinki tile");
        // The TMS row itself, read as XYZ, is another place on the map: nothing there.
        assert_eq!(tiles.tile(14, 9326, 11642).unwrap(), None);
        let plain = tiles.tile(0, 0, 0).unwrap().unwrap();
        assert!(!plain.gzip);
        assert_eq!(plain.into_plain().unwrap(), vec![0x1a, 0x00]);
        assert_eq!(
            tiles.metadata("attribution").unwrap().as_deref(),
            Some("© OpenStreetMap contributors")
        );
    }

    #[test]
    fn missing_and_impossible_tiles_are_none_not_errors() {
        let dir = tempfile::tempdir().unwrap();
        let tiles = MbTiles::open(&fixture(dir.path())).unwrap();
        assert_eq!(tiles.tile(14, 9327, 4741).unwrap(), None);
        assert_eq!(tiles.tile(3, 8, 0).unwrap(), None, "x outside the 8x8 grid");
        assert_eq!(tiles.tile(3, 0, 8).unwrap(), None, "y outside the grid");
        assert_eq!(tiles.tile(31, 0, 0).unwrap(), None);
        assert_eq!(tiles.metadata("nothing").unwrap(), None);
    }

    #[test]
    fn a_missing_or_foreign_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.mbtiles");
        let err = MbTiles::open(&missing).unwrap_err().to_string();
        assert!(
            err.contains("none.mbtiles") && err.contains("no such file"),
            "{err}"
        );
        let other = dir.path().join("other.sqlite3");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE x (a)")
            .unwrap();
        let err = MbTiles::open(&other).unwrap_err().to_string();
        assert!(err.contains("no tiles table"), "{err}");
    }

    #[test]
    fn tile_paths_parse_only_in_the_z_x_y_pbf_form() {
        assert_eq!(parse_tile_path("/14/9326/4739.pbf"), Some((14, 9326, 4739)));
        assert_eq!(parse_tile_path("0/0/0.pbf"), Some((0, 0, 0)));
        assert_eq!(parse_tile_path("/14/9326/4739.png"), None);
        assert_eq!(parse_tile_path("/14/9326/4739.pbf/x"), None);
        assert_eq!(parse_tile_path("/14/-1/4739.pbf"), None);
        assert_eq!(parse_tile_path("/300/0/0.pbf"), None);
    }
}
