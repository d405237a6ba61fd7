use serde::{Deserialize, Serialize};

use crate::area::Level;

/// How many digits each level adds to the standard code. The county's own code is its
/// GB/T 2260 division code; each level below appends its local part, so a full code is the
/// parent's code plus the local part. Houses append to their unit's code and households to
/// their house's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CodeWidths {
    pub county: usize,
    pub town: usize,
    pub community: usize,
    pub grid: usize,
    pub unit: usize,
    pub house: usize,
    pub household: usize,
}

impl Default for CodeWidths {
    fn default() -> Self {
        CodeWidths { county: 6, town: 3, community: 3, grid: 3, unit: 3, house: 4, household: 2 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code must be digits only")]
    NotDigits,
    #[error("the code must have {expected} digits, not {actual}")]
    WrongLength { expected: usize, actual: usize },
    #[error("the code must start with its parent's code {parent}")]
    OutsideParent { parent: String },
}

impl CodeWidths {
    pub fn width(&self, level: Level) -> usize {
        match level {
            Level::County => self.county,
            Level::Town => self.town,
            Level::Community => self.community,
            Level::Grid => self.grid,
            Level::Unit => self.unit,
        }
    }

    /// The length of a full code at this level.
    pub fn full_len(&self, level: Level) -> usize {
        Level::ALL[..=level.depth()].iter().map(|l| self.width(*l)).sum()
    }

    pub fn house_len(&self) -> usize {
        self.full_len(Level::Unit) + self.house
    }

    pub fn household_len(&self) -> usize {
        self.house_len() + self.household
    }

    /// Checks a full code against the parent's full code and the expected length.
    pub fn check_child(&self, code: &str, parent: Option<&str>, len: usize) -> Result<(), CodeError> {
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::NotDigits);
        }
        if code.len() != len {
            return Err(CodeError::WrongLength { expected: len, actual: code.len() });
        }
        if let Some(parent) = parent
            && !code.starts_with(parent)
        {
            return Err(CodeError::OutsideParent { parent: parent.to_string() });
        }
        Ok(())
    }

    /// Checks the full code of an area at `level` under a parent with code `parent`.
    pub fn check_area(&self, level: Level, code: &str, parent: Option<&str>) -> Result<(), CodeError> {
        self.check_child(code, parent, self.full_len(level))
    }

    /// The full code of the child with the 1-based local number `n` under `parent`.
    pub fn child_code(parent: &str, width: usize, n: usize) -> String {
        format!("{parent}{n:0width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_extend_their_parent() {
        let w = CodeWidths::default();
        assert_eq!(w.full_len(Level::County), 6);
        assert_eq!(w.full_len(Level::Unit), 18);
        assert_eq!(w.house_len(), 22);
        assert!(w.check_area(Level::County, "350322", None).is_ok());
        assert!(w.check_area(Level::Town, "350322101", Some("350322")).is_ok());
        assert_eq!(
            w.check_area(Level::Town, "350323101", Some("350322")),
            Err(CodeError::OutsideParent { parent: "350322".into() })
        );
        assert_eq!(
            w.check_area(Level::Town, "35032210", Some("350322")),
            Err(CodeError::WrongLength { expected: 9, actual: 8 })
        );
        assert_eq!(w.check_area(Level::County, "35032x", None), Err(CodeError::NotDigits));
        assert_eq!(CodeWidths::child_code("350322", 3, 7), "350322007");
    }
}
