//! The migration engine: where migrations come from and their namespaces ([`source`]), the
//! tracking table ([`tracking`]), validation ([`validation`]), how they are applied and rolled
//! back ([`migrator`]), what the library's table rebuilds keep ([`rebuild`]), schema drift ([`drift`]) and what
//! the library's calls report on a file that lacks its migrations ([`required`]).

pub mod drift;
pub mod migrator;
pub mod rebuild;
pub mod required;
pub mod source;
pub mod tracking;
pub mod validation;

#[cfg(test)]
mod tests;
