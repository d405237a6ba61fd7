//! Pure rules of Wangge. Nothing here does I/O, so everything here is unit-tested directly.

pub mod access;
pub mod area;
pub mod calendar;
pub mod case;
pub mod code;
pub mod escalation;
pub mod id_number;
pub mod ledger;
pub mod rates;
pub mod registry;
pub mod scope;

pub use access::{Caller, Permission, PostKind};
pub use area::{AreaKind, Level};
pub use calendar::{Calendar, DeadlineRule, DeadlineUnit};
pub use case::{Case, CaseState, Move, MoveError, MoveKind};
pub use code::CodeWidths;
pub use id_number::IdNumber;
pub use registry::{ResidenceStatus, Sex};
pub use scope::Scope;
