//! Pure rules of Wangge. Nothing here does I/O, so everything here is unit-tested directly.

pub mod access;
pub mod area;
pub mod code;
pub mod id_number;
pub mod registry;
pub mod scope;

pub use access::{Caller, Permission, PostKind};
pub use area::{AreaKind, Level};
pub use code::CodeWidths;
pub use id_number::IdNumber;
pub use registry::{ResidenceStatus, Sex};
pub use scope::Scope;
