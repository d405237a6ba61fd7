use serde::{Deserialize, Serialize};

/// The levels of the area tree, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    County,
    Town,
    Community,
    Grid,
    Unit,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::County, Level::Town, Level::Community, Level::Grid, Level::Unit];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::County => "county",
            Level::Town => "town",
            Level::Community => "community",
            Level::Grid => "grid",
            Level::Unit => "unit",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Depth in the tree: the county is 0.
    pub fn depth(self) -> usize {
        self as usize
    }

    pub fn child(self) -> Option<Level> {
        Level::ALL.get(self.depth() + 1).copied()
    }

    pub fn parent(self) -> Option<Level> {
        self.depth().checked_sub(1).map(|d| Level::ALL[d])
    }

    /// The kinds an area of this level may have; the first is the default.
    pub fn kinds(self) -> &'static [AreaKind] {
        match self {
            Level::County => &[AreaKind::County],
            Level::Town => &[AreaKind::Town, AreaKind::Township, AreaKind::Subdistrict],
            Level::Community => &[AreaKind::Village, AreaKind::Community],
            Level::Grid => &[AreaKind::General, AreaKind::Dedicated],
            Level::Unit => &[AreaKind::Unit],
        }
    }
}

/// What sort of area it is within its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AreaKind {
    County,
    Town,
    Township,
    Subdistrict,
    Village,
    Community,
    /// A general grid (综合网格) of a few hundred households.
    General,
    /// A dedicated grid (专属网格): a school, hospital, company or compound.
    Dedicated,
    Unit,
}

impl AreaKind {
    pub const ALL: [AreaKind; 9] = [
        AreaKind::County,
        AreaKind::Town,
        AreaKind::Township,
        AreaKind::Subdistrict,
        AreaKind::Village,
        AreaKind::Community,
        AreaKind::General,
        AreaKind::Dedicated,
        AreaKind::Unit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AreaKind::County => "county",
            AreaKind::Town => "town",
            AreaKind::Township => "township",
            AreaKind::Subdistrict => "subdistrict",
            AreaKind::Village => "village",
            AreaKind::Community => "community",
            AreaKind::General => "general",
            AreaKind::Dedicated => "dedicated",
            AreaKind::Unit => "unit",
        }
    }

    pub fn parse(s: &str) -> Option<AreaKind> {
        AreaKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn level(self) -> Level {
        Level::ALL.into_iter().find(|l| l.kinds().contains(&self)).expect("every kind belongs to a level")
    }
}

/// The materialised path of an area: its ancestors' ids and its own, as `/1/7/42/`.
/// A subtree is every path that starts with the root's path.
pub fn child_path(parent_path: &str, id: i64) -> String {
    format!("{parent_path}{id}/")
}

/// The root path of a tree.
pub fn root_path(id: i64) -> String {
    format!("/{id}/")
}

/// The ids on a path, from the top down.
pub fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect()
}

/// The exclusive upper bound of the range of paths under `path`, so that a subtree query is
/// `path >= $1 AND path < $2` and uses a plain index on both engines.
/// `/` sorts just before `0`, so replacing the trailing slash bounds every descendant.
pub fn path_upper_bound(path: &str) -> String {
    debug_assert!(path.ends_with('/'));
    let mut s = path[..path.len() - 1].to_string();
    s.push('0');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_walk_the_tree() {
        assert_eq!(Level::County.child(), Some(Level::Town));
        assert_eq!(Level::Unit.child(), None);
        assert_eq!(Level::Grid.parent(), Some(Level::Community));
        assert_eq!(Level::County.parent(), None);
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
            for k in l.kinds() {
                assert_eq!(k.level(), l);
            }
        }
        assert_eq!(Level::parse("province"), None);
    }

    #[test]
    fn path_range_covers_descendants_only() {
        let p = child_path(&root_path(1), 7);
        assert_eq!(p, "/1/7/");
        let hi = path_upper_bound(&p);
        let inside = ["/1/7/", "/1/7/42/", "/1/7/9999/3/"];
        let outside = ["/1/70/", "/1/8/", "/1/", "/1/6/99/", "/1/7"];
        for s in inside {
            assert!(s >= p.as_str() && s < hi.as_str(), "{s} should be inside");
        }
        for s in outside {
            assert!(!(s >= p.as_str() && s < hi.as_str()), "{s} should be outside");
        }
        assert_eq!(path_ids("/1/7/42/"), vec![1, 7, 42]);
    }
}
