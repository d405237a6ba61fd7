//! Escalation (上报): a case's owner becomes the post in charge one level up the tree,
//! unit chief → grid chief → station chief → town → county. The old owner stays as a helper
//! (the storage layer keeps them on the case).

use serde::{Deserialize, Serialize};

use crate::access::PostKind;
use crate::area::Level;

/// Where an escalation from a level goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to")]
pub enum Escalation {
    /// The post in charge of the parent area becomes the owner.
    Up { level: Level, post: PostKind },
    /// Already at the county: there is no level above. The spec is silent; as a 12345 platform
    /// does, the case stays with the county owner and is put under supervision (督办): flagged,
    /// shown to the county's leaders and counted against the owner in appraisal.
    Supervise,
}

/// The post in charge of an area of `level`, who owns what is escalated to it.
/// The glossary has no post kind for a town or county leader, so the area's `admin` post
/// stands in for them until one exists.
pub fn post_in_charge(level: Level) -> PostKind {
    match level {
        Level::Unit => PostKind::UnitChief,
        Level::Grid => PostKind::GridChief,
        Level::Community => PostKind::StationChief,
        Level::Town | Level::County => PostKind::Admin,
    }
}

/// One escalation from an owner at `from`.
pub fn escalate(from: Level) -> Escalation {
    match from.parent() {
        Some(level) => Escalation::Up { level, post: post_in_charge(level) },
        None => Escalation::Supervise,
    }
}

/// Every level a case would pass through if it kept missing deadlines, `from` excluded,
/// ending at the county.
pub fn chain(from: Level) -> Vec<Level> {
    std::iter::successors(from.parent(), |l| l.parent()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_walks_the_spec_chain() {
        assert_eq!(escalate(Level::Unit), Escalation::Up { level: Level::Grid, post: PostKind::GridChief });
        assert_eq!(escalate(Level::Grid), Escalation::Up { level: Level::Community, post: PostKind::StationChief });
        assert_eq!(escalate(Level::Community), Escalation::Up { level: Level::Town, post: PostKind::Admin });
        assert_eq!(escalate(Level::Town), Escalation::Up { level: Level::County, post: PostKind::Admin });
        assert_eq!(escalate(Level::County), Escalation::Supervise);
    }

    #[test]
    fn chain_ends_at_the_county() {
        assert_eq!(chain(Level::Unit), vec![Level::Grid, Level::Community, Level::Town, Level::County]);
        assert_eq!(chain(Level::Town), vec![Level::County]);
        assert!(chain(Level::County).is_empty());
        for l in Level::ALL {
            assert_eq!(chain(l).len(), l.depth());
        }
    }

    #[test]
    fn each_level_has_its_post() {
        assert_eq!(post_in_charge(Level::Unit), PostKind::UnitChief);
        assert_eq!(post_in_charge(Level::Grid), PostKind::GridChief);
        assert_eq!(post_in_charge(Level::Community), PostKind::StationChief);
    }
}
