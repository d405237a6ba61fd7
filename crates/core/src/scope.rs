use crate::area::path_upper_bound;

/// What a caller may see and change: the subtree under one area, given by that area's path.
/// Every store method that lists or changes scoped data takes one, so a missing filter is a
/// compile error rather than a leak. The field is private: a scope is made from a path that the
/// store read, never from a string a caller sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    root_path: String,
}

impl Scope {
    /// The subtree under the area with this materialised path.
    pub fn subtree(root_path: impl Into<String>) -> Scope {
        let root_path = root_path.into();
        assert!(root_path.starts_with('/') && root_path.ends_with('/'), "a scope root is a materialised path");
        Scope { root_path }
    }

    /// Every area of the deployment: for the command line, the demo and, until accounts
    /// exist, the HTTP layer.
    pub fn everything() -> Scope {
        Scope { root_path: "/".to_string() }
    }

    pub fn root_path(&self) -> &str {
        &self.root_path
    }

    /// The `[low, high)` range of paths inside the scope.
    pub fn path_range(&self) -> (String, String) {
        (self.root_path.clone(), path_upper_bound(&self.root_path))
    }

    pub fn contains_path(&self, path: &str) -> bool {
        path.starts_with(&self.root_path)
    }

    /// The narrower of the two scopes, or `None` when they do not overlap.
    pub fn narrow_to(&self, path: &str) -> Option<Scope> {
        if path.starts_with(&self.root_path) {
            Some(Scope::subtree(path))
        } else if self.root_path.starts_with(path) {
            Some(self.clone())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_contains_its_descendants_only() {
        let s = Scope::subtree("/1/7/");
        assert!(s.contains_path("/1/7/"));
        assert!(s.contains_path("/1/7/8/"));
        assert!(!s.contains_path("/1/70/"));
        assert!(!s.contains_path("/1/"));
        assert!(Scope::everything().contains_path("/5/"));
        let (lo, hi) = Scope::everything().path_range();
        assert!("/99/1/" >= lo.as_str() && "/99/1/" < hi.as_str());
    }

    #[test]
    fn narrowing() {
        let s = Scope::subtree("/1/7/");
        assert_eq!(s.narrow_to("/1/7/9/"), Some(Scope::subtree("/1/7/9/")));
        assert_eq!(s.narrow_to("/1/"), Some(s.clone()));
        assert_eq!(s.narrow_to("/1/8/"), None);
    }
}
